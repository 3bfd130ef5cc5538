//! Helpers for testing code built on this crate (feature `testing`): [`ScriptedModel`]
//! to run agents without a network, [`send`] to drive a whole server in-process and read
//! its reply as JSON, and conformance suites for your own
//! [`Store`](crate::store::Store) and [`LimitCounters`](crate::server::LimitCounters)
//! implementations.

mod client;
mod limit_conformance;
mod scripted_model;
mod store_conformance;

pub use client::{event_types, requests, resume, send, send_frames, Frame, Reply};
pub use limit_conformance::limit_counters_conformance;

pub use scripted_model::{ScriptedMessage, ScriptedModel, Step, SCRIPTED_MODEL_NAME};
pub use store_conformance::{store_conformance, TestUser};

use crate::agents::RunEvent;

/// The outputs of a run's tool calls, in the order the model reads them.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use chatkit_agents::agents::{function_tool, Agent, Runner};
/// use chatkit_agents::testing::{tool_outputs, ScriptedModel, Step};
///
/// /// Say hi.
/// #[function_tool]
/// async fn hi() -> String { "hi!".into() }
///
/// let model = Arc::new(ScriptedModel::new(vec![vec![Step::tool_call("hi", serde_json::json!({}))], vec![Step::text("done")]]));
/// let agent: Agent<()> = Agent::new("Greeter", model).tool(hi);
/// let result = Runner::new().run(&agent, "go", ()).await.unwrap();
/// assert_eq!(tool_outputs(&result.events), ["hi!"]);
/// # });
/// ```
pub fn tool_outputs(events: &[RunEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            RunEvent::ToolOutput { output, .. } => Some(output.clone()),
            _ => None,
        })
        .collect()
}
