//! Counterparts of the reference's `test_chatkit_server.py` cases not already covered by
//! the captured streams: listings and pagination, thread updates and deletion,
//! attachments, transcription, feedback, error mapping, structured input and retry
//! edge cases, cancellation, id generators.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::server::{
    process, ProcessError, ProcessResult, StreamError, ThreadHandle, CANCELLED_NOTE,
};
use chatkit_agents::store::Store;
use chatkit_agents::types::*;
use futures::StreamExt;
use serde_json::{json, Value};
use support::server::*;

fn thread_id(events: &[Value]) -> String {
    events[0]["thread"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn respond_with_tool_status_streams_five_events() {
    let server = TestServer::new(|thread, _| {
        Box::pin(async_stream::try_stream! {
            yield ThreadStreamEvent::ProgressUpdate { icon: Some(BuiltinIcon::Search.into()), text: "Looking".into() };
            yield ThreadStreamEvent::item_done(assistant(&thread, "msg", "found"));
        })
    });
    let events = events(&server, create("hi")).await;
    assert_eq!(
        types(&events),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "progress_update",
            "thread.item.done"
        ]
    );
}

#[tokio::test]
async fn thread_changes_are_saved_and_streamed_right_after_their_event() {
    let server = TestServer::new(|thread, _| {
        Box::pin(async_stream::try_stream! {
            thread.set_title("Title");
            yield ThreadStreamEvent::progress("one");
            thread.set_metadata("k", "v");
            thread.set_status(ThreadStatus::Closed { reason: None });
            yield ThreadStreamEvent::progress("two");
            yield ThreadStreamEvent::progress("three");
            thread.update(|t| t.allowed_image_domains = Some(vec!["a.com".into()]));
        })
    });
    let events = events(&server, create("hi")).await;
    assert_eq!(
        types(&events),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "progress_update",
            "thread.updated",
            "progress_update",
            "thread.updated",
            "progress_update",
            "thread.updated"
        ]
    );
    assert!(
        events[0]["thread"].get("allowed_image_domains").is_none(),
        "unset domains are omitted"
    );
    assert_eq!(events[4]["thread"]["title"], "Title");
    assert_eq!(events[6]["thread"]["status"], json!({"type": "closed"}));
    assert_eq!(
        events[6]["thread"]["metadata"],
        json!({}),
        "server-side metadata is never sent"
    );
    assert_eq!(
        events[8]["thread"]["allowed_image_domains"],
        json!(["a.com"])
    );
    let stored = server
        .store
        .load_thread(&thread_id(&events), &())
        .await
        .unwrap();
    assert_eq!(stored.title.as_deref(), Some("Title"));
    assert_eq!(stored.metadata["k"], "v");
    assert_eq!(stored.allowed_image_domains, Some(vec!["a.com".to_owned()]));
}

#[tokio::test]
async fn a_no_op_update_does_not_announce_anything() {
    let server = TestServer::new(|thread, _| {
        Box::pin(async_stream::try_stream! {
            thread.update(|_| {});
            yield ThreadStreamEvent::progress("one");
        })
    });
    assert_eq!(
        types(&events(&server, create("hi")).await),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "progress_update"
        ]
    );
}

#[tokio::test]
async fn a_change_made_before_respond_returns_its_stream_is_announced() {
    // Python's `respond` is a generator whose body runs once iterated; a Rust `respond`
    // may change the thread before it returns the stream, and that counts too.
    let server = TestServer::new(|thread, _| {
        thread.set_title("Set eagerly");
        Box::pin(async_stream::try_stream! {
            yield ThreadStreamEvent::progress("one");
        })
    });
    let events = events(&server, create("hi")).await;
    assert_eq!(
        types(&events),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "progress_update",
            "thread.updated"
        ]
    );
    assert_eq!(events[4]["thread"]["title"], "Set eagerly");
}

#[tokio::test]
async fn listing_threads_and_items_pages_like_the_reference() {
    let server = TestServer::replying("ok");
    let first = thread_id(&events(&server, create("first")).await);
    for i in 0..24 {
        events(&server, create(&format!("t{i}"))).await;
    }
    let page = json(&server, json!({"type": "threads.list", "params": {}})).await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        20,
        "default page size"
    );
    assert_eq!(page["has_more"], true);
    let after = page["after"].as_str().unwrap();
    assert_eq!(after, page["data"][19]["id"].as_str().unwrap());
    assert_eq!(
        page["data"][0]["items"],
        json!({"data": [], "has_more": false})
    );
    let rest = json(
        &server,
        json!({"type": "threads.list", "params": {"after": after, "limit": 0}}),
    )
    .await;
    assert_eq!(
        rest["data"].as_array().unwrap().len(),
        5,
        "limit 0 means 20"
    );
    assert_eq!(rest["has_more"], false);
    assert_eq!(
        rest["data"][4]["id"], first,
        "newest first: the first thread comes last"
    );
    let asc = json(
        &server,
        json!({"type": "threads.list", "params": {"order": "asc", "limit": 1}}),
    )
    .await;
    assert_eq!(asc["data"][0]["id"], first);

    for i in 0..12 {
        events(&server, add_message(&first, &format!("m{i}"))).await;
    }
    let items = json(
        &server,
        json!({"type": "items.list", "params": {"thread_id": first}}),
    )
    .await;
    assert_eq!(items["data"].as_array().unwrap().len(), 20);
    assert_eq!(items["has_more"], true);
    assert_eq!(
        items["data"][0]["type"], "assistant_message",
        "newest first"
    );
    let thread = json(
        &server,
        json!({"type": "threads.get_by_id", "params": {"thread_id": first}}),
    )
    .await;
    assert_eq!(
        thread["items"]["data"].as_array().unwrap().len(),
        20,
        "get_by_id returns the first 20 items"
    );
    assert_eq!(
        thread["items"]["data"][0]["type"], "user_message",
        "oldest first"
    );
    assert_eq!(thread["items"]["has_more"], true);
}

#[tokio::test]
async fn hidden_items_never_reach_clients() {
    let server = TestServer::new(|thread, _| {
        Box::pin(async_stream::try_stream! {
            yield ThreadStreamEvent::item_done(HiddenContextItem { id: "hc".into(), thread_id: thread.id().into(), created_at: Timestamp::now(), content: json!({"tz": "UTC"}) });
            yield ThreadStreamEvent::item_done(assistant(&thread, "msg", "visible"));
        })
    });
    let events = events(&server, create("hi")).await;
    assert!(!types(&events).iter().any(|t| t.contains("hidden")));
    let id = thread_id(&events);
    let items = json(
        &server,
        json!({"type": "items.list", "params": {"thread_id": id, "order": "asc"}}),
    )
    .await;
    assert_eq!(
        items["data"].as_array().unwrap().len(),
        2,
        "user and assistant messages only"
    );
    let stored = server
        .store
        .load_thread_items(&id, None, 10, SortOrder::Asc, &())
        .await
        .unwrap();
    assert!(
        stored.data.iter().any(ThreadItem::is_hidden),
        "the hidden item is persisted"
    );
}

#[tokio::test]
async fn update_and_delete_threads() {
    let server = TestServer::replying("ok");
    let id = thread_id(&events(&server, create("hi")).await);
    let updated = json(
        &server,
        json!({"type": "threads.update", "params": {"thread_id": id, "title": "Renamed"}}),
    )
    .await;
    assert_eq!(updated["title"], "Renamed");
    assert_eq!(updated["items"], json!({"data": [], "has_more": false}));
    assert_eq!(
        server
            .store
            .load_thread(&id, &())
            .await
            .unwrap()
            .title
            .as_deref(),
        Some("Renamed")
    );
    assert_eq!(
        json(
            &server,
            json!({"type": "threads.delete", "params": {"thread_id": id}})
        )
        .await,
        json!({})
    );
    let err = server.store.load_thread(&id, &()).await.unwrap_err();
    assert_eq!(err.to_string(), format!("Thread {id} not found"));
    let err = send(
        &server,
        json!({"type": "threads.get_by_id", "params": {"thread_id": id}}),
    )
    .await
    .err()
    .unwrap();
    assert!(
        matches!(err, ProcessError::NotFound { .. }) && err.status() == 404,
        "{err}"
    );
}

#[tokio::test]
async fn attachments_are_created_used_and_deleted_without_leaking_metadata() {
    let server = TestServer::replying("ok");
    let created = json(&server, json!({"type": "attachments.create", "params": {"name": "cat.png", "size": "1024", "mime_type": "image/png"}})).await;
    assert_eq!(created["type"], "image");
    assert!(created.get("metadata").is_none(), "metadata is never sent");
    assert_eq!(created["upload_descriptor"]["method"], "PUT");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("atc_"));
    let stored = server.store.load_attachment(&id, &()).await.unwrap();
    assert_eq!(
        stored.metadata().unwrap()["size"],
        1024,
        "the store keeps metadata"
    );

    let body = json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "look"}], "attachments": [id], "inference_options": {}}}});
    let events = events(&server, body).await;
    let message = &events[1]["item"];
    let thread = thread_id(&events);
    assert_eq!(message["attachments"][0]["thread_id"], thread.as_str());
    assert!(message["attachments"][0].get("metadata").is_none());
    assert_eq!(
        server
            .store
            .load_attachment(&id, &())
            .await
            .unwrap()
            .thread_id(),
        Some(thread.as_str()),
        "thread_id persisted on create"
    );

    let second = json(&server, json!({"type": "attachments.create", "params": {"name": "a.txt", "size": 1, "mime_type": "text/plain"}})).await;
    let second_id = second["id"].as_str().unwrap();
    let body = json!({"type": "threads.add_user_message", "params": {"thread_id": thread, "input": {"content": [], "attachments": [second_id], "inference_options": {}}}});
    events_ok(&server, body).await;
    assert_eq!(
        server
            .store
            .load_attachment(second_id, &())
            .await
            .unwrap()
            .thread_id(),
        Some(thread.as_str()),
        "and on add"
    );

    assert_eq!(
        json(
            &server,
            json!({"type": "attachments.delete", "params": {"attachment_id": id}})
        )
        .await,
        json!({})
    );
    assert!(server.store.load_attachment(&id, &()).await.is_err());
}

async fn events_ok(server: &Arc<TestServer>, body: Value) {
    let events = events(server, body).await;
    assert!(!types(&events).contains(&"error".to_owned()), "{events:?}");
}

#[tokio::test]
async fn unknown_attachments_fail_before_anything_is_saved() {
    let server = TestServer::replying("ok");
    let body = json!({"type": "threads.create", "params": {"input": {"content": [], "attachments": ["atc_nope"], "inference_options": {}}}});
    let err = send(&server, body).await.err().unwrap();
    assert_eq!(err.status(), 404);
    assert_eq!(err.to_string(), "Attachment atc_nope not found");
    let threads = server
        .store
        .load_threads(10, None, SortOrder::Asc, &())
        .await
        .unwrap();
    assert!(threads.data.is_empty(), "no empty thread is left behind");
}

#[tokio::test]
async fn without_an_attachment_store_attachments_are_not_implemented() {
    let server = Arc::new(TestServer {
        with_attachments: false,
        ..Arc::try_unwrap(TestServer::replying("ok")).ok().unwrap()
    });
    let err = send(
        &server,
        json!({"type": "attachments.create", "params": {"name": "a", "size": 1, "mime_type": "x"}}),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(err.status(), 501);
}

#[tokio::test]
async fn transcription_decodes_base64_and_normalizes_the_mime_type() {
    let server = TestServer::replying("ok");
    let reply = json(&server, json!({"type": "input.transcribe", "params": {"audio_base64": "aGVsbG8=", "mime_type": "audio/webm;codecs=opus"}})).await;
    assert_eq!(reply, json!({"text": "5 bytes of audio/webm"}));
    let audio = server.audio.lock().unwrap().pop().unwrap();
    assert_eq!(audio.data, b"hello");
    assert_eq!(audio.mime_type, "audio/webm;codecs=opus");
    let err = send(
        &server,
        json!({"type": "input.transcribe", "params": {"audio_base64": "a", "mime_type": "x"}}),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(err.status(), 400);
}

#[tokio::test]
async fn feedback_reaches_add_feedback() {
    let server = TestServer::replying("ok");
    let reply = json(&server, json!({"type": "items.feedback", "params": {"thread_id": "t", "item_ids": ["a", "b"], "kind": "negative"}})).await;
    assert_eq!(reply, json!({}));
    assert_eq!(
        *server.feedback.lock().unwrap(),
        vec![(
            "t".to_owned(),
            vec!["a".to_owned(), "b".to_owned()],
            FeedbackKind::Negative
        )]
    );
}

#[tokio::test]
async fn requests_for_unknown_threads_are_404_before_any_stream() {
    let server = TestServer::replying("ok");
    for body in [
        add_message("thr_nope", "x"),
        json!({"type": "threads.add_client_tool_output", "params": {"thread_id": "thr_nope", "result": 1}}),
        json!({"type": "threads.retry_after_item", "params": {"thread_id": "thr_nope", "item_id": "m"}}),
        json!({"type": "threads.custom_action", "params": {"thread_id": "thr_nope", "action": {"type": "x"}}}),
        json!({"type": "items.list", "params": {"thread_id": "thr_nope", "after": "m"}}),
        json!({"type": "threads.update", "params": {"thread_id": "thr_nope", "title": "t"}}),
    ] {
        let err = send(&server, body.clone())
            .await
            .err()
            .unwrap_or_else(|| panic!("{body} succeeded"));
        assert_eq!(err.status(), 404, "{body}: {err}");
    }
}

#[tokio::test]
async fn tool_output_without_a_pending_call_is_a_bad_request() {
    let server = TestServer::replying("ok");
    let id = thread_id(&events(&server, create("hi")).await);
    let err = send(&server, json!({"type": "threads.add_client_tool_output", "params": {"thread_id": id, "result": null}})).await.err().unwrap();
    assert_eq!(err.status(), 400);
    assert!(
        err.to_string()
            .contains("was not a pending ClientToolCallItem"),
        "{err}"
    );
}

#[tokio::test]
async fn older_pending_tool_calls_are_removed_when_output_arrives() {
    let server = TestServer::new(|thread, input| {
        Box::pin(async_stream::try_stream! {
            if input.is_some() {
                for n in 0..2 {
                    yield ThreadStreamEvent::item_done(ClientToolCallItem {
                        id: format!("tc_{n}"), thread_id: thread.id().into(), created_at: Timestamp::now(),
                        status: ClientToolCallStatus::Pending, call_id: format!("call_{n}"), name: "pick".into(), arguments: Default::default(), output: None,
                    });
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            } else {
                yield ThreadStreamEvent::item_done(assistant(&thread, "msg", "thanks"));
            }
        })
    });
    let id = thread_id(&events(&server, create("hi")).await);
    let events = events(&server, json!({"type": "threads.add_client_tool_output", "params": {"thread_id": id, "result": {"v": 1}}})).await;
    assert_eq!(types(&events), ["stream_options", "thread.item.done"]);
    let items = server
        .store
        .load_thread_items(&id, None, 10, SortOrder::Asc, &())
        .await
        .unwrap();
    let calls: Vec<_> = items
        .data
        .iter()
        .filter_map(|i| match i {
            ThreadItem::ClientToolCall(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 1, "the stale pending call was deleted");
    assert_eq!(calls[0].id, "tc_1");
    assert_eq!(calls[0].status, ClientToolCallStatus::Completed);
    assert_eq!(calls[0].output, Some(JsonText::from(json!({"v": 1}))));
}

fn structured_input_server() -> Arc<TestServer> {
    TestServer::new(|thread, input| {
        Box::pin(async_stream::try_stream! {
            if input.is_some() {
                yield ThreadStreamEvent::item_done(StructuredInputItem {
                    id: "si".into(), thread_id: thread.id().into(), created_at: Timestamp::now(), status: StructuredInputStatus::Pending,
                    inputs: vec![StructuredInput::Freeform(StructuredInputFreeform { id: "q".into(), question: "Why?".into(), answer: None, description: None })],
                });
            }
        })
    })
}

#[tokio::test]
async fn structured_input_skipped_and_error_cases() {
    let server = structured_input_server();
    let id = thread_id(&events(&server, create("hi")).await);
    let submit = |status: &str| json!({"type": "threads.add_structured_input", "params": {"thread_id": id, "item_id": "si", "input": {"status": status, "answers": {"q": {"values": ["because"]}}}}});
    let events = events(&server, submit("skipped")).await;
    assert_eq!(types(&events), ["stream_options", "thread.item.replaced"]);
    assert_eq!(events[1]["item"]["status"], "skipped");
    assert_eq!(
        events[1]["item"]["inputs"][0]["answer"],
        json!({"values": [], "skipped": true}),
        "a skipped submission skips every answer"
    );
    let err = send(&server, submit("answered")).await.err().unwrap();
    assert_eq!(err.to_string(), "Structured input item si is not pending");
    let user_message = server
        .store
        .load_thread_items(&id, None, 1, SortOrder::Asc, &())
        .await
        .unwrap()
        .data[0]
        .id()
        .to_owned();
    let body = json!({"type": "threads.add_structured_input", "params": {"thread_id": id, "item_id": user_message, "input": {}}});
    let err = send(&server, body).await.err().unwrap();
    assert!(
        err.to_string().ends_with("is not a StructuredInputItem"),
        "{err}"
    );
    assert_eq!(err.status(), 400);
}

#[tokio::test]
async fn retry_edge_cases() {
    let server = TestServer::replying("ok");
    let events = events(&server, create("hi")).await;
    let id = thread_id(&events);
    let assistant_id = events[3]["item"]["id"].as_str().unwrap();
    let body = json!({"type": "threads.retry_after_item", "params": {"thread_id": id, "item_id": assistant_id}});
    let err = send(&server, body).await.err().unwrap();
    assert_eq!(
        err.to_string(),
        format!("Item {assistant_id} is not a user message")
    );
    let body = json!({"type": "threads.retry_after_item", "params": {"thread_id": id, "item_id": "msg_nope"}});
    let err = send(&server, body).await.err().unwrap();
    assert_eq!(
        err.status(),
        404,
        "the reference streams nothing; we say why"
    );
}

#[tokio::test]
async fn item_removed_and_replaced_reach_the_store() {
    let server = TestServer::new(|thread, _| {
        Box::pin(async_stream::try_stream! {
            let mut item = assistant(&thread, "msg", "draft");
            yield ThreadStreamEvent::item_done(item.clone());
            item.content = vec![AssistantMessageContent::new("final")];
            yield ThreadStreamEvent::item_replaced(item.clone());
            yield ThreadStreamEvent::item_done(assistant(&thread, "kept", "bye"));
            // Removing an id that was never stored is fine (guardrails do it).
            yield ThreadStreamEvent::item_removed("never-stored");
        })
    });
    let events = events(&server, create("hi")).await;
    let id = thread_id(&events);
    let kept = events[5]["item"]["id"].as_str().unwrap().to_owned();
    let items = server
        .store
        .load_thread_items(&id, None, 10, SortOrder::Asc, &())
        .await
        .unwrap();
    assert_eq!(items.data.len(), 3);
    let ThreadItem::AssistantMessage(m) = &items.data[1] else {
        panic!()
    };
    assert_eq!(m.content[0].text, "final");
    assert_eq!(items.data[2].id(), kept);

    let remover = TestServer::new(move |_, _| {
        Box::pin(futures::stream::iter([Ok(
            ThreadStreamEvent::item_removed("x"),
        )]))
    });
    assert_eq!(
        types(&events_of(&remover).await),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "thread.item.removed"
        ]
    );
}

async fn events_of(server: &Arc<TestServer>) -> Vec<Value> {
    events(server, create("hi")).await
}

#[tokio::test]
async fn workflow_tasks_are_not_duplicated_on_done() {
    let server = TestServer::new(|thread, _| {
        Box::pin(async_stream::try_stream! {
            let task = Task::Custom(CustomTask { title: Some("t".into()), ..Default::default() });
            let mut item = WorkflowItem { id: "wf".into(), thread_id: thread.id().into(), created_at: Timestamp::now(), workflow: Workflow::new(WorkflowType::Custom) };
            yield ThreadStreamEvent::item_added(item.clone());
            yield ThreadStreamEvent::item_updated("wf", ThreadItemUpdate::task_added(0, task.clone()));
            item.workflow.tasks.push(task);
            yield ThreadStreamEvent::item_done(item);
        })
    });
    let events = events(&server, create("hi")).await;
    assert_eq!(
        events[3]["item"]["workflow"]["tasks"],
        json!([]),
        "the added event is sent as yielded"
    );
    assert_eq!(
        events[5]["item"]["workflow"]["tasks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let stored = server
        .store
        .load_item(&thread_id(&events), "wf", &())
        .await
        .unwrap();
    let ThreadItem::Workflow(wf) = stored else {
        panic!()
    };
    assert_eq!(
        wf.workflow.tasks.len(),
        1,
        "tracking the pending copy did not touch the done item"
    );
}

#[tokio::test]
async fn a_responder_error_becomes_an_error_event_and_nothing_after_it() {
    let server = TestServer::new(|thread, _| {
        Box::pin(async_stream::try_stream! {
            yield ThreadStreamEvent::progress("before");
            let _: u32 = "x".parse()?;
            yield ThreadStreamEvent::item_done(assistant(&thread, "msg", "never"));
        })
    });
    let events = events(&server, create("hi")).await;
    assert_eq!(
        types(&events),
        [
            "thread.created",
            "thread.item.done",
            "stream_options",
            "progress_update",
            "error"
        ]
    );
    assert_eq!(
        events[4],
        json!({"type": "error", "code": "stream.error", "allow_retry": true})
    );
}

#[tokio::test]
async fn default_action_and_sync_action_are_not_implemented() {
    let server = TestServer::replying("ok");
    let id = thread_id(&events(&server, create("hi")).await);
    let events = events(&server, json!({"type": "threads.custom_action", "params": {"thread_id": id, "action": {"type": "x"}}})).await;
    assert_eq!(
        events[1],
        json!({"type": "error", "code": "stream.error", "allow_retry": true})
    );
    let err = send(&server, json!({"type": "threads.sync_custom_action", "params": {"thread_id": id, "action": {"type": "x"}}})).await.err().unwrap();
    assert_eq!(err.status(), 501);
}

async fn cancel_after(server: &Arc<TestServer>, frames: usize) -> String {
    let ProcessResult::Streaming(stream) =
        process(server, &serde_json::to_vec(&create("hi")).unwrap(), ())
            .await
            .unwrap()
    else {
        panic!()
    };
    let got: Vec<_> = stream.take(frames).collect().await;
    let created: Value = serde_json::from_slice(&got[0][6..got[0].len() - 2]).unwrap();
    created["thread"]["id"].as_str().unwrap().to_owned()
}

async fn stored_after_cancel(server: &Arc<TestServer>, thread: &str) -> Vec<ThreadItem> {
    for _ in 0..2000 {
        let items = server
            .store
            .load_thread_items(thread, None, 50, SortOrder::Asc, &())
            .await
            .unwrap();
        if items
            .data
            .iter()
            .any(|i| matches!(i, ThreadItem::SdkHiddenContext(_)))
        {
            return items.data;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("cancellation was not handled");
}

#[tokio::test]
async fn cancellation_saves_pending_text_but_not_empty_messages_or_widgets() {
    let server = TestServer::new(|thread, _| {
        Box::pin(async_stream::try_stream! {
            let mut empty = assistant(&thread, "empty", "");
            empty.content = vec![AssistantMessageContent::new("   ")];
            yield ThreadStreamEvent::item_added(empty);
            let mut partial = assistant(&thread, "partial", "");
            partial.content.clear();
            let id = partial.id.clone();
            yield ThreadStreamEvent::item_added(partial);
            yield ThreadStreamEvent::item_updated(&id, ThreadItemUpdate::AssistantMessageContentPartTextDelta { content_index: 0, delta: "Half an ans".into() });
            futures::future::pending::<()>().await;
        })
    });
    let thread = cancel_after(&server, 6).await;
    let stored = stored_after_cancel(&server, &thread).await;
    let kinds: Vec<_> = stored.iter().map(ThreadItem::type_name).collect();
    assert_eq!(
        kinds,
        ["user_message", "assistant_message", "sdk_hidden_context"]
    );
    let ThreadItem::AssistantMessage(m) = &stored[1] else {
        panic!()
    };
    assert_eq!(
        m.content[0].text, "Half an ans",
        "the deltas the client saw are saved"
    );
    let ThreadItem::SdkHiddenContext(note) = &stored[2] else {
        panic!()
    };
    assert_eq!(note.content, CANCELLED_NOTE);
    assert!(note.id.starts_with("shcx_"));
}

#[tokio::test]
async fn cancellation_with_nothing_pending_still_leaves_the_note() {
    let server = TestServer::new(|_, _| {
        Box::pin(async_stream::try_stream! {
            yield ThreadStreamEvent::progress("thinking");
            futures::future::pending::<()>().await;
        })
    });
    let thread = cancel_after(&server, 4).await;
    let stored = stored_after_cancel(&server, &thread).await;
    assert_eq!(stored.len(), 2);
}

#[tokio::test]
async fn a_finished_stream_is_not_treated_as_cancelled() {
    let server = TestServer::replying("ok");
    let id = thread_id(&events(&server, create("hi")).await);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let stored = server
        .store
        .load_thread_items(&id, None, 10, SortOrder::Asc, &())
        .await
        .unwrap();
    assert!(!stored
        .data
        .iter()
        .any(|i| matches!(i, ThreadItem::SdkHiddenContext(_))));
}

#[tokio::test]
async fn custom_id_generators_are_used() {
    use chatkit_agents::store::{MemoryStore, StoreError};
    struct CustomIds(MemoryStore, std::sync::atomic::AtomicUsize);
    #[chatkit_agents::async_trait]
    impl Store<()> for CustomIds {
        fn generate_thread_id(&self, _: &()) -> String {
            format!(
                "thr_custom_{}",
                self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
            )
        }
        fn generate_item_id(&self, kind: StoreItemType, thread: &ThreadMetadata, _: &()) -> String {
            format!(
                "{kind}_custom_{}_{}",
                self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1,
                thread.id
            )
        }
        async fn load_thread(&self, id: &str, c: &()) -> Result<ThreadMetadata, StoreError> {
            self.0.load_thread(id, c).await
        }
        async fn save_thread(&self, t: &ThreadMetadata, c: &()) -> Result<(), StoreError> {
            self.0.save_thread(t, c).await
        }
        async fn load_thread_items(
            &self,
            id: &str,
            a: Option<&str>,
            l: usize,
            o: SortOrder,
            c: &(),
        ) -> Result<Page<ThreadItem>, StoreError> {
            self.0.load_thread_items(id, a, l, o, c).await
        }
        async fn save_attachment(&self, a: &Attachment, c: &()) -> Result<(), StoreError> {
            self.0.save_attachment(a, c).await
        }
        async fn load_attachment(&self, id: &str, c: &()) -> Result<Attachment, StoreError> {
            self.0.load_attachment(id, c).await
        }
        async fn delete_attachment(&self, id: &str, c: &()) -> Result<(), StoreError> {
            Store::<()>::delete_attachment(&self.0, id, c).await
        }
        async fn load_threads(
            &self,
            l: usize,
            a: Option<&str>,
            o: SortOrder,
            c: &(),
        ) -> Result<Page<ThreadMetadata>, StoreError> {
            self.0.load_threads(l, a, o, c).await
        }
        async fn add_thread_item(&self, t: &str, i: &ThreadItem, c: &()) -> Result<(), StoreError> {
            self.0.add_thread_item(t, i, c).await
        }
        async fn save_item(&self, t: &str, i: &ThreadItem, c: &()) -> Result<(), StoreError> {
            self.0.save_item(t, i, c).await
        }
        async fn load_item(&self, t: &str, i: &str, c: &()) -> Result<ThreadItem, StoreError> {
            self.0.load_item(t, i, c).await
        }
        async fn delete_thread(&self, t: &str, c: &()) -> Result<(), StoreError> {
            self.0.delete_thread(t, c).await
        }
        async fn delete_thread_item(&self, t: &str, i: &str, c: &()) -> Result<(), StoreError> {
            self.0.delete_thread_item(t, i, c).await
        }
    }
    struct Server(Arc<CustomIds>);
    #[chatkit_agents::async_trait]
    impl chatkit_agents::server::ChatKitServer for Server {
        type Context = ();
        fn store(&self) -> Arc<dyn Store<()>> {
            self.0.clone()
        }
        fn respond(
            self: Arc<Self>,
            _: ThreadHandle,
            _: Option<UserMessageItem>,
            _: (),
        ) -> chatkit_agents::server::EventStream {
            Box::pin(futures::stream::empty())
        }
    }
    let server = Arc::new(Server(Arc::new(CustomIds(
        MemoryStore::new(),
        Default::default(),
    ))));
    let events = events(&server, create("hi")).await;
    assert_eq!(events[0]["thread"]["id"], "thr_custom_1");
    assert_eq!(events[1]["item"]["id"], "message_custom_2_thr_custom_1");
}

#[test]
fn stream_errors_convert_from_any_error() {
    let e: StreamError = std::io::Error::other("x").into();
    assert!(e.is_internal());
}

#[tokio::test]
async fn every_golden_request_body_is_handled_without_panicking() {
    let server = TestServer::replying("ok");
    let thread = thread_id(&events(&server, create("hi")).await);
    let mut bodies: Vec<String> = Vec::new();
    for file in [
        "wire.jsonl",
        "invalid-requests.jsonl",
        "lenient-requests.jsonl",
    ] {
        for record in support::golden_lines(file) {
            match (&record["body"], &record["json"]) {
                (Value::String(body), _) => bodies.push(body.clone()),
                (_, json) if record["kind"] == "ChatKitRequest" => {
                    // Point the request at a real thread as well as at the golden ids.
                    bodies.push(json.to_string());
                    bodies.push(json.to_string().replace("thr_1", &thread));
                }
                _ => {}
            }
        }
    }
    assert!(bodies.len() > 100);
    for body in bodies {
        if let Ok(ProcessResult::Streaming(stream)) = process(&server, body.as_bytes(), ()).await {
            let frames: Vec<_> = stream.collect().await;
            for frame in frames {
                serde_json::from_slice::<ThreadStreamEvent>(&frame[6..frame.len() - 2])
                    .expect("every frame is a protocol event");
            }
        }
    }
}
