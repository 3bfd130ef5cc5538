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
    let payload = bytes
        .strip_prefix(b"data: ")
        .and_then(|rest| rest.strip_suffix(b"\n\n"));
    match payload {
        Some(payload) => parse(payload),
        None => panic!(
            "not an SSE data frame: {:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
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
