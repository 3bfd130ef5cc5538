//! What per-user limits cost a request: the same short answer (`threads.create` with one
//! assistant message, through `process` and read to its end) without limits, with all
//! three limits counted in this process, and counted in Redis; one client at a time
//! (latency) and 64 at once (throughput). A JSON read (`threads.list`) is timed the same
//! way. Users rotate over 1,000 ids so that no limit is reached.
//!
//! ```text
//! cargo run --release --example limits_cost -- --requests 20000 [--redis redis://127.0.0.1:6379]
//! ```
//!
//! Prints one JSON object per mode: median and p99 latency (µs), requests per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatkit_agents::server::{
    process, respond_with, ChatKitServer, EventStream, Limits, ProcessResult, RedisLimitCounters,
    RespondWith, ThreadHandle, UserLimits,
};
use chatkit_agents::store::{MemoryStore, Store, StoreContext};
use chatkit_agents::types::*;
use futures::StreamExt;
use serde_json::json;

#[derive(Clone)]
struct User(String);

impl StoreContext for User {
    fn user_id(&self) -> Option<&str> {
        Some(&self.0)
    }
}

type Answer = fn(ThreadHandle, Option<UserMessageItem>, User) -> EventStream;

/// The answering server, with or without limits.
struct Limited {
    inner: Arc<RespondWith<User, Answer>>,
    limits: Option<Limits>,
}

impl ChatKitServer for Limited {
    type Context = User;
    fn store(&self) -> Arc<dyn Store<User>> {
        self.inner.store()
    }
    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        ctx: User,
    ) -> EventStream {
        self.inner.clone().respond(thread, input, ctx)
    }
    fn limits(&self, user: &User) -> Option<UserLimits> {
        self.limits.as_ref().map(|limits| limits.for_user(&user.0))
    }
    fn run_leases(&self) -> Option<chatkit_agents::runs::RunLeases> {
        None
    }
    fn checkpoint_interval(&self) -> Option<Duration> {
        None
    }
}

fn answer(thread: ThreadHandle, _: Option<UserMessageItem>, _: User) -> EventStream {
    let item = AssistantMessageItem {
        id: default_generate_id(StoreItemType::Message),
        thread_id: thread.id().to_owned(),
        created_at: Timestamp::now(),
        content: vec![AssistantMessageContent::new(
            "Hello there, this is a short answer.",
        )],
    };
    Box::pin(futures::stream::iter([Ok(ThreadStreamEvent::item_done(
        item,
    ))]))
}

fn server(limits: Option<Limits>) -> Arc<Limited> {
    let inner = Arc::new(respond_with(Arc::new(MemoryStore::new()), answer as Answer));
    Arc::new(Limited { inner, limits })
}

fn all_limits(limits: Limits) -> Limits {
    limits
        .requests(1_000_000, Duration::from_secs(60))
        .concurrent_streams(1_000)
        .tokens(1_000_000_000, Duration::from_secs(86_400))
}

const CREATE: &[u8] = br#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}"#;
const LIST: &[u8] = br#"{"type":"threads.list","params":{"limit":1}}"#;

async fn one(server: &Arc<Limited>, body: &[u8], user: usize) -> Duration {
    let started = Instant::now();
    match process(server, body, User(format!("user-{}", user % 1000))).await {
        Ok(ProcessResult::Streaming(stream)) => {
            let frames: Vec<_> = stream.collect().await;
            assert!(frames.len() >= 3, "an answer");
        }
        Ok(ProcessResult::Json(_)) => {}
        Err(error) => panic!("refused: {error}"),
    }
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1e6
}

async fn measure(server: Arc<Limited>, body: &'static [u8], requests: usize) -> serde_json::Value {
    // Warm up (the store's maps, the counters' users, Redis's script cache).
    for i in 0..1000 {
        one(&server, body, i).await;
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    for i in 0..requests {
        latencies.push(one(&server, body, i).await);
    }
    latencies.sort();
    let started = Instant::now();
    let clients = 64;
    let per_client = requests / clients;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let server = server.clone();
            tokio::spawn(async move {
                for i in 0..per_client {
                    one(&server, body, c * per_client + i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client");
    }
    let seconds = started.elapsed().as_secs_f64();
    json!({
        "median_us": (percentile(&latencies, 0.5) * 10.0).round() / 10.0,
        "p99_us": (percentile(&latencies, 0.99) * 10.0).round() / 10.0,
        "concurrent_per_sec": ((clients * per_client) as f64 / seconds).round(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let requests: usize = arg("--requests")
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let redis = arg("--redis").unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let counters = RedisLimitCounters::connect(&redis)
            .await
            .expect("Redis (--redis)")
            .prefix(format!("bench-{}:", std::process::id()));
        let modes: [(&str, Option<Limits>); 3] = [
            ("none", None),
            ("memory", Some(all_limits(Limits::in_memory()))),
            ("redis", Some(all_limits(Limits::new(counters)))),
        ];
        let mut report = serde_json::Map::new();
        for (name, limits) in modes {
            let stream = measure(server(limits.clone()), CREATE, requests).await;
            let read = measure(server(limits), LIST, requests).await;
            report.insert(name.into(), json!({"answer": stream, "read": read}));
        }
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    });
}
