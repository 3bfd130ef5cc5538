//! A thread deleted while its answer streams stays deleted, on every store: the running
//! stream ends cleanly, its later items and its end-of-stream title change write nothing.

use std::sync::{Arc, Mutex};

use chatkit_agents::server::{process, ChatKitServer, EventStream, ProcessResult, ThreadHandle};
use chatkit_agents::store::{MemoryStore, SqliteStore, Store, StoreError};
use chatkit_agents::types::*;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// `respond` streams one message, waits for the test to open the gate, then renames
/// the thread and streams a second message.
struct GatedServer {
    store: Arc<dyn Store<()>>,
    gate: Mutex<Option<oneshot::Receiver<()>>>,
}

fn message(thread: &ThreadHandle, id: &str) -> ThreadStreamEvent {
    ThreadStreamEvent::item_done(AssistantMessageItem {
        id: id.into(),
        thread_id: thread.id().to_owned(),
        created_at: Timestamp::now(),
        content: vec![AssistantMessageContent::new(id)],
    })
}

impl ChatKitServer for GatedServer {
    type Context = ();

    fn store(&self) -> Arc<dyn Store<()>> {
        self.store.clone()
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        _: Option<UserMessageItem>,
        _: (),
    ) -> EventStream {
        let gate = self.gate.lock().unwrap().take();
        Box::pin(async_stream::stream! {
            yield Ok(message(&thread, "msg_before"));
            if let Some(gate) = gate {
                let _ = gate.await;
            }
            thread.set_title("Renamed at the end");
            yield Ok(message(&thread, "msg_after"));
        })
    }
}

async fn json_request(server: &Arc<GatedServer>, body: Value) -> Value {
    match process(server, body.to_string().as_bytes(), ())
        .await
        .unwrap()
    {
        ProcessResult::Json(json) => serde_json::from_slice(&json).unwrap(),
        ProcessResult::Streaming(_) => panic!("expected JSON"),
    }
}

fn frames_to_events(frames: &[axum::body::Bytes]) -> Vec<Value> {
    frames
        .iter()
        .flat_map(|frame| {
            std::str::from_utf8(frame)
                .unwrap()
                .split("\n\n")
                .filter_map(|f| f.strip_prefix("data: "))
                .map(|data| serde_json::from_str(data).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

async fn delete_while_streaming(store: Arc<dyn Store<()>>) {
    let (open, gate) = oneshot::channel();
    let server = Arc::new(GatedServer {
        store: store.clone(),
        gate: Mutex::new(Some(gate)),
    });
    let body = json!({"type": "threads.create", "params": {"input": {
        "content": [{"type": "input_text", "text": "hi"}], "attachments": [], "inference_options": {}}}});
    let ProcessResult::Streaming(mut stream) = process(&server, body.to_string().as_bytes(), ())
        .await
        .unwrap()
    else {
        panic!("expected a stream");
    };
    // Read up to the first assistant message: the thread and two items are stored.
    let mut frames = Vec::new();
    let thread_id = loop {
        let frame = stream.next().await.expect("stream ended early");
        frames.push(frame);
        let events = frames_to_events(&frames);
        if events.iter().any(|e| e["item"]["id"] == "msg_before") {
            break events[0]["thread"]["id"].as_str().unwrap().to_owned();
        }
    };
    json_request(
        &server,
        json!({"type": "threads.delete", "params": {"thread_id": thread_id}}),
    )
    .await;
    open.send(()).unwrap();
    let rest: Vec<axum::body::Bytes> = stream.collect().await;
    let rest = frames_to_events(&rest);
    assert!(
        rest.iter().all(|e| e["type"] != "error"),
        "the stream ends cleanly: {rest:?}"
    );
    assert!(
        rest.iter()
            .all(|e| e["item"]["id"] != "msg_after" && e["type"] != "thread.updated"),
        "nothing after the delete is announced as saved: {rest:?}"
    );

    assert!(matches!(
        store.load_thread(&thread_id, &()).await,
        Err(StoreError::NotFound { .. })
    ));
    let items = store
        .load_thread_items(&thread_id, None, 100, SortOrder::Asc, &())
        .await
        .unwrap();
    assert!(items.data.is_empty(), "orphan items: {:?}", items.data);
    let listed = json_request(&server, json!({"type": "threads.list", "params": {}})).await;
    assert_eq!(
        listed["data"],
        json!([]),
        "the deleted thread is not listed"
    );
}

#[tokio::test]
async fn memory_store_keeps_a_deleted_thread_deleted() {
    delete_while_streaming(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn sqlite_store_keeps_a_deleted_thread_deleted() {
    delete_while_streaming(Arc::new(SqliteStore::open_in_memory().await.unwrap())).await;
}
