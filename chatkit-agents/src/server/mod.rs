//! The ChatKit server: [`ChatKitServer`] (what you implement), [`process`] (what your
//! HTTP handler calls), and the event pipeline between them.
//!
//! ```
//! use std::sync::Arc;
//! use chatkit_agents::server::{process, ChatKitServer, EventStream, ProcessResult, ThreadHandle};
//! use chatkit_agents::store::{MemoryStore, Store};
//! use chatkit_agents::types::{AssistantMessageContent, AssistantMessageItem, ThreadStreamEvent, Timestamp, UserMessageItem};
//! use futures::StreamExt;
//!
//! struct Echo {
//!     store: Arc<MemoryStore>,
//! }
//!
//! impl ChatKitServer for Echo {
//!     type Context = ();
//!
//!     fn store(&self) -> Arc<dyn Store<()>> {
//!         self.store.clone()
//!     }
//!
//!     fn respond(self: Arc<Self>, thread: ThreadHandle, input: Option<UserMessageItem>, _ctx: ()) -> EventStream {
//!         Box::pin(async_stream::try_stream! {
//!             thread.set_title("Echo");
//!             let text = input.map(|m| format!("{:?}", m.content.len())).unwrap_or_default();
//!             yield ThreadStreamEvent::item_done(AssistantMessageItem {
//!                 id: "msg_reply".into(),
//!                 thread_id: thread.id().to_owned(),
//!                 created_at: Timestamp::now(),
//!                 content: vec![AssistantMessageContent::new(format!("parts: {text}"))],
//!             });
//!         })
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = Arc::new(Echo { store: Arc::new(MemoryStore::new()) });
//! let body = br#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}"#;
//! let ProcessResult::Streaming(stream) = process(&server, body, ()).await.unwrap() else { unreachable!() };
//! let frames: Vec<_> = stream.collect().await;
//! // thread.created, the user message, stream_options, the reply, thread.updated (title)
//! assert_eq!(frames.len(), 5);
//! assert!(frames[0].starts_with(b"data: {\"type\":\"thread.created\""));
//! # });
//! ```

mod active_runs;
mod attachments;
pub(crate) mod cancellations;
mod detached;
mod errors;
mod frame;
mod handlers;
mod limits;
mod pending;
mod pipeline;
mod respond_with;
mod result;
mod thread_handle;
mod usage;

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tracing::field::Empty;
use tracing::Instrument;

pub use active_runs::{cancel_run, RUN_ACTIVE_REASON, THREAD_BUSY_MESSAGE};
pub use cancellations::cancelled_streams_saved;
pub use detached::{resume, start_run};
pub use errors::{ProcessError, StreamError};
pub use frame::sse_frame;
#[cfg(feature = "redis")]
pub use limits::RedisLimitCounters;
pub use limits::{
    CounterError, LimitCounters, LimitExceeded, LimitKind, LimitSettings, Limits,
    MemoryLimitCounters, Rate, UserLimits, DEFAULT_STREAM_SLOT_TTL,
};
pub use pending::DEFAULT_CHECKPOINT_INTERVAL;
pub use pipeline::{default_handle_stream_cancelled, CANCELLED_NOTE};
pub use respond_with::{respond_with, RespondWith};
pub use result::{ProcessResult, StreamingResult};
pub use thread_handle::ThreadHandle;
pub use usage::{usage, USAGE_METADATA_KEY};

use crate::runs::{DisconnectPolicy, RunLeases};
use crate::store::{AttachmentStore, Store, StoreError};
use crate::telemetry::metrics::{RequestMeter, RequestStatus};
use crate::types::{
    Action, AudioInput, ChatKitRequest, FeedbackKind, StreamOptions, SyncCustomActionResponse,
    ThreadItem, ThreadMetadata, ThreadStreamEvent, TranscriptionResult, UserMessageItem,
    WidgetItem,
};

/// What `respond` and `action` return: events as they happen, or a [`StreamError`]
/// that ends the stream with an `error` event. `async_stream::try_stream!` writes these
/// naturally (`yield` events, `?` errors).
///
/// Inside `try_stream!`, `?` on an error does not return from a function: it hands the
/// error to the stream's reader as its last item and ends the stream. Like `yield` it is
/// a point where the stream pauses until read, so what holds a lock or a transaction
/// across a `?` keeps holding it until the reader takes the error; and the events
/// yielded before it have been sent (and saved) already.
///
/// A `thread.item.done` of a [`HiddenContextItem`](crate::types::HiddenContextItem) is
/// saved but never sent to the client.
pub type EventStream = BoxStream<'static, Result<ThreadStreamEvent, StreamError>>;

/// Your ChatKit server: the reference's `ChatKitServer` overridable surface.
///
/// Only [`store`](Self::store) and [`respond`](Self::respond) are required. `respond` and
/// `action` receive the thread as a [`ThreadHandle`]: change its title, status or
/// metadata while streaming (or before returning the stream: the pipeline calls them
/// after taking its snapshot) and the pipeline persists it and tells the client right
/// after the next event, or at the end of the stream.
///
/// A server that answers with an agent and handles one widget action (for a server
/// that only answers messages, [`respond_with`] needs no type of your own):
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::prelude::*;
/// use chatkit_agents::testing::{ScriptedModel, Step};
/// use chatkit_agents::types::{Action, WidgetItem};
///
/// struct Support {
///     store: Arc<MemoryStore>,
///     agent: Agent<AgentContext<()>>,
/// }
///
/// impl ChatKitServer for Support {
///     type Context = ();
///
///     fn store(&self) -> Arc<dyn Store<()>> {
///         self.store.clone()
///     }
///
///     fn respond(self: Arc<Self>, thread: ThreadHandle, input: Option<UserMessageItem>, ctx: ()) -> EventStream {
///         let context = AgentContext::new(thread, self.store.clone(), ctx);
///         let text = input.map(|message| message.text()).unwrap_or_default();
///         let run = Runner::new().run_streamed(&self.agent, text, context.clone());
///         stream_agent_response(&context, run)
///     }
///
///     fn action(self: Arc<Self>, thread: ThreadHandle, action: Action, _sender: Option<WidgetItem>, _ctx: ()) -> EventStream {
///         Box::pin(async_stream::try_stream! {
///             if action.action_type == "close_ticket" {
///                 thread.set_title("Closed");
///                 yield ThreadStreamEvent::progress("Ticket closed");
///             }
///         })
///     }
/// }
///
/// let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("How can I help?")]]));
/// let server = Arc::new(Support { store: Arc::new(MemoryStore::new()), agent: Agent::new("Support", model) });
/// # let _ = server;
/// ```
#[async_trait]
pub trait ChatKitServer: Send + Sync + 'static {
    /// Per-request data from your HTTP layer (user, locale, ...), passed to every store
    /// call and hook. Stores scope data by it (see [`crate::store::StoreContext`]).
    type Context: Clone + Send + Sync + 'static;

    /// The store for threads, items and attachment metadata.
    fn store(&self) -> Arc<dyn Store<Self::Context>>;

    /// The store for attachment bytes; without one, `attachments.*` requests fail with
    /// [`ProcessError::NotImplemented`].
    fn attachment_store(&self) -> Option<Arc<dyn AttachmentStore<Self::Context>>> {
        None
    }

    /// Answers a user message (`input`), or continues after client tool output or
    /// structured input (`input` is `None`).
    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        context: Self::Context,
    ) -> EventStream;

    /// Handles a widget action sent with `threads.custom_action`. `sender` is the widget
    /// item whose control fired it (if the client named one). The default fails the
    /// stream with a retryable `stream.error`, as the reference's does.
    ///
    /// A [`HiddenContextItem`](crate::types::HiddenContextItem) yielded here (as
    /// `thread.item.done`) is saved for the model's next turn and never sent: the way to
    /// tell the model what the user did.
    fn action(
        self: Arc<Self>,
        _thread: ThreadHandle,
        action: Action,
        _sender: Option<WidgetItem>,
        _context: Self::Context,
    ) -> EventStream {
        let message = format!(
            "action() is not implemented; cannot handle action {:?}",
            action.action_type
        );
        Box::pin(futures::stream::once(async move {
            Err(StreamError::internal(message))
        }))
    }

    /// Handles an action of a widget whose action config has `streaming: false`
    /// (`threads.sync_custom_action`). Nothing is persisted for you: save the updated
    /// item yourself if it should last.
    async fn sync_action(
        &self,
        _thread: ThreadMetadata,
        action: Action,
        _sender: Option<WidgetItem>,
        _context: &Self::Context,
    ) -> Result<SyncCustomActionResponse, ProcessError> {
        Err(ProcessError::NotImplemented(format!(
            "sync_action() is not implemented; cannot handle action {:?}",
            action.action_type
        )))
    }

    /// Records thumbs up/down on items. The default does nothing.
    async fn add_feedback(
        &self,
        _thread_id: &str,
        _item_ids: &[String],
        _feedback: FeedbackKind,
        _context: &Self::Context,
    ) -> Result<(), ProcessError> {
        Ok(())
    }

    /// Transcribes dictated audio (`input.transcribe`).
    async fn transcribe(
        &self,
        _audio: AudioInput,
        _context: &Self::Context,
    ) -> Result<TranscriptionResult, ProcessError> {
        Err(ProcessError::NotImplemented(
            "transcribe() is not implemented".into(),
        ))
    }

    /// The user to name on the request's span (`user.id`), if any: for example
    /// `Some(context.user_id.clone())`. Default: none, since a user id is personal data;
    /// return one your operators may see (an opaque id rather than an email address).
    fn telemetry_user(&self, _context: &Self::Context) -> Option<String> {
        None
    }

    /// Options sent first in every stream. Default: cancellation allowed.
    fn get_stream_options(
        &self,
        _thread: &ThreadMetadata,
        _context: &Self::Context,
    ) -> StreamOptions {
        StreamOptions { allow_cancel: true }
    }

    /// Runs when the client goes away mid-stream, with the items that were added but
    /// not done (what checkpoints saved of them is deleted first: save what you keep).
    /// The default saves non-empty assistant messages and a hidden note
    /// ([`CANCELLED_NOTE`]) for the model.
    async fn handle_stream_cancelled(
        &self,
        thread: ThreadMetadata,
        pending: Vec<ThreadItem>,
        context: &Self::Context,
    ) -> Result<(), StoreError> {
        default_handle_stream_cancelled(&*self.store(), &thread, &pending, context).await
    }

    /// What a client going away mid-answer does to the answer: [`DisconnectPolicy::Cancel`]
    /// (the default, as the reference: the answer stops and what it had is saved with a
    /// hidden note), or [`DisconnectPolicy::Detach`] (the answer runs on to its end in a
    /// task of its own, saved as if the client had stayed; its frames carry `id:` lines
    /// and [`resume`] joins it). Asked per request, so a request's context can choose.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chatkit_agents::server::{ChatKitServer, EventStream, ThreadHandle};
    /// # use chatkit_agents::store::{MemoryStore, Store};
    /// # use chatkit_agents::types::UserMessageItem;
    /// use chatkit_agents::runs::DisconnectPolicy;
    ///
    /// struct Researcher(Arc<MemoryStore>);
    ///
    /// impl ChatKitServer for Researcher {
    ///     type Context = ();
    ///     fn store(&self) -> Arc<dyn Store<()>> { self.0.clone() }
    ///     # fn respond(self: Arc<Self>, _: ThreadHandle, _: Option<UserMessageItem>, _: ()) -> EventStream { Box::pin(futures::stream::empty()) }
    ///     fn disconnect_policy(&self, _: &()) -> DisconnectPolicy {
    ///         // Long research keeps going when the user closes the tab.
    ///         DisconnectPolicy::detach()
    ///     }
    /// }
    /// ```
    fn disconnect_policy(&self, _context: &Self::Context) -> DisconnectPolicy {
        DisconnectPolicy::Cancel
    }

    /// How often an item that is still streaming (assistant text, a workflow's tasks)
    /// is saved as the client has seen it so far: when it is added, then at most once
    /// this interval while it changes (default [`DEFAULT_CHECKPOINT_INTERVAL`], one
    /// second). A process killed mid-answer then loses at most the last interval, and a
    /// client that reloads the thread mid-answer sees the answer so far. `None` saves
    /// items only when done (or cancelled), as the reference.
    fn checkpoint_interval(&self) -> Option<std::time::Duration> {
        Some(DEFAULT_CHECKPOINT_INTERVAL)
    }

    /// How runs hold their threads (default [`RunLeases::default`]: a 20 s lease).
    ///
    /// A response claims its thread's lease in the store before it writes anything and
    /// releases it once it has ended and been saved, so a thread answers one message at
    /// a time on every replica sharing the store: a second message or action meanwhile
    /// gets an error event ([`THREAD_BUSY_MESSAGE`], retry allowed) and nothing of it is
    /// saved. Refusing is deliberate: cancelling the answer under way would let a
    /// second tab silently throw away the first one's work; [`cancel_run`] (`POST
    /// <path>/runs/cancel`) stops it on purpose. A run whose process died (its lease
    /// not renewed for `ttl`) is closed like a cancelled stream by the next request on
    /// its thread, on any replica.
    ///
    /// `None` runs without leases, as the reference (and a store that keeps none does
    /// the same).
    fn run_leases(&self) -> Option<RunLeases> {
        Some(RunLeases::default())
    }

    /// The limits this request's user is held to, if any: requests per window, streams
    /// open at once, model tokens per window ([`Limits`]). A request over a limit is
    /// refused before anything of it is read or written: a streaming request with one
    /// `error` event that names the limit and when to retry, any other with
    /// [`ProcessError::LimitExceeded`] (`429` with `Retry-After` over HTTP). Default:
    /// none.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chatkit_agents::server::{ChatKitServer, EventStream, ThreadHandle};
    /// # use chatkit_agents::store::{MemoryStore, Store, StoreContext};
    /// # use chatkit_agents::types::UserMessageItem;
    /// use std::time::Duration;
    /// use chatkit_agents::server::{Limits, UserLimits};
    ///
    /// #[derive(Clone)]
    /// struct User(String);
    /// impl StoreContext for User {
    ///     fn user_id(&self) -> Option<&str> { Some(&self.0) }
    /// }
    ///
    /// struct Chat {
    ///     store: Arc<MemoryStore>,
    ///     limits: Limits,
    /// }
    ///
    /// impl ChatKitServer for Chat {
    ///     type Context = User;
    ///     fn store(&self) -> Arc<dyn Store<User>> { self.store.clone() }
    ///     # fn respond(self: Arc<Self>, _: ThreadHandle, _: Option<UserMessageItem>, _: User) -> EventStream { Box::pin(futures::stream::empty()) }
    ///     fn limits(&self, user: &User) -> Option<UserLimits> {
    ///         Some(self.limits.for_user(&user.0))
    ///     }
    /// }
    ///
    /// let chat = Chat {
    ///     store: Arc::new(MemoryStore::new()),
    ///     limits: Limits::in_memory().requests(60, Duration::from_secs(60)).concurrent_streams(2),
    /// };
    /// # let _ = chat;
    /// ```
    fn limits(&self, _context: &Self::Context) -> Option<UserLimits> {
        None
    }

    /// Whether each thread keeps its token totals in its metadata under
    /// [`USAGE_METADATA_KEY`] (`"usage"`: requests, input, cached input, output,
    /// reasoning and total tokens of every response so far) and sends that key to its
    /// owner with the thread (`thread.updated` after each response, `threads.get_by_id`,
    /// `threads.list`), where a client may show it. The rest of the metadata stays
    /// server-side as in the reference. Default `false`: the wire output is the
    /// reference's. Usage is kept in the store either way ([`usage`]).
    fn usage_in_thread_metadata(&self) -> bool {
        false
    }

    /// Where detached runs' events go besides this process, so that a client can join
    /// a run ([`resume`], `GET <path>/runs/events`) on any replica: a
    /// [`RunLogBackend`](crate::runs::RunLogBackend) such as `runs::RedisRunLog`
    /// (feature `redis`). Default none: a run can be joined on the replica that runs it
    /// only. Return the same backend every time (build it once, keep it in the server).
    fn run_log(&self) -> Option<Arc<dyn crate::runs::RunLogBackend>> {
        None
    }
}

/// Handles one request body: parses it, runs the operation, and returns either a JSON
/// body or an SSE stream. Errors found before a stream starts are [`ProcessError`]s
/// (map them with [`ProcessError::status`]); errors inside a stream are `error` events.
pub async fn process<S: ChatKitServer>(
    server: &Arc<S>,
    body: &[u8],
    context: S::Context,
) -> Result<ProcessResult, ProcessError> {
    let request = ChatKitRequest::parse(body)?;
    process_request(server, request, context).await
}

/// [`process`] for an already parsed request.
pub async fn process_request<S: ChatKitServer>(
    server: &Arc<S>,
    request: ChatKitRequest,
    context: S::Context,
) -> Result<ProcessResult, ProcessError> {
    // Everything logged while handling the request, including while its stream is
    // read later, is inside this span: each line names the request type and thread.
    let request_type = request.type_name();
    let span = tracing::info_span!(
        "chatkit_request",
        request_type,
        thread_id = request.op.thread_id(),
        user.id = Empty,
        otel.status_code = Empty,
    );
    if !span.is_disabled() {
        if let Some(user) = server.telemetry_user(&context) {
            span.record("user.id", user);
        }
    }
    tracing::info!(parent: &span, "Received request op: {request_type}");
    let mut meter = RequestMeter::start(request_type);
    let streaming = request.is_streaming();
    let admission = match server.limits(&context) {
        None => None,
        Some(user) => match user.admit(streaming).instrument(span.clone()).await {
            Ok(admission) => Some(admission),
            Err(exceeded) => {
                tracing::info!(parent: &span, limit = exceeded.kind.as_str(), user = user.user(), "request over a limit: {exceeded}");
                meter.end(RequestStatus::Error);
                return match streaming {
                    true => Ok(ProcessResult::Streaming(limits::refused_stream(&exceeded))),
                    false => Err(ProcessError::LimitExceeded(exceeded)),
                };
            }
        },
    };
    let policy = server.disconnect_policy(&context);
    // Only a streaming request starts a run; the others never read its id.
    let run = handlers::Run {
        id: match streaming {
            true => crate::runs::new_run_id(),
            false => String::new(),
        },
        detached: matches!(policy, DisconnectPolicy::Detach(_)),
    };
    let result = handlers::handle(server, request, run, context)
        .instrument(span.clone())
        .await;
    match result {
        Ok(ProcessResult::Streaming(stream)) => {
            // The stream slot is held as long as the response runs, detached or not.
            let stream = stream.in_span(span, meter).holding(admission);
            Ok(ProcessResult::Streaming(match policy {
                DisconnectPolicy::Cancel => stream,
                DisconnectPolicy::Detach(retention) => stream.detach(retention, server.run_log()),
            }))
        }
        other => {
            let status = match other {
                Ok(_) => RequestStatus::Ok,
                Err(_) => {
                    span.record("otel.status_code", "ERROR");
                    RequestStatus::Error
                }
            };
            meter.end(status);
            other
        }
    }
}
