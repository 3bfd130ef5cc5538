//! Per-user limits, usage and titles over HTTP, on one in-process endpoint serving an
//! `AgentServer` with scripted models: each limit refuses past its value with an error
//! that names it and stores nothing; usage is read per thread and per user, never
//! another user's; a title model's title arrives as `thread.updated`, the first words
//! when it fails or is slow.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::agents::chatkit::{AgentServer, ThreadTitles};
use chatkit_agents::agents::model::ModelError;
use chatkit_agents::agents::Agent;
use chatkit_agents::http::{ChatKitEndpoint, Rejection};
use chatkit_agents::server::Limits;
use chatkit_agents::store::{MemoryStore, Store, StoreContext};
use chatkit_agents::testing::{ScriptedModel, Step, TestUser, SCRIPTED_MODEL_NAME};
use serde_json::{json, Value};
use support::sse::Frames;

struct Served {
    url: String,
    model: Arc<ScriptedModel>,
    store: Arc<MemoryStore>,
}

/// An endpoint whose agent answers from `model`, configured by `setup`; the user is
/// the `x-user` header.
async fn serve(setup: impl FnOnce(AgentServer<TestUser>) -> AgentServer<TestUser>) -> Served {
    let store = Arc::new(MemoryStore::new());
    let model = Arc::new(ScriptedModel::new(Vec::new()));
    let agent = Agent::new("Helper", model.clone());
    let server = Arc::new(setup(AgentServer::new(store.clone(), agent)));
    let app = ChatKitEndpoint::new(server, |parts: &axum::http::request::Parts| {
        let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
        user.map(|u| TestUser(u.to_owned()))
            .ok_or_else(|| Rejection::unauthorized("x-user is missing"))
    })
    .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/chatkit", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Served { url, model, store }
}

/// Waits out the last seconds of the current `window` (windows are aligned to the
/// clock), so that a test's requests all fall in one window.
async fn clear_of_window_edge(window: Duration) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let length = window.as_millis() as u64;
    let left = length - now % length;
    if left < 20_000 {
        tokio::time::sleep(Duration::from_millis(left + 100)).await;
    }
}

/// An endpoint whose users (the `x-user` header) are held to `limits`.
async fn serve_limited(limits: Limits) -> Served {
    serve(|s| s.user_limits(limits, |u: &TestUser| u.user_id().map(str::to_owned))).await
}

async fn post(url: &str, user: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("x-user", user)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn create(text: &str) -> Value {
    json!({"type": "threads.create", "params": {"input": {
        "content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}})
}

fn add_message(thread_id: &str, text: &str) -> Value {
    json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": {
        "content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}})
}

async fn events(response: reqwest::Response) -> Vec<Value> {
    assert_eq!(response.status(), 200);
    let mut frames = Frames::new(response);
    let all = frames.until(|_| false).await;
    all.into_iter().map(|f| f.event).collect()
}

fn errors(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["type"] == "error")
        .map(|e| e["message"].as_str().unwrap_or_default())
        .collect()
}

fn thread_id(events: &[Value]) -> String {
    events[0]["thread"]["id"].as_str().unwrap().to_owned()
}

async fn thread_count(store: &MemoryStore, user: &str) -> usize {
    let ctx = TestUser(user.into());
    store
        .load_threads(100, None, Default::default(), &ctx)
        .await
        .unwrap()
        .data
        .len()
}

#[tokio::test]
async fn requests_over_the_limit_are_refused_with_retry_after_and_nothing_is_stored() {
    clear_of_window_edge(Duration::from_secs(3600)).await;
    let served = serve_limited(Limits::in_memory().requests(3, Duration::from_secs(3600))).await;
    served.model.push_turn(vec![Step::text("One.")]);
    let first = events(post(&served.url, "ada", create("hi")).await).await;
    assert!(errors(&first).is_empty(), "{first:?}");
    let list = json!({"type": "threads.list", "params": {"limit": 10}});
    assert_eq!(post(&served.url, "ada", list.clone()).await.status(), 200);
    assert_eq!(post(&served.url, "ada", list.clone()).await.status(), 200);

    // A fourth request of any kind: JSON ones get 429 with Retry-After.
    let refused = post(&served.url, "ada", list.clone()).await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "Retry-After: {wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Too many requests: the limit is 3 per hour. Try again in "),
        "{message}"
    );

    // A streaming one gets one error event naming the limit, and creates nothing.
    let streamed = events(post(&served.url, "ada", create("again")).await).await;
    assert_eq!(streamed.len(), 1, "{streamed:?}");
    assert_eq!(streamed[0]["type"], "error");
    assert!(errors(&streamed)[0].starts_with("Too many requests"));
    assert_eq!(
        streamed[0]["allow_retry"],
        wait <= 60,
        "a retry button only for a wait of a minute at most"
    );
    assert_eq!(thread_count(&served.store, "ada").await, 1);

    // Another user is counted apart.
    assert_eq!(post(&served.url, "bob", list).await.status(), 200);
}

#[tokio::test]
async fn a_second_stream_while_one_is_open_is_refused_until_it_ends() {
    let served = serve_limited(Limits::in_memory().concurrent_streams(1)).await;
    served.model.push_turn(vec![
        Step::text("Thinking"),
        Step::Delay(Duration::from_millis(600)),
        Step::text(" done."),
    ]);
    let slow = post(&served.url, "ada", create("slow one")).await;
    let mut slow = Frames::new(slow);
    // The first answer is under way once its text starts.
    slow.until(|e| e["type"] == "thread.item.updated").await;

    let refused = events(post(&served.url, "ada", create("a second")).await).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    let message = errors(&refused)[0];
    assert!(
        message.starts_with("Too many answers at once: the limit is 1 at a time."),
        "{message}"
    );
    assert_eq!(refused[0]["allow_retry"], true);
    assert_eq!(
        thread_count(&served.store, "ada").await,
        1,
        "nothing of it is stored"
    );
    // Reads are not streams; another user has slots of their own.
    let list = json!({"type": "threads.list", "params": {"limit": 10}});
    assert_eq!(post(&served.url, "ada", list).await.status(), 200);
    served.model.push_turn(vec![Step::text("Bob's.")]);
    assert!(errors(&events(post(&served.url, "bob", create("mine")).await).await).is_empty());

    slow.until(|_| false).await;
    // The slot is freed by a task once the stream ends.
    tokio::time::sleep(Duration::from_millis(100)).await;
    served.model.push_turn(vec![Step::text("Now.")]);
    let after = events(post(&served.url, "ada", create("now")).await).await;
    assert!(errors(&after).is_empty(), "{after:?}");
}

#[tokio::test]
async fn tokens_count_when_an_answer_ends_and_the_next_one_is_refused_past_the_limit() {
    let served = serve_limited(Limits::in_memory().tokens(14, Duration::from_secs(86_400))).await;
    // The scripted model reports 10 input tokens and one output token per word: 14.
    served
        .model
        .push_turn(vec![Step::text("Four words right here.")]);
    let first = events(post(&served.url, "ada", create("hi")).await).await;
    assert!(errors(&first).is_empty(), "{first:?}");
    let thread = thread_id(&first);
    let refused = events(post(&served.url, "ada", add_message(&thread, "more")).await).await;
    let message = errors(&refused)[0];
    assert!(
        message.starts_with("Token limit reached: the limit is 14 tokens per day. Try again in "),
        "{message}"
    );
    let items = json!({"type": "items.list", "params": {"thread_id": thread, "limit": 50}});
    let bobs = post(&served.url, "bob", items.clone()).await;
    let bobs: Value = bobs.json().await.unwrap();
    assert!(
        bobs["data"].as_array().is_none_or(Vec::is_empty),
        "bob sees no item of ada's: {bobs}"
    );
    let page: Value = post(&served.url, "ada", items).await.json().await.unwrap();
    let messages = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "user_message")
        .count();
    assert_eq!(messages, 1, "the refused message was not stored");
}

#[tokio::test]
async fn usage_is_kept_per_thread_and_user_and_shown_in_the_thread() {
    let served = serve(|s| s.thread_usage(true)).await;
    served.model.push_turn(vec![Step::text("Hello there")]);
    let first = events(post(&served.url, "ada", create("hi")).await).await;
    let thread = thread_id(&first);
    // The final thread.updated carries the totals (and nothing else of the metadata).
    let updated = first
        .iter()
        .rev()
        .find(|e| e["type"] == "thread.updated")
        .expect("thread.updated");
    let expected = json!({"requests": 1, "input_tokens": 10, "cached_input_tokens": 0,
        "output_tokens": 2, "reasoning_tokens": 0, "total_tokens": 12});
    assert_eq!(updated["thread"]["metadata"], json!({"usage": expected}));
    served.model.push_turn(vec![Step::text("A three word")]);
    events(post(&served.url, "ada", add_message(&thread, "more")).await).await;
    served.model.push_turn(vec![Step::text("Other")]);
    let other = thread_id(&events(post(&served.url, "ada", create("other")).await).await);

    let loaded: Value = post(
        &served.url,
        "ada",
        json!({"type": "threads.get_by_id", "params": {"thread_id": thread}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(loaded["metadata"]["usage"]["total_tokens"], 12 + 13);

    let get = |query: String, user: &'static str| {
        let url = format!("{}/usage{query}", served.url);
        async move {
            reqwest::Client::new()
                .get(url)
                .header("x-user", user)
                .send()
                .await
                .unwrap()
        }
    };
    let of_thread: Value = get(format!("?thread_id={thread}"), "ada")
        .await
        .json()
        .await
        .unwrap();
    let rows = of_thread["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["model"], SCRIPTED_MODEL_NAME);
    assert_eq!(rows[0]["requests"], 2);
    assert_eq!(of_thread["total"]["total_tokens"], 25);
    let all: Value = get(String::new(), "ada").await.json().await.unwrap();
    assert_eq!(all["total"]["requests"], 3);
    assert_eq!(all["total"]["output_tokens"], 2 + 3 + 1);
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let before: Value = get(format!("?to={yesterday}"), "ada")
        .await
        .json()
        .await
        .unwrap();
    assert!(before["data"].as_array().unwrap().is_empty());
    let one_day: Value = get(format!("?from={today}&to={today}"), "ada")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one_day["total"]["requests"], 3);

    // Never another user's: bob has none, and ada's thread is not found for him.
    let bobs: Value = get(String::new(), "bob").await.json().await.unwrap();
    assert!(bobs["data"].as_array().unwrap().is_empty());
    assert_eq!(
        get(format!("?thread_id={thread}"), "bob").await.status(),
        404
    );
    let listed: Value = post(
        &served.url,
        "bob",
        json!({"type": "threads.list", "params": {}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(listed["data"].as_array().unwrap().is_empty());
    assert_eq!(get("?from=yesterday".into(), "ada").await.status(), 400);

    // Deleting a thread keeps the user's totals whole.
    post(
        &served.url,
        "ada",
        json!({"type": "threads.delete", "params": {"thread_id": other}}),
    )
    .await;
    let after: Value = get(String::new(), "ada").await.json().await.unwrap();
    assert_eq!(after["total"]["requests"], 3);
}

#[tokio::test]
async fn without_the_option_metadata_stays_private_as_in_the_reference() {
    let served = serve(|s| s).await;
    served.model.push_turn(vec![Step::text("Hello there")]);
    let first = events(post(&served.url, "ada", create("hi")).await).await;
    assert!(
        first.iter().all(|e| e["type"] != "thread.updated"),
        "{first:?}"
    );
    let usage: Value = reqwest::Client::new()
        .get(format!("{}/usage", served.url))
        .header("x-user", "ada")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        usage["total"]["total_tokens"], 12,
        "usage is kept all the same"
    );
}

/// The title the stream announced last.
fn announced_title(events: &[Value]) -> Option<&str> {
    events
        .iter()
        .rev()
        .find(|e| e["type"] == "thread.updated")
        .and_then(|e| e["thread"]["title"].as_str())
}

#[tokio::test]
async fn a_title_model_titles_new_threads_and_the_first_words_stand_in_when_it_cannot() {
    let titles = Arc::new(ScriptedModel::new(vec![
        vec![Step::text("\"Packing for Lisbon.\"")],
        vec![Step::Break(ModelError::Api {
            code: None,
            message: "overloaded".into(),
            status: Some(529),
        })],
        vec![Step::Delay(Duration::from_secs(5)), Step::text("Too late")],
    ]));
    let small = titles.clone();
    let served = serve(move |s| {
        s.titles(ThreadTitles::new(small).timeout(Duration::from_millis(500)))
            .thread_usage(true)
    })
    .await;
    served.model.push_turn(vec![Step::text("Take layers.")]);
    let first = events(
        post(
            &served.url,
            "ada",
            create("What should I pack for a week in Lisbon in March?"),
        )
        .await,
    )
    .await;
    assert_eq!(announced_title(&first), Some("Packing for Lisbon"));
    let thread = thread_id(&first);
    let stored = served
        .store
        .load_thread(&thread, &TestUser("ada".into()))
        .await
        .unwrap();
    assert_eq!(stored.title.as_deref(), Some("Packing for Lisbon"));
    // The title's call counts in the thread's usage: two model responses.
    assert_eq!(stored.metadata["usage"]["requests"], 2);
    let asked = &titles.requests()[0];
    assert!(
        asked.input[0]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("Lisbon"),
        "{:?}",
        asked.input
    );

    // A second message does not retitle.
    served.model.push_turn(vec![Step::text("Sure.")]);
    let second =
        events(post(&served.url, "ada", add_message(&thread, "And for April?")).await).await;
    assert!(errors(&second).is_empty(), "{second:?}");
    assert_eq!(titles.requests().len(), 1);
    let stored = served
        .store
        .load_thread(&thread, &TestUser("ada".into()))
        .await
        .unwrap();
    assert_eq!(stored.title.as_deref(), Some("Packing for Lisbon"));

    // The title model fails: the first words.
    served.model.push_turn(vec![Step::text("Hi.")]);
    let failed = events(
        post(
            &served.url,
            "ada",
            create("Tell me about the history of the Portuguese tram network"),
        )
        .await,
    )
    .await;
    assert_eq!(
        announced_title(&failed),
        Some("Tell me about the history of the")
    );
    assert!(
        errors(&failed).is_empty(),
        "the answer itself is fine: {failed:?}"
    );

    // The title model is slower than the timeout: the first words, and the answer's end
    // waited at most the timeout for it.
    served.model.push_turn(vec![Step::text("Ok.")]);
    let started = std::time::Instant::now();
    let slow = events(post(&served.url, "ada", create("Short question")).await).await;
    assert_eq!(announced_title(&slow), Some("Short question"));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}
