//! A tool whose widget text grows from a nested agent run's text deltas
//! (`accumulate_text` + `stream_widget`). Offline: `cargo run --example streaming_widget`.

use std::sync::Arc;

use chatkit_agents::agents::text_deltas;
use chatkit_agents::prelude::*;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents::widgets::{self as w, accumulate_text, WidgetRoot, WidgetSource};
use chatkit_agents_workspace::example_support::{create, send};
use futures::StreamExt;
use serde_json::{json, Value};

/// Draft a letter; the letter appears in a card as it is written.
///
/// # Arguments
///
/// * `to` - The recipient.
#[function_tool]
async fn draft_letter(
    ctx: &ToolContext<AgentContext<()>>,
    to: String,
) -> Result<String, ToolError> {
    // A second agent writes the letter; its text deltas drive the widget.
    let writer_model = ScriptedModel::new(vec![vec![Step::text(format!(
        "Dear {to},\n\nYou have been accepted at **Hogwarts**."
    ))]]);
    let writer: Agent<AgentContext<()>> = Agent::new("Writer", Arc::new(writer_model));
    let run = Runner::new().run_streamed(&writer, format!("Write to {to}"), ctx.context().clone());
    let states = accumulate_text(
        text_deltas(run),
        w::Markdown::new("").id("letter").streaming(true),
    )
    .map(|markdown| -> WidgetRoot {
        w::Card::new()
            .child(w::Caption::new("Draft"))
            .child(markdown)
            .into()
    });
    ctx.stream_widget(WidgetSource::states(states), None)
        .await?;
    Ok("The letter is drafted.".into())
}

/// Runs the scripted conversation and returns the events.
pub async fn run() -> Vec<Value> {
    let model = ScriptedModel::new(vec![
        vec![Step::tool_call("draft_letter", json!({"to": "Harry"}))],
        vec![Step::text("Sent.")],
    ]);
    let agent = Agent::new("Owl post", Arc::new(model)).tool(draft_letter);
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent));
    send(&server, create("Write Harry's letter"), ()).await
}

#[tokio::main]
async fn main() {
    run().await;
}
