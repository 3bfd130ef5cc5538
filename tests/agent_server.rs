//! `AgentServer`: the ready-made server that answers each message with an agent.

mod support;

use std::sync::Arc;

use chatkit_agents::agents::{chatkit::AgentServer, Agent};
use chatkit_agents::store::MemoryStore;
use chatkit_agents::testing::{ScriptedModel, Step};
use serde_json::Value;
use support::server::*;

fn server(model: Arc<ScriptedModel>, history: usize) -> Arc<AgentServer<()>> {
    let agent = Agent::new("Echo", model).instructions("Be brief.");
    Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent).history(history))
}

/// The texts of the message inputs the model saw, as `role: text`.
fn seen(input: &[Value]) -> Vec<String> {
    input
        .iter()
        .filter(|item| item["type"] == "message")
        .map(|item| {
            let text: String = item["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|part| part["text"].as_str())
                .collect();
            format!("{}: {text}", item["role"].as_str().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn each_message_is_answered_with_the_conversation_so_far() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::text("Hello!")],
        vec![Step::text("Fine, thanks.")],
    ]));
    let server = server(model.clone(), 20);

    let first = events(&server, create("hi")).await;
    assert_eq!(
        types(&first),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "thread.item.added",
            "thread.item.updated:assistant_message.content_part.added",
            "thread.item.updated:assistant_message.content_part.text_delta",
            "thread.item.updated:assistant_message.content_part.done",
            "thread.item.done"
        ]
    );
    let thread_id = first[0]["thread"]["id"].as_str().unwrap().to_owned();

    let second = events(&server, add_message(&thread_id, "how are you?")).await;
    assert_eq!(
        second.last().unwrap()["item"]["content"][0]["text"],
        "Fine, thanks."
    );

    let requests = model.requests();
    assert_eq!(requests[0].instructions.as_deref(), Some("Be brief."));
    assert_eq!(seen(&requests[0].input), ["user: hi"]);
    assert_eq!(
        seen(&requests[1].input),
        ["user: hi", "assistant: Hello!", "user: how are you?"]
    );
}

#[tokio::test]
async fn history_limits_what_the_agent_reads_to_the_newest_items() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::text("one")],
        vec![Step::text("two")],
    ]));
    let server = server(model.clone(), 1);
    let first = events(&server, create("first")).await;
    let thread_id = first[0]["thread"]["id"].as_str().unwrap().to_owned();
    events(&server, add_message(&thread_id, "second")).await;
    assert_eq!(seen(&model.requests()[1].input), ["user: second"]);
}

/// Shows a progress line for each tool call.
struct ToolProgress;

#[chatkit_agents::async_trait]
impl chatkit_agents::agents::chatkit::ResponseStreamConverter for ToolProgress {
    fn tool_call_progress(
        &self,
        call: &chatkit_agents::agents::model::FunctionCall,
    ) -> Option<String> {
        Some(format!("Calling {}…", call.name))
    }
}

/// Tell the time.
#[chatkit_agents::agents::function_tool]
async fn now() -> &'static str {
    "12:00"
}

#[tokio::test]
async fn a_converter_can_show_a_progress_line_per_tool_call() {
    let script = || {
        Arc::new(ScriptedModel::new(vec![
            vec![Step::tool_call("now", serde_json::json!({}))],
            vec![Step::text("It is noon.")],
        ]))
    };
    let with_progress = Arc::new(
        AgentServer::new(
            Arc::new(MemoryStore::new()),
            Agent::new("Clock", script()).tool(now),
        )
        .response_converter(ToolProgress),
    );
    let shown = events(&with_progress, create("time?")).await;
    let progress: Vec<&Value> = shown
        .iter()
        .filter(|e| e["type"] == "progress_update")
        .collect();
    assert_eq!(progress.len(), 1);
    assert_eq!(progress[0]["text"], "Calling now…");

    // By default, as the reference, there is none.
    let plain = Arc::new(AgentServer::new(
        Arc::new(MemoryStore::new()),
        Agent::new("Clock", script()).tool(now),
    ));
    let plain_events = events(&plain, create("time?")).await;
    assert_eq!(
        plain_events.last().unwrap()["item"]["content"][0]["text"],
        "It is noon."
    );
    assert!(!plain_events.iter().any(|e| e["type"] == "progress_update"));
}

/// The default converter cannot turn `@mention` tags into model input (faithful to the
/// reference); `AgentServer` still answers that message and every later one, with the
/// tag as its plain `@name`.
#[tokio::test]
async fn a_tag_never_breaks_the_thread() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::text("Noted.")],
        vec![Step::text("Still here.")],
    ]));
    let server = server(model.clone(), 20);
    let tagged = serde_json::json!({"type": "threads.create", "params": {"input": {"content": [
        {"type": "input_text", "text": "ask "},
        {"type": "input_tag", "id": "u1", "text": "Ada", "data": {"role": "admin"}, "interactive": false}
    ], "attachments": [], "inference_options": {}}}});
    let first = events(&server, tagged).await;
    assert!(first.iter().all(|e| e["type"] != "error"), "{first:?}");
    assert_eq!(
        first.last().unwrap()["item"]["content"][0]["text"],
        "Noted."
    );
    let thread_id = first[0]["thread"]["id"].as_str().unwrap().to_owned();

    let second = events(&server, add_message(&thread_id, "and now?")).await;
    assert!(second.iter().all(|e| e["type"] != "error"), "{second:?}");
    assert_eq!(
        second.last().unwrap()["item"]["content"][0]["text"],
        "Still here."
    );
    let requests = model.requests();
    assert_eq!(seen(&requests[0].input), ["user: ask @Ada"]);
    assert_eq!(
        seen(&requests[1].input),
        ["user: ask @Ada", "assistant: Noted.", "user: and now?"]
    );
}

#[tokio::test]
async fn composer_tools_and_models_apply_only_when_the_server_offers_them() {
    let model = Arc::new(ScriptedModel::new(Vec::new()));
    let agent = Agent::new("Router", model.clone()).instructions("Route.");
    let server = Arc::new(
        AgentServer::new(Arc::new(MemoryStore::new()), agent)
            .composer_tool("research", "deep_research")
            .composer_models(["gpt-small"]),
    );
    let ask = |tool: &str, chosen_model: &str| {
        let mut body = create("hi");
        body["params"]["input"]["inference_options"] =
            serde_json::json!({"tool_choice": {"id": tool}, "model": chosen_model});
        body
    };
    let cases = [
        (
            ("research", "gpt-small"),
            (Some("deep_research"), Some("gpt-small")),
        ),
        // Ids and models the server did not offer are untrusted input: ignored.
        (("rm_rf", "gpt-huge"), (None, None)),
    ];
    for ((tool, chosen), (forced, used)) in cases {
        model.push_turn(vec![Step::text("ok")]);
        events(&server, ask(tool, chosen)).await;
        let request = model.requests().pop().unwrap();
        assert_eq!(request.settings.tool_choice.as_deref(), forced, "{tool}");
        assert_eq!(request.settings.model.as_deref(), used, "{chosen}");
    }
}
