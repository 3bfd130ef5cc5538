//! Two server replicas (each with its own `PostgresStore` and pool) on one PostgreSQL
//! schema, driven through `process` as the HTTP endpoint drives them: any replica may
//! get any request of a conversation, and the answers must be those of one server.

use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::agents::{chatkit::AgentServer, Agent};
use chatkit_agents::store::{PostgresStore, PostgresStoreOptions};
use chatkit_agents::testing::{requests, send, Reply, ScriptedModel, Step, TestUser};
use serde_json::{json, Value};

fn url() -> String {
    std::env::var("CHATKIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

struct Replica {
    server: Arc<AgentServer<TestUser>>,
    model: Arc<ScriptedModel>,
    store: PostgresStore,
}

/// Two replicas on a fresh schema.
async fn replicas(name: &str) -> (Replica, Replica, String) {
    let schema = format!("ck_replicas_{name}_{}", std::process::id());
    let open = || async {
        let options = PostgresStoreOptions::default()
            .schema(&schema)
            .max_connections(4);
        PostgresStore::connect_with(&url(), options)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is needed at {}: {e}", url()))
    };
    // A leftover of an interrupted run of the same process id would be seen: start clean.
    let first = open().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(first.pool())
    .await
    .unwrap();
    first.pool().close().await;
    let replica = |store: PostgresStore| {
        let model = Arc::new(ScriptedModel::new(Vec::new()));
        let agent = Agent::new("Replica", model.clone());
        Replica {
            server: Arc::new(AgentServer::new(Arc::new(store.clone()), agent)),
            model,
            store,
        }
    };
    (replica(open().await), replica(open().await), schema)
}

async fn drop_schema(replica: &Replica, schema: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(replica.store.pool())
    .await
    .unwrap();
}

fn user(name: &str) -> TestUser {
    TestUser(name.into())
}

async fn json(replica: &Replica, request: Value, who: &str) -> Value {
    match send(&replica.server, &request, user(who)).await.unwrap() {
        Reply::Json(json) => json,
        Reply::Events(events) => panic!("expected JSON, got {events:?}"),
    }
}

fn texts(items: &Value) -> Vec<String> {
    items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| match item["type"].as_str() {
            Some("user_message") => {
                format!("user:{}", item["content"][0]["text"].as_str().unwrap())
            }
            Some(kind) => format!(
                "{kind}:{}",
                item["content"][0]["text"].as_str().unwrap_or("")
            ),
            None => "?".into(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_to_one_thread_on_both_replicas_answer_one_at_a_time() {
    let (a, b, schema) = replicas("concurrent").await;
    a.model.push_turn(vec![Step::text("Welcome.")]);
    let created = send(&a.server, &requests::create_thread("start"), user("ada"))
        .await
        .unwrap();
    let thread = created.thread_id().unwrap().to_owned();
    for n in 0..5 {
        a.model
            .push_turn(vec![Step::text(format!("answer from A {n}"))]);
        b.model
            .push_turn(vec![Step::text(format!("answer from B {n}"))]);
    }
    let sends = (0..10u32).map(|n| {
        let replica = if n.is_multiple_of(2) { &a } else { &b };
        let request = requests::add_user_message(&thread, &format!("message {n}"));
        async move { send(&replica.server, &request, user("ada")).await.unwrap() }
    });
    let replies = futures::future::join_all(sends).await;
    // The thread answers one message at a time, whichever replica gets it: the others
    // are refused with the busy message and nothing of them is saved.
    let mut answered = 0;
    for reply in &replies {
        let types = reply.event_types();
        if types.contains(&"thread.item.done:assistant_message".to_owned()) {
            answered += 1;
        } else {
            assert_eq!(types, ["error"], "refused, nothing else: {types:?}");
            assert_eq!(
                reply.events()[0]["message"],
                chatkit_agents::server::THREAD_BUSY_MESSAGE
            );
        }
    }
    assert!(answered >= 1);
    let list = json!({"type": "items.list", "params": {"thread_id": thread, "order": "asc", "limit": 100}});
    let on_a = json(&a, list.clone(), "ada").await;
    let on_b = json(&b, list, "ada").await;
    assert_eq!(on_a, on_b, "both replicas see one order");
    let texts = texts(&on_a);
    assert_eq!(texts.len(), 2 + 2 * answered, "{texts:?}");
    let users = texts.iter().filter(|t| t.starts_with("user:")).count();
    assert_eq!(users, 1 + answered, "{texts:?}");
    drop_schema(&a, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_never_sees_another_users_threads_on_either_replica() {
    let (a, b, schema) = replicas("isolation").await;
    a.model.push_turn(vec![Step::text("Hello Ada.")]);
    let created = send(&a.server, &requests::create_thread("I am Ada"), user("ada"))
        .await
        .unwrap();
    let thread = created.thread_id().unwrap().to_owned();
    for replica in [&a, &b] {
        let threads = json(
            replica,
            json!({"type": "threads.list", "params": {"limit": 10}}),
            "bob",
        )
        .await;
        assert_eq!(threads["data"], json!([]));
        let refused = send(&replica.server, &requests::get_thread(&thread), user("bob"))
            .await
            .unwrap_err();
        assert_eq!(refused.status(), 404, "{refused}");
        // items.list does not look the thread up (as in the reference): Bob gets nothing.
        let items = json(replica, requests::list_items(&thread), "bob").await;
        assert_eq!(items["data"], json!([]));
        let mine = json(
            replica,
            json!({"type": "threads.list", "params": {"limit": 10}}),
            "ada",
        )
        .await;
        assert_eq!(mine["data"][0]["id"], thread.as_str());
    }
    drop_schema(&a, &schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_on_one_replica_is_final_for_the_other_while_it_streams() {
    let (a, b, schema) = replicas("delete").await;
    a.model.push_turn(vec![Step::text("First.")]);
    let created = send(&a.server, &requests::create_thread("start"), user("ada"))
        .await
        .unwrap();
    let thread = created.thread_id().unwrap().to_owned();
    // A's next answer takes a while to start; B deletes the thread meanwhile.
    a.model.push_turn(vec![
        Step::Delay(Duration::from_millis(400)),
        Step::text("Too late."),
    ]);
    let streaming = {
        let server = a.server.clone();
        let request = requests::add_user_message(&thread, "and then?");
        tokio::spawn(async move { send(&server, &request, user("ada")).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let _ = json(
        &b,
        json!({"type": "threads.delete", "params": {"thread_id": thread}}),
        "ada",
    )
    .await;
    // A's stream ends (cleanly or with its error event), and nothing of it is stored.
    let _ = streaming.await.unwrap();
    for replica in [&a, &b] {
        let gone = send(&replica.server, &requests::get_thread(&thread), user("ada"))
            .await
            .unwrap_err();
        assert_eq!(gone.status(), 404);
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM chatkit_items WHERE thread_id = $1")
        .bind(&thread)
        .fetch_one(a.store.pool())
        .await
        .unwrap();
    assert_eq!(rows, 0, "no item of the deleted thread survives");
    drop_schema(&a, &schema).await;
}
