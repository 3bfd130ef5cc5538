//! What a user reads when an answer fails, over real HTTP: each class of failure (the
//! model service refused the key, is busy, is down or unreachable; an MCP server cannot
//! start; an action nobody handles) ends the stream with an `error` event that carries a
//! message and allows a retry only when one may help. Nothing secret reaches the client.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use chatkit_agents::agents::{
    chatkit::{AgentContext, AgentServer},
    model::Model,
    providers::openai::{OpenAIResponsesModel, RetryPolicy},
    Agent, McpServer,
};
use chatkit_agents::http::ChatKitEndpoint;
use chatkit_agents::server::StreamError;
use chatkit_agents::store::MemoryStore;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents::types::{
    AssistantMessageContent, AssistantMessageItem, ThreadStreamEvent, Timestamp,
};
use serde_json::{json, Value};
use support::replay::replay;

/// An endpoint on 127.0.0.1 answering with `server`.
async fn serve(server: AgentServer<()>) -> SocketAddr {
    let app = ChatKitEndpoint::new(Arc::new(server), |_| Ok(())).router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// The events of a streamed request, as JSON.
async fn post(address: SocketAddr, body: Value) -> Vec<Value> {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/chatkit"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    text.split_terminator("\n\n")
        .map(|frame| serde_json::from_str(frame.strip_prefix("data: ").unwrap()).unwrap())
        .collect()
}

fn create(text: &str) -> Value {
    json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}})
}

/// The stream's final `error` event.
fn error_event(events: &[Value]) -> &Value {
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error", "{events:#?}");
    last
}

/// An agent server whose model is the OpenAI Responses API at `base_url`, sent once.
fn openai_server(base_url: &str) -> AgentServer<()> {
    let model = OpenAIResponsesModel::with_base_url("gpt-test", base_url, "sk-secret-key-123")
        .retry_policy(RetryPolicy::none());
    AgentServer::new(
        Arc::new(MemoryStore::new()),
        Agent::new("Helper", Arc::new(model)),
    )
}

/// The error event a model service answering `status` with `body` produces.
async fn model_failure(status: u16, body: Value) -> Value {
    let mock = replay("/responses", vec![(status, body.to_string())]).await;
    let address = serve(openai_server(&mock.uri())).await;
    let events = post(address, create("Hello")).await;
    let error = error_event(&events).clone();
    let shown = error.to_string();
    assert!(
        !shown.contains("sk-secret") && !shown.contains("127.0.0.1"),
        "{shown}"
    );
    assert_eq!(error["code"], "custom", "{error}");
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_not_retryable_and_says_why() {
    let error = model_failure(
        401,
        json!({"error": {"message": "Incorrect API key provided: sk-secret-key-123.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
    )
    .await;
    assert_eq!(error["allow_retry"], false);
    assert!(
        error["message"].as_str().unwrap().contains("credentials"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_model_is_not_retryable() {
    let error = model_failure(
        404,
        json!({"error": {"message": "The model `gpt-test` does not exist", "type": "invalid_request_error", "param": null, "code": "model_not_found"}}),
    )
    .await;
    assert_eq!(error["allow_retry"], false);
    assert!(
        error["message"].as_str().unwrap().contains("model"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_or_failing_service_is_retryable() {
    let busy = model_failure(
        429,
        json!({"error": {"message": "Rate limit reached", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}),
    )
    .await;
    assert_eq!(busy["allow_retry"], true);
    assert!(busy["message"].as_str().unwrap().contains("busy"), "{busy}");

    let down = model_failure(503, json!({"error": {"message": "overloaded", "type": "server_error", "param": null, "code": null}})).await;
    assert_eq!(down["allow_retry"], true);
    assert!(
        down["message"].as_str().unwrap().contains("try again"),
        "{down}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_service_is_retryable() {
    // A port that nothing listens on: bound, then closed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let address = serve(openai_server(&format!("http://{closed}/v1"))).await;
    let events = post(address, create("Hello")).await;
    let error = error_event(&events);
    assert_eq!(error["code"], "custom");
    assert_eq!(error["allow_retry"], true);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{error}"
    );
    assert!(!error.to_string().contains(&closed.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_reported_inside_the_stream_is_classified_by_its_code() {
    let failed = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1,\"status\":\"in_progress\",\"model\":\"gpt-test\",\"output\":[]}}\n\n",
        "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":1,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1,\"status\":\"failed\",\"model\":\"gpt-test\",\"output\":[],\"error\":{\"code\":\"context_length_exceeded\",\"message\":\"too long\"}}}\n\n",
    );
    let mock = replay("/responses", vec![(200, failed.to_owned())]).await;
    let address = serve(openai_server(&mock.uri())).await;
    let events = post(address, create("Hello")).await;
    let error = error_event(&events);
    assert_eq!(error["allow_retry"], false, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("too long"),
        "{error}"
    );
}

/// Tools from an MCP server whose command does not exist.
fn ghost() -> McpServer {
    McpServer::stdio("orders", "/nonexistent/orders-mcp-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_mcp_server_that_cannot_start_is_not_retryable() {
    let model: Arc<dyn Model> = Arc::new(ScriptedModel::new(vec![vec![Step::text("unused")]]));
    let agent = Agent::new("Helper", model).mcp_server(ghost().required(true));
    let address = serve(AgentServer::new(Arc::new(MemoryStore::new()), agent)).await;
    let events = post(address, create("Hello")).await;
    let error = error_event(&events);
    assert_eq!(error["code"], "custom");
    assert_eq!(error["allow_retry"], false);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("unavailable") && !message.contains("nonexistent"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_mcp_server_that_cannot_start_leaves_a_notice_and_the_run_answers() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text(
        "Hello without orders.",
    )]]));
    let agent = Agent::new("Helper", model.clone() as Arc<dyn Model>).mcp_server(ghost());
    let address = serve(AgentServer::new(Arc::new(MemoryStore::new()), agent)).await;
    let events = post(address, create("Hello")).await;
    let notice = events
        .iter()
        .find(|e| e["type"] == "notice")
        .expect("a notice");
    assert_eq!(notice["level"], "warning");
    assert!(
        notice["message"].as_str().unwrap().contains("orders"),
        "{notice}"
    );
    assert!(!notice.to_string().contains("nonexistent"));
    assert!(events.iter().all(|e| e["type"] != "error"), "{events:#?}");
    let done = events
        .iter()
        .rfind(|e| e["type"] == "thread.item.done")
        .unwrap();
    assert_eq!(done["item"]["content"][0]["text"], "Hello without orders.");
    assert!(
        model.requests()[0].tools.is_empty(),
        "offered no tool of the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_nobody_handles_is_not_retryable_and_a_handled_one_runs() {
    let model: Arc<dyn Model> = Arc::new(ScriptedModel::new(vec![vec![Step::text("Hi.")]]));
    let server = AgentServer::new(
        Arc::new(MemoryStore::new()),
        Agent::<AgentContext<()>>::new("Helper", model),
    )
    .on_action("order.cancel", |request| {
        Box::pin(chatkit_agents::async_stream::try_stream! {
            let order = request.action.payload.get("order_id")
                .and_then(|id| id.as_str().map(str::to_owned))
                .ok_or_else(|| StreamError::custom("Which order?", false))?;
            yield ThreadStreamEvent::item_done(AssistantMessageItem {
                id: format!("msg_cancel_{order}"),
                thread_id: request.thread.id().to_owned(),
                created_at: Timestamp::now(),
                content: vec![AssistantMessageContent::new(format!("Order {order} is cancelled."))],
            });
        })
    });
    let address = serve(server).await;
    let created = post(address, create("Hello")).await;
    let thread_id = created[0]["thread"]["id"].as_str().unwrap().to_owned();
    let action = |kind: &str, payload: Value| json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "action": {"type": kind, "payload": payload}}});

    let unknown = post(address, action("order.refund", json!({}))).await;
    let error = error_event(&unknown);
    assert_eq!(error["code"], "custom");
    assert_eq!(error["allow_retry"], false);
    assert_eq!(error["message"], "This action is not available.");

    let handled = post(address, action("order.cancel", json!({"order_id": "A7"}))).await;
    let done = handled
        .iter()
        .find(|e| e["type"] == "thread.item.done")
        .expect("the handler's item");
    assert_eq!(done["item"]["content"][0]["text"], "Order A7 is cancelled.");

    let refused = post(address, action("order.cancel", json!({"order": 7}))).await;
    assert_eq!(error_event(&refused)["message"], "Which order?");
}
