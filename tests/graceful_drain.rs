//! A real demo process stopped with SIGTERM while it streams an answer from a slow
//! model: with time to drain, the answer finishes and is saved whole; with a short
//! drain deadline, it is cancelled through the normal cancel path (the text streamed so
//! far and the hidden note saved). Either way a restarted process shows it.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

mod support;

use support::slow_model::SlowModel;

/// A directory removed when the test ends.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("chatkit-drain-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A demo process on its own port and SQLite file.
struct Demo {
    child: Child,
    url: String,
}

impl Demo {
    fn start(db: &str, model: &SlowModel, drain: &str) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatkit-demo"))
            .env("PORT", "0")
            .env("CHATKIT_DB", db)
            .env("OPENAI_API_KEY", "sk-test")
            .env("OPENAI_BASE_URL", model.url())
            .env("CHATKIT_DRAIN_TIMEOUT", drain)
            .env("RUST_LOG", "info")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("the demo binary starts");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the demo says where it listens")
                .unwrap();
            if let Some(at) = line.find("demo on http://") {
                let rest = &line[at + "demo on ".len()..];
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining its logs so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Demo { child, url }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit status.
    fn wait(mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the demo did not exit within {within:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(url: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/chatkit"))
        .header("x-user-id", "drain-user")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Starts a thread and reads its stream until `chars` characters of the answer have
/// arrived; the thread id, and the rest of the stream to read on.
async fn answer_until(
    url: &str,
    chars: usize,
) -> (
    String,
    futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
) {
    let response = post(
        url,
        json!({"type": "threads.create", "params": {"input": {
            "content": [{"type": "input_text", "text": "Tell me a long story."}],
            "attachments": [], "inference_options": {}}}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream().boxed();
    let mut buffer = String::new();
    let mut thread_id = None;
    let mut text = 0;
    while text < chars {
        let chunk = body.next().await.expect("the stream goes on").unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let event: Value =
                serde_json::from_str(frame.trim().trim_start_matches("data: ")).unwrap();
            if event["type"] == "thread.created" {
                thread_id = Some(event["thread"]["id"].as_str().unwrap().to_owned());
            }
            if let Some(delta) = event["update"]["delta"].as_str() {
                text += delta.len();
            }
        }
    }
    (thread_id.expect("thread.created came first"), body)
}

/// The rest of a stream's events, until it ends or breaks.
async fn rest(
    mut body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
) -> (Vec<Value>, bool) {
    let mut buffer = String::new();
    let mut broke = false;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => buffer.push_str(std::str::from_utf8(&chunk).unwrap()),
            Err(_) => {
                broke = true;
                break;
            }
        }
    }
    let events = buffer
        .split("\n\n")
        .filter(|f| f.starts_with("data: "))
        .filter_map(|f| serde_json::from_str(&f["data: ".len()..]).ok())
        .collect();
    (events, broke)
}

async fn stored_items(url: &str, thread_id: &str) -> Vec<Value> {
    let response = post(
        url,
        json!({"type": "items.list", "params": {"thread_id": thread_id, "limit": 100, "order": "asc"}}),
    )
    .await;
    let page: Value = response.json().await.unwrap();
    page["data"].as_array().unwrap().clone()
}

fn assistant_text(items: &[Value]) -> String {
    items
        .iter()
        .filter(|i| i["type"] == "assistant_message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .map(|c| c["text"].as_str().unwrap())
        .collect()
}

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
    let next = post(
        &again.url,
        json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": {
            "content": [{"type": "input_text", "text": "Go on."}],
            "attachments": [], "inference_options": {}}}}),
    )
    .await;
    let _ = next.text().await.unwrap();
    let input = model.requests().last().unwrap()["input"].to_string();
    assert!(
        input.contains(chatkit_agents::server::CANCELLED_NOTE),
        "{input}"
    );
}
