//! The ChatKit bridge: the one place where the agent runtime meets ChatKit.
//!
//! - [`AgentContext`]: what tools and hooks use to stream ChatKit events mid-run;
//! - [`stream_agent_response`]: a run's events as ChatKit thread events;
//! - [`ThreadItemConverter`]: thread items as model input;
//! - [`AgentServer`]: a ready-made ChatKit server answering with an agent (titles by a
//!   small model with [`ThreadTitles`], per-user limits, usage in the thread);
//! - [`ApprovalHandler`]: tool calls waiting for the user's approval as cards in the
//!   thread, and the run resumed once they are decided.

mod approval_card;
mod approvals;
mod attachments;
mod context;
mod history;
mod response_stream;
mod server;
mod titles;
mod to_model_input;
mod waiting_run;

pub use approval_card::{default_approval_card, ApprovalStatus, APPROVE_ACTION, REJECT_ACTION};
pub use approvals::{is_approval_action, ApprovalHandler};
pub use attachments::{AttachmentInput, ImageDelivery};
pub use context::{AgentContext, AgentContextError, ClientToolCall, QueuedEvents};
pub use response_stream::{
    default_hosted_tool_task, stream_agent_response, stream_agent_response_with,
    DefaultResponseStreamConverter, ResponseStreamConverter,
};
pub use server::{ActionRequest, AgentServer};
pub use titles::{fallback_title, ThreadTitles, DEFAULT_TITLE_INSTRUCTIONS, DEFAULT_TITLE_TIMEOUT};
pub use to_model_input::{
    python_json_dumps, simple_to_agent_input, ConversionError, DefaultThreadItemConverter,
    ThreadItemConverter,
};
