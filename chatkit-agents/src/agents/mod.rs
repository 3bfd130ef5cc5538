//! The agent runtime, modelled on the Python Agents SDK, in three parts that the paths
//! show:
//!
//! - the **runtime**, here: [`Agent`], [`Runner`], tools, guardrails, hooks, output
//!   types; and its model vocabulary in [`model`] (the [`Model`](model::Model) trait,
//!   [`ModelRequest`](model::ModelRequest), [`ModelEvent`](model::ModelEvent), output
//!   items). Generic over the run context `C`, it imports nothing of ChatKit;
//! - the **providers**, in [`providers`] (`providers::openai`: the Responses and Chat
//!   Completions models over one client builder and retry policy), which turn a
//!   `ModelRequest` into `ModelEvent`s;
//! - the **ChatKit bridge**, in [`chatkit`] ([`AgentContext`](chatkit::AgentContext),
//!   [`stream_agent_response`](chatkit::stream_agent_response),
//!   [`ThreadItemConverter`](chatkit::ThreadItemConverter),
//!   [`AgentServer`](chatkit::AgentServer)), the one place where runs meet threads.
//!
//! [`crate::prelude`] gathers the names most servers use from all three. What they offer:
//!
//! - tools (`#[function_tool]`, strict schemas) and the `AgentContext` they use to
//!   stream ChatKit events mid-run;
//! - [`Agent`]: instructions, a `Model`, tools (other agents too, [`Agent::as_tool`]),
//!   [`Handoff`]s, guardrails
//!   ([`InputGuardrail`], [`OutputGuardrail`], [`ToolInputGuardrail`],
//!   [`ToolOutputGuardrail`]) and an optional output type ([`Agent::output_type`]);
//! - [`Runner`]: the turn loop, streamed ([`Runner::run_streamed`]) or to the end
//!   ([`Runner::run`]), with [`RunHooks`]; tool calls that wait for a person's approval
//!   ([`RequireApproval`], `#[function_tool(needs_approval)]`) interrupt it with a
//!   [`RunState`] that [`Runner::resume`] continues;
//! - `stream_agent_response`: a run as ChatKit events; `AgentServer`: a ready-made
//!   ChatKit server answering with an agent.
//!
//! ```
//! use chatkit_agents::agents::{function_tool, ToolContext, ToolError, chatkit::AgentContext};
//! use chatkit_agents::widgets::{self as w, WidgetRoot};
//!
//! /// Display a sample widget to the user.
//! #[function_tool]
//! async fn sample_widget(ctx: &ToolContext<AgentContext<()>>) -> Result<String, ToolError> {
//!     let widget: WidgetRoot = w::Card::new().child(w::Text::new("Yer a wizard")).into();
//!     ctx.stream_widget(widget, None).await?;
//!     Ok("shown".into())
//! }
//! ```

// The runtime: generic over the run context, it knows nothing of ChatKit.
mod agent;
mod agent_tool;
pub(crate) mod approval;
mod guardrail;
mod hooks;
mod hosted;
#[cfg(feature = "mcp")]
mod mcp;
pub mod model;
mod output;
mod runner;
mod schema;
mod tool;
mod tool_source;

// The backends a model runs on.
pub mod providers;

// The ChatKit bridge: context, response stream, converters, `AgentServer`.
pub mod chatkit;

pub use agent::{remove_all_tools, Handoff, HandoffInputFilter};
pub use agent::{Agent, ToolUseBehavior};
pub use agent_tool::AgentTool;
pub use approval::{RequireApproval, DEFAULT_APPROVAL_REJECTION_MESSAGE};
pub use chatkit_agents_macros::function_tool;
pub use guardrail::{
    GuardrailOutput, InputGuardrail, OutputGuardrail, ToolGuardrailOutput, ToolInputGuardrail,
    ToolOutputGuardrail,
};
pub use hooks::{NoHooks, RunHooks, Tripwire};
pub use hosted::HostedTool;
#[cfg(feature = "mcp")]
pub use mcp::{McpError, McpServer, DEFAULT_MCP_TIMEOUT};
pub use output::{OutputSchema, OutputType};
pub use runner::{
    message_text, text_deltas, ApprovalDecision, RunError, RunEvent, RunInput, RunOptions,
    RunOutcome, RunResult, RunState, RunStateError, RunStream, Runner, ToolApproval,
    DEFAULT_MAX_TURNS, MULTIPLE_HANDOFFS, RUN_STATE_VERSION,
};
pub use schema::{parameters_schema, shape_schema, ToolSchemaError};
pub use tool::{
    call_tool, Tool, ToolContext, ToolDefinition, ToolError, ToolErrorFormatter, ToolFailure,
    ToolOrigin, ToolOutput, DEFAULT_TOOL_ERROR_MESSAGE,
};
pub use tool_source::{ToolSource, ToolSourceError, ToolSourceFuture};
