//! [`RunHooks`]: callbacks at each step of a run, in the order the Python Agents SDK
//! fires them.

use async_trait::async_trait;
use serde_json::Value;

use super::agent::Agent;
use super::model::OutputItem;
use super::tool::{ToolContext, ToolDefinition};

/// A hook that stops the run (a guardrail's tripwire). The run ends with
/// [`RunError::Tripwire`](super::RunError::Tripwire), and `stream_agent_response`
/// removes the items the run produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tripwire: {0}")]
pub struct Tripwire(pub String);

/// Callbacks around a run. Every method defaults to doing nothing. Hooks see the run
/// context, so a hook can queue ChatKit events (e.g. stream a widget from
/// `on_tool_end`). Returning a [`Tripwire`] stops the run.
///
/// Order in a run: `on_agent_start`, then per turn `on_llm_start`, (model events),
/// `on_llm_end`, then for tool calls `on_tool_start` for every call before any runs,
/// `on_tool_end` as each finishes; `on_handoff` after the tools when the model handed
/// off (then `on_agent_start` of the new agent); `on_agent_end` with the final output.
#[async_trait]
pub trait RunHooks<C: Send + Sync>: Send + Sync {
    /// The agent starts.
    async fn on_agent_start(&self, _context: &C, _agent: &Agent<C>) -> Result<(), Tripwire> {
        Ok(())
    }

    /// The agent produced its final output.
    async fn on_agent_end(
        &self,
        _context: &C,
        _agent: &Agent<C>,
        _output: &str,
    ) -> Result<(), Tripwire> {
        Ok(())
    }

    /// The model handed the conversation from `from` over to `to`, which answers from
    /// the next turn on.
    async fn on_handoff(
        &self,
        _context: &C,
        _from: &Agent<C>,
        _to: &Agent<C>,
    ) -> Result<(), Tripwire> {
        Ok(())
    }

    /// A model call is about to start.
    async fn on_llm_start(
        &self,
        _context: &C,
        _agent: &Agent<C>,
        _instructions: Option<&str>,
        _input: &[Value],
    ) -> Result<(), Tripwire> {
        Ok(())
    }

    /// A model call finished with these output items.
    async fn on_llm_end(
        &self,
        _context: &C,
        _agent: &Agent<C>,
        _output: &[OutputItem],
    ) -> Result<(), Tripwire> {
        Ok(())
    }

    /// A tool is about to run.
    async fn on_tool_start(
        &self,
        _context: &ToolContext<C>,
        _agent: &Agent<C>,
        _tool: &ToolDefinition,
    ) -> Result<(), Tripwire> {
        Ok(())
    }

    /// A tool finished with this output (failures included, as the model sees them).
    async fn on_tool_end(
        &self,
        _context: &ToolContext<C>,
        _agent: &Agent<C>,
        _tool: &ToolDefinition,
        _output: &str,
    ) -> Result<(), Tripwire> {
        Ok(())
    }
}

/// Hooks that do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl<C: Send + Sync> RunHooks<C> for NoHooks {}

/// Shared hooks: keep an `Arc` to read what your hooks recorded after the run.
#[async_trait]
impl<C: Send + Sync, H: RunHooks<C> + ?Sized> RunHooks<C> for std::sync::Arc<H> {
    async fn on_agent_start(&self, context: &C, agent: &Agent<C>) -> Result<(), Tripwire> {
        (**self).on_agent_start(context, agent).await
    }

    async fn on_agent_end(
        &self,
        context: &C,
        agent: &Agent<C>,
        output: &str,
    ) -> Result<(), Tripwire> {
        (**self).on_agent_end(context, agent, output).await
    }

    async fn on_handoff(
        &self,
        context: &C,
        from: &Agent<C>,
        to: &Agent<C>,
    ) -> Result<(), Tripwire> {
        (**self).on_handoff(context, from, to).await
    }

    async fn on_llm_start(
        &self,
        context: &C,
        agent: &Agent<C>,
        instructions: Option<&str>,
        input: &[Value],
    ) -> Result<(), Tripwire> {
        (**self)
            .on_llm_start(context, agent, instructions, input)
            .await
    }

    async fn on_llm_end(
        &self,
        context: &C,
        agent: &Agent<C>,
        output: &[OutputItem],
    ) -> Result<(), Tripwire> {
        (**self).on_llm_end(context, agent, output).await
    }

    async fn on_tool_start(
        &self,
        context: &ToolContext<C>,
        agent: &Agent<C>,
        tool: &ToolDefinition,
    ) -> Result<(), Tripwire> {
        (**self).on_tool_start(context, agent, tool).await
    }

    async fn on_tool_end(
        &self,
        context: &ToolContext<C>,
        agent: &Agent<C>,
        tool: &ToolDefinition,
        output: &str,
    ) -> Result<(), Tripwire> {
        (**self).on_tool_end(context, agent, tool, output).await
    }
}
