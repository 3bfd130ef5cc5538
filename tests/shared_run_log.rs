//! Detached runs joined on another replica through Redis Streams, with real demo
//! processes on one PostgreSQL database and a slow model: a client that reconnects to
//! the other replica with `Last-Event-ID` gets exactly the events it missed, in order,
//! then the live ones to the end; a Redis that goes away mid-run ends the readers on the
//! other replica with a clear error event and loses nothing the store saves.

#![cfg(unix)]

use std::time::{Duration, Instant};

use chatkit_agents::runs::LOG_UNAVAILABLE_MESSAGE;
use serde_json::{json, Value};

mod support;

use support::demo_process::{
    assistant_text, errors, frames_until, load_thread, stored_items, Demo, PgDatabase,
};
use support::own_redis::OwnRedis;
use support::slow_model::SlowModel;
use support::sse::Frames;

const USER: &str = "drain-user";

fn replica(db: &str, model: &SlowModel, redis: &str) -> Demo {
    Demo::start_with(
        db,
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", model.url()),
            ("CHATKIT_RUNS", "detach"),
            ("CHATKIT_RUN_LOG", redis),
        ],
    )
}

fn delta(event: &Value) -> &str {
    event["update"]["delta"].as_str().unwrap_or_default()
}

async fn resume(url: &str, user: &str, cursor: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{url}/chatkit/runs/events"))
        .header("x-user-id", user)
        .header("last-event-id", cursor)
        .send()
        .await
        .unwrap()
}

/// `<run id>.<n>` into its parts.
fn cursor(id: &str) -> (&str, u64) {
    let (run, n) = id.rsplit_once('.').unwrap();
    (run, n.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_joined_on_another_replica_with_exactly_the_missing_events() {
    let db = PgDatabase::create("shared_log").await;
    let model = SlowModel::start(Duration::from_millis(10)).await;
    let redis = "redis://127.0.0.1:6379";
    let a = replica(&db.url, &model, redis);
    let b = replica(&db.url, &model, redis);

    let (seen, _) = frames_until(&a.url, 100).await;
    let last = seen
        .last()
        .unwrap()
        .id
        .clone()
        .expect("detached frames carry ids");
    let (run_id, last_n) = cursor(&last);

    // The client comes back through the other replica.
    let response = resume(&b.url, USER, &last).await;
    assert_eq!(response.status(), 200);
    let rest = Frames::new(response).rest().await;
    let numbers: Vec<u64> = rest
        .iter()
        .map(|f| cursor(f.id.as_deref().unwrap()).1)
        .collect();
    let expected: Vec<u64> = (last_n + 1..last_n + 1 + rest.len() as u64).collect();
    assert_eq!(numbers, expected, "no gap, no duplicate, in order");
    let text: String = seen.iter().chain(&rest).map(|f| delta(&f.event)).collect();
    assert_eq!(text, model.full_text(), "every delta once");
    assert!(
        rest.last().unwrap().event["type"] == "thread.item.done"
            || rest.last().unwrap().event["type"] == "thread.updated",
        "to the end: {:?}",
        rest.last()
    );

    // From the start, on either replica; other users and bad cursors are refused.
    let all = Frames::new(resume(&b.url, USER, &format!("{run_id}.0")).await)
        .rest()
        .await;
    assert_eq!(all.len() as u64, last_n + rest.len() as u64);
    assert_eq!(resume(&b.url, "someone-else", &last).await.status(), 404);
    assert_eq!(resume(&b.url, USER, "garbage").await.status(), 400);
    let future = format!("{run_id}.{}", last_n + rest.len() as u64 + 5);
    assert_eq!(resume(&b.url, USER, &future).await.status(), 400);
    assert_eq!(resume(&b.url, USER, "run_nowhere.3").await.status(), 404);
    drop((a, b));
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_backend_that_goes_away_ends_remote_readers_clearly_and_loses_nothing() {
    let db = PgDatabase::create("log_gone").await;
    let model = SlowModel::start(Duration::from_millis(15)).await;
    let mut redis = OwnRedis::start().await;
    let a = replica(&db.url, &model, &redis.url);
    let b = replica(&db.url, &model, &redis.url);

    let (seen, _) = frames_until(&a.url, 50).await;
    let last = seen.last().unwrap().id.clone().unwrap();
    let thread_id = seen[0].event["thread"]["id"].as_str().unwrap().to_owned();
    let mut following = Frames::new(resume(&b.url, USER, &last).await);
    assert!(!following.take(3).await.is_empty());

    redis.kill();
    let rest: Vec<Value> = following
        .rest()
        .await
        .into_iter()
        .map(|f| f.event)
        .collect();
    assert_eq!(
        errors(&rest),
        [LOG_UNAVAILABLE_MESSAGE],
        "a clear error, then the end"
    );
    assert_eq!(resume(&b.url, USER, &last).await.status(), 503);

    // The run itself goes on and is saved whole, as the store sees it on any replica.
    model.set_delay(Duration::from_millis(1));
    let deadline = Instant::now() + Duration::from_secs(30);
    while load_thread(&b.url, &thread_id).await["status"] != json!({"type": "active"}) {
        assert!(Instant::now() < deadline, "the run did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let saved = assistant_text(&stored_items(&b.url, &thread_id).await);
    assert_eq!(saved, model.full_text());
    drop((a, b));
    db.drop_now().await;
}
