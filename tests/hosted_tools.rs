//! The Responses API's hosted tools: offered with their options next to function tools,
//! their calls kept and sent back in the next turn as they came (recorded web-search
//! frames), their stream events read leniently, and refused on Chat Completions.

use std::sync::Arc;

use chatkit_agents::agents::chatkit::*;
use chatkit_agents::agents::model::*;
use chatkit_agents::agents::providers::openai::*;
use chatkit_agents::agents::*;
use chatkit_agents::testing::event_types;
use serde_json::{json, Value};
use support::replay::{replay, request_bodies};

mod support;

fn recording(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/golden/openai-sse/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn frames(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

/// Find the weather.
#[function_tool]
async fn get_weather(city: String) -> String {
    format!("Sunny in {city}")
}

fn every_hosted_tool(agent: Agent<()>) -> Agent<()> {
    agent
        .hosted_tool(HostedTool::web_search().option("search_context_size", "low"))
        .hosted_tool(HostedTool::file_search(["vs_1", "vs_2"]).option("max_num_results", 3))
        .hosted_tool(HostedTool::code_interpreter())
        .hosted_tool(HostedTool::image_generation().option("partial_images", 2))
        .hosted_tool(
            HostedTool::mcp("tickets", "https://mcp.example.com/mcp")
                .option("allowed_tools", json!(["search"])),
        )
}

#[tokio::test]
async fn hosted_tools_are_offered_with_their_options() {
    let server = replay(
        "/responses",
        vec![(200, recording("07_web_search_url_citation_gpt-5.2.sse"))],
    )
    .await;
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    let agent = every_hosted_tool(Agent::new("Researcher", model).tool(get_weather));
    let result = Runner::new()
        .run(&agent, "Tallest mountain in Alberta?", ())
        .await
        .unwrap();
    assert!(
        result.final_output.contains("Mount Columbia"),
        "{}",
        result.final_output
    );
    let tools = request_bodies(&server).await[0]["tools"].clone();
    assert_eq!(tools[0]["type"], "function");
    assert_eq!(tools[0]["name"], "get_weather");
    assert_eq!(
        tools.as_array().unwrap()[1..],
        [
            json!({"type": "web_search", "search_context_size": "low"}),
            json!({"type": "file_search", "vector_store_ids": ["vs_1", "vs_2"], "max_num_results": 3}),
            json!({"type": "code_interpreter", "container": {"type": "auto"}}),
            json!({"type": "image_generation", "partial_images": 2}),
            json!({"type": "mcp", "server_label": "tickets", "server_url": "https://mcp.example.com/mcp", "require_approval": "never", "allowed_tools": ["search"]}),
        ]
    );
}

/// The recorded web search items of 07, then a function call and the end of the
/// response: a turn that searched and then called a tool.
fn searched_then_called() -> String {
    let recorded: Vec<Value> = recording("07_web_search_url_citation_gpt-5.2.sse")
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let mut events: Vec<Value> = recorded
        .iter()
        .filter(|e| {
            e["item"]["type"] == "web_search_call"
                || e["type"]
                    .as_str()
                    .unwrap()
                    .starts_with("response.web_search_call")
                || e["type"] == "response.created"
        })
        .cloned()
        .collect();
    let call = json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Banff\"}", "status": "completed"});
    events.push(json!({"type": "response.output_item.added", "output_index": 2, "item": call}));
    events.push(json!({"type": "response.output_item.done", "output_index": 2, "item": call}));
    events.push(json!({"type": "response.completed", "response": {"id": "resp_1", "usage": {"input_tokens": 5, "output_tokens": 5, "total_tokens": 10}}}));
    frames(&events)
}

#[tokio::test]
async fn a_turn_s_web_searches_go_back_in_the_next_turn_as_they_came() {
    let server = replay(
        "/responses",
        vec![
            (200, searched_then_called()),
            (
                200,
                recording("04b_function_call_followup_legacy_no_seq_gpt-4o.sse"),
            ),
        ],
    )
    .await;
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    let agent = Agent::new("Researcher", model)
        .tool(get_weather)
        .hosted_tool(HostedTool::web_search());
    let result = Runner::new()
        .run(&agent, "Weather at the tallest peak?", ())
        .await
        .unwrap();
    assert!(!result.final_output.is_empty());

    let bodies = request_bodies(&server).await;
    let input = bodies[1]["input"].as_array().unwrap();
    let searches: Vec<&Value> = input
        .iter()
        .filter(|item| item["type"] == "web_search_call")
        .collect();
    assert_eq!(searches.len(), 2, "{input:?}");
    assert_eq!(
        searches[0],
        &json!({"id": "ws_0a4bc5e23769d65c00696d5e682884819da7fe3195ef84421f", "type": "web_search_call", "status": "completed", "action": {"type": "search", "queries": ["tallest mountain in Alberta highest peak Alberta Mount Columbia elevation"], "query": "tallest mountain in Alberta highest peak Alberta Mount Columbia elevation"}}),
        "the item as the model gave it"
    );
    let order: Vec<&str> = input
        .iter()
        .map(|i| i["type"].as_str().unwrap_or("message"))
        .collect();
    assert_eq!(
        order,
        [
            "message",
            "web_search_call",
            "web_search_call",
            "function_call",
            "function_call_output"
        ]
    );
}

#[tokio::test]
async fn other_hosted_tool_events_are_read_leniently() {
    let code = json!({"type": "code_interpreter_call", "id": "ci_1", "status": "completed", "code": "print(6*7)", "container_id": "cntr_1", "outputs": [{"type": "logs", "logs": "42\n"}]});
    let files = json!({"type": "file_search_call", "id": "fs_1", "status": "completed", "queries": ["refund policy"], "results": null});
    let mcp = json!({"type": "mcp_call", "id": "mcp_1", "server_label": "tickets", "name": "search", "arguments": "{}", "output": "3 tickets", "error": null});
    let listed = json!({"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "tickets", "tools": [{"name": "search", "input_schema": {}}]});
    let message = json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "42, and 3 tickets.", "annotations": []}]});
    let events = vec![
        json!({"type": "response.created", "response": {"id": "resp_2"}}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "tickets"}}),
        json!({"type": "response.mcp_list_tools.in_progress", "item_id": "mcpl_1", "output_index": 0}),
        json!({"type": "response.mcp_list_tools.completed", "item_id": "mcpl_1", "output_index": 0}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": listed}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "code_interpreter_call", "id": "ci_1", "status": "in_progress"}}),
        json!({"type": "response.code_interpreter_call.in_progress", "item_id": "ci_1", "output_index": 1}),
        json!({"type": "response.code_interpreter_call_code.delta", "item_id": "ci_1", "output_index": 1, "delta": "print(6*7)"}),
        json!({"type": "response.code_interpreter_call_code.done", "item_id": "ci_1", "output_index": 1, "code": "print(6*7)"}),
        json!({"type": "response.code_interpreter_call.interpreting", "item_id": "ci_1", "output_index": 1}),
        json!({"type": "response.code_interpreter_call.completed", "item_id": "ci_1", "output_index": 1}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": code}),
        json!({"type": "response.file_search_call.in_progress", "item_id": "fs_1", "output_index": 2}),
        json!({"type": "response.file_search_call.searching", "item_id": "fs_1", "output_index": 2}),
        json!({"type": "response.file_search_call.completed", "item_id": "fs_1", "output_index": 2}),
        json!({"type": "response.output_item.done", "output_index": 2, "item": files}),
        json!({"type": "response.mcp_call.in_progress", "item_id": "mcp_1", "output_index": 3}),
        json!({"type": "response.mcp_call_arguments.delta", "item_id": "mcp_1", "output_index": 3, "delta": "{}"}),
        json!({"type": "response.mcp_call.completed", "item_id": "mcp_1", "output_index": 3}),
        json!({"type": "response.output_item.done", "output_index": 3, "item": mcp}),
        json!({"type": "response.output_item.added", "output_index": 4, "item": message}),
        json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 4, "content_index": 0, "delta": "42, and 3 tickets."}),
        json!({"type": "response.output_item.done", "output_index": 4, "item": message}),
        json!({"type": "response.completed", "response": {"id": "resp_2"}}),
    ];
    let server = replay("/responses", vec![(200, frames(&events))]).await;
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    let agent = every_hosted_tool(Agent::new("Analyst", model));
    let result = Runner::new()
        .run(&agent, "6 * 7, and my tickets?", ())
        .await
        .unwrap();
    assert_eq!(result.final_output, "42, and 3 tickets.");
}

#[test]
fn chat_completions_refuses_hosted_tools() {
    let model = OpenAIChatCompletionsModel::with_base_url("gpt-test", "http://127.0.0.1:9", "k");
    let request = ModelRequest {
        input: vec![json!({"role": "user", "content": "hi"})],
        hosted_tools: vec![HostedTool::web_search()],
        ..Default::default()
    };
    let error = model.request_body(&request).unwrap_err().to_string();
    assert!(
        error.contains("web_search") && error.contains("Responses API"),
        "{error}"
    );
}

/// The ChatKit events of a run on `server`, as JSON.
async fn chatkit_events(
    server: &wiremock::MockServer,
    converter: impl ResponseStreamConverter + 'static,
) -> Vec<Value> {
    use chatkit_agents::server::ThreadHandle;
    use chatkit_agents::store::MemoryStore;
    use chatkit_agents::types::{ThreadMetadata, Timestamp};
    use futures::StreamExt;
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    let agent: Agent<AgentContext<()>> =
        Agent::new("Researcher", model).hosted_tool(HostedTool::web_search());
    let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
    let run = Runner::new().run_streamed(&agent, "Tallest mountain in Alberta?", ctx.clone());
    stream_agent_response_with(&ctx, run, Arc::new(converter))
        .map(|event| serde_json::to_value(event.unwrap()).unwrap())
        .collect()
        .await
}

#[tokio::test]
async fn web_searches_show_as_a_workflow_that_ends_when_the_answer_starts() {
    let server = replay(
        "/responses",
        vec![(200, recording("07_web_search_url_citation_gpt-5.2.sse"))],
    )
    .await;
    let events = chatkit_events(&server, DefaultResponseStreamConverter::default()).await;
    assert_eq!(
        event_types(&events)[..7],
        [
            "thread.item.added:workflow",
            "thread.item.updated:workflow.task.added",
            "thread.item.updated:workflow.task.updated",
            "thread.item.updated:workflow.task.added",
            "thread.item.updated:workflow.task.updated",
            "thread.item.done:workflow",
            "thread.item.added:assistant_message",
        ]
    );
    assert_eq!(events[1]["update"]["task"]["type"], "web_search");
    assert_eq!(events[1]["update"]["task"]["status_indicator"], "loading");
    let searched = &events[2]["update"]["task"];
    assert_eq!(searched["status_indicator"], "complete");
    assert_eq!(searched["title"], "Searched the web");
    assert_eq!(
        searched["queries"][0],
        "tallest mountain in Alberta highest peak Alberta Mount Columbia elevation"
    );
    let done = &events[5]["item"]["workflow"];
    assert_eq!(done["tasks"].as_array().unwrap().len(), 2);
    assert!(done["summary"]["duration"].is_number(), "{done}");
    // The answer cites a page: it becomes a source of the last search, and the
    // workflow is replaced (and saved) just before the answer is done.
    let types = event_types(&events);
    assert_eq!(
        types[types.len() - 2..],
        [
            "thread.item.replaced:workflow",
            "thread.item.done:assistant_message"
        ]
    );
    let replaced = &events[events.len() - 2]["item"];
    assert_eq!(replaced["id"], events[0]["item"]["id"]);
    let sources = &replaced["workflow"]["tasks"][1]["sources"];
    assert_eq!(
        sources,
        &json!([{
            "type": "url",
            "title": "Mount Columbia | mountain, Alberta, Canada | Britannica",
            "url": "https://www.britannica.com/place/Mount-Columbia?utm_source=openai"
        }])
    );
    assert_eq!(replaced["workflow"]["tasks"][0]["sources"], json!([]));
    assert_eq!(replaced["workflow"]["summary"], done["summary"]);
}

/// Shows nothing of web searches.
struct NoSearches;

#[chatkit_agents::async_trait]
impl ResponseStreamConverter for NoSearches {
    fn hosted_tool_task(&self, item: &Value) -> Option<chatkit_agents::types::Task> {
        match item["type"].as_str() {
            Some("web_search_call") => None,
            _ => default_hosted_tool_task(item),
        }
    }
}

#[tokio::test]
async fn a_converter_can_hide_a_kind() {
    let server = replay(
        "/responses",
        vec![(200, recording("07_web_search_url_citation_gpt-5.2.sse"))],
    )
    .await;
    let events = chatkit_events(&server, NoSearches).await;
    assert_eq!(
        events[0]["item"]["type"], "assistant_message",
        "{:?}",
        events[0]
    );
    assert!(!events.iter().any(|e| e["item"]["type"] == "workflow"));
}

#[test]
fn hosted_calls_become_tasks() {
    use chatkit_agents::types::Task;
    let code = json!({"type": "code_interpreter_call", "id": "ci_1", "status": "completed", "code": "print(6*7)"});
    let Some(Task::Custom(task)) = default_hosted_tool_task(&code) else {
        panic!()
    };
    assert_eq!(task.title.as_deref(), Some("Ran code"));
    assert_eq!(task.content.as_deref(), Some("```python\nprint(6*7)\n```"));
    let files = json!({"type": "file_search_call", "id": "fs_1", "status": "completed", "queries": ["refunds"], "results": [{"filename": "policy.pdf"}]});
    let Some(Task::File(task)) = default_hosted_tool_task(&files) else {
        panic!()
    };
    assert_eq!(task.title.as_deref(), Some("Searched files for refunds"));
    assert_eq!(task.sources[0].title, "policy.pdf");
    let mcp = json!({"type": "mcp_call", "id": "mcp_1", "server_label": "tickets", "name": "search", "error": "timeout"});
    let Some(Task::Custom(task)) = default_hosted_tool_task(&mcp) else {
        panic!()
    };
    assert_eq!(task.title.as_deref(), Some("tickets: search"));
    assert_eq!(task.content.as_deref(), Some("Failed: timeout"));
    let sources = json!({"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "queries": ["q"], "sources": [{"type": "url", "url": "https://example.com"}, {"type": "api", "name": "oai-weather"}]}});
    let Some(Task::WebSearch(task)) = default_hosted_tool_task(&sources) else {
        panic!()
    };
    assert_eq!(task.sources.len(), 1);
    assert_eq!(task.sources[0].url, "https://example.com");
    assert!(default_hosted_tool_task(&json!({"type": "mcp_list_tools", "id": "l"})).is_none());
}

/// A turn in which the hosted `tickets` server asks to run `tool`, then (the next
/// request) the call made and the answer.
fn approval_turns(tool: &str) -> Vec<(u16, String)> {
    let request = json!({"type": "mcp_approval_request", "id": "mcpr_1", "server_label": "tickets", "name": tool, "arguments": "{\"id\":7}"});
    let asked = vec![
        json!({"type": "response.created", "response": {"id": "resp_1"}}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": request}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": request}),
        json!({"type": "response.completed", "response": {"id": "resp_1"}}),
    ];
    let call = json!({"type": "mcp_call", "id": "mcp_1", "server_label": "tickets", "name": tool, "arguments": "{\"id\":7}", "output": "deleted", "approval_request_id": "mcpr_1"});
    let message = json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "Ticket 7 is gone.", "annotations": []}]});
    let answered = vec![
        json!({"type": "response.created", "response": {"id": "resp_2"}}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": call}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": message}),
        json!({"type": "response.completed", "response": {"id": "resp_2"}}),
    ];
    vec![(200, frames(&asked)), (200, frames(&answered))]
}

fn clerk(server: &wiremock::MockServer) -> Agent<()> {
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    Agent::new("Clerk", model).hosted_tool(
        HostedTool::mcp("tickets", "https://mcp.example.com/mcp")
            .option("require_approval", "always"),
    )
}

#[tokio::test]
async fn a_hosted_mcp_approval_request_waits_for_a_person_and_the_answer_goes_back() {
    let server = replay("/responses", approval_turns("delete_ticket")).await;
    let agent = clerk(&server);
    let runner = Runner::new();
    let first = runner.run(&agent, "delete ticket 7", ()).await.unwrap();
    let state = first.interruption.expect("the run waits for approval");
    let pending = state.pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].call_id, "mcpr_1");
    assert_eq!(pending[0].tool_name, "delete_ticket");
    assert_eq!(pending[0].server.as_deref(), Some("tickets"));
    assert_eq!(pending[0].arguments, r#"{"id":7}"#);
    // The state survives a trip through storage.
    let mut state = RunState::from_json(&state.to_json()).unwrap();
    state.approve("mcpr_1").unwrap();
    let done = runner.resume(&agent, state, ()).await.unwrap();
    assert_eq!(done.final_output, "Ticket 7 is gone.");
    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    let input = bodies[1]["input"].as_array().unwrap();
    let n = input.len();
    assert_eq!(input[n - 2]["type"], "mcp_approval_request");
    assert_eq!(
        input[n - 1],
        json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": true})
    );
}

#[tokio::test]
async fn a_rejected_hosted_call_sends_the_reason() {
    let server = replay("/responses", approval_turns("delete_ticket")).await;
    let agent = clerk(&server);
    let runner = Runner::new();
    let mut state = runner
        .run(&agent, "delete ticket 7", ())
        .await
        .unwrap()
        .interruption
        .unwrap();
    state.reject("mcpr_1", Some("Not today.".into())).unwrap();
    runner.resume(&agent, state, ()).await.unwrap();
    let bodies = request_bodies(&server).await;
    let input = bodies[1]["input"].as_array().unwrap();
    assert_eq!(
        input.last().unwrap(),
        &json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": false, "reason": "Not today."})
    );
}

#[tokio::test]
async fn an_undecided_hosted_call_interrupts_again_without_calling_the_model() {
    let server = replay("/responses", approval_turns("delete_ticket")).await;
    let agent = clerk(&server);
    let runner = Runner::new();
    let state = runner
        .run(&agent, "delete ticket 7", ())
        .await
        .unwrap()
        .interruption
        .unwrap();
    let again = runner.resume(&agent, state, ()).await.unwrap();
    let again = again.interruption.expect("still waiting");
    assert_eq!(again.pending()[0].call_id, "mcpr_1");
    assert_eq!(request_bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn files_the_answer_cites_become_sources_of_the_file_search() {
    let files = json!({"type": "file_search_call", "id": "fs_1", "status": "completed", "queries": ["refund policy"],
        "results": [{"file_id": "file_1", "filename": "policy.pdf", "score": 0.9, "text": "..."}]});
    let cite = |file: &str, name: &str, index: usize| json!({"type": "file_citation", "file_id": file, "filename": name, "index": index});
    let message = json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [{"type": "output_text",
        "text": "Refunds take 14 days.", "annotations": [cite("file_1", "policy.pdf", 20), cite("file_2", "faq.md", 20), cite("file_2", "faq.md", 21)]}]});
    let events = vec![
        json!({"type": "response.created", "response": {"id": "resp_1"}}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "file_search_call", "id": "fs_1", "status": "in_progress", "queries": []}}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": files}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": message}),
        json!({"type": "response.completed", "response": {"id": "resp_1"}}),
    ];
    let server = replay("/responses", vec![(200, frames(&events))]).await;
    let events = chatkit_events(&server, DefaultResponseStreamConverter::default()).await;
    let replaced = events
        .iter()
        .find(|e| e["type"] == "thread.item.replaced")
        .expect("the workflow is replaced");
    let sources: Vec<&str> = replaced["item"]["workflow"]["tasks"][0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["filename"].as_str().unwrap())
        .collect();
    // The search found policy.pdf; the answer also cites faq.md (twice): added once.
    assert_eq!(sources, ["policy.pdf", "faq.md"]);
}

#[tokio::test]
async fn an_answer_without_citations_replaces_nothing() {
    let events = vec![
        json!({"type": "response.created", "response": {"id": "resp_1"}}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}}}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "No sources.", "annotations": []}]}}),
        json!({"type": "response.completed", "response": {"id": "resp_1"}}),
    ];
    let server = replay("/responses", vec![(200, frames(&events))]).await;
    let events = chatkit_events(&server, DefaultResponseStreamConverter::default()).await;
    assert!(
        !event_types(&events)
            .iter()
            .any(|t| t.starts_with("thread.item.replaced")),
        "{events:?}"
    );
}

#[tokio::test]
async fn in_chatkit_a_hosted_call_waits_on_a_card_and_runs_once_approved() {
    use chatkit_agents::store::MemoryStore;
    use chatkit_agents::testing::{requests, send};
    let server = replay("/responses", approval_turns("delete_ticket")).await;
    let model = Arc::new(OpenAIResponsesModel::with_base_url(
        "gpt-test",
        server.uri(),
        "k",
    ));
    let agent: Agent<AgentContext<()>> = Agent::new("Clerk", model).hosted_tool(
        HostedTool::mcp("tickets", "https://mcp.example.com/mcp")
            .option("require_approval", "always"),
    );
    let chatkit = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent));
    let first = send(&chatkit, &requests::create_thread("delete ticket 7"), ())
        .await
        .unwrap();
    let thread = first.thread_id().unwrap().to_owned();
    let card = first
        .events()
        .iter()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "widget")
        .expect("an approval card");
    let text = card["item"]["widget"].to_string();
    assert!(text.contains("Allow tickets: “Delete ticket”?"), "{text}");
    let approval_id = text
        .split("\"approval_id\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let action = json!({"type": APPROVE_ACTION, "payload": {"approval_id": approval_id}});
    let card_id = card["item"]["id"].as_str().unwrap();
    let second = send(
        &chatkit,
        &requests::custom_action(&thread, Some(card_id), action),
        (),
    )
    .await
    .unwrap();
    let answer: String = second
        .events()
        .iter()
        .filter_map(|e| e["item"]["content"][0]["text"].as_str())
        .collect();
    assert!(
        answer.contains("Ticket 7 is gone."),
        "{:?}",
        second.events()
    );
    let bodies = request_bodies(&server).await;
    assert_eq!(
        bodies[1]["input"].as_array().unwrap().last().unwrap()["type"],
        "mcp_approval_response"
    );
}

#[tokio::test]
async fn many_citations_become_each_page_once_among_the_sources() {
    let server = replay(
        "/responses",
        vec![(
            200,
            recording("08_web_search_many_citations_gpt-5-mini.sse"),
        )],
    )
    .await;
    let events = chatkit_events(&server, DefaultResponseStreamConverter::default()).await;
    let mut cited: Vec<&str> = events
        .iter()
        .filter(|e| e["update"]["type"] == "assistant_message.content_part.annotation_added")
        .map(|e| e["update"]["annotation"]["source"]["url"].as_str().unwrap())
        .collect();
    assert_eq!(cited.len(), 12);
    let replaced = events
        .iter()
        .find(|e| e["type"] == "thread.item.replaced")
        .expect("the workflow gets the cited pages");
    let tasks = replaced["item"]["workflow"]["tasks"].as_array().unwrap();
    let last_search = tasks
        .iter()
        .rev()
        .find(|t| t["type"] == "web_search")
        .unwrap();
    let mut sources: Vec<&str> = last_search["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    sources.sort_unstable();
    cited.sort_unstable();
    cited.dedup();
    assert_eq!(sources, cited);
}
