//! An axum endpoint for ChatKit (feature `axum`): one `POST` route that hands the body
//! to [`process`] and answers with JSON or Server-Sent Events, and a [`Server`] that
//! serves it with the timeouts a public endpoint needs.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use chatkit_agents::server::{ChatKitServer, EventStream, ThreadHandle};
//! # use chatkit_agents::store::{MemoryStore, Store};
//! # use chatkit_agents::types::UserMessageItem;
//! # struct MyServer(Arc<MemoryStore>);
//! # impl ChatKitServer for MyServer {
//! #     type Context = ();
//! #     fn store(&self) -> Arc<dyn Store<()>> { self.0.clone() }
//! #     fn respond(self: Arc<Self>, _: ThreadHandle, _: Option<UserMessageItem>, _: ()) -> EventStream { Box::pin(futures::stream::empty()) }
//! # }
//! use chatkit_agents::http::{ChatKitEndpoint, Server};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Arc::new(MyServer(Arc::new(MemoryStore::new())));
//! let app = ChatKitEndpoint::new(server, |_parts: &axum::http::request::Parts| Ok(()))
//!     .path("/chatkit")
//!     .body_limit(1 << 20)
//!     .router();
//! Server::bind("127.0.0.1:8000").await?.serve(app).await
//! # }
//! ```
//!
//! Serve with [`Server`] rather than a bare `axum::serve`, which has no timeouts: a
//! client that sends half a header, or leaves a keep-alive connection idle, would hold
//! its connection forever. [`Server`] closes those (header read timeout 10 s, idle
//! timeout 60 s), limits open connections (10,000), and sets `TCP_NODELAY`. If you
//! use `axum::serve` anyway, bind with [`listen`] for the latter. It also speaks HTTP/2
//! without TLS (feature `http2`, on by default) to a proxy that is told the app does:
//! many answers then share a connection, at a fraction of the memory of an HTTP/1.1
//! connection each (see [`Server`]).
//!
//! What the endpoint does for you:
//! - builds the request context from the request's headers, URI and extensions with
//!   your extractor (authenticate in middleware and put the user in an extension, or
//!   read a header here); a rejection is answered with its status and a JSON body;
//! - limits the body size (default 10 MiB: room for base64 audio), answering 413
//!   beyond, and the time the body may take to arrive (default 30 s), answering 408;
//! - answers streams as `text/event-stream` with `Cache-Control: no-cache` and
//!   `X-Accel-Buffering: no`, so proxies pass each event on at once;
//! - maps errors found before a stream starts to their status (400, 404, 500, 501) with
//!   `{"error": {"code": ..., "message": ...}}`;
//! - a client that disconnects drops the response body, which cancels the stream and
//!   runs [`ChatKitServer::handle_stream_cancelled`] with the pending items.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use futures::StreamExt;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use crate::server::{process, ChatKitServer, ProcessResult};

#[cfg(feature = "object-store")]
mod attachments;
mod cors;
#[cfg(feature = "devtools")]
mod devtools;
mod serve;
mod usage;

pub use cors::{Cors, InvalidOrigin, DEFAULT_CORS_MAX_AGE};

#[cfg(feature = "object-store")]
pub use attachments::DEFAULT_UPLOAD_TIMEOUT;

pub use serve::{
    shutdown_signal, Server, DEFAULT_DRAIN_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
};

/// A listener for [`axum::serve()`] whose connections have `TCP_NODELAY` set.
pub type NoDelayListener = axum::serve::TapIo<TcpListener, fn(&mut TcpStream)>;

/// Binds `address` for [`axum::serve()`] with `TCP_NODELAY` on every accepted connection.
///
/// A ChatKit response is a stream of small SSE frames. With Nagle's algorithm on, the
/// kernel holds each small write until the previous one is acknowledged, and the
/// client delays that acknowledgement by up to 40 ms: a streamed reply then trickles
/// out in 40 ms steps (measured with 25 concurrent clients: a 200-delta response took
/// 44 ms to its last event instead of 11 ms).
/// `axum::serve` leaves the option off; this listener sets it.
pub async fn listen(address: impl ToSocketAddrs) -> std::io::Result<NoDelayListener> {
    let listener = TcpListener::bind(address).await?;
    Ok(listener.tap_io(set_nodelay as fn(&mut TcpStream)))
}

fn set_nodelay(stream: &mut TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        // The connection still works, only with Nagle's delays.
        tracing::debug!("cannot set TCP_NODELAY on a ChatKit connection: {error}");
    }
}

/// How many frames a response sends before it lets other responses on the same worker
/// run; see [`pace_and_coalesce`].
const FRAMES_PER_TURN: usize = 32;

/// The response body: the SSE frames, taking turns with other responses and sent in as
/// few chunks as possible, without ever holding a frame back.
///
/// - Turns: a response produced in memory never waits, so without a pause the first
///   requests of a burst would stream to the end while the others wait for their first
///   event. After every [`FRAMES_PER_TURN`] frames the body yields to the scheduler;
///   hyper flushes what it has at that point, so every response's first events go out
///   in the first round.
/// - Chunks: the body is chunk-encoded and hyper handles each chunk on its own (a
///   chunk-size header, a buffer entry, a slot in the `writev`), which costs more than
///   the frame itself. Frames already available leave as one chunk.
fn pace_and_coalesce(
    frames: impl futures::Stream<Item = Bytes> + Send + 'static,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let paced = async_stream::stream! {
        let mut frames = std::pin::pin!(frames);
        let mut sent = 0usize;
        while let Some(frame) = frames.next().await {
            yield frame;
            sent += 1;
            if sent.is_multiple_of(FRAMES_PER_TURN) {
                tokio::task::yield_now().await;
            }
        }
    };
    paced.ready_chunks(FRAMES_PER_TURN).map(|mut frames| {
        Ok(if frames.len() == 1 {
            frames.pop().unwrap_or_default()
        } else {
            Bytes::from(frames.concat())
        })
    })
}

/// The default body limit: 10 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The default [`ChatKitEndpoint::body_timeout`]: 30 seconds (10 MiB at 350 KB/s).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request's context could not be built (e.g. missing credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status to answer with.
    pub status: StatusCode,
    /// The message for the JSON error body.
    pub message: String,
}

impl Rejection {
    /// A rejection with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Rejection {
            status,
            message: message.into(),
        }
    }

    /// `401 Unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
}

type Extractor<C> = dyn Fn(&Parts) -> Result<C, Rejection> + Send + Sync;

/// The ChatKit endpoint for a server: configure, then turn into an axum [`Router`].
///
/// The extractor turns each request's parts into your request context; here, the user
/// comes from a header, and a request without it is answered `401`:
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::http::{ChatKitEndpoint, Rejection};
/// use chatkit_agents::server::respond_with;
/// use chatkit_agents::store::{MemoryStore, StoreContext};
/// use futures::stream;
///
/// #[derive(Clone)]
/// struct User(String);
///
/// // Stores keep each user's threads apart by this id.
/// impl StoreContext for User {
///     fn user_id(&self) -> Option<&str> {
///         Some(&self.0)
///     }
/// }
///
/// let server = Arc::new(respond_with(Arc::new(MemoryStore::new()), |_, _, _: User| {
///     Box::pin(stream::empty())
/// }));
/// let app: axum::Router = ChatKitEndpoint::new(server, |parts| {
///     let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok());
///     user.map(|u| User(u.to_owned()))
///         .ok_or_else(|| Rejection::unauthorized("no x-user header"))
/// })
/// .path("/api/chatkit")
/// .router();
/// # let _ = app;
/// ```
pub struct ChatKitEndpoint<S: ChatKitServer> {
    server: Arc<S>,
    extract: Arc<Extractor<S::Context>>,
    path: String,
    body_limit: usize,
    body_timeout: Duration,
    #[cfg(feature = "object-store")]
    upload_timeout: Duration,
    #[cfg(feature = "devtools")]
    devtools: bool,
    #[cfg(feature = "devtools")]
    devtools_options: Bytes,
    cors: Option<Cors>,
}

impl<S: ChatKitServer> Clone for ChatKitEndpoint<S> {
    fn clone(&self) -> Self {
        ChatKitEndpoint {
            server: self.server.clone(),
            extract: self.extract.clone(),
            path: self.path.clone(),
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            #[cfg(feature = "object-store")]
            upload_timeout: self.upload_timeout,
            #[cfg(feature = "devtools")]
            devtools: self.devtools,
            #[cfg(feature = "devtools")]
            devtools_options: self.devtools_options.clone(),
            cors: self.cors.clone(),
        }
    }
}

impl<S: ChatKitServer> ChatKitEndpoint<S> {
    /// An endpoint at `/chatkit` whose context comes from `extract`.
    pub fn new(
        server: Arc<S>,
        extract: impl Fn(&Parts) -> Result<S::Context, Rejection> + Send + Sync + 'static,
    ) -> Self {
        ChatKitEndpoint {
            server,
            extract: Arc::new(extract),
            path: "/chatkit".into(),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            #[cfg(feature = "object-store")]
            upload_timeout: DEFAULT_UPLOAD_TIMEOUT,
            #[cfg(feature = "devtools")]
            devtools: false,
            #[cfg(feature = "devtools")]
            devtools_options: Bytes::from_static(b"{}"),
            cors: None,
        }
    }

    /// Serves at `path` instead of `/chatkit`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Rejects bodies larger than `bytes` with 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Answers 408 when the request body has not fully arrived `timeout` after the
    /// headers (default [`DEFAULT_BODY_TIMEOUT`]): a client that trickles its body
    /// cannot hold the request open.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Bounds the time a file upload may take, from headers to last byte (default
    /// [`DEFAULT_UPLOAD_TIMEOUT`]); a slower upload is answered 408 and nothing is
    /// stored. Upload sizes are the attachment store's limits, not
    /// [`body_limit`](Self::body_limit).
    #[cfg(feature = "object-store")]
    pub fn upload_timeout(mut self, timeout: Duration) -> Self {
        self.upload_timeout = timeout;
        self
    }

    /// Serves the devtools page at `GET <path>/devtools` (feature `devtools`): a ChatKit
    /// client for developers with an inspector of every request and frame, its assets
    /// embedded in the crate (it needs no network), behind this endpoint's extractor.
    /// Off by default: turn it on where developers are the users.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chatkit_agents::http::ChatKitEndpoint;
    /// # use chatkit_agents::server::respond_with;
    /// # use chatkit_agents::store::MemoryStore;
    /// # let server = Arc::new(respond_with(Arc::new(MemoryStore::new()), |_, _, _: ()| Box::pin(futures::stream::empty())));
    /// let app: axum::Router = ChatKitEndpoint::new(server, |_| Ok(()))
    ///     .devtools(true) // http://localhost:8000/chatkit/devtools
    ///     .router();
    /// # let _ = app;
    /// ```
    #[cfg(feature = "devtools")]
    pub fn devtools(mut self, on: bool) -> Self {
        self.devtools = on;
        self
    }

    /// What the devtools page offers in its composer, in the shapes of the ChatKit web
    /// component's options (`@openai/chatkit`): `composer.tools` (`[{"id", "label"}]`,
    /// the ids your server routes by), `composer.models` (`[{"id", "label"}]`), and
    /// `entities` (`[{"id", "title", "group"?, "data"?}]`, a static list searched as you
    /// type `@` — the page's stand-in for `entities.onTagSearch`). Served to the page
    /// as `GET <path>/devtools/options.json`; default `{}`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chatkit_agents::http::ChatKitEndpoint;
    /// # use chatkit_agents::server::respond_with;
    /// # use chatkit_agents::store::MemoryStore;
    /// # let server = Arc::new(respond_with(Arc::new(MemoryStore::new()), |_, _, _: ()| Box::pin(futures::stream::empty())));
    /// let app: axum::Router = ChatKitEndpoint::new(server, |_| Ok(()))
    ///     .devtools(true)
    ///     .devtools_options(serde_json::json!({
    ///         "composer": {"tools": [{"id": "research", "label": "Research"}]},
    ///         "entities": [{"id": "doc_1", "title": "Quarterly report", "group": "Documents"}],
    ///     }))
    ///     .router();
    /// # let _ = app;
    /// ```
    #[cfg(feature = "devtools")]
    pub fn devtools_options(mut self, options: serde_json::Value) -> Self {
        self.devtools_options = Bytes::from(options.to_string());
        self
    }

    /// Lets pages of other origins call the endpoint (CORS): preflights are answered and
    /// every route's answers marked for the origins `cors` lists; see [`Cors`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chatkit_agents::http::{ChatKitEndpoint, Cors};
    /// # use chatkit_agents::server::respond_with;
    /// # use chatkit_agents::store::MemoryStore;
    /// # let server = Arc::new(respond_with(Arc::new(MemoryStore::new()), |_, _, _: ()| Box::pin(futures::stream::empty())));
    /// let app: axum::Router = ChatKitEndpoint::new(server, |_| Ok(()))
    ///     .cors(Cors::allow_origins(["https://app.example.com"]).expect("an origin"))
    ///     .router();
    /// # let _ = app;
    /// ```
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// The router: `POST <path>` (the ChatKit protocol), `GET <path>/runs/events`
    /// (joins a detached run: the `Last-Event-ID` header, or `?after=<event id>`, says
    /// from where; see [`crate::server::resume`]) and `POST <path>/runs/cancel` (stops
    /// the run answering in a thread: body `{"thread_id": "thr_…"}`, answer
    /// `{"cancelled": true|false}`; see [`crate::server::cancel_run`]) and `GET
    /// <path>/usage` (the user's token usage per day and model, `?thread_id=`, `?from=`
    /// and `?to=` optional; see [`crate::server::usage`]). With the
    /// feature `object-store`, also the attachment routes: `POST <path>/attachments`
    /// (direct uploads), `POST|PUT <path>/attachments/{id}/upload` (two-phase uploads
    /// through this server) and `GET <path>/attachments/{id}/preview`; they answer 501
    /// when the server has no attachment store. With `devtools(true)` on
    /// (feature `devtools`), `GET <path>/devtools` and its assets and `POST
    /// <path>/devtools/validate`. With [`cors`](Self::cors), every route answers CORS
    /// preflights. Merge it into your app's router.
    pub fn router(self) -> Router {
        let path = self.path.clone();
        let base = path.trim_end_matches('/');
        let (events, cancel) = (format!("{base}/runs/events"), format!("{base}/runs/cancel"));
        let router = Router::new()
            .route(&path, post(handle::<S>))
            .route(&events, get(resume_run::<S>))
            .route(&cancel, post(cancel_run::<S>))
            .route(&format!("{base}/usage"), get(usage::usage::<S>));
        #[cfg(feature = "object-store")]
        let router = router
            .route(
                &format!("{base}/attachments"),
                post(attachments::direct_upload::<S>),
            )
            .route(
                &format!("{base}/attachments/{{id}}/upload"),
                post(attachments::two_phase_upload::<S>).put(attachments::two_phase_upload::<S>),
            )
            .route(
                &format!("{base}/attachments/{{id}}/preview"),
                get(attachments::preview::<S>),
            );
        #[cfg(feature = "devtools")]
        let router = if self.devtools {
            router
                .route(&format!("{base}/devtools"), get(devtools::page::<S>))
                .route(
                    &format!("{base}/devtools/{{file}}"),
                    get(devtools::file::<S>),
                )
                .route(
                    &format!("{base}/devtools/validate"),
                    post(devtools::validate::<S>),
                )
        } else {
            router
        };
        let cors = self.cors.as_ref().map(Cors::layer);
        let router = router.with_state(self);
        match cors {
            Some(cors) => router.layer(cors),
            None => router,
        }
    }
}

impl<S: ChatKitServer> ChatKitEndpoint<S> {
    /// The request's context and its body (at most `limit` bytes, within the body
    /// timeout), or the error response.
    async fn read(&self, request: Request, limit: usize) -> Result<(S::Context, Bytes), Response> {
        let (parts, body) = request.into_parts();
        let context = self
            .context(&parts)
            .map_err(|no| error_response(no.status, "rejected", &no.message))?;
        let read = tokio::time::timeout(self.body_timeout, axum::body::to_bytes(body, limit));
        match read.await {
            Ok(Ok(body)) => Ok((context, body)),
            Err(_elapsed) => {
                let message = format!(
                    "request body did not arrive within {} s",
                    self.body_timeout.as_secs_f64()
                );
                Err(error_response(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    &message,
                ))
            }
            Ok(Err(error)) if too_large(&error) => {
                let message = format!("request body is larger than {limit} bytes");
                Err(error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    &message,
                ))
            }
            Ok(Err(error)) => Err(error_response(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                &error.to_string(),
            )),
        }
    }

    /// The request's context, or the logged rejection.
    fn context(&self, parts: &Parts) -> Result<S::Context, Rejection> {
        (self.extract)(parts).inspect_err(|rejection| {
            tracing::info!(
                status = rejection.status.as_u16(),
                "ChatKit request rejected: {}",
                rejection.message
            );
        })
    }
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

fn too_large(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

async fn handle<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    request: Request,
) -> Response {
    match endpoint.read(request, endpoint.body_limit).await {
        Ok((context, body)) => respond(process(&endpoint.server, &body, context).await),
        Err(response) => response,
    }
}

/// `GET <path>/runs/events`: a detached run's events after `Last-Event-ID` (or
/// `?after=`), then the live ones.
async fn resume_run<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    request: Request,
) -> Response {
    let (parts, _body) = request.into_parts();
    let context = match endpoint.context(&parts) {
        Ok(context) => context,
        Err(no) => return error_response(no.status, "rejected", &no.message),
    };
    let from_header = parts
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let from_query = match axum::extract::Query::<ResumeQuery>::try_from_uri(&parts.uri) {
        Ok(query) => query.0.after,
        Err(rejection) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "bad_cursor",
                &rejection.body_text(),
            )
        }
    };
    let Some(cursor) = from_header.or(from_query) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "bad_cursor",
            "say where to resume from: a Last-Event-ID header or ?after=<event id>",
        );
    };
    let result = crate::server::resume(&endpoint.server, &cursor, context).await;
    respond(result.map(ProcessResult::Streaming))
}

/// `POST <path>/runs/cancel`: stops the run answering in `{"thread_id": …}`.
async fn cancel_run<S: ChatKitServer>(
    State(endpoint): State<ChatKitEndpoint<S>>,
    request: Request,
) -> Response {
    let (context, body) = match endpoint.read(request, 4096).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let thread_id = match serde_json::from_slice::<CancelBody>(&body) {
        Ok(target) => target.thread_id,
        Err(error) => {
            let message = format!("expected {{\"thread_id\": \"thr_…\"}}: {error}");
            return error_response(StatusCode::BAD_REQUEST, "invalid_body", &message);
        }
    };
    match crate::server::cancel_run(&endpoint.server, &thread_id, context).await {
        Ok(cancelled) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            serde_json::json!({ "cancelled": cancelled }).to_string(),
        )
            .into_response(),
        Err(error) => respond(Err(error)),
    }
}

/// The body of `POST <path>/runs/cancel`.
#[derive(serde::Deserialize)]
struct CancelBody {
    thread_id: String,
}

/// `?after=<event id>`, the other way to say where to resume from.
#[derive(serde::Deserialize)]
struct ResumeQuery {
    after: Option<String>,
}

/// The HTTP response of a processed request.
fn respond(result: Result<ProcessResult, crate::server::ProcessError>) -> Response {
    match result {
        Ok(ProcessResult::Json(json)) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            json,
        )
            .into_response(),
        Ok(ProcessResult::Streaming(stream)) => Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .header("x-accel-buffering", "no")
            .body(Body::from_stream(pace_and_coalesce(stream)))
            .unwrap_or_else(|_| {
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "could not build the response",
                )
            }),
        Err(crate::server::ProcessError::LimitExceeded(exceeded)) => {
            let mut response = failure(429, "rate_limited", &exceeded);
            // Whole seconds, rounded up (RFC 9110 `delay-seconds`).
            let wait = exceeded
                .retry_after
                .map(|wait| wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            if let Some(seconds) = wait {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Err(error) => failure(error.status(), error.code(), &error),
    }
}

/// The error response for a request refused or failed with `status`, logged: server
/// faults at `ERROR`, the rest (refusals) at `INFO`.
fn failure(status: u16, code: &str, error: &dyn std::fmt::Display) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // A 501 is a feature this server did not configure (any client can ask for one):
    // not a server fault, so it must not flood the error log.
    if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED {
        tracing::error!(%error, "ChatKit request failed");
    } else {
        tracing::info!(status = status.as_u16(), %error, "ChatKit request refused");
    }
    error_response(status, code, &error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listen_turns_off_nagle_on_accepted_connections() {
        use axum::serve::Listener;
        let mut listener = listen("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client = tokio::spawn(TcpStream::connect(address));
        let (accepted, _) = listener.accept().await;
        assert!(accepted.nodelay().unwrap());
        drop(client.await.unwrap().unwrap());
    }

    #[tokio::test]
    async fn frames_take_turns_and_leave_in_whole_chunks() {
        let frames: Vec<Bytes> = (0..100)
            .map(|i| Bytes::from(format!("data: {i}\n\n")))
            .collect();
        let chunks: Vec<Bytes> = pace_and_coalesce(futures::stream::iter(frames.clone()))
            .map(|chunk| chunk.unwrap_or_else(|never| match never {}))
            .collect()
            .await;
        // The body pauses after every FRAMES_PER_TURN frames, so each pause ends a chunk.
        let frames_per_chunk: Vec<usize> = chunks
            .iter()
            .map(|chunk| chunk.windows(6).filter(|w| w == b"data: ").count())
            .collect();
        assert_eq!(frames_per_chunk, [32, 32, 32, 4]);
        assert_eq!(chunks.concat(), frames.concat());
    }

    #[tokio::test]
    async fn a_frame_is_sent_without_waiting_for_the_next() {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<Bytes>();
        let mut body = std::pin::pin!(pace_and_coalesce(receiver));
        sender
            .unbounded_send(Bytes::from_static(b"data: 1\n\n"))
            .unwrap();
        let first = body
            .next()
            .await
            .unwrap()
            .unwrap_or_else(|never| match never {});
        assert_eq!(first, Bytes::from_static(b"data: 1\n\n"));
        drop(sender);
        assert!(body.next().await.is_none());
    }
}
