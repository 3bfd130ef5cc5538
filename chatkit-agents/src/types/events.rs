//! Stream events: what an SSE response carries, and the incremental item updates.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::content::{Annotation, AssistantMessageContent};
use super::icons::IconName;
use super::items::{GeneratedImage, ThreadItem};
use super::thread::Thread;
use super::widget::{WidgetComponent, WidgetRoot};
use super::workflow::Task;

/// One event of a streamed response, written as `data: <json>\n\n`.
///
/// Build events with the constructors ([`item_done`](Self::item_done),
/// [`item_updated`](Self::item_updated), [`progress`](Self::progress), ...); each
/// serializes exactly as the Python SDK's:
///
/// ```
/// use chatkit_agents::types::{ThreadItemUpdate, ThreadStreamEvent};
/// let event = ThreadStreamEvent::item_updated(
///     "msg_1",
///     ThreadItemUpdate::AssistantMessageContentPartTextDelta { content_index: 0, delta: "Hi".into() },
/// );
/// assert_eq!(event.type_name(), "thread.item.updated");
/// assert_eq!(
///     serde_json::to_string(&event).unwrap(),
///     r#"{"type":"thread.item.updated","item_id":"msg_1","update":{"type":"assistant_message.content_part.text_delta","content_index":0,"delta":"Hi"}}"#
/// );
/// assert_eq!(
///     serde_json::to_string(&ThreadStreamEvent::progress("Searching...")).unwrap(),
///     r#"{"type":"progress_update","text":"Searching..."}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ThreadStreamEvent {
    /// A thread was created (first event of `threads.create`).
    #[serde(rename = "thread.created")]
    ThreadCreated {
        /// The new thread.
        thread: Box<Thread>,
    },
    /// The thread's title, status or other metadata changed.
    #[serde(rename = "thread.updated")]
    ThreadUpdated {
        /// The thread as it is now.
        thread: Box<Thread>,
    },
    /// An item is complete (the server persists it).
    #[serde(rename = "thread.item.done")]
    ThreadItemDone {
        /// The item.
        item: Box<ThreadItem>,
    },
    /// An item started; updates follow.
    #[serde(rename = "thread.item.added")]
    ThreadItemAdded {
        /// The item as it starts.
        item: Box<ThreadItem>,
    },
    /// An incremental change to an item.
    #[serde(rename = "thread.item.updated")]
    ThreadItemUpdated {
        /// The item changed.
        item_id: String,
        /// The change.
        update: ThreadItemUpdate,
    },
    /// An item was removed (the server deletes it).
    #[serde(rename = "thread.item.removed")]
    ThreadItemRemoved {
        /// The item removed.
        item_id: String,
    },
    /// An item was replaced as a whole (the server saves it).
    #[serde(rename = "thread.item.replaced")]
    ThreadItemReplaced {
        /// The new item.
        item: Box<ThreadItem>,
    },
    /// Options for this stream; the first event the pipeline writes.
    #[serde(rename = "stream_options")]
    StreamOptions {
        /// The options.
        stream_options: StreamOptions,
    },
    /// A transient progress line (not persisted).
    #[serde(rename = "progress_update")]
    ProgressUpdate {
        /// An icon.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        icon: Option<IconName>,
        /// The text.
        text: String,
    },
    /// Asks the client page to do something (not persisted).
    #[serde(rename = "client_effect")]
    ClientEffect {
        /// The effect's name, for the client's `onEffect` handler.
        name: String,
        /// Data for the effect.
        #[serde(default)]
        data: Map<String, Value>,
    },
    /// An error shown to the user (not persisted).
    #[serde(rename = "error")]
    Error(ErrorEvent),
    /// A notice shown to the user (not persisted).
    #[serde(rename = "notice")]
    Notice(NoticeEvent),
}

impl ThreadStreamEvent {
    /// `thread.created`.
    pub fn thread_created(thread: Thread) -> Self {
        ThreadStreamEvent::ThreadCreated {
            thread: Box::new(thread),
        }
    }

    /// `thread.updated`.
    pub fn thread_updated(thread: Thread) -> Self {
        ThreadStreamEvent::ThreadUpdated {
            thread: Box::new(thread),
        }
    }

    /// `thread.item.done` for `item`.
    pub fn item_done(item: impl Into<ThreadItem>) -> Self {
        ThreadStreamEvent::ThreadItemDone {
            item: Box::new(item.into()),
        }
    }

    /// `thread.item.added` for `item`.
    pub fn item_added(item: impl Into<ThreadItem>) -> Self {
        ThreadStreamEvent::ThreadItemAdded {
            item: Box::new(item.into()),
        }
    }

    /// `thread.item.updated` for the item `item_id`.
    pub fn item_updated(item_id: impl Into<String>, update: ThreadItemUpdate) -> Self {
        ThreadStreamEvent::ThreadItemUpdated {
            item_id: item_id.into(),
            update,
        }
    }

    /// `thread.item.replaced` for `item`.
    pub fn item_replaced(item: impl Into<ThreadItem>) -> Self {
        ThreadStreamEvent::ThreadItemReplaced {
            item: Box::new(item.into()),
        }
    }

    /// `thread.item.removed` for the item `item_id`.
    pub fn item_removed(item_id: impl Into<String>) -> Self {
        ThreadStreamEvent::ThreadItemRemoved {
            item_id: item_id.into(),
        }
    }

    /// A `progress_update` without icon.
    pub fn progress(text: impl Into<String>) -> Self {
        ThreadStreamEvent::ProgressUpdate {
            icon: None,
            text: text.into(),
        }
    }

    /// A `client_effect` with data.
    pub fn client_effect(name: impl Into<String>, data: Map<String, Value>) -> Self {
        ThreadStreamEvent::ClientEffect {
            name: name.into(),
            data,
        }
    }

    /// The `type` discriminator of this event.
    pub fn type_name(&self) -> &'static str {
        match self {
            ThreadStreamEvent::ThreadCreated { .. } => "thread.created",
            ThreadStreamEvent::ThreadUpdated { .. } => "thread.updated",
            ThreadStreamEvent::ThreadItemDone { .. } => "thread.item.done",
            ThreadStreamEvent::ThreadItemAdded { .. } => "thread.item.added",
            ThreadStreamEvent::ThreadItemUpdated { .. } => "thread.item.updated",
            ThreadStreamEvent::ThreadItemRemoved { .. } => "thread.item.removed",
            ThreadStreamEvent::ThreadItemReplaced { .. } => "thread.item.replaced",
            ThreadStreamEvent::StreamOptions { .. } => "stream_options",
            ThreadStreamEvent::ProgressUpdate { .. } => "progress_update",
            ThreadStreamEvent::ClientEffect { .. } => "client_effect",
            ThreadStreamEvent::Error(_) => "error",
            ThreadStreamEvent::Notice(_) => "notice",
        }
    }
}

impl From<ErrorEvent> for ThreadStreamEvent {
    fn from(e: ErrorEvent) -> Self {
        ThreadStreamEvent::Error(e)
    }
}

impl From<NoticeEvent> for ThreadStreamEvent {
    fn from(n: NoticeEvent) -> Self {
        ThreadStreamEvent::Notice(n)
    }
}

/// Options for a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Whether the client shows a stop button.
    pub allow_cancel: bool,
}

/// A change to an item, carried by `thread.item.updated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ThreadItemUpdate {
    /// A new content part of an assistant message.
    #[serde(rename = "assistant_message.content_part.added")]
    AssistantMessageContentPartAdded {
        /// Index of the part.
        content_index: usize,
        /// The part as it starts.
        content: AssistantMessageContent,
    },
    /// Text appended to a content part.
    #[serde(rename = "assistant_message.content_part.text_delta")]
    AssistantMessageContentPartTextDelta {
        /// Index of the part.
        content_index: usize,
        /// The appended text.
        delta: String,
    },
    /// An annotation added to a content part.
    #[serde(rename = "assistant_message.content_part.annotation_added")]
    AssistantMessageContentPartAnnotationAdded {
        /// Index of the part.
        content_index: usize,
        /// Index of the annotation within the part.
        annotation_index: usize,
        /// The annotation.
        annotation: Box<Annotation>,
    },
    /// A content part is complete.
    #[serde(rename = "assistant_message.content_part.done")]
    AssistantMessageContentPartDone {
        /// Index of the part.
        content_index: usize,
        /// The final part.
        content: AssistantMessageContent,
    },
    /// Text appended to a streaming `Text`/`Markdown` node of a widget.
    #[serde(rename = "widget.streaming_text.value_delta")]
    WidgetStreamingTextValueDelta {
        /// The node's `id`.
        component_id: String,
        /// The appended text.
        delta: String,
        /// Whether the node has stopped streaming.
        done: bool,
    },
    /// One component replaced (defined by the protocol; the reference never sends it).
    #[serde(rename = "widget.component.updated")]
    WidgetComponentUpdated {
        /// The component's `id`.
        component_id: String,
        /// The new component.
        component: Box<WidgetComponent>,
    },
    /// The whole widget replaced.
    #[serde(rename = "widget.root.updated")]
    WidgetRootUpdated {
        /// The new root.
        widget: Box<WidgetRoot>,
    },
    /// A task added to a workflow.
    #[serde(rename = "workflow.task.added")]
    WorkflowTaskAdded {
        /// Index of the task.
        task_index: usize,
        /// The task.
        task: Box<Task>,
    },
    /// A task of a workflow changed.
    #[serde(rename = "workflow.task.updated")]
    WorkflowTaskUpdated {
        /// Index of the task.
        task_index: usize,
        /// The task as it is now.
        task: Box<Task>,
    },
    /// Progress on a generated image.
    #[serde(rename = "generated_image.updated")]
    GeneratedImageUpdated {
        /// The image so far.
        image: GeneratedImage,
        /// Progress from 0 to 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        progress: Option<f64>,
    },
}

impl ThreadItemUpdate {
    /// `assistant_message.content_part.text_delta`.
    pub fn text_delta(content_index: usize, delta: impl Into<String>) -> Self {
        ThreadItemUpdate::AssistantMessageContentPartTextDelta {
            content_index,
            delta: delta.into(),
        }
    }

    /// `assistant_message.content_part.annotation_added`.
    pub fn annotation_added(
        content_index: usize,
        annotation_index: usize,
        annotation: Annotation,
    ) -> Self {
        ThreadItemUpdate::AssistantMessageContentPartAnnotationAdded {
            content_index,
            annotation_index,
            annotation: Box::new(annotation),
        }
    }

    /// `widget.component.updated`.
    pub fn component_updated(
        component_id: impl Into<String>,
        component: impl Into<WidgetComponent>,
    ) -> Self {
        ThreadItemUpdate::WidgetComponentUpdated {
            component_id: component_id.into(),
            component: Box::new(component.into()),
        }
    }

    /// `widget.root.updated`.
    pub fn root_updated(widget: WidgetRoot) -> Self {
        ThreadItemUpdate::WidgetRootUpdated {
            widget: Box::new(widget),
        }
    }

    /// `workflow.task.added`.
    pub fn task_added(task_index: usize, task: impl Into<Task>) -> Self {
        ThreadItemUpdate::WorkflowTaskAdded {
            task_index,
            task: Box::new(task.into()),
        }
    }

    /// `workflow.task.updated`.
    pub fn task_updated(task_index: usize, task: impl Into<Task>) -> Self {
        ThreadItemUpdate::WorkflowTaskUpdated {
            task_index,
            task: Box::new(task.into()),
        }
    }
}

/// The `code` of an error event. The protocol treats it as open: codes other than the
/// two known ones are kept as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ErrorCode {
    /// `"stream.error"`: something failed while streaming.
    StreamError,
    /// `"custom"`: a message of your own (the default).
    #[default]
    Custom,
    /// Any other code.
    Other(String),
}

impl ErrorCode {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::StreamError => "stream.error",
            ErrorCode::Custom => "custom",
            ErrorCode::Other(s) => s,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "stream.error" => ErrorCode::StreamError,
            "custom" => ErrorCode::Custom,
            _ => ErrorCode::Other(s),
        })
    }
}

/// An `error` event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// The code.
    #[serde(default)]
    pub code: ErrorCode,
    /// A message for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether the client offers to retry.
    #[serde(default)]
    pub allow_retry: bool,
}

impl ErrorEvent {
    /// A `custom` error with a message.
    pub fn custom(message: impl Into<String>, allow_retry: bool) -> Self {
        ErrorEvent {
            code: ErrorCode::Custom,
            message: Some(message.into()),
            allow_retry,
        }
    }

    /// A `stream.error` without message.
    pub fn stream_error(allow_retry: bool) -> Self {
        ErrorEvent {
            code: ErrorCode::StreamError,
            message: None,
            allow_retry,
        }
    }
}

string_enum! {
    /// The level of a notice.
    pub enum NoticeLevel {
        /// Informational.
        Info = "info",
        /// A warning.
        Warning = "warning",
        /// Something went wrong.
        Danger = "danger",
    }
}

/// A `notice` event: a message (Markdown) shown above the composer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeEvent {
    /// The level.
    pub level: NoticeLevel,
    /// The message, in Markdown.
    pub message: String,
    /// A title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[cfg(all(test, target_pointer_width = "64"))]
mod size_tests {
    use super::*;

    /// Every stream layer moves events by value: the large payloads (items, threads,
    /// tasks, annotations, widgets) are boxed so that a text delta, nearly every event
    /// of a response, does not pay for them.
    #[test]
    fn events_stay_small() {
        assert_eq!(std::mem::size_of::<ThreadItemUpdate>(), 64);
        assert_eq!(std::mem::size_of::<ThreadStreamEvent>(), 96);
    }
}
