//! The demo as a real process for the tests that stop, kill and restart it: its own
//! port and database, a slow OpenAI-compatible model, and HTTP helpers to talk to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::slow_model::SlowModel;
use super::sse::{Frame, Frames};

/// A directory removed when the test ends.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("chatkit-drain-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A demo process on its own port and SQLite file.
pub struct Demo {
    child: Child,
    pub url: String,
}

/// `<db>.files` for a SQLite file, `off` for a database URL.
fn attachments_beside(db: &str) -> String {
    if db.contains("://") {
        "off".into()
    } else {
        format!("{db}.files")
    }
}

impl Demo {
    /// The demo on `db` answering with `model`, draining for `drain` seconds on SIGTERM.
    pub fn start(db: &str, model: &SlowModel, drain: &str) -> Demo {
        Demo::start_with(
            db,
            &[
                ("OPENAI_API_KEY", "sk-test"),
                ("OPENAI_BASE_URL", model.url()),
                ("CHATKIT_DRAIN_TIMEOUT", drain),
            ],
        )
    }

    /// The demo on `db` with `env` (the offline model unless it names one).
    pub fn start_with(db: &str, env: &[(&str, &str)]) -> Demo {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chatkit-demo"));
        command
            .env("PORT", "0")
            .env("CHATKIT_DB", db)
            .env("RUST_LOG", "info")
            // Files beside a SQLite database (removed with its folder), none on PostgreSQL.
            .env("CHATKIT_ATTACHMENTS", attachments_beside(db))
            .env_remove("OPENAI_API_KEY")
            // The slow model answers; a title call beside it would change what the
            // tests count (a test may turn titles on again in `env`).
            .env("OPENAI_TITLE_MODEL", "off")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
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

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Kills the process with SIGKILL (nothing it could do about it) and reaps it.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "{status:?}");
    }

    /// Waits for the process to exit; its exit status.
    pub fn wait(mut self, within: Duration) -> std::process::ExitStatus {
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

pub async fn post(url: &str, body: Value) -> reqwest::Response {
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
pub async fn answer_until(url: &str, chars: usize) -> (String, Frames) {
    let (seen, frames) = frames_until(url, chars).await;
    let thread_id = seen[0].event["thread"]["id"]
        .as_str()
        .expect("thread.created came first");
    (thread_id.to_owned(), frames)
}

/// Starts a thread and reads its stream until `chars` characters of the answer have
/// arrived; the frames read, and the rest of the stream to read on.
pub async fn frames_until(url: &str, chars: usize) -> (Vec<Frame>, Frames) {
    let response = post(
        url,
        json!({"type": "threads.create", "params": {"input": {
            "content": [{"type": "input_text", "text": "Tell me a long story."}],
            "attachments": [], "inference_options": {}}}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut frames = Frames::new(response);
    let mut text = 0;
    let seen = frames
        .until(|event| {
            text += event["update"]["delta"].as_str().map_or(0, str::len);
            text >= chars
        })
        .await;
    assert!(text >= chars, "the stream ended after {text} characters");
    (seen, frames)
}

/// The rest of a stream's events, and whether it broke rather than ended.
pub async fn rest(mut frames: Frames) -> (Vec<Value>, bool) {
    let events = frames.until(|_| false).await;
    (events.into_iter().map(|f| f.event).collect(), frames.broke)
}

pub async fn stored_items(url: &str, thread_id: &str) -> Vec<Value> {
    let response = post(
        url,
        json!({"type": "items.list", "params": {"thread_id": thread_id, "limit": 100, "order": "asc"}}),
    )
    .await;
    let page: Value = response.json().await.unwrap();
    page["data"].as_array().unwrap().clone()
}

pub fn assistant_text(items: &[Value]) -> String {
    items
        .iter()
        .filter(|i| i["type"] == "assistant_message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .map(|c| c["text"].as_str().unwrap())
        .collect()
}

/// Sends "text" to the thread and reads the whole answer's events.
pub async fn send_message(url: &str, thread_id: &str, text: &str) -> Vec<Value> {
    let response = post(
        url,
        json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": {
            "content": [{"type": "input_text", "text": text}],
            "attachments": [], "inference_options": {}}}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    rest(Frames::new(response)).await.0
}

/// The error messages among `events`.
pub fn errors(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["type"] == "error")
        .map(|e| e["message"].as_str().unwrap_or_default())
        .collect()
}

/// The thread as `threads.get_by_id` shows it.
pub async fn load_thread(url: &str, thread_id: &str) -> Value {
    let response = post(
        url,
        json!({"type": "threads.get_by_id", "params": {"thread_id": thread_id}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `POST /chatkit/runs/cancel` for the thread as `user`: the status and the body.
pub async fn cancel_run(url: &str, user: &str, thread_id: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}/chatkit/runs/cancel"))
        .header("x-user-id", user)
        .json(&json!({ "thread_id": thread_id }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A PostgreSQL database of the test's own on the project's server, dropped by
/// [`PgDatabase::drop_now`].
pub struct PgDatabase {
    admin: sqlx::PgConnection,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(name: &str) -> PgDatabase {
        use sqlx::Connection;
        let admin_url = std::env::var("CHATKIT_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let name = format!("chatkit_{name}_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (.ci/run starts it)");
        for statement in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => unreachable!("a database URL has a path"),
        };
        PgDatabase { admin, name, url }
    }

    pub async fn drop_now(mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut self.admin)
            .await
            .unwrap();
    }
}
