//! A `#[function_tool]` that streams a widget through `AgentContext` while the agent
//! runs. Uses a scripted model so it runs offline: `cargo run --example tool_widget`.

use std::sync::Arc;

use chatkit_agents::prelude::*;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents::widgets::{self as w, WidgetRoot};
use chatkit_agents_workspace::example_support::{create, send};
use serde_json::{json, Value};

/// Display a sample widget to the user.
///
/// # Arguments
///
/// * `name` - Who the message is for.
/// * `message` - What it says.
#[function_tool]
async fn sample_widget(
    ctx: &ToolContext<AgentContext<()>>,
    name: String,
    message: String,
) -> Result<String, ToolError> {
    let card: WidgetRoot = w::Card::new()
        .child(w::Title::new(name.clone()))
        .child(w::Text::new(message.clone()))
        .into();
    ctx.stream_widget(card, Some(message)).await?;
    Ok(format!("Shown to {name}"))
}

/// Runs the scripted conversation and returns the events.
pub async fn run() -> Vec<Value> {
    // The model calls the tool, then answers.
    let model = ScriptedModel::new(vec![
        vec![Step::tool_call(
            "sample_widget",
            json!({"name": "Harry", "message": "Yer a wizard"}),
        )],
        vec![Step::text("I showed Harry the message.")],
    ]);
    let agent = Agent::new("Hagrid", Arc::new(model)).tool(sample_widget);
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent));
    send(&server, create("Tell Harry the news"), ()).await
}

#[tokio::main]
async fn main() {
    run().await;
}
