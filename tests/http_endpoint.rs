//! The axum endpoint on 127.0.0.1, driven by a real HTTP client: a whole conversation,
//! the status codes of bad requests, and a disconnect in the middle of a stream.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chatkit_agents::async_trait;
use chatkit_agents::http::{ChatKitEndpoint, Rejection};
use chatkit_agents::server::{ChatKitServer, EventStream, ThreadHandle};
use chatkit_agents::store::{MemoryStore, Store, StoreContext};
use chatkit_agents::types::*;
use futures::StreamExt;
use serde_json::{json, Value};

/// The request context: the user from the `x-user` header.
#[derive(Clone, Debug)]
struct User(String);

impl StoreContext for User {
    fn user_id(&self) -> Option<&str> {
        Some(&self.0)
    }
}

struct Server {
    store: Arc<MemoryStore>,
}

fn reply(thread: &ThreadHandle, text: &str) -> ThreadStreamEvent {
    ThreadStreamEvent::item_done(AssistantMessageItem {
        id: default_generate_id(StoreItemType::Message),
        thread_id: thread.id().into(),
        created_at: Timestamp::now(),
        content: vec![AssistantMessageContent::new(text)],
    })
}

#[async_trait]
impl ChatKitServer for Server {
    type Context = User;

    fn store(&self) -> Arc<dyn Store<User>> {
        self.store.clone()
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        _: User,
    ) -> EventStream {
        let text = input
            .and_then(|m| {
                m.content.into_iter().find_map(|c| match c {
                    UserMessageContent::Text(t) => Some(t.text),
                    _ => None,
                })
            })
            .unwrap_or_default();
        Box::pin(async_stream::try_stream! {
            if text == "slow" {
                // An answer that streams until the client goes away.
                let id = default_generate_id(StoreItemType::Message);
                let mut item = AssistantMessageItem { id: id.clone(), thread_id: thread.id().into(), created_at: Timestamp::now(), content: vec![] };
                yield ThreadStreamEvent::item_added(item.clone());
                item.content.push(AssistantMessageContent::new(""));
                yield ThreadStreamEvent::item_updated(&id, ThreadItemUpdate::AssistantMessageContentPartAdded { content_index: 0, content: AssistantMessageContent::new("") });
                loop {
                    yield ThreadStreamEvent::item_updated(&id, ThreadItemUpdate::AssistantMessageContentPartTextDelta { content_index: 0, delta: "word ".into() });
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            } else {
                thread.set_title(format!("About {text}"));
                yield reply(&thread, &format!("You said {text}"));
            }
        })
    }

    fn action(
        self: Arc<Self>,
        thread: ThreadHandle,
        action: Action,
        _: Option<WidgetItem>,
        _: User,
    ) -> EventStream {
        Box::pin(async_stream::try_stream! {
            yield reply(&thread, &format!("Action {}", action.action_type));
        })
    }
}

async fn start() -> (SocketAddr, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let server = Arc::new(Server {
        store: store.clone(),
    });
    let app = ChatKitEndpoint::new(server, |parts| {
        let user = parts
            .headers
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Rejection::unauthorized("missing x-user"))?;
        Ok(User(user.to_owned()))
    })
    .path("/api/chatkit")
    .body_limit(64 * 1024)
    .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, store)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn post(addr: SocketAddr, body: impl Into<reqwest::Body>) -> reqwest::Response {
    client()
        .post(format!("http://{addr}/api/chatkit"))
        .header("x-user", "ada")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn post_json(addr: SocketAddr, body: Value) -> (StatusCode, Value) {
    let response = post(addr, body.to_string()).await;
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    )
}

/// Reads a whole SSE response; every frame must parse as a protocol event.
async fn post_stream(addr: SocketAddr, body: Value) -> Vec<ThreadStreamEvent> {
    let response = post(addr, body.to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let text = response.text().await.unwrap();
    text.split_terminator("\n\n")
        .map(|frame| {
            serde_json::from_str(frame.strip_prefix("data: ").expect("data frame"))
                .expect("a protocol event")
        })
        .collect()
}

fn create(text: &str) -> Value {
    json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_conversation_over_http() {
    let (addr, _) = start().await;
    let events = post_stream(addr, create("cats")).await;
    let kinds: Vec<_> = events.iter().map(ThreadStreamEvent::type_name).collect();
    assert_eq!(
        kinds,
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "thread.item.done",
            "thread.updated"
        ]
    );
    let ThreadStreamEvent::ThreadCreated { thread } = &events[0] else {
        panic!()
    };
    let id = thread.id.clone();

    let (status, items) = post_json(
        addr,
        json!({"type": "items.list", "params": {"thread_id": id, "order": "asc"}}),
    )
    .await;
    assert_eq!(status, 200);
    let items: Page<ThreadItem> = serde_json::from_value(items).unwrap();
    assert_eq!(items.data.len(), 2);

    let events = post_stream(addr, json!({"type": "threads.custom_action", "params": {"thread_id": id, "action": {"type": "refresh"}}})).await;
    assert!(
        matches!(&events[1], ThreadStreamEvent::ThreadItemDone { item } if matches!(&**item, ThreadItem::AssistantMessage(m) if m.content[0].text == "Action refresh"))
    );

    let (status, thread) = post_json(
        addr,
        json!({"type": "threads.update", "params": {"thread_id": id, "title": "Renamed"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_value::<Thread>(thread)
            .unwrap()
            .title
            .as_deref(),
        Some("Renamed")
    );

    let (status, list) = post_json(addr, json!({"type": "threads.list", "params": {}})).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_value::<Page<Thread>>(list)
            .unwrap()
            .data
            .len(),
        1
    );

    let (status, deleted) = post_json(
        addr,
        json!({"type": "threads.delete", "params": {"thread_id": id}}),
    )
    .await;
    assert_eq!((status, deleted), (StatusCode::OK, json!({})));
    let (status, _) = post_json(
        addr,
        json!({"type": "threads.get_by_id", "params": {"thread_id": id}}),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_precise_status_codes() {
    let (addr, _) = start().await;
    let cases = [
        ("{\"type\":", StatusCode::BAD_REQUEST, "invalid_request"),
        (
            r#"{"type":"threads.frobnicate","params":{}}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            r#"{"type":"threads.get_by_id","params":{"thread_id":"thr_nope"}}"#,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            r#"{"type":"input.transcribe","params":{"audio_base64":"aGk=","mime_type":"audio/webm"}}"#,
            StatusCode::NOT_IMPLEMENTED,
            "not_implemented",
        ),
    ];
    for (body, status, code) in cases {
        let response = post(addr, body).await;
        assert_eq!(response.status().as_u16(), status.as_u16(), "{body}");
        let error: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(error["error"]["code"], code, "{body}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
    }

    let huge = format!(
        "{{\"type\":\"threads.list\",\"params\":{{}},\"metadata\":{{\"pad\":\"{}\"}}}}",
        "x".repeat(100 * 1024)
    );
    let response = post(addr, huge).await;
    assert_eq!(response.status(), 413);

    let response = client()
        .post(format!("http://{addr}/api/chatkit"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "the context extractor rejects a request without a user"
    );
    let response = client()
        .get(format!("http://{addr}/api/chatkit"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_only_see_their_own_threads() {
    let (addr, _) = start().await;
    let events = post_stream(addr, create("secret")).await;
    let ThreadStreamEvent::ThreadCreated { thread } = &events[0] else {
        panic!()
    };
    let response = client()
        .post(format!("http://{addr}/api/chatkit"))
        .header("x-user", "bob")
        .body(json!({"type": "threads.get_by_id", "params": {"thread_id": thread.id}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_mid_stream_leaves_the_store_consistent() {
    let (addr, store) = start().await;
    let response = post(addr, create("slow").to_string()).await;
    let mut body = response.bytes_stream();
    let mut received = String::new();
    while received.matches("text_delta").count() < 3 {
        received.push_str(std::str::from_utf8(&body.next().await.unwrap().unwrap()).unwrap());
    }
    drop(body); // the client goes away

    let thread_id = {
        let first = received.split("\n\n").next().unwrap();
        let created: Value = serde_json::from_str(first.strip_prefix("data: ").unwrap()).unwrap();
        created["thread"]["id"].as_str().unwrap().to_owned()
    };
    let user = User("ada".into());
    let mut items = Vec::new();
    for _ in 0..500 {
        items = store
            .load_thread_items(&thread_id, None, 20, SortOrder::Asc, &user)
            .await
            .unwrap()
            .data;
        if items
            .iter()
            .any(|i| matches!(i, ThreadItem::SdkHiddenContext(_)))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let kinds: Vec<_> = items.iter().map(ThreadItem::type_name).collect();
    assert_eq!(
        kinds,
        ["user_message", "assistant_message", "sdk_hidden_context"],
        "partial answer and note saved"
    );
    let ThreadItem::AssistantMessage(partial) = &items[1] else {
        panic!()
    };
    assert!(
        partial.content[0].text.starts_with("word word word"),
        "{:?}",
        partial.content
    );

    // The thread keeps working after the disconnect.
    let events = post_stream(addr, json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": {"content": [{"type": "input_text", "text": "again"}], "attachments": [], "inference_options": {}}}})).await;
    assert_eq!(events.len(), 4);
}
