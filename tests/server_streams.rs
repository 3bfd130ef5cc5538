//! Every captured reference scenario (`tests/golden/streams/`) replayed through a Rust
//! `respond`/`action`: the same SSE frames (byte for byte, once `created_at` values are
//! masked), the same `items.list` / `threads.get_by_id` answers and store contents
//! afterwards, and the same store calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chatkit_agents::server::{
    process, ChatKitServer, EventStream, ProcessError, ProcessResult, StreamError, ThreadHandle,
};
use chatkit_agents::store::{MemoryStore, Store, StoreError};
use chatkit_agents::types::*;
use chatkit_agents::widgets::{self as w, stream_widget, WidgetRoot, WidgetSource};
use futures::StreamExt;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// A store with the reference harness's ids (one counter for every kind) that records
// every call in the harness's format.

#[derive(Default)]
struct TestStore {
    inner: MemoryStore,
    counter: AtomicUsize,
    calls: Mutex<Vec<String>>,
    recording: std::sync::atomic::AtomicBool,
}

impl TestStore {
    fn record(&self, call: String) {
        if self.recording.load(Ordering::SeqCst) {
            self.calls.lock().unwrap().push(call);
        }
    }
    fn next_id(&self, prefix: &str) -> String {
        format!(
            "{prefix}_{:08}",
            self.counter.fetch_add(1, Ordering::SeqCst) + 1
        )
    }
}

#[async_trait]
impl Store<()> for TestStore {
    fn generate_thread_id(&self, _: &()) -> String {
        self.next_id("thr")
    }
    fn generate_item_id(&self, kind: StoreItemType, _: &ThreadMetadata, _: &()) -> String {
        self.next_id(kind.prefix())
    }
    async fn load_thread(&self, id: &str, ctx: &()) -> Result<ThreadMetadata, StoreError> {
        self.record(format!("load_thread {id}"));
        self.inner.load_thread(id, ctx).await
    }
    async fn save_thread(&self, t: &ThreadMetadata, ctx: &()) -> Result<(), StoreError> {
        self.record(format!("save_thread {}", t.id));
        self.inner.save_thread(t, ctx).await
    }
    /// Recorded as the reference's `save_thread`: the same write, checked to exist.
    async fn update_thread(&self, t: &ThreadMetadata, ctx: &()) -> Result<(), StoreError> {
        self.record(format!("save_thread {}", t.id));
        self.inner.update_thread(t, ctx).await
    }
    async fn load_thread_items(
        &self,
        id: &str,
        after: Option<&str>,
        limit: usize,
        order: SortOrder,
        ctx: &(),
    ) -> Result<Page<ThreadItem>, StoreError> {
        self.record(format!(
            "load_thread_items {id} after={} limit={limit} order={order}",
            after.unwrap_or("None")
        ));
        self.inner
            .load_thread_items(id, after, limit, order, ctx)
            .await
    }
    async fn save_attachment(&self, a: &Attachment, ctx: &()) -> Result<(), StoreError> {
        self.record(format!("save_attachment {}", a.id()));
        self.inner.save_attachment(a, ctx).await
    }
    async fn load_attachment(&self, id: &str, ctx: &()) -> Result<Attachment, StoreError> {
        self.record(format!("load_attachment {id}"));
        self.inner.load_attachment(id, ctx).await
    }
    async fn delete_attachment(&self, id: &str, ctx: &()) -> Result<(), StoreError> {
        self.record(format!("delete_attachment {id}"));
        self.inner.delete_attachment(id, ctx).await
    }
    async fn load_threads(
        &self,
        limit: usize,
        after: Option<&str>,
        order: SortOrder,
        ctx: &(),
    ) -> Result<Page<ThreadMetadata>, StoreError> {
        self.record(format!("load_threads limit={limit}"));
        self.inner.load_threads(limit, after, order, ctx).await
    }
    async fn add_thread_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &(),
    ) -> Result<(), StoreError> {
        self.record(format!(
            "add_thread_item {thread_id} {} {}",
            item.type_name(),
            item.id()
        ));
        self.inner.add_thread_item(thread_id, item, ctx).await
    }
    async fn save_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &(),
    ) -> Result<(), StoreError> {
        self.record(format!(
            "save_item {thread_id} {} {}",
            item.type_name(),
            item.id()
        ));
        self.inner.save_item(thread_id, item, ctx).await
    }
    async fn load_item(
        &self,
        thread_id: &str,
        id: &str,
        ctx: &(),
    ) -> Result<ThreadItem, StoreError> {
        self.record(format!("load_item {thread_id} {id}"));
        self.inner.load_item(thread_id, id, ctx).await
    }
    async fn delete_thread(&self, id: &str, ctx: &()) -> Result<(), StoreError> {
        self.record(format!("delete_thread {id}"));
        self.inner.delete_thread(id, ctx).await
    }
    async fn delete_thread_item(
        &self,
        thread_id: &str,
        id: &str,
        ctx: &(),
    ) -> Result<(), StoreError> {
        self.record(format!("delete_thread_item {thread_id} {id}"));
        self.inner.delete_thread_item(thread_id, id, ctx).await
    }
}

// ---------------------------------------------------------------------------------------
// The scenarios' responders, written as a user would write them.

struct Scenario {
    name: &'static str,
    store: Arc<TestStore>,
    responds: AtomicUsize,
    /// `None`: the reference's writes exactly; `Some`: items also saved while they
    /// stream, which must leave the same threads and items behind.
    checkpoints: Option<Duration>,
}

fn assistant(id: String, thread: &ThreadHandle, text: &str) -> ThreadItem {
    AssistantMessageItem {
        id,
        thread_id: thread.id().to_owned(),
        created_at: Timestamp::now(),
        content: vec![AssistantMessageContent::new(text)],
    }
    .into()
}

fn counter_card(count: u32) -> WidgetRoot {
    w::Card::new()
        .child(w::Text::new(format!("Count: {count}")).id("count"))
        .child(
            w::Button::new()
                .label("Increment")
                .on_click_action(ActionConfig::new("increment").payload(json!({"by": 1}))),
        )
        .into()
}

fn part(index: usize, text: &str) -> ThreadItemUpdate {
    ThreadItemUpdate::AssistantMessageContentPartAdded {
        content_index: index,
        content: AssistantMessageContent::new(text),
    }
}

fn delta(text: &str) -> ThreadItemUpdate {
    ThreadItemUpdate::AssistantMessageContentPartTextDelta {
        content_index: 0,
        delta: text.into(),
    }
}

fn part_done(text: &str) -> ThreadItemUpdate {
    ThreadItemUpdate::AssistantMessageContentPartDone {
        content_index: 0,
        content: AssistantMessageContent::new(text),
    }
}

impl Scenario {
    fn id(&self, kind: StoreItemType, thread: &ThreadHandle) -> String {
        self.store.generate_item_id(kind, &thread.snapshot(), &())
    }

    /// `thread.item.added`, the part deltas and `thread.item.done` of one assistant message.
    fn streamed_message(&self, thread: &ThreadHandle, deltas: &[&str]) -> Vec<ThreadStreamEvent> {
        let id = self.id(StoreItemType::Message, thread);
        let text: String = deltas.concat();
        let mut events = vec![
            ThreadStreamEvent::item_added(assistant(id.clone(), thread, "")),
            ThreadStreamEvent::item_updated(&id, part(0, "")),
        ];
        if let ThreadStreamEvent::ThreadItemAdded { item } = &mut events[0] {
            if let ThreadItem::AssistantMessage(m) = &mut **item {
                m.content.clear();
            }
        }
        events.extend(
            deltas
                .iter()
                .map(|d| ThreadStreamEvent::item_updated(&id, delta(d))),
        );
        events.push(ThreadStreamEvent::item_updated(&id, part_done(&text)));
        events.push(ThreadStreamEvent::item_done(assistant(id, thread, &text)));
        events
    }
}

#[async_trait]
impl ChatKitServer for Scenario {
    type Context = ();

    fn store(&self) -> Arc<dyn Store<()>> {
        self.store.clone()
    }

    fn checkpoint_interval(&self) -> Option<Duration> {
        self.checkpoints
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        _: (),
    ) -> EventStream {
        let call = self.responds.fetch_add(1, Ordering::SeqCst);
        let s = self.clone();
        Box::pin(async_stream::try_stream! {
            let t = &thread;
            match (s.name, call) {
                ("create_assistant_deltas", _) => {
                    for e in s.streamed_message(t, &["Hel", "lo, ", "world!"]) { yield e; }
                }
                ("add_user_message", 0) => yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Reply 1")),
                ("add_user_message", _) => yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Reply 2")),
                ("title_change_mid_stream", _) => {
                    yield ThreadStreamEvent::progress("Thinking");
                    let mut events = s.streamed_message(t, &["Hi!"]).into_iter();
                    t.set_title("Greeting");
                    for e in events.by_ref() { yield e; }
                }
                ("hidden_context", _) => {
                    yield ThreadStreamEvent::item_done(HiddenContextItem { id: s.id(StoreItemType::Message, t), thread_id: t.id().into(), created_at: Timestamp::now(), content: json!("User timezone: UTC") });
                    yield ThreadStreamEvent::item_done(SdkHiddenContextItem { id: s.id(StoreItemType::SdkHiddenContext, t), thread_id: t.id().into(), created_at: Timestamp::now(), content: "sdk note".into() });
                    yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Noon UTC"));
                }
                ("progress_client_effect", _) => {
                    yield ThreadStreamEvent::ProgressUpdate { icon: Some(BuiltinIcon::Search.into()), text: "Searching...".into() };
                    yield ThreadStreamEvent::client_effect("highlight", json!({"ids": [1, 2], "color": null}).as_object().unwrap().clone());
                    yield ThreadStreamEvent::client_effect("refresh", Default::default());
                    yield NoticeEvent { level: NoticeLevel::Info, message: "Using cached results".into(), title: Some("Note".into()) }.into();
                    yield ThreadStreamEvent::progress("Done");
                    yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Found 2 docs"));
                }
                ("custom_stream_error", _) => {
                    yield ThreadStreamEvent::progress("Checking");
                    Err(StreamError::custom("Nope, not allowed", true))?;
                }
                ("generic_exception", _) => {
                    let events = s.streamed_message(t, &["Partial"]);
                    for e in events.into_iter().take(3) { yield e; }
                    t.set_title("Partial title");
                    Err(std::io::Error::other("boom"))?;
                }
                ("stream_error_no_retry", _) => Err(StreamError::code(ErrorCode::StreamError, Some(false)))?,
                ("custom_action_widget" | "sync_custom_action", _) => {
                    let id = s.store.clone();
                    let mut events = stream_widget(&t.snapshot(), counter_card(0), Some("Count: 0".into()), |kind| id.next_id(kind.prefix()));
                    while let Some(e) = events.next().await { yield e?; }
                }
                ("custom_action_non_widget" | "custom_action_no_item", _) => yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Hi")),
                ("stream_widget_markdown", _) => {
                    let card = |md: &str, status: &str, streaming: bool| -> WidgetRoot {
                        w::Card::new().child(w::Title::new("Summary"))
                            .child(w::Markdown::new(md).id("md").streaming(streaming))
                            .child(w::Text::new(status).id("status").streaming(streaming)).into()
                    };
                    let states = vec![card("", "Working", true), card("Hel", "Working", true), card("Hello **wor", "Working...", true), card("Hello **world**", "Working...", true), card("Hello **world**", "Working...", false)];
                    let id = s.store.clone();
                    let mut events = stream_widget(&t.snapshot(), WidgetSource::states(futures::stream::iter(states)), Some("Hello **world**".into()), |kind| id.next_id(kind.prefix()));
                    while let Some(e) = events.next().await { yield e?; }
                }
                ("workflow_tasks", _) => {
                    let wf = s.id(StoreItemType::Workflow, t);
                    let planning = |status| Task::Custom(CustomTask { status_indicator: status, title: Some("Planning".into()), icon: Some(BuiltinIcon::Notebook.into()), content: None });
                    let search = Task::WebSearch(SearchTask { status_indicator: TaskStatusIndicator::Complete, title: Some("Searching".into()), title_query: Some("rust sse".into()), queries: vec!["rust sse".into()], sources: vec![UrlSource::new("Axum SSE", "https://docs.rs/axum")] });
                    let thought = Task::Thought(ThoughtTask { content: "Comparing results".into(), ..Default::default() });
                    let mut workflow = WorkflowItem { id: wf.clone(), thread_id: t.id().into(), created_at: Timestamp::now(), workflow: Workflow::new(WorkflowType::Custom) };
                    yield ThreadStreamEvent::item_added(workflow.clone());
                    yield ThreadStreamEvent::item_updated(&wf, ThreadItemUpdate::task_added(0, planning(TaskStatusIndicator::Loading)));
                    yield ThreadStreamEvent::item_updated(&wf, ThreadItemUpdate::task_updated(0, planning(TaskStatusIndicator::Complete)));
                    yield ThreadStreamEvent::item_updated(&wf, ThreadItemUpdate::task_added(1, search.clone()));
                    yield ThreadStreamEvent::item_updated(&wf, ThreadItemUpdate::task_added(2, thought.clone()));
                    workflow.workflow.tasks = vec![planning(TaskStatusIndicator::Complete), search, thought];
                    workflow.workflow.summary = Some(WorkflowSummary::Custom { title: "Finished".into(), icon: Some(BuiltinIcon::Check.into()) });
                    yield ThreadStreamEvent::item_done(workflow);
                    yield ThreadStreamEvent::item_done(TaskItem { id: s.id(StoreItemType::Task, t), thread_id: t.id().into(), created_at: Timestamp::now(), task: Task::File(FileTask { title: Some("Read file".into()), sources: vec![FileSource::new("notes", "notes.md")], ..Default::default() }) });
                    let mut reasoning = Workflow::new(WorkflowType::Reasoning);
                    reasoning.tasks = vec![Task::Thought(ThoughtTask { content: "Short thought".into(), ..Default::default() })];
                    reasoning.summary = Some(WorkflowSummary::Duration { duration: 3 });
                    yield ThreadStreamEvent::item_done(WorkflowItem { id: s.id(StoreItemType::Workflow, t), thread_id: t.id().into(), created_at: Timestamp::now(), workflow: reasoning });
                    yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Here is what I found"));
                }
                ("client_tool_call", 0) => {
                    let id = s.id(StoreItemType::ToolCall, t);
                    let call_id = s.id(StoreItemType::ToolCall, t);
                    yield ThreadStreamEvent::item_done(ClientToolCallItem { id, thread_id: t.id().into(), created_at: Timestamp::now(), status: ClientToolCallStatus::Pending, call_id, name: "get_selected_text".into(), arguments: json!({"max_chars": 100}).as_object().unwrap().clone(), output: None });
                }
                ("client_tool_call", _) => {
                    assert!(input.is_none(), "a continuation has no user message");
                    let newest = s.store.load_thread_items(t.id(), None, 1, SortOrder::Desc, &()).await?;
                    let ThreadItem::ClientToolCall(call) = &newest.data[0] else { panic!("no tool call") };
                    let selected = call.output.as_ref().and_then(|o| o.get("text")).and_then(|t| t.as_str().map(str::to_owned)).unwrap_or_default();
                    yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, &format!("You selected: {selected}")));
                }
                ("retry_after_item", 0) => {
                    yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Joke v1"));
                    yield ThreadStreamEvent::item_done(EndOfTurnItem { id: s.id(StoreItemType::Message, t), thread_id: t.id().into(), created_at: Timestamp::now() });
                }
                ("retry_after_item", _) => {
                    assert_eq!(input.as_ref().map(|m| m.id.as_str()), Some("msg_00000002"), "retry answers the original message");
                    yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Joke v2"));
                }
                ("add_structured_input", 0) => {
                    let choice = |id: &str, q: &str, options: &[&str], multiple: bool| StructuredInput::MultipleChoice(StructuredInputMultipleChoice { id: id.into(), question: q.into(), answer: None, options: options.iter().map(|v| StructuredInputMultipleChoiceOption { value: (*v).into() }).collect(), multiple });
                    let free = |id: &str, q: &str, d: Option<&str>| StructuredInput::Freeform(StructuredInputFreeform { id: id.into(), question: q.into(), answer: None, description: d.map(Into::into) });
                    yield ThreadStreamEvent::item_done(StructuredInputItem { id: s.id(StoreItemType::Message, t), thread_id: t.id().into(), created_at: Timestamp::now(), status: StructuredInputStatus::Pending, inputs: vec![choice("size", "Size?", &["S", "M", "L"], false), choice("toppings", "Toppings?", &["ham", "olive", "corn"], true), free("notes", "Notes?", Some("Anything else")), free("extra", "Extra?", None)] });
                }
                ("add_structured_input", _) => yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Pizza ordered")),
                ("thread_status_metadata", _) => {
                    t.set_status(ThreadStatus::Locked { reason: Some("quota".into()) });
                    t.set_allowed_image_domains(Some(vec!["img.example.com".into()]));
                    yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Locked"));
                    t.set_metadata("plan", "free");
                }
                ("attachments", _) => yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, t), t, "Nice cat")),
                ("cancelled_stream", _) => {
                    let events = s.streamed_message(t, &["Partial answer"]);
                    for e in events.into_iter().take(3) { yield e; }
                    let widget = w::Card::new().child(w::Text::new("pending widget")).into();
                    yield ThreadStreamEvent::item_added(WidgetItem { id: s.id(StoreItemType::Message, t), thread_id: t.id().into(), created_at: Timestamp::now(), widget, copy_text: None });
                    futures::future::pending::<()>().await;
                }
                (other, call) => panic!("no responder for {other} call {call}"),
            }
        })
    }

    fn action(
        self: Arc<Self>,
        thread: ThreadHandle,
        action: Action,
        sender: Option<WidgetItem>,
        _: (),
    ) -> EventStream {
        let s = self.clone();
        Box::pin(async_stream::try_stream! {
            match s.name {
                "custom_action_widget" => {
                    let mut sender = sender.expect("the widget sent the action");
                    let by = action.payload.get("by").and_then(|by| by.as_u64()).unwrap_or(0) as u32;
                    sender.widget = counter_card(by);
                    sender.copy_text = Some(format!("Count: {by}"));
                    yield ThreadStreamEvent::item_replaced(sender);
                    yield ThreadStreamEvent::item_done(assistant(s.id(StoreItemType::Message, &thread), &thread, &format!("Incremented to {by}")));
                }
                "custom_action_no_item" => {
                    assert!(sender.is_none());
                    yield ThreadStreamEvent::client_effect("pong", action.payload.to_value().as_object().cloned().unwrap_or_default());
                }
                other => panic!("no action for {other}"),
            }
        })
    }

    async fn sync_action(
        &self,
        _: ThreadMetadata,
        action: Action,
        sender: Option<WidgetItem>,
        _: &(),
    ) -> Result<SyncCustomActionResponse, ProcessError> {
        let mut sender = sender.ok_or_else(|| ProcessError::BadRequest("no sender".into()))?;
        let by = action
            .payload
            .get("by")
            .and_then(|by| by.as_u64())
            .unwrap_or(0) as u32;
        let mut widget = counter_card(0).to_value();
        widget["children"][0]["value"] = json!(format!("Count: {by}"));
        sender.widget = WidgetRoot::from_value(widget).unwrap();
        sender.copy_text = Some(format!("Count: {by}"));
        Ok(SyncCustomActionResponse {
            updated_item: Some(sender.into()),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Running a scenario and comparing.

fn golden(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/golden/streams/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Masks every `"created_at":"..."` value in JSON text.
fn mask(text: &str) -> String {
    let key = "\"created_at\":\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        out.push_str(&rest[..at + key.len()]);
        rest = &rest[at + key.len()..];
        let end = rest.find('"').unwrap();
        out.push('T');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn mask_value(value: &Value) -> Value {
    serde_json::from_str(&mask(&value.to_string())).unwrap()
}

fn frames(sse: &str) -> Vec<String> {
    sse.split_inclusive("\n\n").map(mask).collect()
}

async fn run(name: &'static str, checkpoints: Option<Duration>) {
    let store = Arc::new(TestStore::default());
    let server = Arc::new(Scenario {
        name,
        store: store.clone(),
        responds: AtomicUsize::new(0),
        checkpoints,
    });
    if name == "attachments" {
        let file: Attachment = serde_json::from_value(json!({"id": "atc_file", "name": "notes.txt", "mime_type": "text/plain", "type": "file"})).unwrap();
        let image: Attachment = serde_json::from_value(json!({"id": "atc_img", "name": "cat.png", "mime_type": "image/png", "type": "image", "preview_url": "https://img.example.com/cat.png"})).unwrap();
        for (mut a, bucket) in [(file, "b1"), (image, "b2")] {
            match &mut a {
                Attachment::File(f) => f.metadata = json!({"bucket": bucket}).as_object().cloned(),
                Attachment::Image(i) => i.metadata = json!({"bucket": bucket}).as_object().cloned(),
            }
            store.inner.save_attachment(&a, &()).await.unwrap();
        }
    }
    let mut setup = 0;
    for line in golden(&format!("{name}.requests.jsonl")).lines() {
        let step: Value = serde_json::from_str(line).unwrap();
        let main = step["step"] == "main";
        store.recording.store(main, Ordering::SeqCst);
        let body = serde_json::to_vec(&step["body"]).unwrap();
        let result = process(&server, &body, ())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match result {
            ProcessResult::Streaming(stream) => {
                let expected = if main {
                    golden(&format!("{name}.sse"))
                } else {
                    setup += 1;
                    golden(&format!("{name}.setup-{setup}.sse"))
                };
                let expected = frames(&expected);
                let ours: Vec<String> = if name == "cancelled_stream" && main {
                    // Read what the reference client saw, then disconnect.
                    let got: Vec<String> = stream
                        .take(expected.len())
                        .map(|b| mask(std::str::from_utf8(&b).unwrap()))
                        .collect()
                        .await;
                    wait_for_cancellation(&store).await;
                    got
                } else {
                    stream
                        .map(|b| mask(std::str::from_utf8(&b).unwrap()))
                        .collect()
                        .await
                };
                assert_eq!(ours, expected, "{name}: {} stream", step["step"]);
            }
            ProcessResult::Json(body) => {
                let expected: Value =
                    serde_json::from_str(&golden(&format!("{name}.response.json"))).unwrap();
                assert_eq!(
                    mask(std::str::from_utf8(&body).unwrap()),
                    mask(&expected.to_string()),
                    "{name}: response"
                );
            }
        }
    }
    store.recording.store(false, Ordering::SeqCst);
    check_after(name, &server, &store).await;
}

async fn wait_for_cancellation(store: &TestStore) {
    for _ in 0..2000 {
        if store
            .calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.contains("sdk_hidden_context"))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("handle_stream_cancelled did not run");
}

async fn check_after(name: &str, server: &Arc<Scenario>, store: &Arc<TestStore>) {
    let after: Value = serde_json::from_str(&golden(&format!("{name}.after.json"))).unwrap();
    for key in ["items.list", "threads.get_by_id"] {
        let body = serde_json::to_vec(&after[key]["request"]).unwrap();
        let ProcessResult::Json(response) = process(server, &body, ()).await.unwrap() else {
            panic!("{key} streamed")
        };
        let response: Value = serde_json::from_slice(&response).unwrap();
        assert_eq!(
            mask_value(&response),
            mask_value(&after[key]["response"]),
            "{name}: {key} afterwards"
        );
    }

    // Raw store contents: threads with server-side metadata, items including hidden ones.
    let threads = store
        .inner
        .load_threads(100, None, SortOrder::Asc, &())
        .await
        .unwrap();
    assert_eq!(
        mask_value(&serde_json::to_value(&threads.data).unwrap()),
        mask_value(&after["store"]["threads"]),
        "{name}: stored threads"
    );
    for thread in &threads.data {
        let items = store
            .inner
            .load_thread_items(&thread.id, None, 100, SortOrder::Asc, &())
            .await
            .unwrap();
        assert_eq!(
            mask_value(&serde_json::to_value(&items.data).unwrap()),
            mask_value(&after["store"]["items"][&thread.id]),
            "{name}: stored items"
        );
    }
    for attachment in after["store"]["attachments"].as_array().unwrap() {
        let stored = store
            .inner
            .load_attachment(attachment["id"].as_str().unwrap(), &())
            .await
            .unwrap();
        assert_eq!(
            to_storage_value(&stored).unwrap(),
            *attachment,
            "{name}: stored attachment"
        );
    }

    if server.checkpoints.is_some() {
        // Checkpoints add writes by design; what they leave behind was checked above.
        return;
    }
    // Store calls during the main step. Reads that we do before starting a stream (to
    // answer 404 instead of aborting it) come first; writes keep the reference's order.
    let mut expected: Vec<String> = after["store_calls_during_main_step"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    if name == "attachments" {
        let (loads, rest): (Vec<_>, Vec<_>) = expected
            .into_iter()
            .partition(|c| c.starts_with("load_attachment"));
        expected = loads.into_iter().chain(rest).collect();
    }
    assert_eq!(
        *store.calls.lock().unwrap(),
        expected,
        "{name}: store calls"
    );
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            run(stringify!($name), None).await;
            // Checkpoints on every update: more writes, the same outcome.
            run(stringify!($name), Some(Duration::ZERO)).await;
        }
    )*};
}

scenarios!(
    create_assistant_deltas,
    add_user_message,
    title_change_mid_stream,
    hidden_context,
    progress_client_effect,
    custom_stream_error,
    generic_exception,
    stream_error_no_retry,
    custom_action_widget,
    custom_action_non_widget,
    custom_action_no_item,
    stream_widget_markdown,
    workflow_tasks,
    client_tool_call,
    retry_after_item,
    add_structured_input,
    thread_status_metadata,
    attachments,
    cancelled_stream,
    sync_custom_action,
);

#[test]
fn every_captured_scenario_has_a_test() {
    let scenarios: Value = serde_json::from_str(&golden("scenarios.json")).unwrap();
    assert_eq!(scenarios.as_array().unwrap().len(), 20);
}
