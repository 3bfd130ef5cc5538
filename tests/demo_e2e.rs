//! The demo server (offline model, SQLite on a temporary file) on an ephemeral port,
//! driven over HTTP the way the ChatKit client drives it. Every SSE frame and JSON body
//! must parse as this crate's protocol types.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::agents::chatkit::APPROVE_ACTION;
use chatkit_agents::store::{PostgresStore, PostgresStoreOptions, SqliteStore, Store};
use chatkit_agents::types::*;
use chatkit_agents_workspace::demo::{app, OfflineModel, RequestContext};
use serde_json::{json, Value};

struct Demo {
    address: SocketAddr,
    client: reqwest::Client,
    _dir: Option<TempDir>,
}

/// A directory removed when the test ends.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start() -> Demo {
    let dir = std::env::temp_dir().join(format!(
        "chatkit-demo-{}-{}",
        std::process::id(),
        default_generate_id(StoreItemType::Thread)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(SqliteStore::open(dir.join("demo.sqlite")).await.unwrap());
    start_on(store, Some(TempDir(dir))).await
}

/// The demo app on `store`, on an ephemeral port.
async fn start_on(store: Arc<dyn Store<RequestContext>>, dir: Option<TempDir>) -> Demo {
    serve_app(app(store, Arc::new(OfflineModel)), dir).await
}

/// `app` on an ephemeral port.
async fn serve_app(app: axum::Router, dir: Option<TempDir>) -> Demo {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Demo {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        _dir: dir,
    }
}

impl Demo {
    async fn post(&self, body: Value) -> reqwest::Response {
        self.client
            .post(format!("http://{}/chatkit", self.address))
            .header("x-user-id", "e2e")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    async fn stream(&self, body: Value) -> Vec<ThreadStreamEvent> {
        let response = self.post(body).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let text = response.text().await.unwrap();
        text.split_terminator("\n\n")
            .map(|frame| {
                serde_json::from_str(frame.strip_prefix("data: ").expect("an SSE data frame"))
                    .unwrap_or_else(|e| panic!("{e}: {frame}"))
            })
            .collect()
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, body: Value) -> T {
        let response = self.post(body).await;
        assert_eq!(response.status(), 200);
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }
}

fn message(text: &str) -> Value {
    json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
}

fn widget_items(events: &[ThreadStreamEvent]) -> Vec<WidgetItem> {
    events
        .iter()
        .filter_map(|e| match e {
            ThreadStreamEvent::ThreadItemDone { item } => match &**item {
                ThreadItem::Widget(w) => Some(w.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn assistant_text(events: &[ThreadStreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ThreadStreamEvent::ThreadItemDone { item } => match &**item {
                ThreadItem::AssistantMessage(m) => Some(m.content[0].text.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_conversation_with_widgets_and_actions() {
    let demo = start().await;
    let page = demo
        .client
        .get(format!("http://{}/", demo.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<openai-chatkit")
            && page.contains("chatkit.js")
            && page.contains("/chatkit")
    );
    // Without internet the component never loads: the page says so and shows a curl line.
    assert!(
        page.contains("The ChatKit web component did not load")
            && page.contains("onerror=\"showOffline(")
            && page.contains("curl -N "),
        "the page explains a missing web component"
    );

    // A new thread: the weather tool streams a card, the answer streams, the title is set.
    let events = demo.stream(json!({"type": "threads.create", "params": {"input": message("What's the weather in Paris?")}})).await;
    let ThreadStreamEvent::ThreadCreated { thread } = &events[0] else {
        panic!("{events:?}")
    };
    let thread_id = thread.id.clone();
    assert!(events
        .iter()
        .any(|e| matches!(e, ThreadStreamEvent::ProgressUpdate { .. })));
    let weather = widget_items(&events).pop().expect("a weather card");
    assert!(serde_json::to_string(&weather.widget)
        .unwrap()
        .contains("Paris"));
    assert!(assistant_text(&events).contains("Paris"));
    assert!(events.iter().any(
        |e| matches!(e, ThreadStreamEvent::ThreadUpdated { thread } if thread.title.is_some())
    ));

    // The widget's Refresh button: the server replaces the card.
    let payload = weather.widget.to_value()["children"][3]["onClickAction"]["payload"].clone();
    let events = demo.stream(json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "item_id": weather.id, "action": {"type": "weather.refresh", "payload": payload}}})).await;
    // (The refresh count lives in the thread's server-side metadata, so the thread is
    // saved too, announced with its metadata left out but for the token totals the demo
    // shares.)
    assert!(
        matches!(&events[..], [ThreadStreamEvent::StreamOptions { .. }, ThreadStreamEvent::ThreadItemReplaced { item }, ThreadStreamEvent::ThreadUpdated { thread }] if matches!(&**item, ThreadItem::Widget(w) if w.id == weather.id) && thread.metadata.keys().all(|key| key == "usage")),
        "{events:?}"
    );

    // A second message in the same thread: the task list.
    let events = demo.stream(json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message("Show my tasks")}})).await;
    let tasks = widget_items(&events).pop().expect("a task list");
    assert_eq!(tasks.widget.root_type(), "ListView");

    // Click the first row: a streamed server action.
    let first_row = tasks.widget.to_value()["children"][0]["onClickAction"].clone();
    assert_eq!(first_row["handler"], "server");
    let events = demo.stream(json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "item_id": tasks.id, "action": {"type": first_row["type"], "payload": first_row["payload"]}}})).await;
    let kinds: Vec<_> = events.iter().map(ThreadStreamEvent::type_name).collect();
    assert_eq!(
        kinds,
        [
            "stream_options",
            "thread.item.replaced",
            "thread.updated",
            "thread.item.done"
        ],
        "the hidden context item is persisted, not sent"
    );
    assert!(assistant_text(&events).contains("is done"));

    // The star button: a synchronous action (`streaming: false`).
    let star = tasks.widget.to_value()["children"][0]["children"][3]["onClickAction"].clone();
    assert_eq!(star["streaming"], false);
    let reply: SyncCustomActionResponse = demo.json(json!({"type": "threads.sync_custom_action", "params": {"thread_id": thread_id, "item_id": tasks.id, "action": {"type": star["type"], "payload": star["payload"]}}})).await;
    let updated = serde_json::to_string(&reply.updated_item.expect("the updated list")).unwrap();
    assert!(updated.contains("star-filled"));

    // A hostile payload is refused politely, and nothing breaks.
    let events = demo.stream(json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "item_id": tasks.id, "action": {"type": "tasks.toggle", "payload": {"id": 5}}}})).await;
    assert!(
        matches!(events.last(), Some(ThreadStreamEvent::Error(e)) if e.message.as_deref() == Some("That action could not be read. Please try again."))
    );

    // Payloads carry ids only; the server keeps the state. A payload stuffed with a
    // client-made task list (what the demo used to trust) changes nothing but the named
    // task, and the reply stays small; the star set above is still there.
    let forged: Vec<Value> = (0..2000)
        .map(|i| json!({"id": format!("x{i}"), "title": "forged".repeat(10), "done": false, "starred": false}))
        .collect();
    let events = demo.stream(json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "item_id": tasks.id, "action": {"type": "tasks.toggle", "payload": {"id": "t2", "tasks": forged}}}})).await;
    let replaced = events
        .iter()
        .find_map(|e| match e {
            ThreadStreamEvent::ThreadItemReplaced { item } => {
                Some(serde_json::to_string(item).unwrap())
            }
            _ => None,
        })
        .expect("the toggled list");
    assert!(replaced.len() < 10_000, "{} bytes", replaced.len());
    assert!(!replaced.contains("forged"));
    assert!(
        replaced.contains("star-filled"),
        "the server's state is kept between actions"
    );
    for (action, payload, message) in [
        (
            "tasks.toggle",
            json!({"id": "t99"}),
            "That task no longer exists.",
        ),
        (
            "tasks.toggle",
            json!({"id": "t".repeat(5000)}),
            "That task is not one this server knows.",
        ),
        (
            "weather.refresh",
            json!({"city": "Atlantis", "refreshes": 4294967295u32}),
            "That weather card is not one this server showed.",
        ),
    ] {
        let events = demo.stream(json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "item_id": tasks.id, "action": {"type": action, "payload": payload}}})).await;
        assert!(
            matches!(events.last(), Some(ThreadStreamEvent::Error(e)) if e.message.as_deref() == Some(message)),
            "{action}: {events:?}"
        );
    }

    // The items as the client lists them: no hidden items.
    let items: Page<ThreadItem> = demo.json(json!({"type": "items.list", "params": {"thread_id": thread_id, "order": "asc", "limit": 50}})).await;
    assert!(items.data.iter().all(|i| !i.is_hidden()));
    assert!(items.data.len() >= 6);

    // A note drafted by a nested run streams into a widget.
    let events = demo.stream(json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message("Draft a note about Rust")}})).await;
    let deltas = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                ThreadStreamEvent::ThreadItemUpdated {
                    update: ThreadItemUpdate::WidgetStreamingTextValueDelta { .. },
                    ..
                }
            )
        })
        .count();
    assert!(deltas > 5, "{deltas} deltas");

    // Threads: list, rename, delete.
    let threads: Page<Thread> = demo
        .json(json!({"type": "threads.list", "params": {}}))
        .await;
    assert_eq!(threads.data.len(), 1);
    let renamed: Thread = demo.json(json!({"type": "threads.update", "params": {"thread_id": thread_id, "title": "Renamed"}})).await;
    assert_eq!(renamed.title.as_deref(), Some("Renamed"));
    let deleted: Value = demo
        .json(json!({"type": "threads.delete", "params": {"thread_id": thread_id}}))
        .await;
    assert_eq!(deleted, json!({}));
    let response = demo
        .post(json!({"type": "threads.get_by_id", "params": {"thread_id": thread_id}}))
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_model_answers_plain_questions() {
    let demo = start().await;
    let events = demo
        .stream(json!({"type": "threads.create", "params": {"input": message("hello there")}}))
        .await;
    assert!(assistant_text(&events).contains("offline model"));
    assert!(widget_items(&events).is_empty());
}

/// The demo's tool that waits for approval: a card, Approve, the task is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_task_waits_for_the_users_approval() {
    let demo = start().await;
    let events = demo
        .stream(json!({"type": "threads.create", "params": {"input": message("Delete the task Stream a widget")}}))
        .await;
    let thread_id = match &events[0] {
        ThreadStreamEvent::ThreadCreated { thread } => thread.id.clone(),
        other => panic!("expected thread.created, got {other:?}"),
    };
    let card = widget_items(&events).pop().expect("an approval card");
    let shown = serde_json::to_value(&card.widget).unwrap().to_string();
    assert!(
        shown.contains("Delete task") && shown.contains("task: Stream a widget"),
        "{shown}"
    );
    let at = shown.find(r#""approval_id":""#).unwrap() + r#""approval_id":""#.len();
    let approval_id = shown[at..].split('"').next().unwrap().to_owned();

    let events = demo.stream(json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "item_id": card.id, "action": {"type": APPROVE_ACTION, "payload": {"approval_id": approval_id}}}})).await;
    assert!(
        assistant_text(&events).contains("Deleted the task \"Stream a widget\"; 2 tasks are left."),
        "{events:?}"
    );
    let events = demo.stream(json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message("Show my tasks")}})).await;
    let list = serde_json::to_value(&widget_items(&events).pop().unwrap().widget)
        .unwrap()
        .to_string();
    assert!(
        !list.contains("Stream a widget") && list.contains("Read the ChatKit protocol"),
        "{list}"
    );
}

/// Two demo processes' worth of servers (each with its own store and pool) on one
/// PostgreSQL schema: a conversation may go to either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_replicas_on_one_postgres_database_share_a_conversation() {
    let url = std::env::var("CHATKIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!(
        "ck_demo_{}_{}",
        std::process::id(),
        default_generate_id(StoreItemType::Thread)
    );
    let open = || async {
        let options = PostgresStoreOptions::default()
            .schema(&schema)
            .max_connections(4);
        PostgresStore::connect_with(&url, options)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is needed at {url}: {e}"))
    };
    let (store_a, store_b) = (open().await, open().await);
    let pool = store_a.pool().clone();
    let a = start_on(Arc::new(store_a), None).await;
    let b = start_on(Arc::new(store_b), None).await;

    // Created on A, continued on B, read on both.
    let created = a
        .stream(json!({"type": "threads.create", "params": {"input": message("What's the weather in Paris?")}}))
        .await;
    let ThreadStreamEvent::ThreadCreated { thread } = &created[0] else {
        panic!("{created:?}")
    };
    let thread_id = thread.id.clone();
    let continued = b
        .stream(json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": message("Show my tasks")}}))
        .await;
    let tasks = widget_items(&continued);
    assert_eq!(tasks.len(), 1, "{continued:?}");

    // B's widget, acted on through A: A reads the task list state B saved.
    let first_row = tasks[0].widget.to_value()["children"][0]["onClickAction"].clone();
    let acted = a
        .stream(json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "item_id": tasks[0].id, "action": {"type": first_row["type"], "payload": first_row["payload"]}}}))
        .await;
    assert!(
        acted
            .iter()
            .any(|e| matches!(e, ThreadStreamEvent::ThreadItemReplaced { .. })),
        "{acted:?}"
    );

    // Retried on B: the answer to the last message is made again.
    let user_messages: Page<ThreadItem> = a
        .json(json!({"type": "items.list", "params": {"thread_id": thread_id, "order": "desc", "limit": 50}}))
        .await;
    let last_user = user_messages
        .data
        .iter()
        .find(|item| matches!(item, ThreadItem::UserMessage(_)))
        .expect("a user message")
        .id()
        .to_owned();
    let retried = b
        .stream(json!({"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": last_user}}))
        .await;
    assert_eq!(
        widget_items(&retried).len(),
        1,
        "the task list again: {retried:?}"
    );
    let list = json!({"type": "items.list", "params": {"thread_id": thread_id, "order": "asc", "limit": 50}});
    let on_a: Page<ThreadItem> = a.json(list.clone()).await;
    let on_b: Page<ThreadItem> = b.json(list).await;
    assert_eq!(on_a, on_b);
    assert!(on_a.data.len() >= 4, "{:?}", on_a.data);

    // Paginated from either side alike.
    let page = json!({"type": "items.list", "params": {"thread_id": thread_id, "order": "asc", "limit": 2}});
    let first: Page<ThreadItem> = b.json(page).await;
    let after = first.after.clone().expect("more than one page");
    let next = json!({"type": "items.list", "params": {"thread_id": thread_id, "order": "asc", "limit": 50, "after": after}});
    let rest: Page<ThreadItem> = a.json(next).await;
    let joined: Vec<_> = first.data.into_iter().chain(rest.data).collect();
    assert_eq!(joined, on_a.data);

    // Deleted on B is gone for A.
    let _: Value = b
        .json(json!({"type": "threads.delete", "params": {"thread_id": thread_id}}))
        .await;
    let gone = a
        .post(json!({"type": "threads.get_by_id", "params": {"thread_id": thread_id}}))
        .await;
    assert_eq!(gone.status(), 404);

    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_demo_agent_uses_the_tools_of_chatkit_mcp_servers() {
    use chatkit_agents_workspace::demo::{app_with_tools, parse_mcp_servers};
    let servers =
        parse_mcp_servers(&format!("calc={}", env!("CARGO_BIN_EXE_mcp-test-server"))).unwrap();
    let store = Arc::new(chatkit_agents::store::MemoryStore::new());
    let demo = serve_app(
        app_with_tools(store, Arc::new(OfflineModel), servers.clone(), Vec::new()),
        None,
    )
    .await;
    let events = demo
        .stream(json!({"type": "threads.create", "params": {"input": message(r#"use calc_add {"a": 40, "b": 2}"#)}}))
        .await;
    assert_eq!(assistant_text(&events), "Done. 42");
    servers[0].close().await;
}

#[tokio::test]
async fn the_demo_offers_the_hosted_tools_it_is_given_and_shows_their_calls() {
    use chatkit_agents::agents::providers::openai::OpenAIResponsesModel;
    use chatkit_agents_workspace::demo::{app_with_tools, parse_hosted_tools};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let recorded = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/openai-sse/07_web_search_url_citation_gpt-5.2.sse"
    ))
    .unwrap();
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/responses"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(recorded, "text/event-stream"))
        .mount(&openai)
        .await;
    let model = OpenAIResponsesModel::with_base_url("gpt-5.2", openai.uri(), "sk-test");
    let tools = parse_hosted_tools("web_search").unwrap();
    let store = Arc::new(chatkit_agents::store::MemoryStore::new());
    let demo = serve_app(
        app_with_tools(store, Arc::new(model), Vec::new(), tools),
        None,
    )
    .await;
    let events = demo
        .stream(json!({"type": "threads.create", "params": {"input": message("What is the tallest mountain in Alberta?")}}))
        .await;

    let requests = openai.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let offered: Vec<&Value> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["type"])
        .collect();
    assert!(offered.contains(&&json!("web_search")), "{offered:?}");
    let searched = events.iter().any(|event| match event {
        ThreadStreamEvent::ThreadItemDone { item } => match &**item {
            ThreadItem::Workflow(workflow) => workflow
                .workflow
                .tasks
                .iter()
                .any(|task| matches!(task, Task::WebSearch(_))),
            _ => false,
        },
        _ => false,
    });
    assert!(searched, "the web search shows in the thread: {events:#?}");
    assert!(!assistant_text(&events).is_empty());
}
