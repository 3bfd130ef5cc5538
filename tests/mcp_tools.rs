//! Agents with tools from MCP servers: the fixture server (`src/mcp_fixture.rs`, rmcp's
//! server side) over stdio (as a child process) and over Streamable HTTP. Listing,
//! calls with text, structured and `isError` results, filters and prefixes, clashes,
//! servers that cannot start, timeouts, a list that changes, a connection lost and
//! reopened, and a tool guardrail that sees MCP calls like any other.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use chatkit_agents::agents::{
    function_tool, Agent, McpServer, RunError, RunEvent, Runner, ToolContext, ToolGuardrailOutput,
    ToolInputGuardrail,
};
use chatkit_agents::testing::{event_types, tool_outputs, ScriptedModel, Step};
use chatkit_agents_workspace::mcp_fixture::FixtureServer;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::tower::StreamableHttpService;
use rmcp::transport::StreamableHttpServerConfig;
use serde_json::json;

fn stdio(name: &str) -> McpServer {
    McpServer::stdio(name, env!("CARGO_BIN_EXE_mcp-test-server"))
}

/// The fixture over Streamable HTTP at `/mcp`, answering only with `Bearer t0k3n`.
async fn http_fixture() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(serve_fixture(listener, Default::default()));
    url
}

/// Serves the fixture on `listener` until the task is aborted, counting the sessions
/// it opens in `sessions`.
async fn serve_fixture(listener: tokio::net::TcpListener, sessions: Arc<AtomicUsize>) {
    let service: StreamableHttpService<FixtureServer, LocalSessionManager> =
        StreamableHttpService::new(
            move || {
                sessions.fetch_add(1, Ordering::SeqCst);
                Ok(FixtureServer::new())
            },
            Default::default(),
            StreamableHttpServerConfig::default().with_sse_keep_alive(None),
        );
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let authorized = request
                    .headers()
                    .get("authorization")
                    .is_some_and(|v| v == "Bearer t0k3n");
                if authorized {
                    next.run(request).await
                } else {
                    axum::http::StatusCode::UNAUTHORIZED.into_response()
                }
            },
        ));
    let _ = axum::serve(listener, app).await;
}

fn offered(model: &ScriptedModel) -> Vec<String> {
    let mut names: Vec<String> = model.requests()[0]
        .tools
        .iter()
        .map(|t| t.name.clone())
        .collect();
    names.sort();
    names
}

async fn calls_and_results(server: McpServer) {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![
            Step::tool_call("add", json!({"a": 2, "b": 3})),
            Step::tool_call("weather", json!({"city": "Paris"})),
            Step::tool_call("weather", json!({"city": "Atlantis"})),
            Step::tool_call("add", json!({"a": "two"})),
        ],
        vec![Step::text("Done.")],
    ]));
    let agent: Agent<()> = Agent::new("Helper", model.clone()).mcp_server(server.clone());
    let result = Runner::new().run(&agent, "go", ()).await.unwrap();
    assert_eq!(result.final_output, "Done.");
    let outputs = tool_outputs(&result.events);
    assert_eq!(outputs[0], "5");
    assert_eq!(
        outputs[1], r#"{"city":"Paris","celsius":21}"#,
        "structured content"
    );
    assert_eq!(
        outputs[2], "no such city: Atlantis",
        "isError reaches the model"
    );
    assert!(
        outputs[3].contains("failed to deserialize parameters"),
        "arguments the server refuses are the server's error for the model: {}",
        outputs[3]
    );
    assert_eq!(
        offered(&model),
        [
            "add",
            "admin_reset",
            "cancelled_sleeps",
            "exit_soon",
            "grow",
            "sleep",
            "weather"
        ]
    );
    let add = model.requests()[0]
        .tools
        .iter()
        .find(|t| t.name == "add")
        .unwrap()
        .clone();
    assert_eq!(add.description, "Add two numbers");
    assert_eq!(add.parameters["properties"]["a"]["type"], "integer");
    assert!(!add.strict);
    server.close().await;
}

#[tokio::test]
async fn stdio_tools_are_offered_and_called() {
    calls_and_results(stdio("fixture")).await;
}

#[tokio::test]
async fn http_tools_are_offered_and_called_with_the_bearer_token() {
    let url = http_fixture().await;
    calls_and_results(McpServer::http("fixture", &url).bearer_token("t0k3n")).await;

    let refused = McpServer::http("locked", &url).timeout(Duration::from_secs(5));
    let error = refused.list_tools().await.unwrap_err().to_string();
    assert!(
        error.contains("locked") && error.contains("could not start"),
        "{error}"
    );
}

#[tokio::test]
async fn filters_prefixes_and_strict_schemas() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("calc_add", json!({"a": 1, "b": 1}))],
        vec![Step::text("2")],
    ]));
    let server = stdio("calc")
        .tool_prefix("calc_")
        .deny_tools(["admin_reset", "exit_soon"])
        .allow_tools(["add", "weather", "admin_reset"])
        .strict_schemas(true);
    let agent: Agent<()> = Agent::new("Helper", model.clone()).mcp_server(server.clone());
    let result = Runner::new().run(&agent, "1 + 1", ()).await.unwrap();
    assert_eq!(tool_outputs(&result.events), ["2"]);
    assert_eq!(offered(&model), ["calc_add", "calc_weather"]);
    let add = &model.requests()[0].tools[0];
    assert!(add.strict, "a closed schema converts to strict mode");
    assert_eq!(add.parameters["additionalProperties"], false);
    server.close().await;
}

/// Add two numbers, locally.
#[function_tool(name = "add")]
async fn local_add(a: i64, b: i64) -> i64 {
    a + b
}

#[tokio::test]
async fn a_name_clash_and_a_server_that_cannot_start_are_clear_errors() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("hi")]]));
    let server = stdio("fixture");
    let agent: Agent<()> = Agent::new("Helper", model.clone())
        .tool(local_add)
        .mcp_server(server.clone());
    let error = Runner::new().run(&agent, "hi", ()).await.unwrap_err();
    assert!(matches!(error, RunError::ToolSource { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("fixture") && message.contains("add") && message.contains("prefix"),
        "{message}"
    );
    server.close().await;

    let ghost = McpServer::stdio("ghost", "/nonexistent/mcp-server").required(true);
    let agent: Agent<()> = Agent::new("Helper", model).mcp_server(ghost);
    let message = Runner::new()
        .run(&agent, "hi", ())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("ghost") && message.contains("could not start"),
        "{message}"
    );
}

#[tokio::test]
async fn a_server_that_cannot_start_is_left_out_and_the_run_goes_on() {
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("hi")]]));
    let ghost = McpServer::stdio("ghost", "/nonexistent/mcp-server");
    let agent: Agent<()> = Agent::new("Helper", model.clone())
        .tool(local_add)
        .mcp_server(ghost);
    let result = Runner::new().run(&agent, "hi", ()).await.unwrap();
    assert_eq!(result.final_output, "hi");
    let unavailable: Vec<_> = result
        .events
        .iter()
        .filter_map(|event| match event {
            RunEvent::ToolSourceUnavailable { source, message } => Some((source, message)),
            _ => None,
        })
        .collect();
    assert_eq!(unavailable.len(), 1, "{:?}", result.events);
    assert_eq!(unavailable[0].0, "ghost");
    assert!(
        unavailable[0].1.contains("could not start"),
        "{}",
        unavailable[0].1
    );
    assert_eq!(offered(&model), ["add"], "the agent's own tools stay");
}

#[tokio::test]
async fn a_server_that_failed_is_tried_again_after_a_growing_backoff() {
    let ghost = McpServer::stdio("ghost", "/nonexistent/mcp-server")
        .reconnect_backoff(Duration::from_millis(300), Duration::from_secs(5));
    let tried = ghost.list_tools().await.unwrap_err().to_string();
    assert!(tried.contains("cannot run"), "{tried}");
    let waiting = ghost.list_tools().await.unwrap_err().to_string();
    assert!(waiting.contains("next one starts in"), "{waiting}");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let tried = ghost.list_tools().await.unwrap_err().to_string();
    assert!(tried.contains("cannot run"), "tried again: {tried}");
    // The second failure doubles the wait: 350 ms later it still waits.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let waiting = ghost.list_tools().await.unwrap_err().to_string();
    assert!(waiting.contains("next one starts in"), "{waiting}");
}

#[tokio::test]
async fn a_server_that_comes_back_gives_its_tools_again() {
    // An address nothing listens on yet.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let server = McpServer::http("late", format!("http://{address}/mcp"))
        .bearer_token("t0k3n")
        .timeout(Duration::from_secs(5))
        .reconnect_backoff(Duration::from_millis(100), Duration::from_millis(100));
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::text("without")],
        vec![Step::tool_call("add", json!({"a": 1, "b": 2}))],
        vec![Step::text("with")],
    ]));
    let agent: Agent<()> = Agent::new("Helper", model.clone()).mcp_server(server.clone());
    let first = Runner::new().run(&agent, "hi", ()).await.unwrap();
    assert_eq!(first.final_output, "without");
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let serving = tokio::spawn(serve_fixture(listener, Default::default()));
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = Runner::new().run(&agent, "add", ()).await.unwrap();
    assert_eq!(tool_outputs(&second.events), ["3"]);
    assert_eq!(second.final_output, "with");
    server.close().await;
    serving.abort();
}

#[tokio::test]
async fn a_call_to_a_server_that_cannot_restart_tells_the_model_why() {
    /// Wait until the server process has exited.
    #[function_tool]
    async fn pause() -> &'static str {
        tokio::time::sleep(Duration::from_millis(500)).await;
        "paused"
    }
    let model = Arc::new(ScriptedModel::new(vec![
        vec![
            Step::tool_call("exit_soon", json!({})),
            Step::tool_call("pause", json!({})),
        ],
        vec![Step::tool_call("add", json!({"a": 1, "b": 2}))],
        vec![Step::text("done")],
    ]));
    // The fixture's binary, started through a wrapper that works once: after the
    // process exits, the restart fails.
    let once = std::env::temp_dir().join(format!("mcp-once-{}", std::process::id()));
    std::fs::write(&once, "").unwrap();
    let script = format!(
        "if [ -e '{0}' ]; then rm '{0}'; exec '{1}'; else exit 3; fi",
        once.display(),
        env!("CARGO_BIN_EXE_mcp-test-server")
    );
    let server = McpServer::stdio("orders", "sh")
        .args(["-c", script.as_str()])
        .timeout(Duration::from_secs(5));
    let agent: Agent<()> = Agent::new("Helper", model)
        .tool(pause)
        .mcp_server(server.clone());
    let result = Runner::new().run(&agent, "go", ()).await.unwrap();
    let outputs = tool_outputs(&result.events);
    assert!(outputs[0].contains("bye"), "{outputs:?}");
    assert!(
        outputs[2].starts_with("MCP server orders could not")
            && !outputs[2].contains("An error occurred"),
        "{outputs:?}"
    );
    assert!(
        result
            .events
            .iter()
            .any(|event| matches!(event, RunEvent::ToolFailed { call, .. } if call.name == "add")),
        "the failure is an event of its own"
    );
    server.close().await;
}

#[tokio::test]
async fn a_slow_call_times_out_and_the_run_goes_on() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("sleep", json!({"millis": 5000}))],
        vec![Step::text("It took too long.")],
    ]));
    let server = stdio("slow").timeout(Duration::from_millis(500));
    let agent: Agent<()> = Agent::new("Helper", model).mcp_server(server.clone());
    let result = Runner::new().run(&agent, "sleep", ()).await.unwrap();
    assert_eq!(
        tool_outputs(&result.events),
        ["Tool 'sleep' timed out after 0.5 seconds."]
    );
    assert_eq!(result.final_output, "It took too long.");
    server.close().await;
}

async fn the_list_follows_the_server(server: McpServer) {
    let before = server.list_tools().await.unwrap();
    assert!(!before.iter().any(|t| t.name == "extra"));
    let again = server.list_tools().await.unwrap();
    assert!(
        Arc::ptr_eq(&before, &again),
        "the list is kept between uses"
    );
    server.call_tool("grow", Default::default()).await.unwrap();
    let mut grown = false;
    for _ in 0..50 {
        if server
            .list_tools()
            .await
            .unwrap()
            .iter()
            .any(|t| t.name == "extra")
        {
            grown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(grown, "tools/list_changed refreshed the list");
    server.close().await;
}

#[tokio::test]
async fn a_changed_list_is_fetched_again_over_stdio() {
    the_list_follows_the_server(stdio("growing")).await;
}

#[tokio::test]
async fn a_changed_list_is_fetched_again_over_http() {
    let url = http_fixture().await;
    the_list_follows_the_server(McpServer::http("growing", &url).bearer_token("t0k3n")).await;
}

#[tokio::test]
async fn a_lost_connection_is_reopened_once() {
    let server = stdio("mortal");
    let bye = server
        .call_tool("exit_soon", Default::default())
        .await
        .unwrap();
    assert!(format!("{:?}", bye.content).contains("bye"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut arguments = serde_json::Map::new();
    arguments.insert("a".into(), json!(20));
    arguments.insert("b".into(), json!(22));
    let sum = server.call_tool("add", arguments).await.unwrap();
    assert!(format!("{:?}", sum.content).contains("42"), "{sum:?}");
    server.close().await;
}

#[tokio::test]
async fn tool_guardrails_see_mcp_calls() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("admin_reset", json!({}))],
        vec![Step::text("Not allowed.")],
    ]));
    let guard = ToolInputGuardrail::new("no_admin", |call: ToolContext<()>| async move {
        if call.tool_name().starts_with("admin") {
            ToolGuardrailOutput::reject_content("Admin tools need a human.")
        } else {
            ToolGuardrailOutput::Allow
        }
    });
    let server = stdio("fixture");
    let agent: Agent<()> = Agent::new("Helper", model)
        .mcp_server(server.clone())
        .tool_input_guardrail(guard);
    let result = Runner::new().run(&agent, "reset", ()).await.unwrap();
    assert_eq!(tool_outputs(&result.events), ["Admin tools need a human."]);
    server.close().await;
}

#[tokio::test]
async fn dropping_the_run_cancels_the_call_on_the_server() {
    use futures::StreamExt;
    let model = Arc::new(ScriptedModel::new(vec![vec![Step::tool_call(
        "sleep",
        json!({"millis": 30000}),
    )]]));
    let server = stdio("sleepy");
    let agent: Agent<()> = Agent::new("Helper", model).mcp_server(server.clone());
    let mut run = Runner::new().run_streamed(&agent, "sleep", ());
    while let Some(event) = run.next().await {
        if let Ok(RunEvent::ToolStarted { .. }) = event {
            break;
        }
    }
    // Let the call reach the server, then walk away from the run.
    let _ = tokio::time::timeout(Duration::from_millis(300), run.next()).await;
    drop(run);
    let mut cancelled = String::new();
    for _ in 0..50 {
        let count = server
            .call_tool("cancelled_sleeps", Default::default())
            .await
            .unwrap();
        cancelled = format!("{:?}", count.content);
        if cancelled.contains("\"1\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        cancelled.contains("\"1\""),
        "the server saw the cancellation: {cancelled}"
    );
    server.close().await;
}

#[tokio::test]
async fn an_http_session_the_server_lost_is_opened_again() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let sessions = Arc::new(AtomicUsize::new(0));
    let first = tokio::spawn(serve_fixture(listener, sessions.clone()));
    let server =
        McpServer::http("restarting", format!("http://{address}/mcp")).bearer_token("t0k3n");
    let mut arguments = serde_json::Map::new();
    arguments.insert("a".into(), json!(1));
    arguments.insert("b".into(), json!(1));
    let sum = server.call_tool("add", arguments.clone()).await.unwrap();
    assert!(format!("{:?}", sum.content).contains('2'));

    // The server restarts on the same port and no longer knows the session.
    first.abort();
    let _ = first.await;
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let restarted = Arc::new(AtomicUsize::new(0));
    tokio::spawn(serve_fixture(listener, restarted.clone()));
    let sum = server.call_tool("add", arguments).await.unwrap();
    assert!(format!("{:?}", sum.content).contains('2'), "{sum:?}");
    assert_eq!(sessions.load(Ordering::SeqCst), 1);
    assert_eq!(
        restarted.load(Ordering::SeqCst),
        1,
        "a new session on the restarted server"
    );
    server.close().await;
}

#[tokio::test]
async fn chatkit_shows_an_mcp_call_as_a_task_with_its_outcome() {
    use chatkit_agents::agents::chatkit::{stream_agent_response, AgentContext};
    use chatkit_agents::server::ThreadHandle;
    use chatkit_agents::store::MemoryStore;
    use chatkit_agents::types::{ThreadMetadata, Timestamp};
    use futures::StreamExt;

    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("add", json!({"a": 2, "b": 3}))],
        vec![Step::text("It is 5.")],
    ]));
    let server = stdio("calc");
    let agent: Agent<AgentContext<()>> = Agent::new("Helper", model).mcp_server(server.clone());
    let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
    let run = Runner::new().run_streamed(&agent, "2 + 3?", ctx.clone());
    let events: Vec<serde_json::Value> = stream_agent_response(&ctx, run)
        .map(|e| serde_json::to_value(e.unwrap()).unwrap())
        .collect()
        .await;
    server.close().await;

    assert_eq!(
        event_types(&events)[..5],
        [
            "thread.item.added:workflow",
            "thread.item.updated:workflow.task.added",
            "thread.item.updated:workflow.task.updated",
            "thread.item.done:workflow",
            "thread.item.added:assistant_message",
        ]
    );
    let started = &events[1]["update"]["task"];
    assert_eq!(started["title"], "calc: add");
    assert_eq!(started["status_indicator"], "loading");
    let done = &events[2]["update"]["task"];
    assert_eq!(done["status_indicator"], "complete");
    assert_eq!(done["content"], "5");
}

#[tokio::test]
async fn chatkit_shows_a_failed_mcp_call_as_failed() {
    use chatkit_agents::agents::chatkit::{stream_agent_response, AgentContext};
    use chatkit_agents::server::ThreadHandle;
    use chatkit_agents::store::MemoryStore;
    use chatkit_agents::types::{ThreadMetadata, Timestamp};
    use futures::StreamExt;

    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("weather", json!({"city": "Atlantis"}))],
        vec![Step::text("No such city.")],
    ]));
    let server = stdio("meteo");
    let agent: Agent<AgentContext<()>> = Agent::new("Helper", model).mcp_server(server.clone());
    let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
    let run = Runner::new().run_streamed(&agent, "Weather in Atlantis?", ctx.clone());
    let events: Vec<serde_json::Value> = stream_agent_response(&ctx, run)
        .map(|e| serde_json::to_value(e.unwrap()).unwrap())
        .collect()
        .await;
    server.close().await;

    let started = &events[1]["update"]["task"];
    assert_eq!(started["status_indicator"], "loading");
    let ended = &events[2]["update"];
    assert_eq!(ended["type"], "workflow.task.updated");
    let task = &ended["task"];
    assert_eq!(task["title"], "meteo: weather failed");
    assert_eq!(
        task["status_indicator"], "none",
        "no check mark on a failure"
    );
    assert_eq!(task["icon"], "info");
    assert!(
        task["content"].as_str().unwrap().contains("Atlantis"),
        "the server's error text: {task}"
    );
}
