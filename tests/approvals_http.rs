//! Tool calls that wait for the user's approval, end to end over HTTP: an `AgentServer`
//! behind the axum endpoint on an ephemeral port, driven as the ChatKit client drives
//! it. A message leads to an approval card; approving runs the tool and streams the
//! answer; rejecting gives the model the rejection; a restart between the card and the
//! click loses nothing; deciding twice (also on two replicas) runs once; a foreign
//! approval id or user is refused; two pending calls are decided one by one; a new
//! message abandons the waiting run.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatkit_agents::agents::{chatkit::REJECT_ACTION, ToolContext};
use chatkit_agents::agents::{
    chatkit::{AgentContext, AgentServer, APPROVE_ACTION},
    function_tool, Agent,
};
use chatkit_agents::http::{ChatKitEndpoint, Rejection};
use chatkit_agents::store::{PostgresStore, PostgresStoreOptions, SqliteStore, Store};
use chatkit_agents::testing::{requests, ScriptedModel, Step, TestUser};
use chatkit_agents::types::{default_generate_id, StoreItemType};
use serde_json::{json, Value};

/// Every run of `delete_task`, by its argument (each test uses its own names).
static DELETED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn deletions(name: &str) -> usize {
    DELETED
        .lock()
        .unwrap()
        .iter()
        .filter(|n| *n == name)
        .count()
}

/// Delete a task.
#[function_tool(needs_approval)]
async fn delete_task(_ctx: &ToolContext<AgentContext<TestUser>>, name: String) -> String {
    DELETED.lock().unwrap().push(name.clone());
    format!("deleted {name}")
}

fn call(name: &str, call_id: &str) -> Step {
    Step::ToolCall {
        name: "delete_task".into(),
        arguments: json!({ "name": name }),
        call_id: Some(call_id.into()),
        id: None,
    }
}

struct Site {
    address: SocketAddr,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An `AgentServer` of `model` on `store`, served on an ephemeral port; the user comes
/// from the `x-user` header.
async fn serve(store: Arc<dyn Store<TestUser>>, model: Arc<ScriptedModel>) -> Site {
    let agent = Agent::new("Tasks", model).tool(delete_task);
    let server = Arc::new(AgentServer::new(store, agent));
    let app = ChatKitEndpoint::new(server, |parts| {
        let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
        user.map(|u| TestUser(u.to_owned()))
            .ok_or_else(|| Rejection::unauthorized("no x-user header"))
    })
    .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Site {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        task,
    }
}

impl Site {
    /// The SSE events of a streaming request (or the HTTP status of a refusal).
    async fn stream(&self, user: &str, body: Value) -> Result<Vec<Value>, u16> {
        let response = self
            .client
            .post(format!("http://{}/chatkit", self.address))
            .header("x-user", user)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        if response.status() != 200 {
            return Err(response.status().as_u16());
        }
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let text = response.text().await.unwrap();
        Ok(text
            .split_terminator("\n\n")
            .map(|frame| serde_json::from_str(frame.strip_prefix("data: ").unwrap()).unwrap())
            .collect())
    }

    async fn json(&self, user: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("http://{}/chatkit", self.address))
            .header("x-user", user)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    async fn decide(&self, user: &str, thread: &str, card: &Card, approve: bool) -> Vec<Value> {
        self.stream(user, decision(thread, card, approve))
            .await
            .unwrap()
    }
}

fn decision(thread: &str, card: &Card, approve: bool) -> Value {
    let action = if approve {
        APPROVE_ACTION
    } else {
        REJECT_ACTION
    };
    requests::custom_action(
        thread,
        Some(&card.item_id),
        json!({"type": action, "payload": {"approval_id": card.approval_id}}),
    )
}

/// An approval card as the client sees it.
#[derive(Debug, Clone)]
struct Card {
    item_id: String,
    approval_id: String,
}

/// The approval cards a stream added.
fn cards(events: &[Value]) -> Vec<Card> {
    events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "widget")
        .filter_map(|e| {
            let text = e["item"]["widget"].to_string();
            let at = text.find(r#""approval_id":""#)? + r#""approval_id":""#.len();
            let approval_id = text[at..].split('"').next()?.to_owned();
            Some(Card {
                item_id: e["item"]["id"].as_str()?.to_owned(),
                approval_id,
            })
        })
        .collect()
}

fn thread_id(events: &[Value]) -> String {
    events[0]["thread"]["id"].as_str().unwrap().to_owned()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// The text of the assistant messages a stream finished.
fn said(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .map(|e| e["item"]["content"][0]["text"].as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The widget a `thread.item.replaced` put in place of `card`.
fn redrawn<'a>(events: &'a [Value], card: &Card) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["type"] == "thread.item.replaced" && e["item"]["id"] == card.item_id.as_str())
        .map(|e| &e["item"]["widget"])
}

fn notices(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["type"] == "notice")
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

fn errors(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["type"] == "error")
        .map(|e| e["message"].as_str().unwrap_or_default())
        .collect()
}

/// The function call outputs of the model's `turn`th request (1-based).
fn tool_outputs(model: &ScriptedModel, turn: usize) -> Vec<(String, String)> {
    model.requests()[turn - 1]
        .input
        .iter()
        .filter(|i| i["type"] == "function_call_output")
        .map(|i| {
            (
                i["call_id"].as_str().unwrap().to_owned(),
                i["output"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A fresh SQLite file (removed when dropped).
struct SqliteFile(std::path::PathBuf);

impl SqliteFile {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "chatkit-approvals-{}-{}.sqlite",
            std::process::id(),
            default_generate_id(StoreItemType::Thread)
        ));
        SqliteFile(path)
    }

    async fn open(&self) -> Arc<dyn Store<TestUser>> {
        Arc::new(SqliteStore::open(&self.0).await.unwrap())
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// A conversation on a fresh SQLite file whose first message led to approval cards.
struct Begun {
    site: Site,
    model: Arc<ScriptedModel>,
    thread: String,
    cards: Vec<Card>,
    /// The first message's stream.
    events: Vec<Value>,
    /// Bind it when destructuring (`_file, ..`): dropping it removes the database.
    _file: SqliteFile,
}

/// Serves `turns` and sends `text` as ada's first message.
async fn begin(turns: Vec<Vec<Step>>, text: &str) -> Begun {
    let model = Arc::new(ScriptedModel::new(turns));
    let file = SqliteFile::new();
    let site = serve(file.open().await, model.clone()).await;
    let events = site
        .stream("ada", requests::create_thread(text))
        .await
        .unwrap();
    Begun {
        thread: thread_id(&events),
        cards: cards(&events),
        site,
        model,
        events,
        _file: file,
    }
}

#[tokio::test]
async fn approving_runs_the_tool_and_streams_the_answer() {
    let Begun {
        site,
        model,
        thread,
        mut cards,
        events,
        _file,
        ..
    } = begin(
        vec![
            vec![Step::text("Deleting it."), call("approve-1", "call_1")],
            vec![Step::text("Deleted approve-1.")],
        ],
        "delete approve-1",
    )
    .await;
    assert_eq!(said(&events), "Deleting it.");
    let card = cards.pop().expect("an approval card");
    let widget = events
        .iter()
        .find(|e| e["item"]["id"] == card.item_id.as_str())
        .unwrap();
    let shown = widget["item"]["widget"].to_string();
    assert!(
        shown.contains("Delete task") && shown.contains("name: approve-1"),
        "{shown}"
    );
    assert_eq!(deletions("approve-1"), 0, "nothing runs before the click");

    let events = site.decide("ada", &thread, &card, true).await;
    assert_eq!(deletions("approve-1"), 1);
    let decided = redrawn(&events, &card)
        .expect("the card shows the decision")
        .to_string();
    assert!(
        decided.contains("Approved") && !decided.contains(APPROVE_ACTION),
        "{decided}"
    );
    assert_eq!(said(&events), "Deleted approve-1.");
    assert_eq!(
        tool_outputs(&model, 2),
        [("call_1".to_owned(), "deleted approve-1".to_owned())]
    );

    // The thread keeps the decided card and both answers.
    let items = site.json("ada", requests::list_items(&thread)).await;
    let kinds: Vec<&str> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "user_message",
            "assistant_message",
            "widget",
            "assistant_message"
        ]
    );
    assert!(items["data"][2]["widget"].to_string().contains("Approved"));
}

#[tokio::test]
async fn rejecting_gives_the_model_the_rejection() {
    let Begun {
        site,
        model,
        thread,
        mut cards,
        _file,
        ..
    } = begin(
        vec![
            vec![call("reject-1", "call_1")],
            vec![Step::text("I kept reject-1.")],
        ],
        "delete",
    )
    .await;
    let card = cards.pop().unwrap();

    let events = site.decide("ada", &thread, &card, false).await;
    assert_eq!(deletions("reject-1"), 0);
    assert!(redrawn(&events, &card)
        .unwrap()
        .to_string()
        .contains("Rejected"));
    assert_eq!(said(&events), "I kept reject-1.");
    assert_eq!(
        tool_outputs(&model, 2),
        [(
            "call_1".to_owned(),
            "Tool execution was not approved.".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_restart_between_the_card_and_the_click_loses_nothing() {
    let file = SqliteFile::new();
    let first = Arc::new(ScriptedModel::new(vec![vec![call("restart-1", "call_1")]]));
    let site = serve(file.open().await, first).await;
    let events = site
        .stream("ada", requests::create_thread("delete"))
        .await
        .unwrap();
    let thread = thread_id(&events);
    let card = cards(&events).pop().unwrap();
    drop(site);

    // A new process: a new store on the same file, a new model.
    let second = Arc::new(ScriptedModel::new(vec![vec![Step::text(
        "Done after the restart.",
    )]]));
    let site = serve(file.open().await, second.clone()).await;
    let events = site.decide("ada", &thread, &card, true).await;
    assert_eq!(deletions("restart-1"), 1);
    assert_eq!(said(&events), "Done after the restart.");
    // The resumed conversation is the one from before the restart.
    let input = second.requests()[0].input.to_vec();
    assert!(input
        .iter()
        .any(|i| i["type"] == "function_call" && i["call_id"] == "call_1"));
}

#[tokio::test]
async fn deciding_twice_runs_once() {
    let Begun {
        site,
        model,
        thread,
        mut cards,
        _file,
        ..
    } = begin(
        vec![
            vec![call("twice-1", "call_1")],
            vec![Step::text("Deleted once.")],
        ],
        "delete",
    )
    .await;
    let card = cards.pop().unwrap();

    // A double click: both requests at once.
    let (a, b) = tokio::join!(
        site.decide("ada", &thread, &card, true),
        site.decide("ada", &thread, &card, true)
    );
    assert_eq!(deletions("twice-1"), 1);
    let answered = [&a, &b]
        .iter()
        .filter(|e| said(e) == "Deleted once.")
        .count();
    assert_eq!(answered, 1, "one request resumes the run: {a:?} {b:?}");
    // The other click finds the thread answering (refused, nothing saved), or, if it
    // comes after the answer, the decision already taken.
    let other = if said(&a).is_empty() { &a } else { &b };
    let refused = errors(other) == [chatkit_agents::server::THREAD_BUSY_MESSAGE];
    assert!(refused || notices(other).len() == 1, "{other:?}");

    // A replay later, approving or rejecting, changes nothing.
    for approve in [true, false] {
        let replay = site.decide("ada", &thread, &card, approve).await;
        assert_eq!(
            notices(&replay),
            ["This request is no longer waiting for approval."]
        );
    }
    assert_eq!(deletions("twice-1"), 1);
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn a_foreign_approval_id_or_user_is_refused() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![call("foreign-a", "call_1")],
        vec![call("foreign-b", "call_1")],
    ]));
    let file = SqliteFile::new();
    let site = serve(file.open().await, model).await;
    let a = site
        .stream("ada", requests::create_thread("delete a"))
        .await
        .unwrap();
    let b = site
        .stream("ada", requests::create_thread("delete b"))
        .await
        .unwrap();
    let (thread_a, card_a) = (thread_id(&a), cards(&a).pop().unwrap());
    let thread_b = thread_id(&b);

    // Thread A's card sent to thread B: the item is not B's.
    assert_eq!(
        site.stream("ada", decision(&thread_b, &card_a, true))
            .await
            .err(),
        Some(404)
    );
    // Thread A's approval id sent to thread B without an item: refused, nothing runs.
    let action = json!({"type": APPROVE_ACTION, "payload": {"approval_id": card_a.approval_id}});
    let events = site
        .stream("ada", requests::custom_action(&thread_b, None, action))
        .await
        .unwrap();
    assert_eq!(
        errors(&events),
        ["This approval does not belong to this conversation."]
    );
    // Another user: the thread is not theirs.
    assert_eq!(
        site.stream("bob", decision(&thread_a, &card_a, true))
            .await
            .err(),
        Some(404)
    );
    // A forged payload.
    let forged = requests::custom_action(
        &thread_a,
        None,
        json!({"type": APPROVE_ACTION, "payload": {"approval_id": "apr_x", "tool": "rm -rf"}}),
    );
    let events = site.stream("ada", forged).await.unwrap();
    assert_eq!(errors(&events).len(), 1, "{events:?}");
    let forged = requests::custom_action(
        &thread_a,
        None,
        json!({"type": APPROVE_ACTION, "payload": {"approval_id": "../../etc"}}),
    );
    let events = site.stream("ada", forged).await.unwrap();
    assert!(
        errors(&events)[0].contains("not an approval id"),
        "{events:?}"
    );

    assert_eq!(deletions("foreign-a") + deletions("foreign-b"), 0);
}

#[tokio::test]
async fn two_pending_calls_are_decided_one_by_one() {
    let Begun {
        site,
        model,
        thread,
        cards: found,
        _file,
        ..
    } = begin(
        vec![
            vec![call("pair-1", "call_1"), call("pair-2", "call_2")],
            vec![Step::text("Deleted one, kept one.")],
        ],
        "delete both",
    )
    .await;
    assert_eq!(found.len(), 2);

    let first = site.decide("ada", &thread, &found[0], true).await;
    assert_eq!(types(&first), ["stream_options", "thread.item.replaced"]);
    assert_eq!(
        deletions("pair-1"),
        0,
        "the run waits for the other decision"
    );
    assert_eq!(model.requests().len(), 1);

    let second = site.decide("ada", &thread, &found[1], false).await;
    assert!(redrawn(&second, &found[1])
        .unwrap()
        .to_string()
        .contains("Rejected"));
    assert_eq!(said(&second), "Deleted one, kept one.");
    assert_eq!((deletions("pair-1"), deletions("pair-2")), (1, 0));
    assert_eq!(
        tool_outputs(&model, 2),
        [
            ("call_1".to_owned(), "deleted pair-1".to_owned()),
            (
                "call_2".to_owned(),
                "Tool execution was not approved.".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn a_new_message_abandons_the_waiting_run() {
    let Begun {
        site,
        thread,
        mut cards,
        _file,
        ..
    } = begin(
        vec![
            vec![call("abandon-1", "call_1")],
            vec![Step::text("Never mind then.")],
        ],
        "delete",
    )
    .await;
    let card = cards.pop().unwrap();

    let events = site
        .stream(
            "ada",
            requests::add_user_message(&thread, "actually, don't"),
        )
        .await
        .unwrap();
    let expired = redrawn(&events, &card)
        .expect("the card expires")
        .to_string();
    assert!(
        expired.contains("Expired") && !expired.contains(APPROVE_ACTION),
        "{expired}"
    );
    assert_eq!(said(&events), "Never mind then.");

    let late = site.decide("ada", &thread, &card, true).await;
    assert_eq!(
        notices(&late),
        ["This request is no longer waiting for approval."]
    );
    assert_eq!(deletions("abandon-1"), 0);
}

fn postgres_url() -> String {
    std::env::var("CHATKIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

#[tokio::test]
async fn two_replicas_deciding_at_once_run_the_call_once() {
    let schema = format!("ck_approvals_{}", std::process::id());
    let open = || async {
        let options = PostgresStoreOptions::default()
            .schema(&schema)
            .max_connections(4);
        PostgresStore::connect_with(&postgres_url(), options)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is needed at {}: {e}", postgres_url()))
    };
    let (store_a, store_b) = (open().await, open().await);
    // Each replica has its own model: whichever resumes the run asks its own.
    let model_a = Arc::new(ScriptedModel::new(vec![
        vec![call("replicas-1", "call_1")],
        vec![Step::text("Deleted on A.")],
    ]));
    let model_b = Arc::new(ScriptedModel::new(vec![vec![Step::text("Deleted on B.")]]));
    let a = serve(Arc::new(store_a.clone()), model_a).await;
    let b = serve(Arc::new(store_b), model_b).await;

    let events = a
        .stream("ada", requests::create_thread("delete"))
        .await
        .unwrap();
    let thread = thread_id(&events);
    let card = cards(&events).pop().unwrap();
    let (on_a, on_b) = tokio::join!(
        a.decide("ada", &thread, &card, true),
        b.decide("ada", &thread, &card, true)
    );
    assert_eq!(deletions("replicas-1"), 1);
    let answers: Vec<String> = [&on_a, &on_b].iter().map(|e| said(e)).collect();
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.starts_with("Deleted on"))
            .count(),
        1,
        "{on_a:?} {on_b:?}"
    );

    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(store_a.pool())
    .await
    .unwrap();
}
