//! [`send`]: a request through [`process`] as a ChatKit client sends it, with the reply
//! parsed back into JSON, so that a test of a whole server asserts on events rather
//! than on SSE bytes.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::{json, Value};

use crate::server::{process, ChatKitServer, ProcessError, ProcessResult};

/// What a request got back: the events of a stream, or the JSON body of a
/// non-streaming request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The `data:` payloads of the SSE stream, in order.
    Events(Vec<Value>),
    /// The JSON body.
    Json(Value),
}

impl Reply {
    /// The events (none for a JSON reply).
    pub fn events(&self) -> &[Value] {
        match self {
            Reply::Events(events) => events,
            Reply::Json(_) => &[],
        }
    }

    /// The JSON body (`None` for a stream).
    pub fn json(&self) -> Option<&Value> {
        match self {
            Reply::Json(json) => Some(json),
            Reply::Events(_) => None,
        }
    }

    /// Each event's `type`, with the item type for item events and the update type for
    /// `thread.item.updated` (`thread.item.done:assistant_message`,
    /// `thread.item.updated:assistant_message.content_part.text_delta`): the shape of a
    /// stream at a glance (see [`event_types`]).
    pub fn event_types(&self) -> Vec<String> {
        event_types(self.events())
    }

    /// The thread a `threads.create` stream created (its first event), or the thread of
    /// a JSON reply that is one.
    pub fn thread_id(&self) -> Option<&str> {
        match self {
            Reply::Events(events) => events.first()?["thread"]["id"].as_str(),
            Reply::Json(json) => json["id"].as_str(),
        }
    }
}

/// Sends `request` (a ChatKit request as JSON) to `server` through [`process`], as the
/// HTTP endpoint would, and parses what comes back.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Agent, chatkit::AgentServer};
/// use chatkit_agents::store::MemoryStore;
/// use chatkit_agents::testing::{requests, send, ScriptedModel, Step};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("Hello!")]]));
/// let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), Agent::new("Greeter", model)));
/// let reply = send(&server, &requests::create_thread("hi"), ()).await.unwrap();
/// assert_eq!(reply.event_types().first().map(String::as_str), Some("thread.created"));
/// assert!(reply.event_types().contains(&"thread.item.done:assistant_message".to_owned()));
///
/// let thread = reply.thread_id().unwrap();
/// let items = send(&server, &requests::list_items(thread), ()).await.unwrap();
/// assert_eq!(items.json().unwrap()["data"].as_array().unwrap().len(), 2);
/// # });
/// ```
///
/// # Panics
///
/// If a frame of the stream is not `data: <JSON>`: the pipeline never writes one, so
/// this is a failed test, like a failed assertion.
pub async fn send<S: ChatKitServer>(
    server: &Arc<S>,
    request: &Value,
    context: S::Context,
) -> Result<Reply, ProcessError> {
    let body = serde_json::to_vec(request).unwrap_or_default();
    match process(server, &body, context).await? {
        ProcessResult::Json(bytes) => Ok(Reply::Json(parse(&bytes))),
        ProcessResult::Streaming(stream) => {
            let frames: Vec<_> = stream.collect().await;
            Ok(Reply::Events(frames.iter().map(|f| frame(f)).collect()))
        }
    }
}

fn frame(bytes: &[u8]) -> Value {
    parse_frame(bytes).event
}

/// One SSE frame as a client reads it: its `id:` (a detached run's event id, see
/// [`crate::runs`]) and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The event id, `<run id>.<n>`, on a detached run's frames.
    pub id: Option<String>,
    /// The `data:` payload.
    pub event: Value,
}

fn parse_frame(bytes: &[u8]) -> Frame {
    let (id, rest) = match bytes.strip_prefix(b"id: ") {
        Some(rest) => match rest.iter().position(|b| *b == b'\n') {
            Some(end) => (
                Some(String::from_utf8_lossy(&rest[..end]).into_owned()),
                &rest[end + 1..],
            ),
            None => (None, bytes),
        },
        None => (None, bytes),
    };
    let payload = rest
        .strip_prefix(b"data: ")
        .and_then(|rest| rest.strip_suffix(b"\n\n"));
    match payload {
        Some(payload) => Frame {
            id,
            event: parse(payload),
        },
        None => panic!(
            "not an SSE data frame: {:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// [`send`] for a streamed request, with each frame's event id: what a test of a
/// detached run needs to [`resume`] it.
///
/// # Panics
///
/// If the request is not a streamed one, or a frame is not `[id: …\n]data: <JSON>`.
pub async fn send_frames<S: ChatKitServer>(
    server: &Arc<S>,
    request: &Value,
    context: S::Context,
) -> Result<Vec<Frame>, ProcessError> {
    let body = serde_json::to_vec(request).unwrap_or_default();
    match process(server, &body, context).await? {
        ProcessResult::Streaming(stream) => Ok(frames(stream).await),
        ProcessResult::Json(json) => panic!(
            "send_frames needs a streamed request; this one answered {}",
            String::from_utf8_lossy(&json)
        ),
    }
}

/// Joins a detached run after `last_event_id` as a client reconnecting would (see
/// [`crate::server::resume`]): its frames until the run ends.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::server::{respond_with, ChatKitServer};
/// use chatkit_agents::store::MemoryStore;
/// use chatkit_agents::testing::{requests, resume, send_frames};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use chatkit_agents::runs::DisconnectPolicy;
/// # struct Detached(Arc<MemoryStore>);
/// # impl ChatKitServer for Detached {
/// #     type Context = ();
/// #     fn store(&self) -> Arc<dyn chatkit_agents::store::Store<()>> { self.0.clone() }
/// #     fn respond(self: Arc<Self>, _: chatkit_agents::server::ThreadHandle, _: Option<chatkit_agents::types::UserMessageItem>, _: ()) -> chatkit_agents::server::EventStream { Box::pin(futures::stream::empty()) }
/// #     fn disconnect_policy(&self, _: &()) -> DisconnectPolicy { DisconnectPolicy::detach() }
/// # }
/// let server = Arc::new(Detached(Arc::new(MemoryStore::new())));
/// let frames = send_frames(&server, &requests::create_thread("hi"), ()).await.unwrap();
/// let first = frames[0].id.clone().unwrap();
/// let rest = resume(&server, &first, ()).await.unwrap();
/// assert_eq!(rest, frames[1..]);
/// # });
/// ```
pub async fn resume<S: ChatKitServer>(
    server: &Arc<S>,
    last_event_id: &str,
    context: S::Context,
) -> Result<Vec<Frame>, ProcessError> {
    let stream = crate::server::resume(server, last_event_id, context).await?;
    Ok(frames(stream).await)
}

async fn frames(stream: crate::server::StreamingResult) -> Vec<Frame> {
    let frames: Vec<_> = stream.collect().await;
    frames.iter().map(|f| parse_frame(f)).collect()
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|error| {
        panic!(
            "the server wrote invalid JSON ({error}): {:?}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// Bodies of the common requests, as a ChatKit client sends them.
pub mod requests {
    use super::*;

    fn text_input(text: &str) -> Value {
        json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}})
    }

    /// `threads.create` with one text message.
    pub fn create_thread(text: &str) -> Value {
        json!({"type": "threads.create", "params": {"input": text_input(text)}})
    }

    /// `threads.add_user_message`: one more text message in `thread_id`.
    pub fn add_user_message(thread_id: &str, text: &str) -> Value {
        json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": text_input(text)}})
    }

    /// `threads.get_by_id`.
    pub fn get_thread(thread_id: &str) -> Value {
        json!({"type": "threads.get_by_id", "params": {"thread_id": thread_id}})
    }

    /// `items.list`: the thread's items, oldest first.
    pub fn list_items(thread_id: &str) -> Value {
        json!({"type": "items.list", "params": {"thread_id": thread_id, "order": "asc"}})
    }

    /// `threads.custom_action`: a widget action on `item_id`.
    pub fn custom_action(thread_id: &str, item_id: Option<&str>, action: Value) -> Value {
        json!({"type": "threads.custom_action", "params": {"thread_id": thread_id, "item_id": item_id, "action": action}})
    }
}

/// The shape of a stream of events as JSON: each event's `type`, with the item type for
/// item events and the update type for `thread.item.updated`
/// (`thread.item.updated:workflow.task.added`).
pub fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|event| {
            let kind = event["type"].as_str().unwrap_or("?");
            let detail = event["item"]["type"]
                .as_str()
                .or_else(|| event["update"]["type"].as_str());
            match detail {
                Some(detail) => format!("{kind}:{detail}"),
                None => kind.to_owned(),
            }
        })
        .collect()
}
