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

struct ToolServer {
    store: Arc<MemoryStore>,
    agent: Agent<AgentContext<()>>,
}

impl ChatKitServer for ToolServer {
    type Context = ();

    fn store(&self) -> Arc<dyn Store<()>> {
        self.store.clone()
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        ctx: (),
    ) -> EventStream {
        let agent_ctx = AgentContext::new(thread, self.store.clone(), ctx);
        let run = Runner::new().run_streamed(
            &self.agent,
            input.map(|m| m.text()).unwrap_or_default(),
            agent_ctx.clone(),
        );
        stream_agent_response(&agent_ctx, run)
    }
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
    let server = Arc::new(ToolServer {
        store: Arc::new(MemoryStore::new()),
        agent,
    });
    send(&server, create("Tell Harry the news"), ()).await
}

#[tokio::main]
async fn main() {
    run().await;
}
