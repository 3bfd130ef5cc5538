//! Widget actions: a `ListView` whose rows fire server-handled actions
//! (`ListViewItem.onClickAction`, `handler: "server"`, `loadingBehavior: "self"`); the
//! server replaces the widget (`thread.item.replaced`), records a `HiddenContextItem`
//! for the model, streams an assistant message and a `client_effect`. A client-handled
//! action (`handler: "client"`) and a synchronous one (`streaming: false`, answered by
//! `sync_action`) sit beside it. Offline: `cargo run --example task_list_actions`.
//!
//! Action payloads come from the browser and are untrusted, so they carry ids only: the
//! list itself lives on the server, in the thread's metadata (which clients never see),
//! and an id the server does not know is refused.

use std::sync::Arc;

use chatkit_agents::prelude::*;
use chatkit_agents::types::*;
use chatkit_agents::widgets::{self as w, WidgetRoot};
use chatkit_agents_workspace::example_support::{create, send, thread_id};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Task {
    id: String,
    title: String,
    done: bool,
}

fn task_list(tasks: &[Task]) -> WidgetRoot {
    let rows = tasks.iter().map(|task| {
        w::ListViewItem::new()
            .key(task.id.clone())
            .on_click_action(
                ActionConfig::new("task.toggle")
                    .payload(json!({"id": task.id}))
                    .loading_behavior(LoadingBehavior::SelfOnly),
            )
            .child(w::Icon::new(if task.done {
                BuiltinIcon::CheckCircleFilled
            } else {
                BuiltinIcon::EmptyCircle
            }))
            .child(w::Text::new(task.title.clone()).line_through(task.done))
    });
    w::ListView::new()
        .extend(rows)
        .child(
            w::ListViewItem::new()
                .child(
                    w::Button::new()
                        .label("Copy list")
                        .on_click_action(ActionConfig::new("list.copy").handler(Handler::Client)),
                )
                .child(
                    w::Button::new()
                        .label("Count")
                        .on_click_action(ActionConfig::new("list.count").streaming(false)),
                ),
        )
        .into()
}

#[derive(Deserialize)]
struct Toggle {
    id: String,
}

/// The thread metadata key of the task list.
const TASKS: &str = "tasks";

/// The thread's task list, as the server stored it.
fn stored_tasks(thread: &ThreadMetadata) -> Vec<Task> {
    thread
        .metadata
        .get(TASKS)
        .and_then(|tasks| serde_json::from_value(tasks.clone()).ok())
        .unwrap_or_default()
}

struct TaskServer {
    store: Arc<MemoryStore>,
}

#[async_trait]
impl ChatKitServer for TaskServer {
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
        let tasks = vec![
            Task {
                id: "a".into(),
                title: "Buy wands".into(),
                done: false,
            },
            Task {
                id: "b".into(),
                title: "Feed the owl".into(),
                done: false,
            },
        ];
        // The pipeline saves the thread (with its metadata) after the next event.
        thread.set_metadata(TASKS, json!(tasks));
        let item = WidgetItem {
            id: default_generate_id(StoreItemType::Message),
            thread_id: thread.id().into(),
            created_at: Timestamp::now(),
            widget: task_list(&tasks),
            copy_text: None,
        };
        Box::pin(futures::stream::iter([Ok(ThreadStreamEvent::item_done(
            item,
        ))]))
    }

    fn action(
        self: Arc<Self>,
        thread: ThreadHandle,
        action: Action,
        sender: Option<WidgetItem>,
        _: (),
    ) -> EventStream {
        Box::pin(async_stream::try_stream! {
            // The payload comes from the browser: parse it, and refuse what does not fit.
            let Toggle { id } = action
                .parse_payload()
                .map_err(|e| StreamError::custom(format!("Bad action: {e}"), false))?;
            let mut tasks = stored_tasks(&thread.snapshot());
            let mut item = sender.ok_or_else(|| StreamError::custom("No widget sent this action.", false))?;
            let task = tasks.iter_mut().find(|t| t.id == id).ok_or_else(|| StreamError::custom("Unknown task.", false))?;
            task.done = !task.done;
            let note = format!("The user toggled \"{}\" (now {}).", task.title, if task.done { "done" } else { "open" });
            item.widget = task_list(&tasks);
            thread.set_metadata(TASKS, json!(tasks));
            yield ThreadStreamEvent::item_replaced(item);
            yield ThreadStreamEvent::item_done(HiddenContextItem { id: default_generate_id(StoreItemType::Message), thread_id: thread.id().into(), created_at: Timestamp::now(), content: note.into() });
            yield ThreadStreamEvent::item_done(AssistantMessageItem { id: default_generate_id(StoreItemType::Message), thread_id: thread.id().into(), created_at: Timestamp::now(), content: vec![AssistantMessageContent::new("Updated your list.")] });
            yield ThreadStreamEvent::client_effect("flash", json!({"task": id}).as_object().cloned().unwrap_or_default());
        })
    }

    async fn sync_action(
        &self,
        thread: ThreadMetadata,
        _: Action,
        _: Option<WidgetItem>,
        _: &(),
    ) -> Result<SyncCustomActionResponse, ProcessError> {
        let tasks = stored_tasks(&thread);
        tracing::info!(
            open = tasks.iter().filter(|t| !t.done).count(),
            "counted tasks"
        );
        Ok(SyncCustomActionResponse::default())
    }
}

/// Runs the scripted conversation (create, click a row, count) and returns every event.
pub async fn run() -> Vec<Value> {
    let server = Arc::new(TaskServer {
        store: Arc::new(MemoryStore::new()),
    });
    let mut all = send(&server, create("Show my tasks"), ()).await;
    let thread = thread_id(&all);
    let widget = all
        .iter()
        .find(|e| e["item"]["type"] == "widget")
        .cloned()
        .unwrap_or_default();
    let row = &widget["item"]["widget"]["children"][0]["onClickAction"];
    let click = json!({"type": "threads.custom_action", "params": {"thread_id": thread, "item_id": widget["item"]["id"], "action": {"type": row["type"], "payload": row["payload"]}}});
    all.extend(send(&server, click, ()).await);
    let count = &widget["item"]["widget"]["children"][2]["children"][1]["onClickAction"];
    let sync = json!({"type": "threads.sync_custom_action", "params": {"thread_id": thread, "item_id": widget["item"]["id"], "action": {"type": count["type"], "payload": count["payload"]}}});
    all.extend(send(&server, sync, ()).await);
    all
}

#[tokio::main]
async fn main() {
    run().await;
}
