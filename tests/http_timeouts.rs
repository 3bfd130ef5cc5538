//! `http::Server` over real sockets: slow or idle clients are disconnected, a long
//! streamed answer is not, the connection limit holds, and shutdown is graceful.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chatkit_agents::http::{ChatKitEndpoint, Server};
use support::server::pausing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

const SHORT: Duration = Duration::from_millis(300);

/// A server whose answers take `pause` between their two events.
fn app(pause: Duration) -> axum::Router {
    ChatKitEndpoint::new(pausing(pause), |_| Ok(()))
        .body_timeout(SHORT)
        .router()
}

/// Starts `server` with `app`; the sender stops it, the handle says when it stopped.
async fn start(
    server: Server,
    app: axum::Router,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let address = server.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve_with_shutdown(app, async {
        let _ = stopped.await;
    }));
    (address, stop, handle)
}

async fn short_server(
    app: axum::Router,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .header_read_timeout(SHORT)
        .idle_timeout(SHORT);
    start(server, app).await
}

/// Reads until the server closes the connection, or `limit` passes; returns what was
/// read and whether the server closed it.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn request(body: &str) -> String {
    format!(
        "POST /chatkit HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

const LIST: &str = r#"{"type":"threads.list","params":{}}"#;
const CREATE: &str = r#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}"#;

#[tokio::test]
async fn half_a_header_is_cut_off() {
    let (address, _stop, _) = short_server(app(Duration::ZERO)).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    client
        .write_all(b"POST /chatkit HTTP/1.1\r\nhost: te")
        .await
        .unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut client, Duration::from_secs(5)).await;
    assert!(closed, "the server kept a half-sent header open");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn idle_connections_are_closed_new_and_kept_alive() {
    let (address, _stop, _) = short_server(app(Duration::ZERO)).await;
    // A connection that never sends anything.
    let mut silent = TcpStream::connect(address).await.unwrap();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed, "a silent connection stayed open");

    // A keep-alive connection after one answered request.
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(request(LIST).as_bytes()).await.unwrap();
    let (reply, closed) = read_until_closed(&mut client, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(closed, "an idle keep-alive connection stayed open");
}

#[tokio::test]
async fn a_stream_longer_than_the_timeouts_is_not_cut() {
    let pause = SHORT * 4;
    let (address, _stop, _) = short_server(app(pause)).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(request(CREATE).as_bytes()).await.unwrap();
    let (reply, _) = read_until_closed(&mut client, Duration::from_secs(10)).await;
    assert!(reply.contains("slow answer"), "{reply}");
}

#[tokio::test]
async fn a_trickled_body_gets_408() {
    let (address, _stop, _) = short_server(app(Duration::ZERO)).await;
    let mut client = TcpStream::connect(address).await.unwrap();
    let full = request(LIST);
    // Headers and half the body, then nothing.
    client
        .write_all(&full.as_bytes()[..full.len() - 10])
        .await
        .unwrap();
    let (reply, _) = read_until_closed(&mut client, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("body_timeout"), "{reply}");
}

#[tokio::test]
async fn the_connection_limit_holds_until_one_closes() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .max_connections(Some(2));
    let (address, _stop, _) = start(server, app(Duration::ZERO)).await;
    let first = TcpStream::connect(address).await.unwrap();
    let _second = TcpStream::connect(address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The third connects (the kernel's backlog) but is not served...
    let mut third = TcpStream::connect(address).await.unwrap();
    third.write_all(request(LIST).as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(SHORT, third.read(&mut buf)).await;
    assert!(early.is_err(), "served past the limit");
    // ...until another closes.
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn shutdown_lets_a_running_stream_finish() {
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let (address, stop, handle) = start(server, app(SHORT)).await;
    let idle = TcpStream::connect(address).await.unwrap();
    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(request(CREATE).as_bytes()).await.unwrap();
    let mut first = [0u8; 16];
    let _ = client.read(&mut first).await.unwrap();
    stop.send(()).unwrap();
    let (reply, closed) = read_until_closed(&mut client, Duration::from_secs(5)).await;
    assert!(reply.contains("slow answer"), "{reply}");
    assert!(closed);
    let result = tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("serve returned after its connections closed");
    assert!(result.unwrap().is_ok());
    drop(idle);
    assert!(
        TcpStream::connect(address).await.is_err(),
        "still accepting"
    );
}
