//! Tools: what an agent can call. [`Tool`] is the trait; `#[function_tool]` writes it
//! for an annotated function.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use super::schema::ToolSchemaError;

/// The output the model sees when a tool fails, unless a formatter says otherwise (the
/// Python Agents SDK's default).
pub const DEFAULT_TOOL_ERROR_MESSAGE: &str =
    "An error occurred while running the tool. Please try again.";

/// How a tool is presented to the model. It serializes as the Responses API receives
/// it, so printing a tool's schema is one call:
///
/// ```
/// use chatkit_agents::agents::ToolDefinition;
/// use serde_json::json;
///
/// let tool = ToolDefinition {
///     name: "get_weather".into(),
///     description: "The weather in a city.".into(),
///     parameters: json!({"type": "object", "properties": {"city": {"type": "string"}},
///                        "required": ["city"], "additionalProperties": false}),
///     strict: true,
/// };
/// let sent = serde_json::to_value(&tool).unwrap();
/// assert_eq!(sent["type"], "function");
/// assert_eq!(sent["name"], "get_weather");
/// assert_eq!(sent["parameters"]["required"], json!(["city"]));
/// assert_eq!(sent["strict"], true);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    /// The name the model calls (`^[A-Za-z0-9_-]{1,64}$`).
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// The JSON schema of the arguments object.
    pub parameters: Value,
    /// Whether the model must follow the schema exactly (OpenAI strict mode).
    pub strict: bool,
}

impl serde::Serialize for ToolDefinition {
    /// `{"type":"function","name":..,"description":..,"parameters":..,"strict":..}`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut tool = serializer.serialize_struct("ToolDefinition", 5)?;
        tool.serialize_field("type", "function")?;
        tool.serialize_field("name", &self.name)?;
        tool.serialize_field("description", &self.description)?;
        tool.serialize_field("parameters", &self.parameters)?;
        tool.serialize_field("strict", &self.strict)?;
        tool.end()
    }
}

/// The context a tool runs in: your run context `C` (usually
/// [`AgentContext`](super::chatkit::AgentContext)) plus the call being answered. Derefs to `C`,
/// so `ctx.stream_widget(..)` reaches the agent context directly.
#[derive(Debug, Clone)]
pub struct ToolContext<C> {
    context: C,
    tool_name: String,
    tool_call_id: String,
    arguments: String,
}

impl<C> ToolContext<C> {
    /// The context for one call of `tool_name` with id `tool_call_id`.
    pub fn new(
        context: C,
        tool_name: impl Into<String>,
        tool_call_id: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolContext {
            context,
            tool_name: tool_name.into(),
            tool_call_id: tool_call_id.into(),
            arguments: arguments.into(),
        }
    }

    /// The run context.
    pub fn context(&self) -> &C {
        &self.context
    }

    /// The name of the tool being called.
    pub fn tool_name(&self) -> &str {
        &self.tool_name
    }

    /// The model's id for this call.
    pub fn tool_call_id(&self) -> &str {
        &self.tool_call_id
    }

    /// The raw JSON arguments the model sent.
    pub fn arguments(&self) -> &str {
        &self.arguments
    }
}

impl<C> Deref for ToolContext<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.context
    }
}

/// The error type of tool bodies: anything `?` meets converts into it, like
/// `anyhow::Error`.
///
/// ```
/// use chatkit_agents::agents::ToolError;
/// fn parse(n: &str) -> Result<u32, ToolError> {
///     Ok(n.parse::<u32>()?)
/// }
/// assert!(parse("x").unwrap_err().to_string().contains("invalid digit"));
/// let custom = ToolError::new("the city is unknown");
/// assert_eq!(custom.to_string(), "the city is unknown");
/// ```
pub struct ToolError(Box<dyn std::error::Error + Send + Sync>);

impl ToolError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError(message.into().into())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ToolError {
    fn from(e: E) -> Self {
        ToolError(Box::new(e))
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ToolError({})", self.0)
    }
}

/// Why a tool call produced no regular output. The runner turns it into the output the
/// model sees (see [`ToolErrorFormatter`]); the run itself goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolFailure {
    /// The arguments were not valid JSON for the tool's parameters.
    #[error("Invalid JSON input for tool {tool}: {message}")]
    InvalidArguments {
        /// The tool.
        tool: String,
        /// What did not parse.
        message: String,
    },
    /// The tool returned an error.
    #[error("Error running tool {tool}: {message}")]
    Failed {
        /// The tool.
        tool: String,
        /// The error's text.
        message: String,
    },
    /// The tool panicked (the panic is caught; the server keeps running).
    #[error("Tool {tool} panicked: {message}")]
    Panicked {
        /// The tool.
        tool: String,
        /// The panic message.
        message: String,
    },
    /// The tool ran past its `timeout`.
    #[error("Tool '{tool}' timed out after {seconds} seconds.")]
    TimedOut {
        /// The tool.
        tool: String,
        /// The timeout, as the reference prints it (`0.05`, `5.0`).
        seconds: String,
    },
    /// A person rejected the call (see [`RunState::reject`](super::RunState::reject)); it
    /// did not run.
    #[error("Tool execution was not approved.")]
    NotApproved {
        /// The tool.
        tool: String,
    },
}

impl ToolFailure {
    /// The output the model sees by default: the reference's generic message, except for
    /// timeouts and rejected calls, whose messages say so (as the reference's do:
    /// [`DEFAULT_APPROVAL_REJECTION_MESSAGE`](super::DEFAULT_APPROVAL_REJECTION_MESSAGE)).
    pub fn default_output(&self) -> String {
        match self {
            ToolFailure::TimedOut { .. } | ToolFailure::NotApproved { .. } => self.to_string(),
            _ => DEFAULT_TOOL_ERROR_MESSAGE.to_owned(),
        }
    }
}

/// Turns a tool failure into the output the model sees (per tool with
/// `#[function_tool(error_formatter = ...)]`, or per run).
pub type ToolErrorFormatter = Arc<dyn Fn(&ToolFailure) -> String + Send + Sync>;

/// A tool an agent can call, for a run context `C`. `#[function_tool]` implements it;
/// implement it by hand for tools built at runtime.
///
/// ```
/// use chatkit_agents::agents::{Tool, ToolContext, ToolDefinition, ToolFailure, ToolSchemaError};
/// use chatkit_agents::futures::future::BoxFuture;
///
/// struct Clock(ToolDefinition);
///
/// impl<C: Send + Sync + 'static> Tool<C> for Clock {
///     fn definition(&self) -> Result<&ToolDefinition, ToolSchemaError> {
///         Ok(&self.0)
///     }
///     fn invoke<'a>(&'a self, _ctx: &'a ToolContext<C>, _arguments: &'a str) -> BoxFuture<'a, Result<String, ToolFailure>> {
///         Box::pin(async { Ok("12:00".to_owned()) })
///     }
/// }
/// ```
pub trait Tool<C>: Send + Sync {
    /// Name, description and parameters. An error means the tool cannot be offered to a
    /// model (e.g. a map parameter in strict mode); runs fail with it.
    fn definition(&self) -> Result<&ToolDefinition, ToolSchemaError>;

    /// Runs one call with the model's raw JSON arguments, returning the output for the
    /// model or why there is none.
    fn invoke<'a>(
        &'a self,
        ctx: &'a ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<String, ToolFailure>>;

    /// Runs one call like [`invoke`](Self::invoke), with content for the model beyond
    /// text (images). The runner calls this; the default is `invoke`'s text. An MCP
    /// server's tool returns the images of its results here.
    fn invoke_content<'a>(
        &'a self,
        ctx: &'a ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolFailure>> {
        // Mapping the boxed future keeps it `Send` without asking anything of `C`.
        Box::pin(futures::FutureExt::map(
            self.invoke(ctx, arguments),
            |output| output.map(ToolOutput::text),
        ))
    }

    /// This tool's own formatting of failures; `None` defers to the run's formatter.
    fn format_failure(&self, _failure: &ToolFailure) -> Option<String> {
        None
    }

    /// Where the tool comes from, when it is not the application's own: an MCP server's
    /// tools say which server and their title. The runner announces calls of such tools
    /// with [`RunEvent::ToolStarted`](super::RunEvent::ToolStarted) (ChatKit shows
    /// them as tasks). Default: none.
    fn origin(&self) -> Option<ToolOrigin> {
        None
    }

    /// Whether this call waits for a person's approval before it runs (the Python SDK's
    /// `needs_approval`). The default is never; `#[function_tool(needs_approval)]` and
    /// [`RequireApproval`](super::RequireApproval) say otherwise. A call that needs
    /// approval interrupts the run (see [`RunState`](super::RunState)).
    fn needs_approval<'a>(
        &'a self,
        _ctx: &'a ToolContext<C>,
        _arguments: &'a str,
    ) -> BoxFuture<'a, bool> {
        Box::pin(std::future::ready(false))
    }
}

/// A tool's output ([`Tool::invoke_content`]): its text, which hooks, guardrails, run
/// events and ChatKit see, and optionally the content the model reads instead, as
/// Responses API input parts (`{"type": "input_text", "text": ...}`,
/// `{"type": "input_image", "image_url": "data:image/png;base64,..."}`). Chat models take
/// no images in tool results: they read the text parts, and a note per image.
///
/// ```
/// use chatkit_agents::agents::ToolOutput;
/// let chart = ToolOutput::text("The chart:").with_image("image/png", "iVBORw0KGgo=");
/// assert_eq!(chart.text, "The chart:\n[image: image/png]");
/// assert_eq!(chart.content.unwrap()[1]["image_url"], "data:image/png;base64,iVBORw0KGgo=");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolOutput {
    /// The output as text.
    pub text: String,
    /// What the model reads, when it is more than the text.
    pub content: Option<Vec<serde_json::Value>>,
}

impl ToolOutput {
    /// Text only.
    pub fn text(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            content: None,
        }
    }

    /// Adds an image (base64 data of a MIME type) after what the output has; the text
    /// notes it as `[image: <type>]`.
    pub fn with_image(mut self, mime_type: &str, base64: &str) -> Self {
        let content = self.content.get_or_insert_with(|| {
            if self.text.is_empty() {
                Vec::new()
            } else {
                vec![serde_json::json!({"type": "input_text", "text": self.text})]
            }
        });
        content.push(serde_json::json!({
            "type": "input_image",
            "image_url": format!("data:{mime_type};base64,{base64}"),
        }));
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(&format!("[image: {mime_type}]"));
        self
    }

    /// Adds text after what the output has.
    pub fn with_text(mut self, text: &str) -> Self {
        if let Some(content) = &mut self.content {
            content.push(serde_json::json!({"type": "input_text", "text": text}));
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(text);
        self
    }
}

/// Where a tool comes from (see [`Tool::origin`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOrigin {
    /// The source: an MCP server's name.
    pub source: String,
    /// The tool's human-readable title, if it has one.
    pub title: Option<String>,
}

/// Calls `tool` and always produces an output for the model: the tool's output, or its
/// failure formatted by the tool, else by `formatter`, else the default message.
pub async fn call_tool<C>(
    tool: &dyn Tool<C>,
    ctx: &ToolContext<C>,
    arguments: &str,
    formatter: Option<&ToolErrorFormatter>,
) -> String {
    match tool.invoke(ctx, arguments).await {
        Ok(output) => output,
        Err(failure) => format_failure(tool, ctx, &failure, formatter),
    }
}

/// What the model reads for `failure` (logged once): the tool's formatting, else
/// `formatter`'s, else the default.
pub(crate) fn format_failure<C>(
    tool: &dyn Tool<C>,
    ctx: &ToolContext<C>,
    failure: &ToolFailure,
    formatter: Option<&ToolErrorFormatter>,
) -> String {
    tracing::warn!(tool = ctx.tool_name(), %failure, "tool call failed");
    tool.format_failure(failure)
        .or_else(|| formatter.map(|f| f(failure)))
        .unwrap_or_else(|| failure.default_output())
}
