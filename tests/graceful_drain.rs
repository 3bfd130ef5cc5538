//! A real demo process stopped with SIGTERM while it streams an answer from a slow
//! model: with time to drain, the answer finishes and is saved whole; with a short
//! drain deadline, it is cancelled through the normal cancel path (the text streamed so
//! far and the hidden note saved). Either way a restarted process shows it.

#![cfg(unix)]

use std::time::Duration;

use serde_json::Value;

mod support;

use support::demo_process::{
    answer_until, assistant_text, rest, send_message, stored_items, Demo, TempDir,
};
use support::slow_model::SlowModel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_answer_finish_and_saves_it_whole() {
    let dir = TempDir::new("finish");
    let db = dir.file("demo.sqlite");
    let model = SlowModel::start(Duration::from_millis(5)).await;
    let demo = Demo::start(&db, &model, "30");
    let (thread_id, body) = answer_until(&demo.url, 200).await;
    demo.sigterm();
    let (events, broke) = rest(body).await;
    assert!(!broke, "the stream ends cleanly, not cut");
    let done: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .collect();
    assert_eq!(done.len(), 1, "the answer finished after SIGTERM");
    let status = demo.wait(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");

    let again = Demo::start(&db, &model, "30");
    let items = stored_items(&again.url, &thread_id).await;
    assert_eq!(assistant_text(&items), model.full_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_drain_deadline_the_answer_is_saved_as_cancelled() {
    let dir = TempDir::new("cancel");
    let db = dir.file("demo.sqlite");
    // About 40 seconds of answer: far longer than the drain deadline.
    let model = SlowModel::start(Duration::from_millis(100)).await;
    let demo = Demo::start(&db, &model, "0.5");
    let (thread_id, body) = answer_until(&demo.url, 20).await;
    let before = std::time::Instant::now();
    demo.sigterm();
    let (events, _) = rest(body).await;
    let streamed: String = events
        .iter()
        .filter_map(|e| e["update"]["delta"].as_str())
        .collect();
    let status = demo.wait(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    assert!(
        before.elapsed() < Duration::from_secs(15),
        "{:?}",
        before.elapsed()
    );

    let again = Demo::start(&db, &model, "30");
    let items = stored_items(&again.url, &thread_id).await;
    let saved = assistant_text(&items);
    assert!(
        saved.len() >= streamed.len() && saved.len() < model.full_text().len(),
        "what the client saw is saved ({} of {} characters streamed, {} saved), not the whole answer",
        streamed.len(),
        model.full_text().len(),
        saved.len()
    );
    assert!(model.full_text().starts_with(&saved));

    // The next turn's model input carries the text and the hidden cancel note.
    model.set_delay(Duration::ZERO);
    send_message(&again.url, &thread_id, "Go on.").await;
    let input = model.requests().last().unwrap()["input"].to_string();
    assert!(
        input.contains(chatkit_agents::server::CANCELLED_NOTE),
        "{input}"
    );
}
