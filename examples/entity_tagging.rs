//! Entity tagging: a `ThreadItemConverter` that turns `@mentions` (input tags picked in
//! the composer) into model-readable markers, then runs the agent on them. Offline:
//! `cargo run --example entity_tagging`.

use std::sync::Arc;

use chatkit_agents::agents::chatkit::{
    simple_to_agent_input, ConversionError, ThreadItemConverter,
};
use chatkit_agents::prelude::*;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents::types::{SortOrder, UserMessageTagContent};
use chatkit_agents_workspace::example_support::send;
use serde_json::{json, Value};

/// Turns each tagged person into an XML-ish marker the model can read.
struct PeopleTags;

#[async_trait]
impl ThreadItemConverter for PeopleTags {
    async fn tag_to_message_content(
        &self,
        tag: &UserMessageTagContent,
    ) -> Result<Value, ConversionError> {
        let role = tag
            .data
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        Ok(
            json!({"type": "input_text", "text": format!("<PERSON id=\"{}\" name=\"{}\" role=\"{role}\"/>", tag.id, tag.text)}),
        )
    }
}

struct TaggingServer {
    store: Arc<MemoryStore>,
    model: Arc<ScriptedModel>,
}

impl ChatKitServer for TaggingServer {
    type Context = ();

    fn store(&self) -> Arc<dyn Store<()>> {
        self.store.clone()
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        _: Option<UserMessageItem>,
        ctx: (),
    ) -> EventStream {
        Box::pin(async_stream::try_stream! {
            let items = self.store.load_thread_items(thread.id(), None, 20, SortOrder::Asc, &ctx).await?.data;
            let input = PeopleTags.to_agent_input(&items).await?;
            let agent: Agent<AgentContext<()>> = Agent::new("Directory", self.model.clone());
            let agent_ctx = AgentContext::new(thread, self.store.clone(), ctx);
            let run = Runner::new().run_streamed(&agent, input, agent_ctx.clone());
            let mut events = stream_agent_response(&agent_ctx, run);
            while let Some(event) = futures::StreamExt::next(&mut events).await {
                yield event?;
            }
        })
    }
}

/// Sends a message mentioning two people; returns the model's input for inspection.
pub async fn run() -> Vec<Value> {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text(
        "Ada and Grace can pair on it.",
    )]]));
    let server = Arc::new(TaggingServer {
        store: Arc::new(MemoryStore::new()),
        model: model.clone(),
    });
    let message = json!({"type": "threads.create", "params": {"input": {"content": [
        {"type": "input_text", "text": "Who should work with "},
        {"type": "input_tag", "id": "p_ada", "text": "Ada", "data": {"role": "engineer"}},
        {"type": "input_text", "text": " and "},
        {"type": "input_tag", "id": "p_grace", "text": "Grace", "data": {"role": "admiral"}},
        {"type": "input_text", "text": "?"}
    ], "attachments": [], "inference_options": {}}}});
    send(&server, message, ()).await;
    let input = model
        .requests()
        .first()
        .map(|r| r.input.clone())
        .unwrap_or_default();
    println!(
        "\nWhat the model read:\n{}",
        serde_json::to_string_pretty(&input).unwrap_or_default()
    );
    // Without the override, tags cannot be converted (as in the reference):
    let threads = server
        .store
        .load_threads(1, None, SortOrder::Desc, &())
        .await
        .map(|p| p.data)
        .unwrap_or_default();
    if let Some(thread) = threads.first() {
        let items = server
            .store
            .load_thread_items(&thread.id, None, 1, SortOrder::Asc, &())
            .await
            .map(|p| p.data)
            .unwrap_or_default();
        if let Err(error) = simple_to_agent_input(&items).await {
            println!("\nThe default converter says: {error}");
        }
    }
    input
}

#[tokio::main]
async fn main() {
    run().await;
}
