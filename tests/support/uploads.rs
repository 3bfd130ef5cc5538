//! The demo app with attachments on an ephemeral port, driven as the ChatKit web
//! component drives it (`tests/attachments.rs` on local disk, `tests/attachments_s3.rs`
//! on a real S3-compatible server).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatkit_agents::agents::model::{Model, ModelError, ModelEvent, ModelRequest};
use chatkit_agents::runs::DisconnectPolicy;
use chatkit_agents::store::{AttachmentLimits, ObjectAttachmentStore, SqliteStore};
use chatkit_agents::types::{default_generate_id, StoreItemType};
use chatkit_agents_workspace::demo::{
    app_with_policy, DemoAttachments, DemoOptions, OfflineModel, UploadStrategy,
};
use futures::stream::BoxStream;
use serde_json::{json, Value};

/// The offline model, keeping every request it gets.
#[derive(Default)]
pub struct Recording(pub Mutex<Vec<ModelRequest>>);

impl Model for Recording {
    fn stream(&self, request: ModelRequest) -> BoxStream<'static, Result<ModelEvent, ModelError>> {
        self.0.lock().unwrap().push(request.clone());
        OfflineModel.stream(request)
    }
}

pub struct Demo {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    /// The temporary folder (database, and local files), removed on drop.
    pub dir: PathBuf,
    /// Where the attachment bytes land.
    pub files_dir: PathBuf,
    pub model: Arc<Recording>,
    /// The attachment store and the thread store the app uses.
    pub files: Arc<ObjectAttachmentStore>,
    pub store: Arc<SqliteStore>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A 2×1 PNG (its header is all the checks and the offline model read).
pub fn png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    png.extend_from_slice(&[0u8; 64]);
    png
}

/// The demo with attachments on local disk under its temporary folder.
pub async fn start(limits: AttachmentLimits) -> Demo {
    start_local(limits, DisconnectPolicy::Cancel).await
}

/// [`start`] whose answers run as `policy` says.
pub async fn start_local(limits: AttachmentLimits, policy: DisconnectPolicy) -> Demo {
    start_with(policy, |dir, public_url| {
        let files = dir.join("files");
        let store = ObjectAttachmentStore::local(&files, public_url)
            .unwrap()
            .limits(limits)
            .build();
        (store, files)
    })
    .await
}

/// The demo with the attachment store `files` makes from its temporary folder and
/// public URL (the store, and the folder its bytes land in).
pub async fn start_with(
    policy: DisconnectPolicy,
    files: impl FnOnce(&Path, String) -> (ObjectAttachmentStore, PathBuf),
) -> Demo {
    let dir = std::env::temp_dir().join(format!(
        "chatkit-attachments-{}-{}",
        std::process::id(),
        default_generate_id(StoreItemType::Thread)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let store = Arc::new(SqliteStore::open(dir.join("demo.sqlite")).await.unwrap());
    let (files, files_dir) = files(&dir, format!("{base}/chatkit"));
    let files = Arc::new(files);
    let model = Arc::new(Recording::default());
    let options = DemoOptions {
        attachments: Some(DemoAttachments {
            store: files.clone(),
            strategy: UploadStrategy::TwoPhase,
        }),
        policy,
        ..DemoOptions::default()
    };
    let app = app_with_policy(
        store.clone(),
        model.clone(),
        Vec::new(),
        Vec::new(),
        options,
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Demo {
        base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        dir,
        files_dir,
        model,
        files,
        store,
    }
}

/// A multipart body with one `file` field (and a `note` field before it).
pub fn multipart(name: &str, mime: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----chatkit-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Demo {
    /// The files under the store's folder (the signing key aside).
    pub fn stored_files(&self) -> Vec<String> {
        fn walk(dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.file_name().is_some_and(|n| n != "signing.key") {
                    out.push(path.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.files_dir, &mut out);
        out
    }

    pub async fn request(&self, user: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/chatkit", self.base))
            .header("x-user-id", user)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn json(&self, user: &str, body: Value) -> (u16, Value) {
        let response = self.request(user, body).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// A streamed request's events.
    pub async fn events(&self, user: &str, body: Value) -> Vec<Value> {
        let response = self.request(user, body).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        text.split_terminator("\n\n")
            .map(|frame| serde_json::from_str(frame.trim_start_matches("data: ")).unwrap())
            .collect()
    }

    pub async fn create(&self, user: &str, name: &str, mime: &str, size: usize) -> (u16, Value) {
        self.json(
            user,
            json!({"type": "attachments.create", "params": {"name": name, "size": size, "mime_type": mime}}),
        )
        .await
    }

    /// Uploads to a two-phase descriptor as the web component does (`POST` multipart).
    pub async fn upload(&self, descriptor: &Value, name: &str, mime: &str, bytes: &[u8]) -> u16 {
        let (content_type, body) = multipart(name, mime, bytes);
        let method = descriptor["method"].as_str().unwrap();
        self.client
            .request(method.parse().unwrap(), descriptor["url"].as_str().unwrap())
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn direct(&self, user: &str, name: &str, mime: &str, bytes: &[u8]) -> (u16, Value) {
        let (content_type, body) = multipart(name, mime, bytes);
        self.direct_raw(user, &content_type, body).await
    }

    pub async fn direct_raw(&self, user: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/chatkit/attachments", self.base))
            .header("x-user-id", user)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `threads.delete`: the status.
    pub async fn delete_thread(&self, user: &str, thread_id: &str) -> u16 {
        let body = json!({"type": "threads.delete", "params": {"thread_id": thread_id}});
        self.json(user, body).await.0
    }

    /// `attachments.delete`: the status.
    pub async fn delete_attachment(&self, user: &str, attachment_id: &str) -> u16 {
        let body =
            json!({"type": "attachments.delete", "params": {"attachment_id": attachment_id}});
        self.json(user, body).await.0
    }

    pub fn message(text: &str, attachments: &[&str]) -> Value {
        json!({"type": "threads.create", "params": {"input": {
            "content": [{"type": "input_text", "text": text}],
            "attachments": attachments, "inference_options": {}}}})
    }

    /// The newest model request's user message content.
    pub fn last_user_content(&self) -> Vec<Value> {
        let requests = self.model.0.lock().unwrap();
        let request = requests.last().expect("the model was called");
        let user = request
            .input
            .iter()
            .rev()
            .find(|i| i["role"] == "user")
            .unwrap();
        user["content"].as_array().unwrap().clone()
    }

    pub async fn threads(&self, user: &str) -> usize {
        let (_, page) = self
            .json(user, json!({"type": "threads.list", "params": {}}))
            .await;
        page["data"].as_array().unwrap().len()
    }
}

pub fn assistant_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .map(|e| e["item"]["content"][0]["text"].as_str().unwrap().to_owned())
        .collect()
}
