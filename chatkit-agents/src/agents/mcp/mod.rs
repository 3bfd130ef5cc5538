//! MCP servers as sources of an agent's tools ([`McpServer`], feature `mcp`), on the
//! official Rust SDK, `rmcp`.

mod tool;

use crate::locks::lock;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::Instrument;

use super::tool::Tool;
use super::tool_source::{ToolSource, ToolSourceError, ToolSourceFuture};
use tool::McpTool;

/// How long starting, listing and each call may take by default.
pub const DEFAULT_MCP_TIMEOUT: Duration = Duration::from_secs(30);

/// What went wrong talking to an MCP server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The server could not be started or reached.
    #[error("MCP server {server} could not start: {message}")]
    Start {
        /// The server.
        server: String,
        /// Why.
        message: String,
    },
    /// The server did not answer in time.
    #[error("MCP server {server} did not answer within {seconds} s")]
    Timeout {
        /// The server.
        server: String,
        /// The timeout.
        seconds: f64,
    },
    /// The server answered with an error, or the connection failed.
    #[error("MCP server {server}: {message}")]
    Request {
        /// The server.
        server: String,
        /// What it said.
        message: String,
    },
}

impl McpError {
    /// A low-cardinality name of the error's kind (the OpenTelemetry `error.type`).
    pub fn kind(&self) -> &'static str {
        match self {
            McpError::Start { .. } => "mcp_start",
            McpError::Timeout { .. } => "timeout",
            McpError::Request { .. } => "mcp_request",
        }
    }
}

#[derive(Debug, Clone)]
enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    Http {
        url: String,
        headers: Vec<(String, String)>,
        bearer: Option<String>,
    },
}

/// An MCP server an agent takes tools from (feature `mcp`, on the official Rust SDK,
/// `rmcp`): over stdio (a child process) or Streamable HTTP. Cheap to clone: clones
/// share the connection and the tool list.
///
/// ```no_run
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Agent, McpServer};
/// # fn sketch(model: Arc<dyn chatkit_agents::agents::model::Model>) {
/// let files = McpServer::stdio("files", "npx")
///     .args(["-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"])
///     .tool_prefix("files_");
/// let tickets = McpServer::http("tickets", "https://mcp.example.com/mcp")
///     .bearer_token("secret")
///     .allow_tools(["search", "create"])
///     .required(true); // no run without these tools
/// let agent: Agent<()> = Agent::new("Support", model)
///     .mcp_server(files)
///     .mcp_server(tickets);
/// # }
/// ```
///
/// The server starts (or connects) when a run of the agent first needs its tools. Its
/// tool list is fetched once and kept until the server announces a change
/// (`notifications/tools/list_changed`).
///
/// A server that cannot start or be reached does not fail the run unless it is
/// [`required`](Self::required): the run goes on without its tools (a WARN log, an
/// event on the turn's span, [`RunEvent::ToolSourceUnavailable`](crate::agents::RunEvent::ToolSourceUnavailable),
/// a notice in ChatKit), and a later run tries the server again after a backoff that
/// doubles with each failed attempt (1 s to 60 s by default,
/// [`reconnect_backoff`](Self::reconnect_backoff)); until then runs skip it at once
/// instead of waiting for it to time out again. A call made while the server cannot
/// start tells the model so (`MCP server orders could not start ...`).
///
/// Each call has a timeout; a call whose connection was lost (the process died, the
/// HTTP session expired) reconnects and is tried once more. A result with `isError`
/// reaches the model as the server's error text (the call's outcome is an error; the
/// run goes on); text content is the output, structured content is the output as JSON
/// when the server gives no text, and other content (images, resources) is passed as
/// the MCP content's JSON.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    transport: Transport,
    prefix: Option<String>,
    allowed: Option<HashSet<String>>,
    denied: HashSet<String>,
    strict: bool,
    timeout: Duration,
    required: bool,
    /// The first and the longest wait after a failed attempt to connect.
    backoff: (Duration, Duration),
    connection: Mutex<Option<Connection>>,
    /// Failed attempts to connect in a row, and when the next may start.
    failures: std::sync::Mutex<(u32, Option<Instant>)>,
    /// Bumped by the server's `tools/list_changed`.
    generation: Arc<AtomicU64>,
}

/// The default first wait after a failed attempt to connect, doubled per failure.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
/// The default longest wait between attempts to connect.
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);

struct Connection {
    client: RunningService<RoleClient, Notifications>,
    /// The tool list and the generation it was fetched at.
    tools: Option<(u64, Arc<Vec<rmcp::model::Tool>>)>,
}

/// Listens for the server's notifications.
struct Notifications {
    generation: Arc<AtomicU64>,
}

impl ClientHandler for Notifications {
    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl std::future::Future<Output = ()> + Send + '_ {
        self.generation.fetch_add(1, Ordering::SeqCst);
        std::future::ready(())
    }
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.inner.name)
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl McpServer {
    fn new(name: impl Into<String>, transport: Transport) -> Self {
        McpServer {
            inner: Arc::new(Inner {
                name: name.into(),
                transport,
                prefix: None,
                allowed: None,
                denied: HashSet::new(),
                strict: false,
                timeout: DEFAULT_MCP_TIMEOUT,
                required: false,
                backoff: (DEFAULT_BACKOFF, DEFAULT_MAX_BACKOFF),
                connection: Mutex::new(None),
                failures: std::sync::Mutex::new((0, None)),
                generation: Arc::new(AtomicU64::new(0)),
            }),
        }
    }

    /// A server run as a child process speaking MCP on its stdin and stdout.
    pub fn stdio(name: impl Into<String>, command: impl Into<String>) -> Self {
        McpServer::new(
            name,
            Transport::Stdio {
                command: command.into(),
                args: Vec::new(),
                env: Vec::new(),
            },
        )
    }

    /// A server at a Streamable HTTP endpoint (`https://host/mcp`).
    pub fn http(name: impl Into<String>, url: impl Into<String>) -> Self {
        McpServer::new(
            name,
            Transport::Http {
                url: url.into(),
                headers: Vec::new(),
                bearer: None,
            },
        )
    }

    /// Changes the settings; only before the server is shared (settings are fixed once
    /// a clone exists).
    fn with(mut self, change: impl FnOnce(&mut Inner)) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => change(inner),
            None => tracing::warn!(
                server = %self.inner.name,
                "McpServer settings changed after it was cloned; ignored"
            ),
        }
        self
    }

    /// An argument of the stdio command.
    pub fn arg(self, arg: impl Into<String>) -> Self {
        let arg = arg.into();
        self.with(|inner| {
            if let Transport::Stdio { args, .. } = &mut inner.transport {
                args.push(arg);
            }
        })
    }

    /// Arguments of the stdio command.
    pub fn args(self, more: impl IntoIterator<Item = impl Into<String>>) -> Self {
        more.into_iter().fold(self, |server, arg| server.arg(arg))
    }

    /// An environment variable of the stdio command.
    pub fn env(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let pair = (key.into(), value.into());
        self.with(|inner| {
            if let Transport::Stdio { env, .. } = &mut inner.transport {
                env.push(pair);
            }
        })
    }

    /// A header sent with every HTTP request.
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let pair = (name.into(), value.into());
        self.with(|inner| {
            if let Transport::Http { headers, .. } = &mut inner.transport {
                headers.push(pair);
            }
        })
    }

    /// `Authorization: Bearer <token>` on every HTTP request.
    pub fn bearer_token(self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.with(|inner| {
            if let Transport::Http { bearer, .. } = &mut inner.transport {
                *bearer = Some(token);
            }
        })
    }

    /// Offers the server's tools under `prefix` + their name (for servers whose tool
    /// names clash with other tools of the agent).
    pub fn tool_prefix(self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.with(|inner| inner.prefix = Some(prefix))
    }

    /// Offers only these of the server's tools (by the server's names).
    pub fn allow_tools(self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let names: HashSet<String> = names.into_iter().map(Into::into).collect();
        self.with(|inner| inner.allowed = Some(names))
    }

    /// Never offers these of the server's tools (by the server's names).
    pub fn deny_tools(self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let names: HashSet<String> = names.into_iter().map(Into::into).collect();
        self.with(|inner| inner.denied.extend(names))
    }

    /// Converts input schemas to OpenAI strict mode where they can be (the Python SDK's
    /// `convert_schemas_to_strict`); the others are offered non-strict. Default: off.
    pub fn strict_schemas(self, strict: bool) -> Self {
        self.with(|inner| inner.strict = strict)
    }

    /// How long starting, listing and each call may take (default
    /// [`DEFAULT_MCP_TIMEOUT`]).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|inner| inner.timeout = timeout)
    }

    /// Whether a run fails when the server cannot give its tools (`true`), or goes on
    /// without them (`false`, the default): see [`McpServer`].
    pub fn required(self, required: bool) -> Self {
        self.with(|inner| inner.required = required)
    }

    /// How long to wait before trying to connect again after a failed attempt: `first`
    /// after one failure, doubled after each further one, at most `max` (default 1 s and
    /// 60 s). Runs in the meantime skip the server at once.
    pub fn reconnect_backoff(self, first: Duration, max: Duration) -> Self {
        self.with(|inner| inner.backoff = (first, max.max(first)))
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn timed_out(&self) -> McpError {
        McpError::Timeout {
            server: self.inner.name.clone(),
            seconds: self.inner.timeout.as_secs_f64(),
        }
    }

    fn request_error(&self, error: impl std::fmt::Display) -> McpError {
        McpError::Request {
            server: self.inner.name.clone(),
            message: error.to_string(),
        }
    }

    /// Starts the process or opens the session, unless the last attempts failed and the
    /// backoff has not passed; a failure lengthens the backoff, a success ends it.
    async fn open(&self) -> Result<Connection, McpError> {
        let waiting = {
            let failures = lock(&self.inner.failures);
            failures.1.filter(|at| *at > Instant::now())
        };
        if let Some(at) = waiting {
            return Err(McpError::Start {
                server: self.inner.name.clone(),
                message: format!(
                    "the last attempt failed; the next one starts in {:.1} s",
                    at.saturating_duration_since(Instant::now()).as_secs_f64()
                ),
            });
        }
        let opened = self.connect().await;
        let mut failures = lock(&self.inner.failures);
        match &opened {
            Ok(_) => *failures = (0, None),
            Err(_) => {
                let (first, max) = self.inner.backoff;
                let wait = first
                    .saturating_mul(2u32.saturating_pow(failures.0.min(16)))
                    .min(max);
                *failures = (failures.0.saturating_add(1), Some(Instant::now() + wait));
            }
        }
        opened
    }

    /// One attempt to start the process or open the session.
    async fn connect(&self) -> Result<Connection, McpError> {
        let server = &self.inner.name;
        let start_error = |message: String| McpError::Start {
            server: server.clone(),
            message,
        };
        let handler = Notifications {
            generation: self.inner.generation.clone(),
        };
        let started = match &self.inner.transport {
            Transport::Stdio { command, args, env } => {
                let mut process = tokio::process::Command::new(command);
                process.args(args).envs(env.iter().cloned());
                let transport = rmcp::transport::TokioChildProcess::builder(process)
                    .stderr(std::process::Stdio::inherit())
                    .spawn()
                    .map_err(|e| start_error(format!("cannot run {command}: {e}")))?
                    .0;
                let serving = handler.serve(transport).instrument(self.connection_span());
                tokio::time::timeout(self.inner.timeout, serving).await
            }
            Transport::Http {
                url,
                headers,
                bearer,
            } => {
                use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
                let mut custom = HashMap::new();
                for (name, value) in headers {
                    let name = reqwest::header::HeaderName::try_from(name.as_str())
                        .map_err(|e| start_error(format!("header {name}: {e}")))?;
                    let value = reqwest::header::HeaderValue::try_from(value.as_str())
                        .map_err(|e| start_error(format!("header {name}: {e}")))?;
                    custom.insert(name, value);
                }
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(custom)
                    .reinit_on_expired_session(true);
                if let Some(token) = bearer {
                    config = config.auth_header(token.as_str());
                }
                let transport = rmcp::transport::StreamableHttpClientTransport::from_config(config);
                let serving = handler.serve(transport).instrument(self.connection_span());
                tokio::time::timeout(self.inner.timeout, serving).await
            }
        };
        let client = started
            .map_err(|_| {
                start_error(format!(
                    "no answer within {} s",
                    self.inner.timeout.as_secs_f64()
                ))
            })?
            .map_err(|e| start_error(e.to_string()))?;
        Ok(Connection {
            client,
            tools: None,
        })
    }

    /// The server's tools (all of them, before filters), fetched once per change.
    pub async fn list_tools(&self) -> Result<Arc<Vec<rmcp::model::Tool>>, McpError> {
        let span = self.span("tools/list", None);
        let listed = self.list_tools_now().instrument(span.clone()).await;
        if let Err(error) = &listed {
            span.record("error.type", error.kind());
            span.record("otel.status_code", "ERROR");
        }
        listed
    }

    async fn list_tools_now(&self) -> Result<Arc<Vec<rmcp::model::Tool>>, McpError> {
        let mut connection = self.inner.connection.lock().await;
        if connection.as_ref().is_none_or(|c| c.client.is_closed()) {
            *connection = Some(self.open().await?);
        }
        let Some(open) = connection.as_mut() else {
            return Err(self.request_error("not connected"));
        };
        let generation = self.inner.generation.load(Ordering::SeqCst);
        if let Some((fetched, tools)) = &open.tools {
            if *fetched == generation {
                return Ok(tools.clone());
            }
        }
        let tools = tokio::time::timeout(self.inner.timeout, open.client.list_all_tools())
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|e| self.request_error(e))?;
        let tools = Arc::new(tools);
        open.tools = Some((generation, tools.clone()));
        Ok(tools)
    }

    /// Calls the server's tool `name` with `arguments`. A lost connection is reopened
    /// and the call tried once more.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: JsonObject,
    ) -> Result<CallToolResult, McpError> {
        let span = self.span("tools/call", Some(name));
        let called = async {
            match self.call_once(name, arguments.clone()).await {
                Err(CallError::Lost(error)) => {
                    tracing::info!(server = %self.inner.name, %error, "MCP connection lost; reconnecting once");
                    tracing::Span::current().record("mcp.reconnected", true);
                    *self.inner.connection.lock().await = None;
                    self.call_once(name, arguments).await.map_err(CallError::into_inner)
                }
                other => other.map_err(CallError::into_inner),
            }
        }
        .instrument(span.clone())
        .await;
        match &called {
            Ok(result) if result.is_error == Some(true) => {
                span.record("error.type", "tool_error");
            }
            Err(error) => {
                span.record("error.type", error.kind());
                span.record("otel.status_code", "ERROR");
            }
            Ok(_) => {}
        }
        called
    }

    /// The span the connection's task lives in. rmcp's task keeps the span current when
    /// it is spawned for as long as the connection lasts; under the request's span it
    /// would keep that request's spans (`chatkit_request`, `invoke_agent`, `tools/list`)
    /// open, and never exported, until the server closes. So the connection gets a root
    /// span of its own, linked to the request that opened it.
    fn connection_span(&self) -> tracing::Span {
        let span = tracing::info_span!(
            parent: None,
            "mcp connection",
            otel.name = %format_args!("connection {}", self.inner.name),
            mcp.server.name = %self.inner.name,
        );
        span.follows_from(tracing::Span::current());
        span
    }

    /// The span of one request to the server (the OpenTelemetry MCP conventions).
    fn span(&self, method: &'static str, tool: Option<&str>) -> tracing::Span {
        let transport = match self.inner.transport {
            Transport::Stdio { .. } => "pipe",
            Transport::Http { .. } => "tcp",
        };
        tracing::info_span!(
            "mcp",
            otel.name = %format_args!("{method} {}", tool.unwrap_or(&self.inner.name)),
            otel.kind = "client",
            mcp.method.name = method,
            mcp.server.name = %self.inner.name,
            gen_ai.tool.name = tool,
            network.transport = transport,
            mcp.reconnected = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        )
    }

    async fn call_once(
        &self,
        name: &str,
        arguments: JsonObject,
    ) -> Result<CallToolResult, CallError> {
        let peer = {
            let mut connection = self.inner.connection.lock().await;
            if connection.as_ref().is_none_or(|c| c.client.is_closed()) {
                *connection = Some(self.open().await.map_err(CallError::Failed)?);
            }
            match connection.as_ref() {
                Some(open) => open.client.peer().clone(),
                None => return Err(CallError::Failed(self.request_error("not connected"))),
            }
        };
        let mut params = CallToolRequestParams::new(name.to_owned());
        params.arguments = Some(arguments);
        match tokio::time::timeout(self.inner.timeout, peer.call_tool(params)).await {
            Err(_) => Err(CallError::Failed(self.timed_out())),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(
                error
                @ (rmcp::ServiceError::TransportClosed | rmcp::ServiceError::TransportSend(_)),
            )) => Err(CallError::Lost(self.request_error(error))),
            Ok(Err(error)) => Err(CallError::Failed(self.request_error(error))),
        }
    }

    /// Closes the connection (stops the process); the next use opens a new one.
    pub async fn close(&self) {
        if let Some(open) = self.inner.connection.lock().await.take() {
            let _ = open.client.cancel().await;
        }
    }
}

/// A failed call: the connection was lost (worth one more try), or not.
enum CallError {
    Lost(McpError),
    Failed(McpError),
}

impl CallError {
    fn into_inner(self) -> McpError {
        match self {
            CallError::Lost(error) | CallError::Failed(error) => error,
        }
    }
}

impl<C: Send + Sync + 'static> ToolSource<C> for McpServer {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn required(&self) -> bool {
        self.inner.required
    }

    fn tools(&self) -> ToolSourceFuture<'_, C> {
        Box::pin(async move {
            let listed = self
                .list_tools()
                .await
                .map_err(|e| ToolSourceError::new(e.to_string()))?;
            let inner = &self.inner;
            let mut tools: Vec<Arc<dyn Tool<C>>> = Vec::with_capacity(listed.len());
            for remote in listed.iter() {
                let name = remote.name.as_ref();
                if inner.denied.contains(name)
                    || inner
                        .allowed
                        .as_ref()
                        .is_some_and(|allowed| !allowed.contains(name))
                {
                    continue;
                }
                let offered = format!("{}{name}", inner.prefix.as_deref().unwrap_or(""));
                tools.push(Arc::new(McpTool::new(
                    self.clone(),
                    remote,
                    offered,
                    inner.strict,
                )));
            }
            Ok(tools)
        })
    }
}
