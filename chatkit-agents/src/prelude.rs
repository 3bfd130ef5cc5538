//! The names most ChatKit servers use: `use chatkit_agents::prelude::*;`.
//!
//! Widgets are left out (their `Box` would shadow `std::boxed::Box`); import them as
//! `use chatkit_agents::widgets::{self as w, WidgetRoot};`.

#[cfg(feature = "openai")]
pub use crate::agents::providers::openai::{OpenAIChatCompletionsModel, OpenAIResponsesModel};
pub use crate::agents::{
    chatkit::{stream_agent_response, AgentContext, AgentServer},
    function_tool,
    model::{Model, ModelSettings},
    Agent, GuardrailOutput, Handoff, InputGuardrail, OutputGuardrail, RunError, Runner, Tool,
    ToolContext, ToolError, ToolGuardrailOutput, ToolInputGuardrail, ToolOutputGuardrail,
};
pub use crate::async_trait;
#[cfg(feature = "axum")]
pub use crate::http::ChatKitEndpoint;
/// `#[derive(JsonSchema)]` on tool argument types works through these two names alone
/// (the derive refers to `schemars::`), without a `schemars` dependency of your own.
pub use crate::schemars::{self, JsonSchema};
pub use crate::server::{
    process, respond_with, ChatKitServer, EventStream, ProcessError, StreamError, ThreadHandle,
};
#[cfg(feature = "sqlite")]
pub use crate::store::SqliteStore;
pub use crate::store::{MemoryStore, Store, StoreContext};
pub use crate::types::{ThreadItem, ThreadMetadata, ThreadStreamEvent, UserMessageItem};
