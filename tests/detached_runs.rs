//! Detached runs over real HTTP: a client that goes away does not stop the answer (it
//! is saved once, whole, with no cancel note), and any client of the same user joins
//! the run from an event id, receiving exactly the events it missed, in order, then the
//! live ones. Other users, garbage, future and expired cursors get clear 4xx answers.

use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::http::{ChatKitEndpoint, Rejection, Server};
use chatkit_agents::runs::{DisconnectPolicy, RunRetention};
use chatkit_agents::server::{start_run, ChatKitServer, EventStream, ThreadHandle, CANCELLED_NOTE};
use chatkit_agents::store::{MemoryStore, SortOrder, Store, StoreContext};
use chatkit_agents::types::*;
use serde_json::{json, Value};

mod support;

use support::sse::{Frame, Frames};

/// The request's user, from the `x-user` header.
#[derive(Clone)]
struct User(String);

impl StoreContext for User {
    fn user_id(&self) -> Option<&str> {
        Some(&self.0)
    }
}

/// Answers every message with `words` words, one text delta every `pace`.
struct Slow {
    store: Arc<MemoryStore>,
    words: usize,
    pace: Duration,
    policy: DisconnectPolicy,
}

fn word(n: usize) -> String {
    format!("w{n} ")
}

impl ChatKitServer for Slow {
    type Context = User;

    fn store(&self) -> Arc<dyn Store<User>> {
        self.store.clone()
    }

    fn disconnect_policy(&self, _: &User) -> DisconnectPolicy {
        self.policy.clone()
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        _: Option<UserMessageItem>,
        _: User,
    ) -> EventStream {
        let id = default_generate_id(StoreItemType::Message);
        Box::pin(async_stream::stream! {
            let mut message = AssistantMessageItem {
                id: id.clone(),
                thread_id: thread.id().to_owned(),
                created_at: Timestamp::now(),
                content: vec![AssistantMessageContent::new("")],
            };
            yield Ok(ThreadStreamEvent::item_added(message.clone()));
            let mut text = String::new();
            for n in 0..self.words {
                tokio::time::sleep(self.pace).await;
                text.push_str(&word(n));
                yield Ok(ThreadStreamEvent::item_updated(&id, ThreadItemUpdate::text_delta(0, word(n))));
            }
            message.content = vec![AssistantMessageContent::new(text)];
            yield Ok(ThreadStreamEvent::item_done(message));
        })
    }
}

struct Running {
    url: String,
    store: Arc<MemoryStore>,
    server: Arc<Slow>,
}

async fn start(words: usize, pace: Duration, policy: DisconnectPolicy) -> Running {
    let store = Arc::new(MemoryStore::new());
    let server = Arc::new(Slow {
        store: store.clone(),
        words,
        pace,
        policy,
    });
    let app = ChatKitEndpoint::new(server.clone(), |parts| {
        parts
            .headers
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(|user| User(user.to_owned()))
            .ok_or_else(|| Rejection::unauthorized("no x-user"))
    })
    .router();
    let http = Server::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/chatkit", http.local_addr().unwrap());
    tokio::spawn(http.serve_with_shutdown(app, std::future::pending()));
    Running { url, store, server }
}

async fn create(url: &str, user: &str) -> Frames {
    let response = reqwest::Client::new()
        .post(url)
        .header("x-user", user)
        .json(&json!({"type": "threads.create", "params": {"input": {
            "content": [{"type": "input_text", "text": "Go"}],
            "attachments": [], "inference_options": {}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    Frames::new(response)
}

async fn resume(url: &str, user: &str, cursor: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{url}/runs/events"))
        .header("x-user", user)
        .header("last-event-id", cursor)
        .send()
        .await
        .unwrap()
}

fn thread_id(frames: &[Frame]) -> String {
    frames[0].event["thread"]["id"].as_str().unwrap().to_owned()
}

async fn items(store: &MemoryStore, thread_id: &str, user: &str) -> Vec<ThreadItem> {
    store
        .load_thread_items(thread_id, None, 100, SortOrder::Asc, &User(user.into()))
        .await
        .unwrap()
        .data
}

/// Waits until the thread's answer is saved whole (the run ended), at most 10 s.
async fn answer_saved(
    store: &MemoryStore,
    thread_id: &str,
    user: &str,
    text: &str,
) -> Vec<ThreadItem> {
    for _ in 0..1000 {
        let items = items(store, thread_id, user).await;
        if items
            .iter()
            .any(|i| matches!(i, ThreadItem::AssistantMessage(m) if m.content[0].text == text))
        {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the detached run never saved its answer");
}

fn full_text(words: usize) -> String {
    (0..words).map(word).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_run_finishes_and_is_saved_once_after_its_client_left() {
    let words = 40;
    let running = start(words, Duration::from_millis(10), DisconnectPolicy::detach()).await;
    let mut frames = create(&running.url, "ann").await;
    let first = frames.take(6).await;
    assert!(first.iter().all(|f| f.id.is_some()), "{first:?}");
    let thread_id = thread_id(&first);
    drop(frames);

    let items = answer_saved(&running.store, &thread_id, "ann", &full_text(words)).await;
    let answers: Vec<&ThreadItem> = items
        .iter()
        .filter(|i| matches!(i, ThreadItem::AssistantMessage(_)))
        .collect();
    assert_eq!(answers.len(), 1);
    let ThreadItem::AssistantMessage(answer) = answers[0] else {
        unreachable!()
    };
    assert_eq!(answer.content[0].text, full_text(words));
    assert!(
        !items
            .iter()
            .any(|i| matches!(i, ThreadItem::SdkHiddenContext(c) if c.content == CANCELLED_NOTE)),
        "not cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_from_an_event_id_gets_exactly_the_missing_events_then_the_live_ones() {
    let running = start(60, Duration::from_millis(10), DisconnectPolicy::detach()).await;
    let mut frames = create(&running.url, "ann").await;
    let seen = frames.take(10).await;
    drop(frames);
    let last = seen.last().unwrap().id.clone().unwrap();

    let response = resume(&running.url, "ann", &last).await;
    assert_eq!(response.status(), 200);
    let rest = Frames::new(response).rest().await;

    // The whole run, replayed from its start by a third reader.
    let run_id = last.rsplit_once('.').unwrap().0;
    let whole = Frames::new(resume(&running.url, "ann", &format!("{run_id}.0")).await)
        .rest()
        .await;
    let joined: Vec<Frame> = seen.iter().chain(rest.iter()).cloned().collect();
    assert_eq!(joined, whole, "no gap, no duplicate, in order");
    let numbers: Vec<u64> = whole
        .iter()
        .map(|f| {
            f.id.as_ref()
                .unwrap()
                .rsplit_once('.')
                .unwrap()
                .1
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(numbers, (1..=whole.len() as u64).collect::<Vec<_>>());
    let text: String = whole
        .iter()
        .filter_map(|f| f.event["update"]["delta"].as_str())
        .collect();
    assert_eq!(text, full_text(60));

    // `?after=` says the same as the header.
    let by_query = reqwest::Client::new()
        .get(format!("{}/runs/events?after={last}", running.url))
        .header("x-user", "ann")
        .send()
        .await
        .unwrap();
    assert_eq!(Frames::new(by_query).rest().await, rest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_cursors_that_cannot_be_served_get_clear_errors() {
    // Room for the frames a live reader may lag behind, not for the whole run.
    let retention = RunRetention::default().max_bytes(4000);
    let running = start(
        50,
        Duration::from_millis(20),
        DisconnectPolicy::Detach(retention),
    )
    .await;
    let frames = create(&running.url, "ann").await.rest().await;
    let last = frames.last().unwrap().id.clone().unwrap();
    let (run_id, last_n) = last.rsplit_once('.').unwrap();
    let last_n: u64 = last_n.parse().unwrap();

    let status_and_code = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, body["error"]["code"].as_str().unwrap().to_owned())
    };
    // Another user: as if the run did not exist.
    assert_eq!(
        status_and_code(resume(&running.url, "bob", &last).await).await,
        (404, "run_not_found".into())
    );
    for garbage in ["", "nonsense", "run_x.", "run_x.-3", "thr_abc.1"] {
        assert_eq!(
            status_and_code(resume(&running.url, "ann", garbage).await).await,
            (400, "bad_cursor".into()),
            "{garbage:?}"
        );
    }
    assert_eq!(
        status_and_code(resume(&running.url, "ann", &format!("{run_id}.{}", last_n + 1)).await)
            .await,
        (400, "cursor_from_the_future".into())
    );
    assert_eq!(
        status_and_code(resume(&running.url, "ann", "run_0000.1").await).await,
        (404, "run_not_found".into())
    );
    // 4000 bytes keep only the last frames of the run's 7,000 or so.
    assert_eq!(
        status_and_code(resume(&running.url, "ann", &format!("{run_id}.1")).await).await,
        (410, "run_expired".into())
    );
    let missing = reqwest::Client::new()
        .get(format!("{}/runs/events", running.url))
        .header("x-user", "ann")
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(missing).await, (400, "bad_cursor".into()));
    // The end of a finished run: nothing more to send.
    let at_end = resume(&running.url, "ann", &last).await;
    assert_eq!(at_end.status(), 200);
    assert!(Frames::new(at_end).rest().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_default_policy_frames_have_no_ids_and_a_disconnect_cancels() {
    let running = start(200, Duration::from_millis(10), DisconnectPolicy::Cancel).await;
    let mut frames = create(&running.url, "ann").await;
    let first = frames.take(5).await;
    assert!(first.iter().all(|f| f.id.is_none()));
    let thread_id = thread_id(&first);
    drop(frames);
    for _ in 0..500 {
        let items = items(&running.store, &thread_id, "ann").await;
        if items
            .iter()
            .any(|i| matches!(i, ThreadItem::SdkHiddenContext(c) if c.content == CANCELLED_NOTE))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the disconnect did not cancel the answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_started_by_server_code_is_saved_and_joined_over_http() {
    let running = start(5, Duration::from_millis(1), DisconnectPolicy::Cancel).await;
    let thread_id = thread_id(&create(&running.url, "ann").await.rest().await);

    // A webhook: no request, no client.
    let respond = running.server.clone();
    let run = start_run(
        &running.server,
        &thread_id,
        User("ann".into()),
        RunRetention::default(),
        move |thread| respond.respond(thread, None, User("ann".into())),
    )
    .await
    .unwrap();
    let joined = reqwest::Client::new()
        .get(format!("{}/runs/events?after={run}.0", running.url))
        .header("x-user", "ann")
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200);
    let frames = Frames::new(joined).rest().await;
    assert_eq!(frames[0].id.as_deref(), Some(format!("{run}.1").as_str()));
    assert_eq!(frames[0].event["type"], "stream_options");
    assert!(frames
        .iter()
        .any(|f| f.event["type"] == "thread.item.done"
            && f.event["item"]["type"] == "assistant_message"));
    let answers = items(&running.store, &thread_id, "ann")
        .await
        .into_iter()
        .filter(|i| matches!(i, ThreadItem::AssistantMessage(_)))
        .count();
    assert_eq!(answers, 2, "the first answer and the server's");

    // Bob may neither start a run in Ann's thread nor join hers.
    let error = start_run(
        &running.server,
        &thread_id,
        User("bob".into()),
        RunRetention::default(),
        |_| Box::pin(futures::stream::empty()),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status(), 404);
    assert_eq!(
        resume(&running.url, "bob", &format!("{run}.0"))
            .await
            .status(),
        404
    );
}

async fn post(url: &str, user: &str, body: Value) -> Frames {
    let response = reqwest::Client::new()
        .post(url)
        .header("x-user", user)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    Frames::new(response)
}

fn message(thread_id: &str, text: &str) -> Value {
    json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": {
        "content": [{"type": "input_text", "text": text}],
        "attachments": [], "inference_options": {}}}})
}

fn errors(frames: &[Frame]) -> Vec<&str> {
    frames
        .iter()
        .filter(|f| f.event["type"] == "error")
        .map(|f| f.event["message"].as_str().unwrap_or_default())
        .collect()
}

fn user_messages(items: &[ThreadItem]) -> usize {
    items
        .iter()
        .filter(|i| matches!(i, ThreadItem::UserMessage(_)))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_message_while_the_thread_answers_is_refused_and_nothing_of_it_is_saved() {
    for policy in [DisconnectPolicy::Cancel, DisconnectPolicy::detach()] {
        let running = start(30, Duration::from_millis(10), policy.clone()).await;
        let mut first = create(&running.url, "ann").await;
        let seen = first.take(4).await;
        let thread_id = thread_id(&seen);

        let second = post(&running.url, "ann", message(&thread_id, "And another")).await;
        let refused = second.rest().await;
        assert_eq!(
            errors(&refused),
            [chatkit_agents::server::THREAD_BUSY_MESSAGE],
            "{policy:?}"
        );
        assert_eq!(refused.len(), 1, "only the error: {refused:?}");

        // The first answer is unharmed; the refused message was never saved.
        first.rest().await;
        let items = answer_saved(&running.store, &thread_id, "ann", &full_text(30)).await;
        assert_eq!(user_messages(&items), 1, "{policy:?}");
        // Once it is done, the thread takes the next message.
        let next = post(&running.url, "ann", message(&thread_id, "Now")).await;
        assert!(errors(&next.rest().await).is_empty(), "{policy:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_answer_frees_its_thread_for_the_next_message_at_once() {
    // The stock client's stop button closes the stream; the user types on at once. The
    // cancelled answer is still saving then: the new message waits for it, not refused.
    let running = start(1000, Duration::from_millis(5), DisconnectPolicy::Cancel).await;
    let mut frames = create(&running.url, "ann").await;
    let thread_id = thread_id(&frames.take(5).await);
    drop(frames);
    for round in 0..10 {
        let mut next = post(&running.url, "ann", message(&thread_id, "Go on")).await;
        let seen = next.take(4).await;
        assert!(errors(&seen).is_empty(), "round {round}: {seen:?}");
        drop(next);
    }
    // The server notices the last disconnect at its next write.
    let mut notes = 0;
    for _ in 0..200 {
        let items = items(&running.store, &thread_id, "ann").await;
        assert_eq!(user_messages(&items), 11);
        notes = items
            .iter()
            .filter(|i| matches!(i, ThreadItem::SdkHiddenContext(c) if c.content == CANCELLED_NOTE))
            .count();
        if notes == 11 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(notes, 11, "every stopped answer saved as cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_run_shows_as_locked_and_stops_on_request() {
    let running = start(1000, Duration::from_millis(10), DisconnectPolicy::detach()).await;
    let mut frames = create(&running.url, "ann").await;
    let thread_id = thread_id(&frames.take(8).await);
    drop(frames);

    let load = |user: &'static str| {
        let (url, thread_id) = (running.url.clone(), thread_id.clone());
        async move {
            reqwest::Client::new()
                .post(&url)
                .header("x-user", user)
                .json(&json!({"type": "threads.get_by_id", "params": {"thread_id": thread_id}}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        load("ann").await["status"],
        json!({"type": "locked", "reason": chatkit_agents::server::RUN_ACTIVE_REASON})
    );

    let cancel = |user: &'static str| {
        let (url, thread_id) = (running.url.clone(), thread_id.clone());
        async move {
            let response = reqwest::Client::new()
                .post(format!("{url}/runs/cancel"))
                .header("x-user", user)
                .json(&json!({ "thread_id": thread_id }))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    assert_eq!(cancel("bob").await.0, 404, "another user's thread");
    assert_eq!(cancel("ann").await, (200, json!({"cancelled": true})));
    chatkit_agents::server::cancelled_streams_saved().await;
    let mut status = load("ann").await["status"].clone();
    for _ in 0..100 {
        if status == json!({"type": "active"}) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = load("ann").await["status"].clone();
    }
    assert_eq!(status, json!({"type": "active"}), "unlocked once stopped");
    let items = items(&running.store, &thread_id, "ann").await;
    let ThreadItem::AssistantMessage(answer) = &items[1] else {
        panic!("{items:?}")
    };
    let text = &answer.content[0].text;
    assert!(
        !text.is_empty() && text.len() < full_text(1000).len(),
        "{text}"
    );
    assert!(
        matches!(items.last(), Some(ThreadItem::SdkHiddenContext(c)) if c.content == CANCELLED_NOTE)
    );
    assert_eq!(
        cancel("ann").await,
        (200, json!({"cancelled": false})),
        "nothing left to stop"
    );
    let bad = reqwest::Client::new()
        .post(format!("{}/runs/cancel", running.url))
        .header("x-user", "ann")
        .body("{\"thread\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
