//! The demo with `CHATKIT_RUNS=detach`, as a real process: a research question whose
//! client leaves after the first task goes on to its end (a refreshed page finds the
//! whole workflow and the answer), and the run can be rejoined from the last event id
//! the client saw.

#![cfg(unix)]

use serde_json::{json, Value};

mod support;

use support::demo_process::{post, stored_items, Demo, TempDir};
use support::sse::Frames;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_research_run_finishes_after_its_client_left_and_can_be_rejoined() {
    let dir = TempDir::new("runs");
    let demo = Demo::start_with(&dir.file("demo.sqlite"), &[("CHATKIT_RUNS", "detach")]);
    let response = post(
        &demo.url,
        json!({"type": "threads.create", "params": {"input": {
            "content": [{"type": "input_text", "text": "Research about Rust"}],
            "attachments": [], "inference_options": {}}}}),
    )
    .await;
    // The workflow arrives with its first step; the client leaves there.
    let seen = Frames::new(response)
        .until(|event| event["type"] == "thread.item.added" && event["item"]["type"] == "workflow")
        .await;
    assert!(
        seen.iter().all(|f| f.id.is_some()),
        "detached frames carry ids"
    );
    let thread_id = seen[0].event["thread"]["id"].as_str().unwrap().to_owned();
    let last_id = seen.last().unwrap().id.clone().unwrap();

    // Rejoin: the rest of the run, from the frame after the last one seen, to its end.
    let rejoined = reqwest::Client::new()
        .get(format!("{}/chatkit/runs/events", demo.url))
        .header("x-user-id", "drain-user")
        .header("last-event-id", &last_id)
        .send()
        .await
        .unwrap();
    assert_eq!(rejoined.status(), 200);
    let rest = Frames::new(rejoined).rest().await;
    let (run, last_n) = last_id.rsplit_once('.').unwrap();
    let first_n: u64 = last_n.parse::<u64>().unwrap() + 1;
    assert_eq!(
        rest[0].id.as_deref(),
        Some(format!("{run}.{first_n}").as_str()),
        "no gap"
    );
    let tasks_added = rest
        .iter()
        .filter(|f| f.event["update"]["type"] == "workflow.task.added")
        .count();
    assert_eq!(tasks_added, 3, "the other three steps, live");

    // A refreshed page finds the whole workflow and the answer, saved once.
    let items = stored_items(&demo.url, &thread_id).await;
    let workflows: Vec<&Value> = items.iter().filter(|i| i["type"] == "workflow").collect();
    assert_eq!(workflows.len(), 1);
    assert_eq!(
        workflows[0]["workflow"]["tasks"].as_array().unwrap().len(),
        4
    );
    let answers: Vec<&Value> = items
        .iter()
        .filter(|i| i["type"] == "assistant_message")
        .collect();
    assert_eq!(answers.len(), 1, "{items:?}");
    assert!(answers[0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("4 sources read"));
}
