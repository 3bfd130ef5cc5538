//! `http::Server` speaking HTTP/2 without TLS (prior knowledge, as a proxy sends it),
//! over real sockets: answers stream as on HTTP/1.1, many at once share one
//! connection, an idle connection gets `GOAWAY` and closes, a stopping server lets the
//! streams finish, and the timeouts that guard the first bytes still hold.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chatkit_agents::http::{ChatKitEndpoint, Server};
use serde_json::{json, Value};
use support::server::pausing;
use support::sse::Frames;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

const SHORT: Duration = Duration::from_millis(300);

/// A server whose answers take `pause` between their two events.
fn app(pause: Duration) -> axum::Router {
    ChatKitEndpoint::new(pausing(pause), |_| Ok(())).router()
}

struct Running {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(server: Server, app: axum::Router) -> Running {
    let address = server.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve_with_shutdown(app, async {
        let _ = stopped.await;
    }));
    Running {
        address,
        stop,
        handle,
    }
}

fn h2c_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

fn create() -> Value {
    json!({"type": "threads.create", "params": {"input": {
        "content": [{"type": "input_text", "text": "hi"}],
        "attachments": [], "inference_options": {}}}})
}

/// Sends `threads.create` and reads the answer's frames to the end: their types.
async fn answer(client: &reqwest::Client, address: SocketAddr) -> Vec<String> {
    let response = client
        .post(format!("http://{address}/chatkit"))
        .json(&create())
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let mut frames = Frames::new(response);
    let mut types = Vec::new();
    while let Some(frame) = frames.next().await {
        types.push(frame.event["type"].as_str().unwrap_or_default().to_owned());
    }
    assert!(!frames.broke, "the stream broke after {types:?}");
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_stream_over_h2c_many_on_one_connection() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        // Fewer streams than answers: the client waits for a free stream, none fails.
        .http2_max_concurrent_streams(20);
    let running = start(server, app(SHORT)).await;
    let client = h2c_client();
    let answers = futures::future::join_all((0..60).map(|_| answer(&client, running.address)));
    let answers = tokio::time::timeout(Duration::from_secs(20), answers)
        .await
        .expect("60 answers over one HTTP/2 connection");
    for types in answers {
        assert_eq!(types.first().map(String::as_str), Some("thread.created"));
        assert!(types.iter().any(|t| t == "progress_update"), "{types:?}");
        assert!(types.iter().any(|t| t == "thread.item.done"), "{types:?}");
    }
    // A JSON request on the same connection.
    let list: Value = client
        .post(format!("http://{}/chatkit", running.address))
        .json(&json!({"type": "threads.list", "params": {}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().map(Vec::len), Some(20), "{list}");
    // HTTP/1.1 still works beside it.
    let http1 = reqwest::Client::builder().http1_only().build().unwrap();
    let response = http1
        .post(format!("http://{}/chatkit", running.address))
        .json(&json!({"type": "threads.list", "params": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.status(), 200);
}

/// The frame types (RFC 9113 §6) the server sends on a raw HTTP/2 connection until it
/// closes it or `limit` passes, and whether it closed it.
async fn frames_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    let closed = loop {
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
        }
    };
    let mut types = Vec::new();
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let length = (usize::from(bytes[at]) << 16)
            | (usize::from(bytes[at + 1]) << 8)
            | usize::from(bytes[at + 2]);
        types.push(bytes[at + 3]);
        at += 9 + length;
    }
    (types, closed)
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
/// A PING frame with 8 bytes of data.
const PING: &[u8] = &[0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
const GOAWAY: u8 = 7;

#[tokio::test]
async fn an_idle_connection_gets_goaway_and_pings_do_not_keep_it() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .header_read_timeout(Duration::from_secs(30))
        .idle_timeout(Duration::from_secs(1));
    let running = start(server, app(Duration::ZERO)).await;
    let mut client = TcpStream::connect(running.address).await.unwrap();
    let started = Instant::now();
    client.write_all(PREFACE).await.unwrap();
    client.write_all(SETTINGS).await.unwrap();
    // Control frames while idle are no request: they neither keep the connection nor
    // start the (long) header timeout.
    tokio::time::sleep(Duration::from_millis(400)).await;
    client.write_all(PING).await.unwrap();
    let (types, closed) = frames_until_closed(&mut client, Duration::from_secs(10)).await;
    let elapsed = started.elapsed();
    assert!(closed, "an idle HTTP/2 connection stayed open");
    assert!(types.contains(&GOAWAY), "closed without GOAWAY: {types:?}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_half_sent_preface_is_cut_off_at_the_header_timeout() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .header_read_timeout(SHORT)
        .idle_timeout(Duration::from_secs(30));
    let running = start(server, app(Duration::ZERO)).await;
    let mut client = TcpStream::connect(running.address).await.unwrap();
    client.write_all(&PREFACE[..10]).await.unwrap();
    let started = Instant::now();
    let (_, closed) = frames_until_closed(&mut client, Duration::from_secs(5)).await;
    assert!(closed, "a half-sent preface kept its connection");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_the_open_streams_finish() {
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let running = start(server, app(Duration::from_millis(600))).await;
    let client = h2c_client();
    let address = running.address;
    let answers: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { answer(&client, address).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.stop.send(()).unwrap();
    for answer in answers {
        let types = answer.await.unwrap();
        assert!(types.iter().any(|t| t == "thread.item.done"), "{types:?}");
    }
    let result = tokio::time::timeout(Duration::from_secs(5), running.handle)
        .await
        .expect("serve returned once its streams finished");
    assert!(result.unwrap().is_ok());
}
