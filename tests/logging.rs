//! What the server logs: a failed stream once, at ERROR, with its cause, thread and
//! request type; a message meant for the user and a 501 for an unconfigured feature
//! are not server errors.

mod support;

use std::sync::Arc;

use chatkit_agents::agents::{chatkit::AgentServer, Agent};
use chatkit_agents::http::ChatKitEndpoint;
use chatkit_agents::server::StreamError;
use chatkit_agents::store::MemoryStore;
use chatkit_agents::testing::ScriptedModel;
use support::logs::capture;
use support::server::{create, events, TestServer};

#[tokio::test]
async fn a_failed_stream_is_logged_once_with_its_cause_thread_and_request_type() {
    let (log, _guard) = capture();
    // A scripted model with no turn: the run fails inside the stream.
    let agent = Agent::new("A", Arc::new(ScriptedModel::new(vec![])));
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent));
    let sent = events(&server, create("hi")).await;
    assert_eq!(sent.last().unwrap()["type"], "error");
    let thread_id = sent[0]["thread"]["id"].as_str().unwrap();

    let errors: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|l| l.contains("ERROR"))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let line = &errors[0];
    assert!(
        line.contains("request_type=\"threads.create\"")
            || line.contains("request_type=threads.create"),
        "{line}"
    );
    assert!(line.contains(thread_id), "{line}");
    assert!(line.contains("no turn left"), "the cause: {line}");
}

#[tokio::test]
async fn a_message_for_the_user_is_not_a_server_error() {
    let (log, _guard) = capture();
    let server = TestServer::new(|_, _| {
        Box::pin(futures::stream::iter([Err(StreamError::custom(
            "Try again later.",
            true,
        ))]))
    });
    let sent = events(&server, create("hi")).await;
    assert_eq!(sent.last().unwrap()["message"], "Try again later.");
    let lines = log.lines();
    assert!(lines.iter().all(|l| !l.contains("ERROR")), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("INFO") && l.contains("Try again later.")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn an_unconfigured_feature_is_not_logged_as_an_error() {
    let (log, _guard) = capture();
    // AgentServer has no transcription: `input.transcribe` is a 501.
    let agent = Agent::new("A", Arc::new(ScriptedModel::new(vec![])));
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent));
    let app = ChatKitEndpoint::new(server, |_| Ok(())).router();
    let request = axum::http::Request::post("/chatkit")
        .body(axum::body::Body::from(
            r#"{"type":"input.transcribe","params":{"audio_base64":"aGk=","mime_type":"audio/webm"}}"#,
        ))
        .unwrap();
    let response = tower_oneshot(app, request).await;
    assert_eq!(response.status(), 501);
    let lines = log.lines();
    assert!(lines.iter().all(|l| !l.contains("ERROR")), "{lines:#?}");
}

async fn tower_oneshot(
    mut app: axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> axum::response::Response {
    use tower_service::Service;
    app.call(request).await.unwrap()
}
