//! A slow OpenAI-compatible model in the test process: `POST /responses` streams a
//! recorded Responses-API answer (a long story, 399 text deltas) one frame at a time,
//! `delay` apart, the way a real model takes its time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::Value;

const RECORDING: &str = "02_text_long_story_gpt-4.1.sse";

pub struct SlowModel {
    url: String,
    shared: Arc<Shared>,
}

struct Shared {
    frames: Vec<String>,
    delay_ms: AtomicU64,
    requests: Mutex<Vec<Value>>,
}

impl SlowModel {
    /// Serves on a free port; frames come `delay` apart.
    pub async fn start(delay: Duration) -> SlowModel {
        let path = format!(
            "{}/tests/golden/openai-sse/{RECORDING}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let frames = text
            .split("\n\n")
            .filter(|f| !f.trim().is_empty())
            .map(|f| format!("{f}\n\n"))
            .collect();
        let shared = Arc::new(Shared {
            frames,
            delay_ms: AtomicU64::new(delay.as_millis() as u64),
            requests: Mutex::default(),
        });
        let app = Router::new()
            .route("/responses", post(respond))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        SlowModel { url, shared }
    }

    /// The base URL to give an OpenAI client.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Frames come `delay` apart from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.shared
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// The whole answer's text.
    pub fn full_text(&self) -> String {
        self.shared
            .frames
            .iter()
            .filter_map(|f| f.strip_prefix("event: response.output_text.delta\ndata: "))
            .map(|data| {
                let event: Value = serde_json::from_str(data.trim()).unwrap();
                event["delta"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// The request bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }
}

async fn respond(State(shared): State<Arc<Shared>>, body: Bytes) -> axum::response::Response {
    if let Ok(body) = serde_json::from_slice(&body) {
        shared.requests.lock().unwrap().push(body);
    }
    let frames = futures::stream::unfold(0usize, move |n| {
        let shared = shared.clone();
        async move {
            let frame = shared.frames.get(n)?.clone();
            let delay = shared.delay_ms.load(Ordering::Relaxed);
            if n > 0 && delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            Some((Ok::<_, std::convert::Infallible>(frame), n + 1))
        }
    });
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(frames))
        .unwrap()
}
