//! The memory of many answers in flight on one server: N clients each start a thread
//! on the demo app (in a process of its own, `MemoryStore`, the OpenAI Responses model)
//! whose model streams its first words and then thinks for ever, so every answer stays
//! open. Reports the server's resident memory before and with the N answers open, and
//! what one answer costs.
//!
//! ```text
//! cargo run --release --example open_streams -- --streams 10000            # clients stay
//! cargo run --release --example open_streams -- --streams 10000 --detach   # clients leave
//! ```
//!
//! With `--detach` the server detaches its runs and each client leaves after the first
//! words: what remains are N detached runs waiting on a slow model. The model runs in a
//! third process, so the server's figures are its own. Raises the processes' open-file
//! limit to 65,536 (each answer holds two sockets on the server). `--model` and
//! `--serve <model url> cancel|detach` run those processes alone, and `--against
//! <endpoint url>` only the clients (to look at a server under a heap profiler).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use futures::StreamExt;
use serde_json::json;

const RECORDING: &str = "tests/golden/openai-sse/02_text_long_story_gpt-4.1.sse";
/// Streams opening at once.
const OPENING: usize = 256;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--model") => serve_model(),
        Some("--serve") => serve_app(&args[1], args.get(2).map(String::as_str) == Some("detach")),
        _ => {
            let mut streams = 1000;
            let mut detach = false;
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
                    // Only the clients, against a server started by hand (under a
                    // heap profiler, say): holds the answers open until killed.
                    "--against" => {
                        let url = iter.next().expect("--against needs the endpoint's URL");
                        let rt = runtime();
                        let kept = rt.block_on(open(url, streams, detach));
                        eprintln!("{} answers open; Ctrl-C to stop", kept.len());
                        std::thread::sleep(Duration::from_secs(3600));
                        return;
                    }
                    other => panic!("unknown option {other:?} (--streams N, --detach)"),
                }
            }
            let report = measure(streams, detach);
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
            post(move || {
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

/// The server: the demo app on a `MemoryStore`, its model at `model_url`.
fn serve_app(model_url: &str, detach: bool) {
    use chatkit_agents::runs::DisconnectPolicy;
    use chatkit_agents_workspace::demo::{app_with_policy, model, DemoModel, DemoRuns};
    let model = model(&DemoModel::OpenAI {
        model: "gpt-4.1".into(),
        base_url: model_url.to_owned(),
        api_key: "sk-bench".into(),
        chat_completions: false,
    });
    let runs = DemoRuns {
        policy: if detach {
            DisconnectPolicy::detach()
        } else {
            DisconnectPolicy::Cancel
        },
        ..DemoRuns::default()
    };
    runtime().block_on(async move {
        let store = Arc::new(chatkit_agents::store::MemoryStore::new());
        let app = app_with_policy(store, model, Vec::new(), Vec::new(), runs);
        let server = chatkit_agents::http::Server::bind("127.0.0.1:0")
            .await
            .expect("a port")
            .max_connections(None);
        println!("{}", server.local_addr().expect("an address").port());
        server.serve(app).await.expect("the server serves");
    });
}

/// A process's resident memory now and at its peak, in MiB.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Opens `n` answers (each read to its first text delta); the clients keep them unless
/// `leave`. Returns the bodies kept open.
async fn open(url: &str, n: usize, leave: bool) -> Vec<reqwest::Response> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client");
    let body = json!({"type": "threads.create", "params": {"input": {
        "content": [{"type": "input_text", "text": "Tell me a long story."}],
        "attachments": [], "inference_options": {}}}});
    futures::stream::iter(0..n)
        .map(|_| {
            let (client, body) = (client.clone(), body.clone());
            async move {
                let mut response = client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .expect("the server answers");
                let mut seen = Vec::new();
                while let Some(chunk) = response.chunk().await.expect("the stream reads") {
                    seen.extend_from_slice(&chunk);
                    if memchr::memmem::find(&seen, b"text_delta").is_some() {
                        break;
                    }
                }
                (!leave).then_some(response)
            }
        })
        .buffer_unordered(OPENING)
        .filter_map(|kept| async move { kept })
        .collect()
        .await
}

fn measure(streams: usize, detach: bool) -> serde_json::Value {
    let (mut model, model_port) = spawn(&["--model"]);
    let model_url = format!("http://127.0.0.1:{model_port}");
    let policy = if detach { "detach" } else { "cancel" };
    let (mut server, port) = spawn(&["--serve", &model_url, policy]);
    let url = format!("http://127.0.0.1:{port}/chatkit");
    let rt = runtime();
    // Warm up (allocator arenas, the model's connection pool, lazy statics).
    let warm = rt.block_on(open(&url, 20, false));
    drop(warm);
    std::thread::sleep(Duration::from_millis(500));
    let (before, _) = rss_mib(server.id());
    let started = Instant::now();
    let kept = rt.block_on(open(&url, streams, detach));
    let opened = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    let (with, peak) = rss_mib(server.id());
    let report = json!({
        "streams": streams,
        "policy": policy,
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
