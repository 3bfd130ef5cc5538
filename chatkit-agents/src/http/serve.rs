//! [`Server`]: serves a router over HTTP/1.1 (and HTTP/2 without TLS, feature `http2`)
//! with the timeouts a public endpoint needs.
//!
//! `axum::serve` sets no timeout at all: a client that opens a connection and sends
//! half a request header, or keeps an idle keep-alive connection open, holds a file
//! descriptor forever, and a few thousand such clients (slowloris) exhaust them. This
//! server closes a connection
//!
//! - whose request headers have not fully arrived [`header_read_timeout`](Server::header_read_timeout)
//!   after their first byte (default 10 s);
//! - that has had no request in flight and received nothing for
//!   [`idle_timeout`](Server::idle_timeout) (default 60 s: the keep-alive timeout, and
//!   how long a new connection may wait before its first byte);
//!
//! and accepts at most [`max_connections`](Server::max_connections) at once (default
//! 10,000; further clients wait in the kernel's backlog). A response being streamed is
//! never cut by these timeouts, however long the model takes. The request *body* is
//! bounded by [`ChatKitEndpoint::body_timeout`](super::ChatKitEndpoint::body_timeout).
//! Every connection has `TCP_NODELAY` set (see [`listen`](super::listen)).
//!
//! With the feature `http2` (on by default) a connection that opens with the HTTP/2
//! preface is served as HTTP/2 (h2c with prior knowledge, what a proxy or a load
//! balancer sends when told the app speaks HTTP/2), every other as HTTP/1.1. Many answers
//! then share one connection: an HTTP/1.1 connection costs the server 16 KiB of buffers
//! for as long as its answer streams, an HTTP/2 stream well under one (BENCHMARKS.md).
//! On HTTP/2 the idle timeout counts from the end of the connection's last stream
//! (frames such as `PING` do not restart it, nor start a header timeout), at most
//! [`http2_max_concurrent_streams`](Server::http2_max_concurrent_streams) streams are
//! open at once on a connection, and a stopping server sends `GOAWAY` and lets the open
//! streams finish.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;

/// The default [`Server::header_read_timeout`]: 10 seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`Server::idle_timeout`]: 60 seconds.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default [`Server::max_connections`]: 10,000.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// The default [`Server::drain_timeout`]: 20 seconds.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// The default [`Server::http2_max_concurrent_streams`]: 200 (hyper's, and about what
/// proxies expect of a backend).
pub const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS: u32 = 200;
/// The HTTP/2 connection preface (RFC 9113 §3.4): the first bytes of a client that
/// speaks HTTP/2 without TLS.
#[cfg(feature = "http2")]
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How long a stopping server waits for the saves of the responses it cancelled.
const SAVE_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP/1.1 (and, feature `http2`, cleartext HTTP/2) server for a ChatKit endpoint
/// (or any axum router), with header-read and idle timeouts and a connection limit on by
/// default (see the module [`crate::http`]).
///
/// # Stopping
///
/// [`Server::serve`] stops on SIGTERM (what a rolling deploy sends) or Ctrl-C;
/// [`Server::serve_with_shutdown`] on a future of your own. Either way the server
/// **drains**: it stops accepting, lets every response in flight (and every detached
/// run, see [`crate::runs`]) finish for up to
/// [`drain_timeout`](Server::drain_timeout) (default 20 s, inside the 30 s that
/// Kubernetes and most platforms wait before SIGKILL), then cancels the ones still
/// streaming through the normal cancel path (their text so far and the hidden note
/// saved, as when a client goes away: see
/// [`ChatKitServer::handle_stream_cancelled`](crate::server::ChatKitServer::handle_stream_cancelled)),
/// waits for those saves, and returns.
///
/// # Example
///
/// ```no_run
/// # use std::sync::Arc;
/// # use chatkit_agents::server::{ChatKitServer, EventStream, ThreadHandle};
/// # use chatkit_agents::store::{MemoryStore, Store};
/// # use chatkit_agents::types::UserMessageItem;
/// # struct MyServer(Arc<MemoryStore>);
/// # impl ChatKitServer for MyServer {
/// #     type Context = ();
/// #     fn store(&self) -> Arc<dyn Store<()>> { self.0.clone() }
/// #     fn respond(self: Arc<Self>, _: ThreadHandle, _: Option<UserMessageItem>, _: ()) -> EventStream { Box::pin(futures::stream::empty()) }
/// # }
/// use std::time::Duration;
/// use chatkit_agents::http::{ChatKitEndpoint, Server};
///
/// # async fn run() -> std::io::Result<()> {
/// let server = Arc::new(MyServer(Arc::new(MemoryStore::new())));
/// let app = ChatKitEndpoint::new(server, |_| Ok(())).router();
/// Server::bind("127.0.0.1:8000")
///     .await?
///     .header_read_timeout(Duration::from_secs(5))
///     .idle_timeout(Duration::from_secs(30))
///     .max_connections(Some(2_000))
///     .serve(app)
///     .await
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: Option<usize>,
    drain_timeout: Duration,
    http2_max_concurrent_streams: u32,
}

impl Server {
    /// Binds `address`, with the default timeouts and limit.
    pub async fn bind(address: impl ToSocketAddrs) -> io::Result<Self> {
        Ok(Self::from_listener(TcpListener::bind(address).await?))
    }

    /// Serves on a listener you bound yourself.
    pub fn from_listener(listener: TcpListener) -> Self {
        Server {
            listener,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: Some(DEFAULT_MAX_CONNECTIONS),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            http2_max_concurrent_streams: DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
        }
    }

    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// How long a request's headers may take to arrive, from their first byte.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a connection may stay open with no request in flight and nothing
    /// received (keep-alive, or a new connection that sends nothing).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How many connections may be open at once (`None`: no limit).
    pub fn max_connections(mut self, limit: Option<usize>) -> Self {
        self.max_connections = limit;
        self
    }

    /// How long a stopping server lets the responses in flight finish before it cancels
    /// them (default [`DEFAULT_DRAIN_TIMEOUT`]). Keep it under what your platform waits
    /// between SIGTERM and SIGKILL, with a few seconds left for the cancelled responses'
    /// saves.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// How many requests an HTTP/2 connection may have open at once (default
    /// [`DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS`]); a client that wants more opens another
    /// connection. Without the feature `http2` there is no HTTP/2 and this does nothing.
    pub fn http2_max_concurrent_streams(mut self, streams: u32) -> Self {
        self.http2_max_concurrent_streams = streams;
        self
    }

    /// Serves `app` until SIGTERM or Ctrl-C ([`shutdown_signal`]), then drains (see
    /// [Stopping](Server#stopping)).
    pub async fn serve(self, app: Router) -> io::Result<()> {
        self.serve_with_shutdown(app, shutdown_signal()).await
    }

    /// Serves `app` until `shutdown` completes, then drains: stops accepting, lets each
    /// open connection finish the response it is sending for up to
    /// [`drain_timeout`](Self::drain_timeout), cancels what is still streaming, waits
    /// for the cancelled responses' saves, and returns.
    pub async fn serve_with_shutdown(
        self,
        app: Router,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let limit = self.max_connections.map(|n| Arc::new(Semaphore::new(n)));
        let (stop, stopped) = watch::channel(false);
        // Past the drain deadline: connections close at once, cancelling their response.
        let (force, forced) = watch::channel(false);
        let open = Arc::new(AtomicUsize::new(0));
        let (closed_tx, mut closed) = watch::channel(());
        let mut shutdown = std::pin::pin!(shutdown);
        let limits = Limits {
            header_read: self.header_read_timeout,
            idle: self.idle_timeout,
            http2_streams: self.http2_max_concurrent_streams,
        };
        loop {
            let permit = match &limit {
                Some(limit) => tokio::select! {
                    permit = limit.clone().acquire_owned() => permit.ok(),
                    () = &mut shutdown => break,
                },
                None => None,
            };
            let stream = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors, a connection reset before it was
                        // accepted: back off instead of spinning, then go on.
                        tracing::warn!(%error, "accepting a connection failed; retrying");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY on a connection: {error}");
            }
            open.fetch_add(1, Ordering::AcqRel);
            let (app, signals, open, closed_tx) = (
                app.clone(),
                Stopping {
                    graceful: stopped.clone(),
                    now: forced.clone(),
                },
                open.clone(),
                closed_tx.clone(),
            );
            tokio::spawn(async move {
                serve_connection(stream, app, limits, signals).await;
                drop(permit);
                open.fetch_sub(1, Ordering::AcqRel);
                let _ = closed_tx.send(());
            });
        }
        let _ = stop.send(true);
        let (connections, runs) = (open.load(Ordering::Acquire), crate::runs::active_runs());
        if connections + runs > 0 {
            tracing::info!(
                connections,
                detached_runs = runs,
                deadline_s = self.drain_timeout.as_secs_f64(),
                "stopping: open connections finish their responses, detached runs their answers"
            );
        }
        let all_closed = async {
            while open.load(Ordering::Acquire) > 0 {
                if closed.changed().await.is_err() {
                    break;
                }
            }
        };
        let mut all_closed = std::pin::pin!(all_closed);
        let drained = async {
            all_closed.as_mut().await;
            crate::runs::runs_ended().await;
        };
        if tokio::time::timeout(self.drain_timeout, drained)
            .await
            .is_err()
        {
            tracing::warn!(
                connections = open.load(Ordering::Acquire),
                detached_runs = crate::runs::active_runs(),
                "drain deadline passed: cancelling the responses and runs still going"
            );
            let _ = force.send(true);
            crate::runs::cancel_runs();
            all_closed.await;
            crate::runs::runs_ended().await;
        }
        let saving = crate::server::cancellations::saving();
        if saving > 0 {
            tracing::info!(saving, "waiting for cancelled responses to be saved");
        }
        if tokio::time::timeout(SAVE_TIMEOUT, crate::server::cancelled_streams_saved())
            .await
            .is_err()
        {
            tracing::error!(
                saving = crate::server::cancellations::saving(),
                "cancelled responses still saving after {SAVE_TIMEOUT:?}; stopping without them"
            );
        }
        Ok(())
    }
}

/// Resolves on SIGTERM (Unix) or Ctrl-C: what [`Server::serve`] stops on. If a signal
/// cannot be listened for, the other still can (and that is logged).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: stopping"),
        () = terminate => tracing::info!("SIGTERM: stopping"),
    }
}

/// What tells a connection to stop: `graceful` after its response, `now` at once.
#[derive(Debug)]
struct Stopping {
    graceful: watch::Receiver<bool>,
    now: watch::Receiver<bool>,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read: Duration,
    idle: Duration,
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    http2_streams: u32,
}

/// What the timeouts look at, shared by a connection's reader, its service and its
/// watchdog.
#[derive(Debug)]
struct Activity {
    /// Requests whose response is not finished.
    in_flight: usize,
    /// When the connection last became idle (opened, or finished a response).
    idle_since: Instant,
    /// The first byte received while idle: a request's headers are arriving.
    header_started: Option<Instant>,
}

#[derive(Debug)]
struct Shared {
    activity: Mutex<Activity>,
    /// Signalled when the last request in flight finishes.
    went_idle: Notify,
}

type SharedActivity = Arc<Shared>;

fn lock(shared: &SharedActivity) -> std::sync::MutexGuard<'_, Activity> {
    crate::locks::lock(&shared.activity)
}

/// When the connection must close if nothing changes, or `None` while a request is in
/// flight.
fn deadline(activity: &Activity, limits: Limits) -> Option<Instant> {
    if activity.in_flight > 0 {
        return None;
    }
    Some(match activity.header_started {
        Some(started) => later(started, limits.header_read),
        None => later(activity.idle_since, limits.idle),
    })
}

/// `start + timeout`, or a century on for a timeout too large to add (`Duration::MAX`
/// means "never").
fn later(start: Instant, timeout: Duration) -> Instant {
    start
        .checked_add(timeout)
        .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// The protocol a connection speaks, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    #[cfg(feature = "http2")]
    Http2,
}

/// What a connection's first read brought: the bytes (handed to hyper before the rest
/// of the socket), when the first of them arrived, and the protocol they open.
struct Opening {
    bytes: Vec<u8>,
    first_byte: Option<Instant>,
    protocol: Protocol,
}

/// Reads enough of a new connection to tell HTTP/2's preface from an HTTP/1.1 request:
/// the first byte within the idle timeout, the rest within the header timeout. `None`
/// when the client closed or timed out first.
#[cfg(feature = "http2")]
async fn opening(stream: &mut TcpStream, limits: Limits) -> Option<Opening> {
    use tokio::io::AsyncReadExt;
    let mut bytes = vec![0u8; HTTP2_PREFACE.len()];
    let first = tokio::time::timeout(limits.idle, stream.read(&mut bytes)).await;
    let mut read = match first {
        Ok(Ok(n)) if n > 0 => n,
        _ => return None,
    };
    let first_byte = Instant::now();
    // HTTP/1.1 methods differ from "PRI" by their second byte at the latest.
    while read < bytes.len() && bytes[..read] == HTTP2_PREFACE[..read] {
        let due = later(first_byte, limits.header_read);
        match tokio::time::timeout_at(due, stream.read(&mut bytes[read..])).await {
            Ok(Ok(n)) if n > 0 => read += n,
            _ => return None,
        }
    }
    let protocol = if bytes[..read] == *HTTP2_PREFACE {
        Protocol::Http2
    } else {
        Protocol::Http1
    };
    bytes.truncate(read);
    Some(Opening {
        bytes,
        first_byte: Some(first_byte),
        protocol,
    })
}

/// Without HTTP/2 every connection is HTTP/1.1 and hyper reads it from its first byte.
#[cfg(not(feature = "http2"))]
async fn opening(_: &mut TcpStream, _: Limits) -> Option<Opening> {
    Some(Opening {
        bytes: Vec::new(),
        first_byte: None,
        protocol: Protocol::Http1,
    })
}

async fn serve_connection(mut stream: TcpStream, app: Router, limits: Limits, stopping: Stopping) {
    let mut stopped = stopping.graceful.clone();
    let mut forced = stopping.now.clone();
    // A connection that has sent nothing when the server stops is idle: it just closes.
    let opening = tokio::select! {
        opening = opening(&mut stream, limits) => opening,
        _ = stopped.wait_for(|stop| *stop) => None,
        _ = forced.wait_for(|now| *now) => None,
    };
    let Some(Opening {
        bytes,
        first_byte,
        protocol,
    }) = opening
    else {
        return;
    };
    let activity: SharedActivity = Arc::new(Shared {
        activity: Mutex::new(Activity {
            in_flight: 0,
            idle_since: Instant::now(),
            header_started: first_byte.filter(|_| protocol == Protocol::Http1),
        }),
        went_idle: Notify::new(),
    });
    let io = TokioIo::new(Tracked {
        stream,
        activity: activity.clone(),
        opening: bytes,
        // On HTTP/2, control frames arrive on an idle connection: they are no request
        // header, and must not start its timeout.
        headers_when_idle: protocol == Protocol::Http1,
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let guard = InFlight::begin(&activity);
            let mut app = app.clone();
            async move {
                // Boxed: the task that serves a request keeps the room of its largest
                // state for as long as the response streams, and the router's future
                // is done once the response starts.
                let response = Box::pin(tower_service::Service::call(&mut app, request)).await?;
                // The request counts as in flight until hyper drops its body: sent, or
                // the connection gone.
                Ok::<_, std::convert::Infallible>(response.map(move |body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &guard;
                        frame
                    }))
                }))
            }
        })
    };
    match protocol {
        Protocol::Http1 => {
            let connection =
                hyper::server::conn::http1::Builder::new().serve_connection(io, service);
            let connection = std::pin::pin!(connection);
            drive(
                connection,
                |connection| connection.graceful_shutdown(),
                false,
                &activity,
                limits,
                stopping,
            )
            .await
        }
        #[cfg(feature = "http2")]
        Protocol::Http2 => {
            let connection =
                hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .timer(hyper_util::rt::TokioTimer::new())
                    .max_concurrent_streams(limits.http2_streams)
                    .serve_connection(io, service);
            let connection = std::pin::pin!(connection);
            drive(
                connection,
                |connection| connection.graceful_shutdown(),
                true,
                &activity,
                limits,
                stopping,
            )
            .await
        }
    }
}

/// Runs `connection` to its end under the timeouts and the server's stop signals.
/// `graceful` asks it to finish its responses and close; with `goaway_when_idle` (HTTP/2)
/// an idle connection is closed that way too (the client learns not to send more on
/// it), with a second to do it, instead of being dropped.
async fn drive<C, E>(
    mut connection: Pin<&mut C>,
    graceful: impl Fn(Pin<&mut C>),
    goaway_when_idle: bool,
    activity: &SharedActivity,
    limits: Limits,
    Stopping {
        graceful: mut stopped,
        now: mut forced,
    }: Stopping,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut stopping = *stopped.borrow();
    if stopping {
        graceful(connection.as_mut());
    }
    // When an idle HTTP/2 connection that was sent GOAWAY must be gone.
    let mut closing_by: Option<Instant> = None;
    loop {
        let due = match closing_by {
            Some(by) => Some(by),
            None => deadline(&lock(activity), limits),
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "HTTP connection ended with an error");
                }
                return;
            }
            () = sleep_until(due, &activity.went_idle) => {
                let now = Instant::now();
                let idle_until = deadline(&lock(activity), limits);
                if let Some(by) = closing_by {
                    match idle_until {
                        // Still idle a second after GOAWAY.
                        Some(_) if by <= now => return,
                        Some(_) => {}
                        // A request came in meanwhile: the connection ends after it.
                        None => closing_by = None,
                    }
                    continue;
                }
                // Re-check: a request may have started since the deadline was read.
                if idle_until.is_some_and(|d| d <= now) {
                    tracing::debug!("closing an HTTP connection that was idle or sent its headers too slowly");
                    if !goaway_when_idle {
                        return;
                    }
                    graceful(connection.as_mut());
                    stopping = true;
                    closing_by = Some(now + Duration::from_secs(1));
                }
            }
            changed = stopped.changed(), if !stopping => {
                if changed.is_err() || *stopped.borrow() {
                    stopping = true;
                    graceful(connection.as_mut());
                }
            }
            changed = forced.changed() => {
                if changed.is_ok() && *forced.borrow() {
                    // Dropping the connection drops the response it streams: the
                    // pipeline's cancel path saves what it has.
                    tracing::debug!("closing an HTTP connection at the drain deadline");
                    return;
                }
            }
        }
    }
}

/// Until `deadline`, or (while a request is in flight) until the connection goes idle.
async fn sleep_until(deadline: Option<Instant>, went_idle: &Notify) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => went_idle.notified().await,
    }
}

/// Counts a request as in flight until dropped.
struct InFlight(SharedActivity);

impl InFlight {
    fn begin(activity: &SharedActivity) -> Self {
        let mut state = lock(activity);
        state.in_flight += 1;
        state.header_started = None;
        drop(state);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = lock(&self.0);
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            // A permit is kept if the watchdog is not waiting yet.
            self.0.went_idle.notify_one();
        }
    }
}

/// The socket, noting when bytes arrive on an idle connection.
struct Tracked {
    stream: TcpStream,
    activity: SharedActivity,
    /// The bytes read to tell the protocol, given to hyper first.
    opening: Vec<u8>,
    /// Whether bytes arriving while no request is in flight start the header timeout.
    headers_when_idle: bool,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.opening.is_empty() {
            let n = this.opening.len().min(buf.remaining());
            buf.put_slice(&this.opening[..n]);
            this.opening.drain(..n);
            if this.opening.is_empty() {
                this.opening = Vec::new();
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if this.headers_when_idle && buf.filled().len() > before {
            let mut state = lock(&this.activity);
            if state.in_flight == 0 && state.header_started.is_none() {
                state.header_started = Some(Instant::now());
            }
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_too_large_to_add_means_never() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now + Duration::from_secs(3600 * 24 * 365));
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }
}
