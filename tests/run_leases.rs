//! Runs hold their threads through leases in the store, tested with real demo processes
//! answering from a slow model: a process killed mid-answer leaves a lease that its
//! restart (same replica name) closes at once, and another replica after the lease
//! runs out — either way as a cancelled stream (text so far kept, the hidden note
//! added), the thread usable again; two messages at once on two replicas get one
//! answer; a detached run shows as locked on another replica and is stopped from it.

#![cfg(unix)]

use std::time::{Duration, Instant};

use chatkit_agents::server::{CANCELLED_NOTE, RUN_ACTIVE_REASON, THREAD_BUSY_MESSAGE};
use serde_json::{json, Value};

mod support;

use support::demo_process::{
    answer_until, assistant_text, cancel_run, errors, load_thread, rest, send_message,
    stored_items, Demo, PgDatabase, TempDir,
};
use support::slow_model::SlowModel;

/// A demo on `db` answering with `model`, as replica `replica`, with `extra` settings.
fn replica(db: &str, model: &SlowModel, replica: &str, extra: &[(&str, &str)]) -> Demo {
    let mut env = vec![
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", model.url()),
        ("CHATKIT_REPLICA", replica),
    ];
    env.extend_from_slice(extra);
    Demo::start_with(db, &env)
}

/// Whether the model's last request carried the hidden cancel note.
fn last_input_has_the_note(model: &SlowModel) -> bool {
    model.requests().last().unwrap()["input"]
        .to_string()
        .contains(CANCELLED_NOTE)
}

/// The assistant texts of the model's last request (the thread's history as the
/// model read it). The recorded answer's item id is the same every time, so a thread's
/// stored answers replace each other: the history the model was given is what shows
/// what the thread held.
fn answers_read_by_the_model(model: &SlowModel) -> Vec<String> {
    let request = model.requests().pop().unwrap();
    request["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["role"] == "assistant")
        .map(|item| {
            let parts = item["content"].as_array().cloned().unwrap_or_default();
            parts.iter().filter_map(|p| p["text"].as_str()).collect()
        })
        .collect()
}

/// Whether `partial` is the start of the model's answer, at least `min` characters,
/// and not all of it.
fn is_partial(partial: &str, model: &SlowModel, min: usize) -> bool {
    let full = model.full_text();
    full.starts_with(partial) && partial.len() >= min && partial.len() < full.len()
}

/// Starts an answer on `demo`, reads 200 characters and a second more, then kills the
/// demo with SIGKILL: the thread's id.
async fn killed_mid_answer(demo: Demo) -> String {
    let (thread_id, mut body) = answer_until(&demo.url, 200).await;
    body.read_for(Duration::from_millis(1200)).await;
    demo.kill9();
    thread_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_replica_closes_the_run_its_crash_left_at_once() {
    let dir = TempDir::new("lease-restart");
    let db = dir.file("demo.sqlite");
    let model = SlowModel::start(Duration::from_millis(20)).await;
    let thread_id = killed_mid_answer(replica(&db, &model, "a", &[])).await;

    // Restarted well within the 20 s lease: its name says the lease is its own.
    let again = replica(&db, &model, "a", &[]);
    model.set_delay(Duration::ZERO);
    let events = send_message(&again.url, &thread_id, "Go on.").await;
    assert!(errors(&events).is_empty(), "{events:?}");
    assert!(
        last_input_has_the_note(&model),
        "closed as a cancelled stream"
    );
    let answers = answers_read_by_the_model(&model);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(is_partial(&answers[0], &model, 200), "{answers:?}");
    let saved = assistant_text(&stored_items(&again.url, &thread_id).await);
    assert_eq!(saved, model.full_text(), "the new answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replica_takes_over_a_dead_run_once_its_lease_runs_out() {
    let db = PgDatabase::create("lease_takeover").await;
    let model = SlowModel::start(Duration::from_millis(20)).await;
    let short = [("CHATKIT_RUN_LEASE_TTL", "2")];
    let b = replica(&db.url, &model, "b", &short);
    let thread_id = killed_mid_answer(replica(&db.url, &model, "a", &short)).await;
    let killed_at = Instant::now();
    model.set_delay(Duration::ZERO);

    // The lease is still good: the thread is answering as far as anyone can tell.
    let refused = send_message(&b.url, &thread_id, "Hello?").await;
    assert_eq!(errors(&refused), [THREAD_BUSY_MESSAGE], "{refused:?}");
    let items = stored_items(&b.url, &thread_id).await;
    assert!(
        !items.iter().any(|i| i.to_string().contains("Hello?")),
        "nothing of it saved"
    );

    // Renewed every 0.5 s, the lease runs out at most 2 s after the kill.
    tokio::time::sleep(Duration::from_millis(2100).saturating_sub(killed_at.elapsed())).await;
    let events = send_message(&b.url, &thread_id, "Go on.").await;
    assert!(errors(&events).is_empty(), "{events:?}");
    assert!(last_input_has_the_note(&model));
    let answers = answers_read_by_the_model(&model);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(is_partial(&answers[0], &model, 200), "{answers:?}");
    drop(b);
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messages_at_once_on_two_replicas_get_one_answer() {
    let db = PgDatabase::create("lease_twice").await;
    let model = SlowModel::start(Duration::ZERO).await;
    let a = replica(&db.url, &model, "a", &[]);
    let b = replica(&db.url, &model, "b", &[]);
    let (thread_id, body) = answer_until(&a.url, 1).await;
    rest(body).await;

    model.set_delay(Duration::from_millis(3));
    let (one, two) = tokio::join!(
        send_message(&a.url, &thread_id, "One"),
        send_message(&b.url, &thread_id, "Two")
    );
    let refused = [&one, &two]
        .iter()
        .filter(|events| errors(events) == [THREAD_BUSY_MESSAGE])
        .count();
    let answered = [&one, &two]
        .iter()
        .filter(|events| errors(events).is_empty())
        .count();
    assert_eq!((refused, answered), (1, 1), "{one:?}\n{two:?}");
    let items = stored_items(&a.url, &thread_id).await;
    let users: Vec<String> = items
        .iter()
        .filter(|i| i["type"] == "user_message")
        .map(|i| i["content"][0]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        users.len(),
        2,
        "the first message and one of the two: {users:?}"
    );
    let kept = if errors(&one).is_empty() {
        "One"
    } else {
        "Two"
    };
    assert_eq!(users[1], kept);
    drop((a, b));
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_run_is_seen_and_stopped_from_another_replica() {
    let db = PgDatabase::create("lease_cancel").await;
    let model = SlowModel::start(Duration::from_millis(20)).await;
    let settings = [("CHATKIT_RUNS", "detach"), ("CHATKIT_RUN_LEASE_TTL", "2")];
    let a = replica(&db.url, &model, "a", &settings);
    let b = replica(&db.url, &model, "b", &settings);
    let (thread_id, body) = answer_until(&a.url, 100).await;
    drop(body);

    let shown = load_thread(&b.url, &thread_id).await;
    assert_eq!(
        shown["status"],
        json!({"type": "locked", "reason": RUN_ACTIVE_REASON})
    );
    assert_eq!(cancel_run(&b.url, "someone-else", &thread_id).await.0, 404);
    let asked = Instant::now();
    assert_eq!(
        cancel_run(&b.url, "drain-user", &thread_id).await,
        (200, json!({"cancelled": true}))
    );
    // Replica a stops it at its next renewal (every 0.5 s) and saves it as cancelled.
    let mut status = Value::Null;
    while asked.elapsed() < Duration::from_secs(5) {
        status = load_thread(&b.url, &thread_id).await["status"].clone();
        if status == json!({"type": "active"}) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        status,
        json!({"type": "active"}),
        "stopped within {:?}",
        asked.elapsed()
    );
    let saved = assistant_text(&stored_items(&b.url, &thread_id).await);
    assert!(is_partial(&saved, &model, 100), "{saved}");
    assert_eq!(
        cancel_run(&b.url, "drain-user", &thread_id).await,
        (200, json!({"cancelled": false}))
    );

    model.set_delay(Duration::ZERO);
    let events = send_message(&b.url, &thread_id, "Go on.").await;
    assert!(errors(&events).is_empty(), "{events:?}");
    assert!(last_input_has_the_note(&model));
    drop((a, b));
    db.drop_now().await;
}
