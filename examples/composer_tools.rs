//! Composer tools: the client's composer lets the user pick a tool
//! (`inference_options.tool_choice`); `respond` routes the message to a different agent
//! for each. Offline: `cargo run --example composer_tools`.

use std::sync::Arc;

use chatkit_agents::prelude::*;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents_workspace::example_support::send;
use serde_json::{json, Value};

struct RouterServer {
    store: Arc<MemoryStore>,
    summarize: Agent<AgentContext<()>>,
    translate: Agent<AgentContext<()>>,
    general: Agent<AgentContext<()>>,
}

impl ChatKitServer for RouterServer {
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
        let choice = input
            .as_ref()
            .and_then(|m| m.inference_options.tool_choice.as_ref())
            .map(|c| c.id.as_str());
        let agent = match choice {
            Some("summarize") => &self.summarize,
            Some("translate") => &self.translate,
            _ => &self.general,
        };
        let agent_ctx = AgentContext::new(thread, self.store.clone(), ctx);
        let run = Runner::new().run_streamed(
            agent,
            input.map(|m| m.text()).unwrap_or_default(),
            agent_ctx.clone(),
        );
        stream_agent_response(&agent_ctx, run)
    }
}

fn agent(name: &str, answer: &str) -> Agent<AgentContext<()>> {
    Agent::new(
        name,
        Arc::new(ScriptedModel::new(vec![vec![Step::text(answer)]])),
    )
}

/// Sends one message per composer tool; returns the answers.
pub async fn run() -> Vec<Value> {
    let server = Arc::new(RouterServer {
        store: Arc::new(MemoryStore::new()),
        summarize: agent("Summarizer", "Summary: owls deliver mail."),
        translate: agent("Translator", "Les hiboux livrent le courrier."),
        general: agent("Assistant", "Owls are birds."),
    });
    let mut answers = Vec::new();
    for choice in [Some("summarize"), Some("translate"), None] {
        let options = choice.map_or(json!({}), |id| json!({"tool_choice": {"id": id}}));
        let body = json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "Owls deliver mail."}], "attachments": [], "inference_options": options}}});
        let events = send(&server, body, ()).await;
        answers.extend(
            events
                .into_iter()
                .filter(|e| {
                    e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message"
                })
                .map(|e| e["item"]["content"][0]["text"].clone()),
        );
    }
    answers
}

#[tokio::main]
async fn main() {
    println!("{:?}", run().await);
}
