//! How a thread's length affects the server: for `MemoryStore`, `SqliteStore` and
//! `PostgresStore`, the latency of `items.list` (limit 20, the client's first page) and of
//! a whole scripted agent turn (`threads.add_user_message`, answered by `AgentServer`
//! with its 20-item history window), in threads of 10, 1,000 and 100,000 items.
//!
//! ```sh
//! cargo run --release --example growth                       # every store and size
//! cargo run --release --example growth -- --stores sqlite,postgres --sizes 10,100000
//! ```
//!
//! PostgreSQL: `CHATKIT_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`),
//! in a schema of its own that is dropped at the end. Prints one JSON object per row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatkit_agents::agents::{chatkit::AgentServer, Agent};
use chatkit_agents::server::{process, ProcessResult};
use chatkit_agents::store::{MemoryStore, PostgresStore, PostgresStoreOptions, SqliteStore, Store};
use chatkit_agents::testing::{requests, ScriptedModel, Step};
use chatkit_agents::types::{
    AssistantMessageContent, AssistantMessageItem, ThreadItem, ThreadMetadata, Timestamp,
};
use futures::StreamExt;
use serde_json::{json, Value};

const LIST_REPS: usize = 200;
const TURN_REPS: usize = 30;

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    (samples[index].as_secs_f64() * 1e6).round() / 1000.0
}

/// The seeded thread's items: alternating user and assistant messages, one second apart.
fn item(thread: &str, n: usize, start: i64) -> ThreadItem {
    let at = chrono::DateTime::from_timestamp_micros(start + n as i64 * 1_000_000)
        .expect("a time in range");
    let created_at = Timestamp::from_utc(at);
    if n.is_multiple_of(2) {
        serde_json::from_value(json!({
            "type": "user_message", "id": format!("msg_u{n}"), "thread_id": thread,
            "created_at": created_at, "content": [{"type": "input_text", "text": format!("question {n}")}],
            "attachments": [], "inference_options": {}
        }))
        .expect("a user message")
    } else {
        ThreadItem::AssistantMessage(AssistantMessageItem {
            id: format!("msg_a{n}"),
            thread_id: thread.to_owned(),
            created_at,
            content: vec![AssistantMessageContent::new(format!("answer {n}"))],
        })
    }
}

async fn seed(store: &Arc<dyn Store<()>>, thread: &str, items: usize) {
    let start =
        Timestamp::now().to_utc().timestamp_micros() - items as i64 * 1_000_000 - 10_000_000;
    let created = chrono::DateTime::from_timestamp_micros(start).expect("a time in range");
    store
        .save_thread(
            &ThreadMetadata::new(thread, Timestamp::from_utc(created)),
            &(),
        )
        .await
        .expect("the thread is saved");
    // Eight writers at a time: the seeding is not what is measured.
    futures::stream::iter(0..items)
        .map(|n| {
            let store = store.clone();
            async move {
                store
                    .add_thread_item(thread, &item(thread, n, start), &())
                    .await
                    .expect("an item is saved")
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

async fn drain(result: ProcessResult) -> usize {
    match result {
        ProcessResult::Json(body) => body.len(),
        ProcessResult::Streaming(stream) => {
            stream
                .map(|frame| frame.len())
                .fold(0, |a, b| async move { a + b })
                .await
        }
    }
}

/// Seeds a thread of `items` items in `store` and measures `items.list` and agent turns.
pub(crate) async fn measure(store: Arc<dyn Store<()>>, kind: &str, items: usize) -> Value {
    let thread = format!("thr_growth_{items}");
    let seeding = Instant::now();
    seed(&store, &thread, items).await;
    let seed_seconds = seeding.elapsed().as_secs_f64();

    let model = Arc::new(ScriptedModel::new(Vec::new()));
    let server = Arc::new(AgentServer::new(
        store.clone(),
        Agent::new("Growth", model.clone()),
    ));

    let list = json!({"type": "items.list", "params": {"thread_id": thread, "order": "desc", "limit": 20}})
        .to_string();
    let mut list_times = Vec::with_capacity(LIST_REPS);
    for _ in 0..LIST_REPS {
        let start = Instant::now();
        let result = process(&server, list.as_bytes(), ())
            .await
            .expect("items.list answers");
        std::hint::black_box(drain(result).await);
        list_times.push(start.elapsed());
    }

    let mut turn_times = Vec::with_capacity(TURN_REPS);
    let mut sent_items = 0;
    for n in 0..TURN_REPS {
        model.push_turn(vec![Step::text("A short answer.")]);
        let body = requests::add_user_message(&thread, &format!("turn {n}")).to_string();
        let start = Instant::now();
        let result = process(&server, body.as_bytes(), ())
            .await
            .expect("the turn starts");
        std::hint::black_box(drain(result).await);
        turn_times.push(start.elapsed());
    }
    if let Some(request) = model.requests().last() {
        sent_items = request.input.len();
    }
    json!({
        "store": kind,
        "items": items,
        "seed_seconds": (seed_seconds * 1000.0).round() / 1000.0,
        "items_list_ms": {"p50": percentile(&mut list_times, 0.5), "p99": percentile(&mut list_times, 0.99)},
        "turn_ms": {"p50": percentile(&mut turn_times, 0.5), "p99": percentile(&mut turn_times, 0.99)},
        "model_input_items": sent_items,
    })
}

fn list_arg(args: &[String], name: &str, default: &str) -> Vec<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, String::as_str)
        .split(',')
        .map(str::to_owned)
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: cargo run --release --example growth -- [--stores memory,sqlite,postgres] [--sizes 10,1000,100000]");
        return;
    }
    let stores = list_arg(&args, "--stores", "memory,sqlite,postgres");
    let sizes: Vec<usize> = list_arg(&args, "--sizes", "10,1000,100000")
        .iter()
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| panic!("--sizes takes numbers, got {s:?}"))
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("chatkit-growth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let url = std::env::var("CHATKIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("ck_growth_{}", std::process::id());
    for kind in &stores {
        for &items in &sizes {
            eprintln!("growth: {kind} with {items} items...");
            let (store, pg): (Arc<dyn Store<()>>, Option<PostgresStore>) = match kind.as_str() {
                "memory" => (Arc::new(MemoryStore::new()), None),
                "sqlite" => {
                    let path = dir.join(format!("growth-{items}.sqlite"));
                    let _ = std::fs::remove_file(&path);
                    (
                        Arc::new(SqliteStore::open(&path).await.expect("SQLite opens")),
                        None,
                    )
                }
                "postgres" => {
                    let options = PostgresStoreOptions::default()
                        .schema(&schema)
                        .max_connections(8);
                    let store = PostgresStore::connect_with(&url, options)
                        .await
                        .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
                    (Arc::new(store.clone()), Some(store))
                }
                other => panic!("unknown store {other:?}: memory, sqlite or postgres"),
            };
            println!("{}", measure(store, kind, items).await);
            if let Some(pg) = pg {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA \"{schema}\" CASCADE"
                )))
                .execute(pg.pool())
                .await
                .expect("the schema is dropped");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
