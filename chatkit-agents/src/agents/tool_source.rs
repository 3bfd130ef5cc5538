//! Tools an agent gets at run time rather than at build time: an MCP server's, for
//! example ([`McpServer`](super::McpServer), feature `mcp`). The runner asks each source
//! of the running agent for its tools when the agent starts (and again after a handoff
//! to it), and offers them to the model next to the agent's own.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::tool::Tool;

/// A source of tools, asked when an agent that has it starts running.
///
/// When a source cannot give its tools, a [required](ToolSource::required) one fails
/// the run ([`RunError::ToolSource`](super::RunError::ToolSource)); any other is left
/// out of that run: the run goes on with the agent's other tools, the failure is logged
/// at WARN and recorded on the run's span, and the run streams
/// [`RunEvent::ToolSourceUnavailable`](super::RunEvent::ToolSourceUnavailable), which
/// [`stream_agent_response`](super::chatkit::stream_agent_response) shows the user as a notice.
/// The next run asks the source again (an `McpServer`, feature `mcp`, waits a growing
/// backoff between attempts to connect).
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Tool, ToolSource, ToolSourceFuture};
///
/// /// Tools loaded from a registry at run time.
/// struct Registry(Vec<Arc<dyn Tool<()>>>);
///
/// impl ToolSource<()> for Registry {
///     fn name(&self) -> &str {
///         "registry"
///     }
///     fn tools(&self) -> ToolSourceFuture<'_, ()> {
///         Box::pin(async move { Ok(self.0.clone()) })
///     }
/// }
/// ```
pub trait ToolSource<C>: Send + Sync {
    /// The source's name, for errors and traces.
    fn name(&self) -> &str;

    /// The tools to offer now. A source may cache them (an MCP server does, until the
    /// server says its list changed).
    fn tools(&self) -> ToolSourceFuture<'_, C>;

    /// Whether a run fails when this source cannot give its tools (`true`, the default
    /// for sources of your own) or goes on without them (`false`; the default of an
    /// `McpServer`, feature `mcp`, see its `required`).
    fn required(&self) -> bool {
        true
    }
}

/// What [`ToolSource::tools`] returns.
pub type ToolSourceFuture<'a, C> = BoxFuture<'a, Result<Vec<Arc<dyn Tool<C>>>, ToolSourceError>>;

/// A source could not give its tools (a server that does not start, or answers with an
/// error): the run fails with [`RunError::ToolSource`](super::RunError::ToolSource) when
/// the source is [required](ToolSource::required), and goes on without them otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolSourceError {
    /// What went wrong.
    pub message: String,
}

impl ToolSourceError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ToolSourceError {
            message: message.into(),
        }
    }
}
