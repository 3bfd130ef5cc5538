//! Every wire type of the ChatKit protocol, as serde types, and nothing else.
//!
//! Serialization follows the reference server exactly: compact JSON, fields that are
//! `None` left out, defaults always written (`"attachments":[]`, `"status":{"type":"active"}`),
//! keys in the reference's order (including `type` after the base fields of items,
//! sources, tasks and attachments), and attachment `metadata` never sent to clients.
//!
//! ```
//! use chatkit_agents::types::{AssistantMessageContent, AssistantMessageItem, ThreadStreamEvent, Timestamp};
//! let item = AssistantMessageItem {
//!     id: "msg_1".into(),
//!     thread_id: "thr_1".into(),
//!     created_at: "2025-01-02T03:04:05".parse::<Timestamp>().unwrap(),
//!     content: vec![AssistantMessageContent::new("Hi")],
//! };
//! assert_eq!(
//!     serde_json::to_string(&ThreadStreamEvent::item_done(item)).unwrap(),
//!     r#"{"type":"thread.item.done","item":{"id":"msg_1","thread_id":"thr_1","created_at":"2025-01-02T03:04:05","type":"assistant_message","content":[{"annotations":[],"text":"Hi","type":"output_text"}]}}"#
//! );
//! ```

pub(crate) mod tagging;

mod actions;
mod attachments;
mod content;
mod events;
mod icons;
mod ids;
mod items;
mod json_text;
mod lax;
mod misc;
mod objects_only;
mod requests;
mod structured_input;
mod thread;
mod timestamp;
pub mod widget;
mod workflow;

pub use actions::{Action, ActionConfig, ActionPayloadError, Handler, LoadingBehavior};
pub use attachments::{
    to_storage_json, to_storage_value, Attachment, AttachmentUploadDescriptor, FileAttachment,
    ImageAttachment, UploadMethod,
};
pub use content::{
    Annotation, AnnotationTag, AssistantMessageContent, EntityPreview, EntitySource,
    EntitySourceTag, FileSource, FileSourceTag, InferenceOptions, OutputTextTag, Source,
    ToolChoice, UrlSource, UrlSourceTag, UserMessageContent, UserMessageTagContent,
    UserMessageTextContent,
};
pub use events::{
    ErrorCode, ErrorEvent, NoticeEvent, NoticeLevel, StreamOptions, ThreadItemUpdate,
    ThreadStreamEvent,
};
pub use icons::{BuiltinIcon, IconName, IconNameError};
pub use ids::{default_generate_id, StoreItemType};
pub use items::{
    AssistantMessageItem, ClientToolCallItem, ClientToolCallStatus, EndOfTurnItem, GeneratedImage,
    GeneratedImageItem, HiddenContextItem, SdkHiddenContextItem, StructuredInputItem, TaskItem,
    ThreadItem, UserMessageItem, WidgetItem, WorkflowItem,
};
pub use json_text::JsonText;
pub use misc::{AudioInput, FeedbackKind, SyncCustomActionResponse, TranscriptionResult};
pub use requests::{
    AttachmentCreateParams, AttachmentDeleteParams, ChatKitRequest, InputTranscribeParams,
    ItemsFeedbackParams, ItemsListParams, RequestOp, RequestParseError, SortOrder,
    ThreadAddClientToolOutputParams, ThreadAddStructuredInputParams, ThreadAddUserMessageParams,
    ThreadCreateParams, ThreadCustomActionParams, ThreadDeleteParams, ThreadGetByIdParams,
    ThreadListParams, ThreadRetryAfterItemParams, ThreadUpdateParams, UserMessageInput,
    MAX_METADATA_BYTES,
};
pub use structured_input::{
    StructuredInput, StructuredInputAnswer, StructuredInputAnswerSubmission,
    StructuredInputFreeform, StructuredInputMultipleChoice, StructuredInputMultipleChoiceOption,
    StructuredInputStatus, StructuredInputSubmission, StructuredInputSubmissionStatus,
};
pub use thread::{Page, Thread, ThreadMetadata, ThreadStatus};
pub use timestamp::{Timestamp, TimestampParseError};
pub use widget::{WidgetComponent, WidgetError, WidgetRoot};
pub use workflow::{
    CustomTask, FileTask, ImageTask, SearchTask, Task, TaskStatusIndicator, ThoughtTask, Workflow,
    WorkflowSummary, WorkflowType,
};

/// A string that is not one of a closed set of values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {found:?}; expected one of: {}", expected.join(", "))]
pub struct UnknownValueError {
    kind: &'static str,
    found: String,
    expected: &'static [&'static str],
}

impl UnknownValueError {
    pub(crate) fn new(kind: &'static str, found: &str, expected: &'static [&'static str]) -> Self {
        UnknownValueError {
            kind,
            found: found.to_owned(),
            expected,
        }
    }
}
