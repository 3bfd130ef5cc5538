//! The demo with `OTEL_EXPORTER_OTLP_ENDPOINT` set: its conversations reach an OTLP/HTTP
//! receiver as spans (service `chatkit-agents-demo`, the user from the request) and
//! metrics, the first request's trace whole even though it starts the demo's MCP server.
//! One test in this file: the setup installs the global subscriber.

mod support;

use std::sync::Arc;

use chatkit_agents::agents::McpServer;
use chatkit_agents::store::MemoryStore;
use chatkit_agents_workspace::demo::{app_with_tools, init_telemetry, OfflineModel};
use support::otlp::{histogram, receiver, spans, text, Received};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_exports_its_traces_and_metrics() {
    let received = Received::default();
    let url = receiver(received.clone()).await;
    // Before anything else in this process reads the environment.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &url);
    std::env::remove_var("OTEL_SERVICE_NAME");
    let otel = init_telemetry()
        .unwrap()
        .expect("the endpoint turns the export on");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // The first request starts this server (it lists its tools when the agent starts).
    let fixture = McpServer::stdio("fixture", env!("CARGO_BIN_EXE_mcp-test-server"));
    let demo = app_with_tools(
        Arc::new(MemoryStore::new()),
        Arc::new(OfflineModel),
        vec![fixture.clone()],
        Vec::new(),
    );
    tokio::spawn(async move { axum::serve(listener, demo).await });
    let body = r#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"What is the weather in Paris?"}],"attachments":[],"inference_options":{}}}}"#;
    let reply = reqwest::Client::new()
        .post(format!("http://{address}/chatkit"))
        .header("content-type", "application/json")
        .header("x-user-id", "ada")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(reply.contains("thread.item.done"), "{reply}");

    // The MCP server stays up, as in a real deployment (closed only at the end).
    tokio::task::spawn_blocking(move || otel.shutdown())
        .await
        .unwrap()
        .unwrap();

    let traces = received.traces();
    let resource = traces[0].resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        text(&resource.attributes, "service.name"),
        "chatkit-agents-demo"
    );
    let spans = spans(&traces);
    let request = spans
        .iter()
        .find(|s| s.name == "chatkit_request")
        .expect("the request's span");
    assert_eq!(text(&request.attributes, "user.id"), "ada");
    // The first request's trace is whole: its request, run and the MCP listing that
    // started the server all ended and were exported, in one trace.
    let in_request = |prefix: &str| {
        spans
            .iter()
            .any(|s| s.name.starts_with(prefix) && s.trace_id == request.trace_id)
    };
    assert!(in_request("invoke_agent"));
    assert!(in_request("execute_tool"));
    assert!(
        in_request("tools/list fixture"),
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let metrics = received.metrics();
    let requests = histogram(
        &metrics,
        "chatkit.server.request.duration",
        &[
            ("chatkit.request.type", "threads.create"),
            ("chatkit.request.status", "ok"),
        ],
    );
    assert_eq!(requests.iter().map(|p| p.count).sum::<u64>(), 1);
    fixture.close().await;
}
