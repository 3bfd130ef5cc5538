//! The ChatKit bridge: the one place where the agent runtime meets ChatKit.
//!
//! - [`AgentContext`]: what tools and hooks use to stream ChatKit events mid-run;
//! - [`stream_agent_response`]: a run's events as ChatKit thread events;
//! - [`ThreadItemConverter`]: thread items as model input;
//! - [`AgentServer`]: a ready-made ChatKit server answering with an agent;
//! - [`ApprovalHandler`]: tool calls waiting for the user's approval as cards in the
//!   thread, and the run resumed once they are decided.

mod approvals;
mod context;
mod converter;
mod history;
mod response_stream;
mod server;

pub use approvals::{
    default_approval_card, is_approval_action, ApprovalHandler, ApprovalStatus, APPROVE_ACTION,
    REJECT_ACTION,
};
pub use context::{AgentContext, AgentContextError, ClientToolCall};
pub use converter::{
    python_json_dumps, simple_to_agent_input, ConversionError, DefaultThreadItemConverter,
    ThreadItemConverter,
};
pub use response_stream::{
    default_hosted_tool_task, stream_agent_response, stream_agent_response_with,
    DefaultResponseStreamConverter, ResponseStreamConverter,
};
pub use server::{ActionRequest, AgentServer};
