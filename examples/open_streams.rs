//! The memory of many answers in flight on one server: N clients each start a thread
//! on the demo app (in a process of its own, `MemoryStore`, the OpenAI Responses model)
//! whose model streams its first words and then thinks for ever, so every answer stays
//! open. Reports the server's resident memory before and with the N answers open, and
//! what one answer costs.
//!
//! ```text
//! cargo run --release --example open_streams -- --streams 10000            # clients stay
//! cargo run --release --example open_streams -- --streams 10000 --detach   # clients leave
//! cargo run --release --example open_streams -- --streams 10000 --h2c      # HTTP/2 to the model
//! cargo run --release --example open_streams -- --streams 10000 --h2c --clients-h2c  # and from the clients
//! ```
//!
//! `--clients-h2c` has the clients speak HTTP/2 without TLS to the server, 100 answers a
//! connection, as a proxy in front of the app would (`http::Server` takes both).
//!
//! With `--detach` the server detaches its runs and each client leaves after the first
//! words: what remains are N detached runs waiting on a slow model. `--resume N` opens
//! N detached runs on one server and times resumes (from the request to the first
//! replayed event) on that server (its in-process log) and on a second one (through
//! Redis, `--redis <url>`, 127.0.0.1:6379 by default). The model runs in a
//! third process, so the server's figures are its own. Raises the processes' open-file
//! limit to 65,536 (each answer holds two sockets on the server). `--model` and
//! `--serve <model url> cancel|detach` run those processes alone, and `--against
//! <endpoint url>` only the clients (to look at a server under a heap profiler).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use chatkit_agents_workspace::example_support::rss_mib;
use futures::StreamExt;
use serde_json::json;

const RECORDING: &str = "tests/golden/openai-sse/02_text_long_story_gpt-4.1.sse";
/// Streams opening at once.
const OPENING: usize = 256;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--model") => serve_model(),
        Some("--serve") => serve_app(
            &args[1],
            args.get(2).map(String::as_str) == Some("detach"),
            args.get(3)
                .map(String::as_str)
                .filter(|url| !url.is_empty()),
            args.get(4).map(String::as_str).filter(|db| !db.is_empty()),
            args.get(5).map(String::as_str) == Some("h2c"),
        ),
        _ => {
            let mut streams = 1000;
            let mut detach = false;
            let mut resume = None;
            let mut redis = "redis://127.0.0.1:6379".to_owned();
            let mut h2c = false;
            let mut clients_h2c = false;
            let mut iter = args.iter();
            while let Some(arg) = iter.next() {
                match arg.as_str() {
                    "--streams" => {
                        streams = iter
                            .next()
                            .and_then(|n| n.parse().ok())
                            .expect("--streams needs a number")
                    }
                    "--detach" => detach = true,
                    "--h2c" => h2c = true,
                    "--clients-h2c" => clients_h2c = true,
                    "--resume" => {
                        resume = Some(
                            iter.next()
                                .and_then(|n| n.parse().ok())
                                .expect("--resume needs a number of runs"),
                        )
                    }
                    "--redis" => redis = iter.next().expect("--redis needs a URL").clone(),
                    // Only the clients, against a server started by hand (under a
                    // heap profiler, say): holds the answers open until killed.
                    "--against" => {
                        let url = iter.next().expect("--against needs the endpoint's URL");
                        let rt = runtime();
                        let kept = rt.block_on(open(url, streams, detach, clients_h2c));
                        eprintln!("{} answers open; Ctrl-C to stop", kept.len());
                        std::thread::sleep(Duration::from_secs(3600));
                        return;
                    }
                    other => panic!("unknown option {other:?} (--streams N, --detach)"),
                }
            }
            let report = match resume {
                Some(runs) => measure_resume(runs, &redis),
                None => measure(streams, detach, h2c, clients_h2c),
            };
            println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
        }
    }
}

/// Starts this program in `mode` with the open-file limit raised (as root, `ulimit`
/// may raise the hard limit too); its child process and the port it prints.
fn spawn(mode: &[&str]) -> (Child, u16) {
    let exe = std::env::current_exe().expect("the program's own path");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@""#)
        .arg(exe)
        .args(mode)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the child process starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the child prints its port");
    (child, line.trim().parse().expect("a port"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// The model: the recording's frames up to its first text delta, then nothing, open.
fn serve_model() {
    let path = format!("{}/{RECORDING}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the recording");
    let frames: Vec<String> = text
        .split("\n\n")
        .map(|frame| format!("{frame}\n\n"))
        .take_while(|frame| !frame.contains("output_text.delta"))
        .chain(
            text.split("\n\n")
                .find(|frame| frame.contains("output_text.delta"))
                .map(|frame| format!("{frame}\n\n")),
        )
        .collect();
    let frames = Arc::new(frames);
    runtime().block_on(async move {
        let app = axum::Router::new().route(
            "/responses",
            // The request body is read, as a model service does: unread, it would hold
            // the connection's flow-control window and leave later requests' bodies
            // waiting in the server's memory.
            post(move |_body: axum::body::Bytes| {
                let frames = frames.clone();
                async move {
                    let body = futures::stream::iter(
                        frames
                            .iter()
                            .cloned()
                            .map(Ok::<_, std::convert::Infallible>)
                            .collect::<Vec<_>>(),
                    )
                    .chain(futures::stream::pending());
                    axum::response::Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(axum::body::Body::from_stream(body))
                        .expect("a response")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        println!("{}", listener.local_addr().expect("an address").port());
        axum::serve(listener, app).await.expect("the model serves");
    });
}

/// The server: the demo app on a `MemoryStore` (or the SQLite file `db`, which replicas
/// share), its model at `model_url`, its detached runs' events in Redis at `redis` if
/// given.
fn serve_app(model_url: &str, detach: bool, redis: Option<&str>, db: Option<&str>, h2c: bool) {
    use chatkit_agents::agents::providers::openai::{
        ConnectionPool, OpenAIResponsesModel, RetryPolicy,
    };
    use chatkit_agents::runs::DisconnectPolicy;
    use chatkit_agents_workspace::demo::{app_with_policy, model, DemoModel, DemoOptions};
    let model: Arc<dyn chatkit_agents::agents::model::Model> = if h2c {
        // HTTP/2 to the model (it speaks h2c), 100 answers a connection.
        Arc::new(
            OpenAIResponsesModel::with_base_url("gpt-4.1", model_url, "sk-bench")
                .connection_pool(ConnectionPool::h2c(), RetryPolicy::default()),
        )
    } else {
        model(&DemoModel::OpenAI {
            model: "gpt-4.1".into(),
            base_url: model_url.to_owned(),
            api_key: "sk-bench".into(),
            chat_completions: false,
        })
    };
    let runs = DemoOptions {
        policy: if detach {
            DisconnectPolicy::detach()
        } else {
            DisconnectPolicy::Cancel
        },
        ..DemoOptions::default()
    };
    runtime().block_on(async move {
        let mut runs = runs;
        if let Some(url) = redis {
            let log = chatkit_agents::runs::RedisRunLog::connect(url)
                .await
                .expect("Redis is reachable");
            runs.log = Some(Arc::new(log));
        }
        let store: Arc<dyn chatkit_agents::store::Store<_>> = match db {
            Some(path) => Arc::new(
                chatkit_agents::store::SqliteStore::open(path)
                    .await
                    .expect("the SQLite file opens"),
            ),
            None => Arc::new(chatkit_agents::store::MemoryStore::new()),
        };
        let app = app_with_policy(store, model, Vec::new(), Vec::new(), runs);
        let server = chatkit_agents::http::Server::bind("127.0.0.1:0")
            .await
            .expect("a port")
            .max_connections(None);
        println!("{}", server.local_addr().expect("an address").port());
        server.serve(app).await.expect("the server serves");
    });
}

/// Reads `response` until `marker` has arrived (or to its end): what was read.
async fn read_until(response: &mut reqwest::Response, marker: &[u8]) -> Vec<u8> {
    let mut seen = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("the stream reads") {
        seen.extend_from_slice(&chunk);
        if memchr::memmem::find(&seen, marker).is_some() {
            break;
        }
    }
    seen
}

/// Answers an HTTP/2 connection carries in the benchmark (the server allows 200).
const STREAMS_PER_CONNECTION: usize = 100;

/// Starts `n` answers on `url` (`OPENING` at a time), each read until `marker`: what
/// `keep` makes of each response and what was read of it. Over HTTP/1.1 each answer has
/// a connection of its own; with `h2c`, [`STREAMS_PER_CONNECTION`] answers share one.
async fn start_answers<T>(
    url: &str,
    n: usize,
    marker: &'static [u8],
    h2c: bool,
    keep: impl Fn(reqwest::Response, Vec<u8>) -> Option<T> + Copy,
) -> Vec<T> {
    // A reqwest client keeps one HTTP/2 connection to a host.
    let clients: Vec<reqwest::Client> = if h2c {
        (0..n.div_ceil(STREAMS_PER_CONNECTION))
            .map(|_| {
                reqwest::Client::builder()
                    .http2_prior_knowledge()
                    .build()
                    .expect("an HTTP client")
            })
            .collect()
    } else {
        vec![reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client")]
    };
    let body = json!({"type": "threads.create", "params": {"input": {
        "content": [{"type": "input_text", "text": "Tell me a long story."}],
        "attachments": [], "inference_options": {}}}});
    futures::stream::iter(0..n)
        .map(|i| {
            let (client, body) = (clients[i % clients.len()].clone(), body.clone());
            async move {
                let mut response = client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .expect("the server answers");
                let seen = read_until(&mut response, marker).await;
                keep(response, seen)
            }
        })
        .buffer_unordered(OPENING)
        .filter_map(|kept| async move { kept })
        .collect()
        .await
}

/// Opens `n` answers (each read to its first text delta); the clients keep them unless
/// `leave`. Returns the bodies kept open.
async fn open(url: &str, n: usize, leave: bool, h2c: bool) -> Vec<reqwest::Response> {
    start_answers(url, n, b"text_delta", h2c, move |response, _| {
        (!leave).then_some(response)
    })
    .await
}

fn measure(streams: usize, detach: bool, h2c: bool, clients_h2c: bool) -> serde_json::Value {
    let (mut model, model_port) = spawn(&["--model"]);
    let model_url = format!("http://127.0.0.1:{model_port}");
    let policy = if detach { "detach" } else { "cancel" };
    let http = if h2c { "h2c" } else { "http1" };
    let (mut server, port) = spawn(&["--serve", &model_url, policy, "", "", http]);
    let url = format!("http://127.0.0.1:{port}/chatkit");
    let rt = runtime();
    // Warm up (allocator arenas, the model's connection pool, lazy statics).
    let warm = rt.block_on(open(&url, 20, false, clients_h2c));
    drop(warm);
    std::thread::sleep(Duration::from_millis(500));
    let (before, _) = rss_mib(&server.id().to_string());
    let started = Instant::now();
    let kept = rt.block_on(open(&url, streams, detach, clients_h2c));
    let opened = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let (with, peak) = rss_mib(&server.id().to_string());
    let report = json!({
        "streams": streams,
        "policy": policy,
        "to_the_model": http,
        "from_the_clients": if clients_h2c { "h2c" } else { "http1" },
        "clients_connected": kept.len(),
        "open_seconds": opened.as_secs_f64(),
        "server_rss_before_mib": before,
        "server_rss_open_mib": with,
        "server_rss_peak_mib": peak,
        "kib_per_answer": (with - before) * 1024.0 / streams as f64,
    });
    drop(kept);
    let _ = server.kill();
    let _ = model.kill();
    let _ = server.wait();
    let _ = model.wait();
    report
}

/// Opens `n` detached answers on `url` and leaves each after its first frame: the
/// runs' first event ids (`<run id>.1`).
async fn open_runs(url: &str, n: usize) -> Vec<String> {
    start_answers(url, n, b"\n\n", false, |_, seen| {
        let text = String::from_utf8_lossy(&seen);
        let id = text.lines().find_map(|line| line.strip_prefix("id: "));
        Some(id.expect("a detached run's frames carry ids").to_owned())
    })
    .await
}

/// Milliseconds from each resume request to its first replayed event, one at a time.
async fn resume_latencies(url: &str, cursors: &[String]) -> Vec<f64> {
    let client = reqwest::Client::new();
    let mut latencies = Vec::with_capacity(cursors.len());
    for cursor in cursors {
        let started = Instant::now();
        let mut response = client
            .get(format!("{url}/runs/events"))
            .header("last-event-id", cursor)
            .send()
            .await
            .expect("the server answers");
        assert!(
            response.status().is_success(),
            "resume: {}",
            response.status()
        );
        read_until(&mut response, b"data: ").await;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn percentiles(sorted: &[f64]) -> serde_json::Value {
    let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    json!({"p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)})
}

/// Resume latency on the replica that runs the answers (its in-process log) and on
/// another one (through Redis).
fn measure_resume(runs: usize, redis: &str) -> serde_json::Value {
    let (mut model, model_port) = spawn(&["--model"]);
    let model_url = format!("http://127.0.0.1:{model_port}");
    // The two replicas share one SQLite file (a resume checks the reader may see the
    // run's thread).
    let db = std::env::temp_dir().join(format!("open-streams-{}.sqlite", std::process::id()));
    let db_path = db.display().to_string();
    let (mut a, port_a) = spawn(&["--serve", &model_url, "detach", redis, &db_path]);
    let (mut b, port_b) = spawn(&["--serve", &model_url, "detach", redis, &db_path]);
    let (url_a, url_b) = (
        format!("http://127.0.0.1:{port_a}/chatkit"),
        format!("http://127.0.0.1:{port_b}/chatkit"),
    );
    let rt = runtime();
    let report = rt.block_on(async {
        let cursors = open_runs(&url_a, runs).await;
        // Let the forwarding catch up: every run's first frames are in Redis.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let local = resume_latencies(&url_a, &cursors).await;
        let remote = resume_latencies(&url_b, &cursors).await;
        json!({
            "runs": runs,
            "local_log": percentiles(&local),
            "redis_log": percentiles(&remote),
        })
    });
    for child in [&mut a, &mut b, &mut model] {
        let _ = child.kill();
        let _ = child.wait();
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    report
}
