//! A client tool call: a server tool asks the browser to run a tool (here, read the
//! user's selection); the stream ends with a pending `client_tool_call` item; the client
//! answers with `threads.add_client_tool_output`, and the agent continues with the
//! result. Offline: `cargo run --example client_tool_call`.

use std::sync::Arc;

use chatkit_agents::agents::{chatkit::ClientToolCall, ToolUseBehavior};
use chatkit_agents::prelude::*;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents_workspace::example_support::{create, send, thread_id};
use serde_json::{json, Value};

/// Read the text the user selected in the page.
#[function_tool]
async fn get_selection(ctx: &ToolContext<AgentContext<()>>) -> &'static str {
    ctx.set_client_tool_call(ClientToolCall {
        name: "get_selection".into(),
        arguments: json!({"max_chars": 200})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    });
    "Asked the client for the selection."
}

/// Asks, answers as the client would, and returns every event.
pub async fn run() -> Vec<Value> {
    let model = ScriptedModel::new(vec![
        vec![Step::tool_call("get_selection", json!({}))],
        vec![Step::text("You selected: \"owls deliver mail\".")],
    ]);
    // Stop after the client tool so the client can answer.
    let agent = Agent::new("Reader", Arc::new(model))
        .tool(get_selection)
        .tool_use_behavior(ToolUseBehavior::StopAtTools(vec!["get_selection".into()]));
    // AgentServer feeds the agent the thread's items, so on the continuation (after the
    // client's output, when `respond` gets no new message) it sees the completed call.
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent));
    let mut all = send(&server, create("What did I select?"), ()).await;
    let thread = thread_id(&all);
    let output = json!({"type": "threads.add_client_tool_output", "params": {"thread_id": thread, "result": {"text": "owls deliver mail"}}});
    all.extend(send(&server, output, ()).await);
    all
}

#[tokio::main]
async fn main() {
    run().await;
}
