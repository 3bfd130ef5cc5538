//! The demo ChatKit server: an axum app with `SqliteStore` (or `PostgresStore` when
//! `CHATKIT_DB` is a `postgres://` URL), an agent whose tools stream
//! widgets, and widget action handlers. With `OPENAI_API_KEY` set it uses the OpenAI
//! Responses API; without, a built-in offline model that still calls the tools.
//!
//! Run it with `cargo run --example demo`, then open <http://127.0.0.1:8000>.

mod hosted;
mod limits;
mod mcp;
mod offline;
mod received;
mod server;
pub mod state;
pub mod tools;
pub mod widgets;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{Html, Response};
use axum::routing::get;
use axum::Router;
use chatkit_agents::agents::{
    chatkit::ThreadTitles,
    model::Model,
    providers::openai::{OpenAIChatCompletionsModel, OpenAIResponsesModel},
    HostedTool, McpServer,
};
use chatkit_agents::http::{ChatKitEndpoint, Cors};
use chatkit_agents::runs::{DisconnectPolicy, RunLeases, RunLogBackend, DEFAULT_RUN_LEASE_TTL};
use chatkit_agents::server::Limits;
use chatkit_agents::store::{
    AttachmentStore, ObjectAttachmentStore, PostgresStore, SqliteStore, Store, StoreContext,
    StoreError,
};
use chatkit_agents::telemetry::otel::{self, Otel, OtelError};

pub use hosted::parse_hosted_tools;
pub use limits::DemoLimits;
pub use mcp::parse_mcp_servers;
pub use offline::OfflineModel;
pub use server::DemoServer;

/// The request context: who is asking, and the model notes are written with.
#[derive(Clone)]
pub struct RequestContext {
    /// The user (from the `x-user-id` header; `demo-user` without one).
    pub user_id: String,
    /// The model `draft_note` runs its writer agent on.
    pub writer_model: Arc<dyn Model>,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl StoreContext for RequestContext {
    fn user_id(&self) -> Option<&str> {
        Some(&self.user_id)
    }
}

/// Which model answers.
#[derive(Debug, Clone)]
pub enum DemoModel {
    /// The built-in rule-based model (no network).
    Offline,
    /// A model behind the OpenAI API (or a compatible server).
    OpenAI {
        /// Model name.
        model: String,
        /// API base URL.
        base_url: String,
        /// API key.
        api_key: String,
        /// Use the Chat Completions API instead of the Responses API (for servers that
        /// only speak Chat Completions).
        chat_completions: bool,
    },
}

/// Where the demo keeps its threads.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoDatabase {
    /// A SQLite file (one process).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://...`), which several demo processes can share.
    Postgres(String),
}

impl DemoDatabase {
    /// `postgres://` and `postgresql://` URLs are PostgreSQL; anything else a SQLite path.
    pub fn parse(value: &str) -> Self {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            DemoDatabase::Postgres(value.to_owned())
        } else {
            DemoDatabase::Sqlite(value.into())
        }
    }

    /// Opens the store (PostgreSQL: applying its migrations).
    pub async fn open(&self) -> Result<Arc<dyn Store<RequestContext>>, StoreError> {
        Ok(match self {
            DemoDatabase::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
            DemoDatabase::Postgres(url) => Arc::new(PostgresStore::connect(url).await?),
        })
    }
}

impl std::fmt::Display for DemoDatabase {
    /// The file, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoDatabase::Sqlite(path) => write!(f, "{}", path.display()),
            DemoDatabase::Postgres(url) => {
                let shown = match (url.find("://"), url.rfind('@')) {
                    (Some(scheme), Some(at)) if at > scheme => {
                        let credentials = &url[scheme + 3..at];
                        match credentials.split_once(':') {
                            Some((user, _)) => {
                                format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
                            }
                            None => url.clone(),
                        }
                    }
                    _ => url.clone(),
                };
                write!(f, "{shown}")
            }
        }
    }
}

/// Sets up the demo's logs and, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the export of its spans and metrics
/// over OTLP/HTTP (service `chatkit-agents-demo` unless `OTEL_SERVICE_NAME` says
/// otherwise). Logs go to stderr, filtered by `RUST_LOG` (default `info`). Keep the
/// returned export until the demo ends: dropping it sends what is still buffered.
pub fn init_telemetry() -> Result<Option<Otel>, OtelError> {
    let exporting = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    if exporting {
        let builder = Otel::builder().default_service_name("chatkit-agents-demo");
        return otel::init_with(builder).map(Some);
    }
    // stderr, as the OpenTelemetry setup's logs (`fmt()` alone writes to stdout).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init()
        .map_err(|_| OtelError::SubscriberAlreadySet)?;
    Ok(None)
}

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Where to listen.
    pub address: SocketAddr,
    /// Where threads are kept.
    pub database: DemoDatabase,
    /// The model.
    pub model: DemoModel,
    /// MCP servers whose tools the agent gets (`CHATKIT_MCP`, see [`parse_mcp_servers`]).
    pub mcp_servers: Vec<McpServer>,
    /// The Responses API's hosted tools offered to the model (`CHATKIT_HOSTED_TOOLS`, see
    /// [`parse_hosted_tools`]).
    pub hosted_tools: Vec<HostedTool>,
    /// How long a stopping demo (SIGTERM, Ctrl-C) lets answers in flight finish before
    /// it cancels them (`CHATKIT_DRAIN_TIMEOUT`, seconds; 20 by default).
    pub drain_timeout: std::time::Duration,
    /// What a client going away does to its answer (`CHATKIT_RUNS`: `cancel`, the
    /// default, or `detach`).
    pub runs: DisconnectPolicy,
    /// How runs hold their threads: `CHATKIT_RUN_LEASE_TTL` (seconds, 20) and
    /// `CHATKIT_REPLICA` (this replica's stable name, for closing at once what a crash
    /// of its earlier start left).
    pub leases: RunLeases,
    /// Where detached runs' events go so that any replica can serve a resume
    /// (`CHATKIT_RUN_LOG`: a `redis://` URL; none by default).
    pub run_log: Option<String>,
    /// Origins whose pages may call the endpoint (`CHATKIT_CORS_ORIGINS`, comma
    /// separated, e.g. `http://localhost:5173`; none by default).
    pub cors: Option<Cors>,
    /// Where users' files go (`CHATKIT_ATTACHMENTS`: a folder,
    /// `chatkit-demo-attachments` by default, `off` for none).
    pub attachments: AttachmentConfig,
    /// Per-user limits (`CHATKIT_LIMITS`, see [`DemoLimits::parse`]; none by default),
    /// counted in Redis with `CHATKIT_LIMITS_REDIS`.
    pub limits: DemoLimits,
    /// The model that titles new threads (`OPENAI_TITLE_MODEL`, the answer's model by
    /// default, `off` for none) when a key is set; otherwise titles are the first words.
    pub title_model: Option<String>,
}

/// How the demo's answers run (what a client going away does to them, how they hold
/// their threads, where detached runs' events go besides this process) and where
/// users' files go.
#[derive(Default)]
pub struct DemoOptions {
    /// `Cancel` (the default) or `Detach`.
    pub policy: DisconnectPolicy,
    /// The threads' leases.
    pub leases: RunLeases,
    /// The shared log of detached runs, if any.
    pub log: Option<Arc<dyn RunLogBackend>>,
    /// Attachments, if the page offers them.
    pub attachments: Option<DemoAttachments>,
    /// Pages of other origins allowed to call the endpoint.
    pub cors: Option<Cors>,
    /// Per-user limits, keyed by the `x-user-id` user.
    pub limits: Option<Limits>,
    /// A model that titles new threads (else: the first words).
    pub titles: Option<ThreadTitles>,
}

/// The demo's attachments: where the bytes go, and which upload strategy its page
/// tells the ChatKit component to use (the server answers both at once).
pub struct DemoAttachments {
    /// The attachment store.
    pub store: Arc<dyn AttachmentStore<RequestContext>>,
    /// The page's `uploadStrategy`.
    pub strategy: UploadStrategy,
}

/// The ChatKit component's two ways to upload a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadStrategy {
    /// `attachments.create`, then an upload to the URL it answers (the default).
    #[default]
    TwoPhase,
    /// A multipart `POST` to `/chatkit/attachments`.
    Direct,
}

impl UploadStrategy {
    /// `two_phase` or `direct`.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim() {
            "two_phase" | "two-phase" => Ok(UploadStrategy::TwoPhase),
            "direct" => Ok(UploadStrategy::Direct),
            other => Err(format!(
                "CHATKIT_UPLOAD_STRATEGY: {other:?} is neither \"two_phase\" nor \"direct\""
            )),
        }
    }

    /// The component's `api.uploadStrategy` option, as JavaScript.
    fn option(self) -> &'static str {
        match self {
            UploadStrategy::TwoPhase => r#"{ type: "two_phase" }"#,
            UploadStrategy::Direct => {
                r#"{ type: "direct", uploadUrl: location.origin + "/chatkit/attachments" }"#
            }
        }
    }
}

/// Where the demo keeps files (`CHATKIT_ATTACHMENTS`, `CHATKIT_UPLOAD_STRATEGY`,
/// `CHATKIT_PUBLIC_URL`, `CHATKIT_ATTACHMENT_SWEEP`).
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentConfig {
    /// The folder (`None`: attachments off).
    pub dir: Option<PathBuf>,
    /// The page's upload strategy.
    pub strategy: UploadStrategy,
    /// The ChatKit endpoint's absolute URL as browsers reach it (upload and preview
    /// URLs are made from it); by default `http://<address>/chatkit`.
    pub public_url: Option<String>,
    /// How old an attachment no message used gets before it is deleted
    /// (`CHATKIT_ATTACHMENT_SWEEP`, seconds; a day by default). The sweep runs hourly.
    pub unsent_ttl: std::time::Duration,
}

impl DemoConfig {
    /// From the environment: `PORT` (8000), `HOST` (127.0.0.1), `CHATKIT_DB`
    /// (`chatkit-demo.sqlite`; a `postgres://` URL uses PostgreSQL), `OPENAI_API_KEY` (offline model when unset or empty),
    /// `OPENAI_MODEL` (`gpt-4.1-mini`), `OPENAI_BASE_URL` (`https://api.openai.com/v1`),
    /// `OPENAI_API` (`responses`, or `chat_completions` for chat-only servers),
    /// `CHATKIT_MCP` (MCP servers, see [`parse_mcp_servers`]), `CHATKIT_HOSTED_TOOLS`
    /// (hosted tools, see [`parse_hosted_tools`]), `CHATKIT_DRAIN_TIMEOUT` (seconds, 20),
    /// `CHATKIT_RUNS` (`cancel` or `detach`), `CHATKIT_RUN_LEASE_TTL` (seconds, 20),
    /// `CHATKIT_REPLICA`, `CHATKIT_RUN_LOG` (a `redis://` URL), `CHATKIT_ATTACHMENTS` (a
    /// folder, or `off`), `CHATKIT_UPLOAD_STRATEGY` (`two_phase` or `direct`),
    /// `CHATKIT_PUBLIC_URL`, `CHATKIT_ATTACHMENT_SWEEP` (seconds, a day),
    /// `CHATKIT_CORS_ORIGINS` (origins, comma separated), `CHATKIT_LIMITS` (see
    /// [`DemoLimits::parse`]), `CHATKIT_LIMITS_REDIS` (a `redis://` URL),
    /// `OPENAI_TITLE_MODEL`. Fails on a `CHATKIT_MCP`, `CHATKIT_HOSTED_TOOLS`,
    /// `CHATKIT_DRAIN_TIMEOUT`, `CHATKIT_RUN_LEASE_TTL` or `CHATKIT_RUNS` that does not
    /// parse, and on hosted tools with `OPENAI_API=chat_completions` (Chat
    /// Completions has none).
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let host = var("HOST").unwrap_or_else(|| "127.0.0.1".into());
        let port = var("PORT").and_then(|p| p.parse().ok()).unwrap_or(8000u16);
        let address = format!("{host}:{port}")
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], port)));
        let model = match var("OPENAI_API_KEY") {
            None => DemoModel::Offline,
            Some(api_key) => DemoModel::OpenAI {
                model: var("OPENAI_MODEL").unwrap_or_else(|| "gpt-4.1-mini".into()),
                base_url: var("OPENAI_BASE_URL")
                    .unwrap_or_else(|| "https://api.openai.com/v1".into()),
                api_key,
                chat_completions: var("OPENAI_API").as_deref() == Some("chat_completions"),
            },
        };
        let hosted_tools = parse_hosted_tools(&var("CHATKIT_HOSTED_TOOLS").unwrap_or_default())?;
        if let (
            Some(tool),
            DemoModel::OpenAI {
                chat_completions: true,
                ..
            },
        ) = (hosted_tools.first(), &model)
        {
            return Err(format!(
                "CHATKIT_HOSTED_TOOLS: {} needs the Responses API; unset OPENAI_API=chat_completions",
                tool.kind()
            ));
        }
        let seconds = |name: &str, default| match var(name) {
            None => Ok(default),
            Some(seconds) => seconds
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| format!("{name}: {seconds:?} is not a number of seconds")),
        };
        let drain_timeout = seconds(
            "CHATKIT_DRAIN_TIMEOUT",
            chatkit_agents::http::DEFAULT_DRAIN_TIMEOUT,
        )?;
        let mut leases =
            RunLeases::default().ttl(seconds("CHATKIT_RUN_LEASE_TTL", DEFAULT_RUN_LEASE_TTL)?);
        if let Some(replica) = var("CHATKIT_REPLICA") {
            leases = leases.replica(replica.trim());
        }
        let run_log = var("CHATKIT_RUN_LOG").map(|url| url.trim().to_owned());
        if let Some(url) = &run_log {
            if !url.starts_with("redis://") && !url.starts_with("rediss://") {
                return Err(format!(
                    "CHATKIT_RUN_LOG: {url:?} is not a redis:// URL (the one log backend the demo has)"
                ));
            }
        }
        let runs = match var("CHATKIT_RUNS").as_deref().map(str::trim) {
            None | Some("cancel") => DisconnectPolicy::Cancel,
            Some("detach") => DisconnectPolicy::detach(),
            Some(other) => {
                return Err(format!(
                    "CHATKIT_RUNS: {other:?} is neither \"cancel\" nor \"detach\""
                ))
            }
        };
        let attachments = AttachmentConfig {
            dir: match var("CHATKIT_ATTACHMENTS").as_deref().map(str::trim) {
                Some("off") => None,
                Some(dir) => Some(dir.into()),
                None => Some("chatkit-demo-attachments".into()),
            },
            strategy: match var("CHATKIT_UPLOAD_STRATEGY") {
                Some(value) => UploadStrategy::parse(&value)?,
                None => UploadStrategy::default(),
            },
            public_url: var("CHATKIT_PUBLIC_URL").map(|url| url.trim().to_owned()),
            unsent_ttl: seconds(
                "CHATKIT_ATTACHMENT_SWEEP",
                std::time::Duration::from_secs(24 * 3600),
            )?,
        };
        let cors = match var("CHATKIT_CORS_ORIGINS") {
            None => None,
            Some(origins) => Some(
                Cors::allow_origins(origins.split(',').map(str::trim).filter(|o| !o.is_empty()))
                    .map_err(|e| format!("CHATKIT_CORS_ORIGINS: {e}"))?,
            ),
        };
        let mut limits = DemoLimits::parse(&var("CHATKIT_LIMITS").unwrap_or_default())?;
        limits.redis = var("CHATKIT_LIMITS_REDIS").map(|url| url.trim().to_owned());
        let title_model = match (&model, var("OPENAI_TITLE_MODEL")) {
            (DemoModel::Offline, _) => None,
            (_, Some(name)) if name.trim() == "off" => None,
            (_, Some(name)) => Some(name.trim().to_owned()),
            (DemoModel::OpenAI { model, .. }, None) => Some(model.clone()),
        };
        Ok(DemoConfig {
            limits,
            title_model,
            cors,
            attachments,
            runs,
            leases,
            run_log,
            drain_timeout,
            address,
            database: DemoDatabase::parse(
                &var("CHATKIT_DB").unwrap_or_else(|| "chatkit-demo.sqlite".into()),
            ),
            model,
            mcp_servers: parse_mcp_servers(&var("CHATKIT_MCP").unwrap_or_default())?,
            hosted_tools,
        })
    }
}

/// The page that embeds the ChatKit web component (from OpenAI's CDN) pointed at this
/// server. `localhost` works with a placeholder domain key.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>chatkit-agents demo</title>
  <script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" async onerror="showOffline('the script could not be fetched')"></script>
  <style>
    html, body { height: 100%; margin: 0; font-family: system-ui, sans-serif; background: #f6f6f7; }
    main { max-width: 1400px; height: 100%; margin: 0 auto; display: flex; flex-direction: column; }
    header { padding: 12px 4px; color: #555; font-size: 14px; }
    openai-chatkit { flex: 1; display: block; width: 100%; max-width: 760px; margin: 0 auto; }
    #devtools { flex: 1; width: 100%; border: 1px solid #ddd; border-radius: 8px; background: #fff; }
    #offline { margin: 16px 4px; padding: 16px; background: #fff; border: 1px solid #ddd; border-radius: 8px; color: #333; }
    #offline pre { background: #f0f0f2; padding: 10px; overflow-x: auto; white-space: pre-wrap; }
  </style>
</head>
<body>
  <main>
    <header>chatkit-agents demo: a Rust ChatKit server. Try the prompts in the chat below, or
      open the <a href="/chatkit/devtools">devtools</a> (works offline, shows every frame).</header>
    <section id="offline" hidden>
      <strong>The ChatKit web component did not load</strong> (<span id="offline-why">no answer from OpenAI's CDN</span>).
      It comes from <code>cdn.platform.openai.com</code>, so the browser needs internet; this
      server does not. Below is the server's own devtools page instead (no network needed;
      <a href="/chatkit/devtools">open it alone</a>). With curl:
      <pre id="offline-curl"></pre>
    </section>
    <iframe id="devtools" title="ChatKit devtools" hidden></iframe>
    <openai-chatkit id="chat"></openai-chatkit>
  </main>
  <script>
    // Without the component the page would stay blank: say why, and what still works.
    function showOffline(why) {
      if (customElements.get("openai-chatkit")) return;
      document.getElementById("offline-why").textContent = why;
      document.getElementById("offline-curl").textContent =
        "curl -N " + location.origin + "/chatkit -H 'content-type: application/json' \\\n" +
        "  -d '{\"type\":\"threads.create\",\"params\":{\"input\":{\"content\":[{\"type\":\"input_text\",\"text\":\"What is the weather in Paris?\"}],\"attachments\":[],\"inference_options\":{}}}}'";
      document.getElementById("offline").hidden = false;
      document.getElementById("chat").hidden = true;
      const devtools = document.getElementById("devtools");
      devtools.src = "/chatkit/devtools";
      devtools.hidden = false;
    }
    setTimeout(() => showOffline("it had not loaded after 5 seconds"), 5000);
    customElements.whenDefined("openai-chatkit").then(async () => {
      const chat = document.getElementById("chat");
      // The composer's tools and the entities to tag: the same list the devtools page
      // gets (ChatKitEndpoint::devtools_options).
      const offered = await fetch("/chatkit/devtools/options.json").then((r) => r.json()).catch(() => ({}));
      const entities = Array.isArray(offered.entities) ? offered.entities : [];
      chat.setOptions({
        api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev"/*UPLOADS*/ },
        composer: {
          tools: offered.composer?.tools ?? [],/*ATTACHMENTS*/
        },
        entities: {
          onTagSearch: async (query) => entities.filter((e) => e.title.toLowerCase().includes(query.toLowerCase())),
          showComposerMenu: true,
        },
        startScreen: {
          greeting: "Hello from Rust!",
          prompts: [
            { label: "Weather", prompt: "What's the weather in Paris?" },
            { label: "Tasks", prompt: "Show my tasks" },
            { label: "Note", prompt: "Draft a note about Rust" },
          ],
        },
        // Actions with `handler: "client"` run here, in the page (the weather card's map).
        widgets: {
          onAction: async (action) => {
            if (action.type === "weather.open_map" && typeof action.payload?.city === "string") {
              window.open("https://www.openstreetmap.org/search?query=" + encodeURIComponent(action.payload.city), "_blank", "noopener");
            }
          },
        },
      });
      chat.addEventListener("chatkit.effect", (event) => {
        if (event.detail.name === "celebrate") document.title = "All done!";
      });
    });
  </script>
</body>
</html>
"#;

/// The page, with the composer's attachment options when `uploads` is set.
fn page(uploads: Option<UploadStrategy>) -> String {
    match uploads {
        None => PAGE
            .replace("/*UPLOADS*/", "")
            .replace("/*ATTACHMENTS*/", ""),
        Some(strategy) => PAGE
            .replace(
                "/*UPLOADS*/",
                &format!(", uploadStrategy: {}", strategy.option()),
            )
            .replace(
                "/*ATTACHMENTS*/",
                r#"
          attachments: {
            enabled: true,
            maxCount: 10,
            maxSize: 20 * 1024 * 1024,
            accept: {
              "image/*": [".png", ".jpg", ".jpeg", ".gif", ".webp"],
              "application/pdf": [".pdf"],
              "text/plain": [".txt"], "text/markdown": [".md"], "text/csv": [".csv"],
              "application/json": [".json"],
            },
          },"#,
            ),
    }
}

/// The composer's tools (routed by `DemoServer`'s agent) and the entities a message may
/// tag, for the devtools page (the web component's option shapes).
fn devtools_options() -> serde_json::Value {
    let tasks = widgets::initial_tasks().into_iter().map(|task| {
        serde_json::json!({"id": task.id, "title": task.title, "group": "Tasks", "data": {"kind": "task"}})
    });
    let cities = ["Paris", "Oslo", "Lisbon"].map(|city| {
        serde_json::json!({"id": city.to_lowercase(), "title": city, "group": "Cities", "data": {"kind": "city"}})
    });
    serde_json::json!({
        "composer": {"tools": COMPOSER_TOOLS.iter().map(|(id, label, icon)| serde_json::json!({"id": id, "label": label, "icon": icon})).collect::<Vec<_>>()},
        "entities": tasks.chain(cities).collect::<Vec<_>>(),
    })
}

/// The composer tools the demo routes: `(id, label, icon)` (a `ChatKitIcon`).
const COMPOSER_TOOLS: [(&str, &str, &str); 3] = [
    ("research", "Research", "search"),
    ("note", "Draft a note", "write"),
    ("weather", "Weather", "globe"),
];

/// One log line per request: method, path, status, time to the response head.
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let start = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        "{method} {path} {} {:.1}ms",
        response.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    response
}

/// The model `config` asks for.
pub fn model(config: &DemoModel) -> Arc<dyn Model> {
    match config {
        DemoModel::Offline => Arc::new(OfflineModel),
        DemoModel::OpenAI {
            model,
            base_url,
            api_key,
            chat_completions: true,
        } => Arc::new(OpenAIChatCompletionsModel::with_base_url(
            model.clone(),
            base_url.clone(),
            api_key.clone(),
        )),
        DemoModel::OpenAI {
            model,
            base_url,
            api_key,
            chat_completions: false,
        } => Arc::new(OpenAIResponsesModel::with_base_url(
            model.clone(),
            base_url.clone(),
            api_key.clone(),
        )),
    }
}

/// The demo app: `GET /` (the page) and `POST /chatkit`, on `store`, answering with `model`.
pub fn app(store: Arc<dyn Store<RequestContext>>, model: Arc<dyn Model>) -> Router {
    app_with_tools(store, model, Vec::new(), Vec::new())
}

/// [`app`] whose agent also gets the tools of `mcp_servers` and the model's
/// `hosted_tools`.
pub fn app_with_tools(
    store: Arc<dyn Store<RequestContext>>,
    model: Arc<dyn Model>,
    mcp_servers: Vec<McpServer>,
    hosted_tools: Vec<HostedTool>,
) -> Router {
    app_with_policy(
        store,
        model,
        mcp_servers,
        hosted_tools,
        DemoOptions::default(),
    )
}

/// [`app_with_tools`] whose answers run as `runs` says (outliving their client under
/// [`DisconnectPolicy::detach`], say).
pub fn app_with_policy(
    store: Arc<dyn Store<RequestContext>>,
    model: Arc<dyn Model>,
    mcp_servers: Vec<McpServer>,
    hosted_tools: Vec<HostedTool>,
    runs: DemoOptions,
) -> Router {
    let uploads = runs.attachments.as_ref().map(|a| a.strategy);
    let cors = runs.cors.clone();
    let server = Arc::new(DemoServer::new(
        store,
        model.clone(),
        mcp_servers,
        hosted_tools,
        runs,
    ));
    let chatkit = ChatKitEndpoint::new(server, move |parts| {
        let user_id = parts
            .headers
            .get("x-user-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("demo-user")
            .to_owned();
        Ok(RequestContext {
            user_id,
            writer_model: model.clone(),
        })
    })
    .devtools(true)
    .devtools_options(devtools_options());
    let chatkit = match cors {
        Some(cors) => chatkit.cors(cors),
        None => chatkit,
    }
    .router();
    let page = page(uploads);
    let page = move || async move {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            Html(page),
        )
    };
    Router::new()
        .route("/", get(page))
        .merge(chatkit)
        .layer(middleware::from_fn(log_request))
}

/// Runs the demo until Ctrl-C.
pub async fn run(config: DemoConfig) -> Result<(), Box<dyn std::error::Error>> {
    let store = config.database.open().await?;
    // Header-read and idle timeouts and a connection limit (the defaults of
    // `chatkit_agents::http::Server`), so slow or idle clients cannot pile up.
    // On SIGTERM or Ctrl-C it drains: answers in flight finish (up to the deadline) or
    // are saved as cancelled.
    let server = chatkit_agents::http::Server::bind(config.address)
        .await?
        .drain_timeout(config.drain_timeout);
    let mode = match &config.model {
        DemoModel::Offline => "the offline model (set OPENAI_API_KEY for a real one)".to_owned(),
        DemoModel::OpenAI {
            model,
            base_url,
            chat_completions,
            ..
        } => {
            let api = if *chat_completions {
                "Chat Completions"
            } else {
                "Responses"
            };
            format!("{model} at {base_url} ({api} API)")
        }
    };
    tracing::info!(
        "chatkit-agents demo on http://{} with {mode}; data in {}",
        server.local_addr()?,
        config.database
    );
    for server in &config.mcp_servers {
        tracing::info!(
            server = server.name(),
            "the agent gets this MCP server's tools"
        );
    }
    let mut hosted_tools = config.hosted_tools.clone();
    if !hosted_tools.is_empty() && matches!(config.model, DemoModel::Offline) {
        tracing::warn!("CHATKIT_HOSTED_TOOLS is ignored: the offline model has no hosted tools (set OPENAI_API_KEY)");
        hosted_tools.clear();
    }
    for tool in &hosted_tools {
        tracing::info!(tool = tool.kind(), "the model is offered this hosted tool");
    }
    if config.runs != DisconnectPolicy::Cancel {
        tracing::info!("answers outlive their client (CHATKIT_RUNS=detach): rejoin at GET /chatkit/runs/events");
    }
    let log: Option<Arc<dyn RunLogBackend>> = match &config.run_log {
        None => None,
        Some(url) => {
            let log = chatkit_agents::runs::RedisRunLog::connect(url).await?;
            tracing::info!(
                "detached runs' events go to Redis at {url}: any replica serves a resume"
            );
            Some(Arc::new(log))
        }
    };
    let attachments = match &config.attachments.dir {
        None => None,
        Some(dir) => {
            let public_url = config.attachments.public_url.clone().unwrap_or_else(|| {
                format!(
                    "http://{}/chatkit",
                    server.local_addr().unwrap_or(config.address)
                )
            });
            let files = Arc::new(ObjectAttachmentStore::local(dir, public_url)?.build());
            let ttl = config.attachments.unsent_ttl;
            let every = ttl.min(std::time::Duration::from_secs(3600));
            files.clone().spawn_sweeper(store.clone(), every, ttl);
            tracing::info!(
                "attachments in {} ({} uploads)",
                dir.display(),
                match config.attachments.strategy {
                    UploadStrategy::TwoPhase => "two-phase",
                    UploadStrategy::Direct => "direct",
                }
            );
            Some(DemoAttachments {
                store: files,
                strategy: config.attachments.strategy,
            })
        }
    };
    let limits = match config.limits.any() {
        false => None,
        true => {
            tracing::info!(limits = ?config.limits, "users are held to limits (by x-user-id)");
            Some(config.limits.build().await?)
        }
    };
    let titles = config.title_model.as_ref().map(|name| {
        let mut title_config = config.model.clone();
        if let DemoModel::OpenAI { model, .. } = &mut title_config {
            model.clone_from(name);
        }
        ThreadTitles::new(self::model(&title_config))
    });
    let runs = DemoOptions {
        policy: config.runs.clone(),
        leases: config.leases.clone(),
        log,
        attachments,
        cors: config.cors.clone(),
        limits,
        titles,
    };
    let app = app_with_policy(
        store,
        model(&config.model),
        config.mcp_servers.clone(),
        hosted_tools,
        runs,
    );
    server.serve(app).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The demo's `main`: telemetry and configuration from the environment, then [`run`]
/// until SIGTERM or Ctrl-C (`cargo run --example demo`, or the `chatkit-demo` binary).
pub async fn main_from_env() -> Result<(), String> {
    let otel = init_telemetry().map_err(|e| e.to_string())?;
    let config = DemoConfig::from_env()?;
    let served = run(config).await.map_err(|e| e.to_string());
    if let Some(otel) = otel {
        // Send what is buffered; it waits for the receiver, so off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || otel.shutdown()).await;
    }
    served
}
