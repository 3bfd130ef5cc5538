//! The OpenAI models' retry policy against a scripted server: what is retried, how long
//! it waits, and when it gives up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatkit_agents::agents::model::*;
use chatkit_agents::agents::providers::openai::*;
use futures::StreamExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn recording() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/openai-sse/01_text_logprobs_gpt-4o-mini.sse"
    ))
    .unwrap()
}

/// Answers each request with the next of `script` (the last one repeats), counting them.
struct Script(Vec<ResponseTemplate>, Arc<AtomicUsize>);

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.1.fetch_add(1, Ordering::SeqCst);
        self.0[n.min(self.0.len() - 1)].clone()
    }
}

fn failing(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        r#"{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}"#,
        "application/json",
    )
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(recording(), "text/event-stream")
}

async fn scripted(script: Vec<ResponseTemplate>) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/responses"))
        .respond_with(Script(script, calls.clone()))
        .mount(&server)
        .await;
    (server, calls)
}

/// Runs one model call under `policy`; returns the error (if any) and how long it took.
async fn call(server: &MockServer, policy: RetryPolicy) -> (Option<ModelError>, Duration) {
    let model =
        OpenAIResponsesModel::with_base_url("gpt-test", server.uri(), "k").retry_policy(policy);
    let started = Instant::now();
    let mut events = model.stream(ModelRequest::default());
    let mut error = None;
    while let Some(event) = events.next().await {
        if let Err(e) = event {
            error = Some(e);
        }
    }
    (error, started.elapsed())
}

fn fast() -> RetryPolicy {
    RetryPolicy::default().backoff(Duration::from_millis(10), Duration::from_millis(20))
}

#[tokio::test]
async fn server_errors_are_retried_until_one_succeeds() {
    let (server, calls) = scripted(vec![failing(500), failing(503), ok()]).await;
    let (error, _) = call(&server, fast()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn attempts_are_capped() {
    let (server, calls) = scripted(vec![failing(500)]).await;
    let (error, _) = call(&server, fast().max_attempts(3)).await;
    assert!(
        matches!(
            error,
            Some(ModelError::Http { status: 500, .. }) | Some(ModelError::Api { .. })
        ),
        "{error:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let (server, calls) = scripted(vec![failing(500)]).await;
    call(&server, RetryPolicy::none()).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_long_retry_after_fails_at_once() {
    let (server, calls) =
        scripted(vec![failing(429).insert_header("retry-after", "2"), ok()]).await;
    let (error, took) = call(&server, fast().max_retry_after(Duration::from_secs(1))).await;
    assert!(error.is_some());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "no retry for a wait past the cap"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn a_short_retry_after_is_honoured() {
    let (server, calls) = scripted(vec![
        failing(429).insert_header("retry-after-ms", "200"),
        ok(),
    ])
    .await;
    let (error, took) = call(&server, fast()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

#[tokio::test]
async fn no_retry_starts_past_the_deadline() {
    let (server, calls) = scripted(vec![failing(500)]).await;
    let policy = RetryPolicy::default()
        .max_attempts(10)
        .backoff(Duration::from_millis(300), Duration::from_millis(300))
        // Waits are 225-300 ms with jitter: the first fits, a second (after at least
        // 225 ms, waiting at least 225 ms more) never does.
        .deadline(Duration::from_millis(400));
    let (error, took) = call(&server, policy).await;
    assert!(error.is_some());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one retry fits in the deadline"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn client_errors_and_a_server_saying_no_are_not_retried() {
    let (server, calls) = scripted(vec![failing(400)]).await;
    call(&server, fast()).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let (server, calls) =
        scripted(vec![failing(503).insert_header("x-should-retry", "false")]).await;
    call(&server, fast()).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_error() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let model = OpenAIResponsesModel::with_base_url("m", format!("http://{address}"), "k")
        .retry_policy(fast().max_attempts(2));
    let mut events = model.stream(ModelRequest::default());
    let first = events.next().await.unwrap();
    assert!(matches!(first, Err(ModelError::Connection(_))), "{first:?}");
}
