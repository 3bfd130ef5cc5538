//! kill -9 of a real demo process mid-answer, on SQLite and on PostgreSQL: the answer's
//! text was checkpointed while it streamed (at most a second behind), so a restarted
//! process shows what the user had read, up to the last checkpoint.

#![cfg(unix)]

use std::time::Duration;

mod support;

use support::demo_process::{
    answer_until, assistant_text, stored_items, Demo, PgDatabase, TempDir,
};
use support::slow_model::SlowModel;

/// Streams an answer from a slow model (20 ms a delta, some 8 s in all), kills the demo
/// 1.5 s after the client has read `mark` characters, restarts it on the same database
/// and returns the saved text with the model's whole answer.
async fn killed_mid_answer(db: &str) -> (String, String, usize) {
    let model = SlowModel::start(Duration::from_millis(20)).await;
    let demo = Demo::start(db, &model, "20");
    let mark = 200;
    let (thread_id, mut body) = answer_until(&demo.url, mark).await;
    body.read_for(Duration::from_millis(1500)).await;
    demo.kill9();
    drop(body);

    let again = Demo::start(db, &model, "20");
    let items = stored_items(&again.url, &thread_id).await;
    (assistant_text(&items), model.full_text(), mark)
}

fn check(saved: &str, full: &str, mark: usize) {
    assert!(
        full.starts_with(saved),
        "the saved text is the answer's start"
    );
    assert!(
        saved.len() >= mark,
        "a checkpoint within a second of the mark: {} characters saved, {mark} read 1.5 s before the kill",
        saved.len()
    );
    assert!(saved.len() < full.len(), "killed before the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_sqlite_loses_at_most_the_last_second() {
    let dir = TempDir::new("kill-sqlite");
    let (saved, full, mark) = killed_mid_answer(&dir.file("demo.sqlite")).await;
    check(&saved, &full, mark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_postgres_loses_at_most_the_last_second() {
    let db = PgDatabase::create("kill").await;
    let (saved, full, mark) = killed_mid_answer(&db.url).await;
    db.drop_now().await;
    check(&saved, &full, mark);
}
