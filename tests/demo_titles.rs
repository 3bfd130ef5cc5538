//! The demo titles a new thread with a model call of its own when a key is set: the
//! title model (`OPENAI_TITLE_MODEL`) is asked beside the answer, with the title
//! instructions and the user's message, and its answer becomes the thread's title,
//! announced before the stream ends and stored.

mod support;

use std::time::Duration;

use chatkit_agents::agents::chatkit::DEFAULT_TITLE_INSTRUCTIONS;
use serde_json::Value;
use support::demo_process::{load_thread, post, rest, Demo, TempDir};
use support::slow_model::SlowModel;
use support::sse::Frames;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_titles_new_threads_with_its_title_model() {
    let model = SlowModel::start(Duration::from_millis(1)).await;
    let dir = TempDir::new("demo_titles");
    let demo = Demo::start_with(
        &dir.file("chat.sqlite"),
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", model.url()),
            ("OPENAI_TITLE_MODEL", "gpt-4.1-nano"),
        ],
    );
    let response = post(
        &demo.url,
        serde_json::json!({"type": "threads.create", "params": {"input": {
            "content": [{"type": "input_text", "text": "Tell me a long story."}],
            "attachments": [], "inference_options": {}}}}),
    )
    .await;
    let (events, broke) = rest(Frames::new(response)).await;
    assert!(!broke);
    let thread_id = events[0]["thread"]["id"].as_str().unwrap().to_owned();

    // Two model calls: the answer, and the title with its own model and instructions.
    let requests = model.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let title_call = requests
        .iter()
        .find(|r| r["model"] == "gpt-4.1-nano")
        .expect("a call to the title model");
    assert_eq!(title_call["instructions"], DEFAULT_TITLE_INSTRUCTIONS);
    assert!(title_call["input"]
        .to_string()
        .contains("Tell me a long story."));

    // The recorded answer's first line, cut at a word, is the title.
    let titles: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "thread.updated")
        .filter_map(|e| e["thread"]["title"].as_str())
        .collect();
    let title = *titles.last().expect("a thread.updated with a title");
    let first_line = model
        .full_text()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        title.len() >= 20 && first_line.starts_with(title),
        "{title:?} from {first_line:?}"
    );
    let stored: Value = load_thread(&demo.url, &thread_id).await;
    assert_eq!(stored["title"], title);
    // The thread's usage counts both calls.
    assert_eq!(stored["metadata"]["usage"]["requests"], 2);
}
