//! Thread items: everything a thread's transcript holds.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attachments::Attachment;
use super::content::{AssistantMessageContent, InferenceOptions, UserMessageContent};
use super::json_text::JsonText;
use super::structured_input::{StructuredInput, StructuredInputStatus};
use super::timestamp::Timestamp;
use super::widget::WidgetRoot;
use super::workflow::{Task, Workflow};

tagged_union! {
    /// An item of a thread. Every variant starts with `id`, `thread_id` and `created_at`,
    /// and `type` is written right after them, as the reference does.
    ///
    /// [`ThreadItem::HiddenContext`] and [`ThreadItem::SdkHiddenContext`] are for the
    /// model only: the server never sends them to clients.
    pub enum ThreadItem, tag after "created_at" {
        /// A message from the user.
        UserMessage(UserMessageItem) = "user_message",
        /// A message from the assistant.
        AssistantMessage(AssistantMessageItem) = "assistant_message",
        /// A tool the client runs.
        ClientToolCall(ClientToolCallItem) = "client_tool_call",
        /// A widget.
        Widget(WidgetItem) = "widget",
        /// A generated image.
        GeneratedImage(GeneratedImageItem) = "generated_image",
        /// Questions for the user.
        StructuredInput(StructuredInputItem) = "structured_input",
        /// A workflow of tasks.
        Workflow(WorkflowItem) = "workflow",
        /// A standalone task.
        Task(TaskItem) = "task",
        /// Context for the model that users never see (your own).
        HiddenContext(HiddenContextItem) = "hidden_context_item",
        /// Context for the model that users never see (written by the SDK).
        SdkHiddenContext(SdkHiddenContextItem) = "sdk_hidden_context",
        /// Marks the end of the assistant's turn.
        EndOfTurn(EndOfTurnItem) = "end_of_turn",
    }
}

/// Defines an item struct with the three base fields first.
macro_rules! thread_item {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// Item id.
            pub id: String,
            /// The thread the item belongs to.
            pub thread_id: String,
            /// Creation time.
            pub created_at: Timestamp,
            $($(#[$fmeta])* pub $field: $ty,)*
        }
    };
}

thread_item! {
    /// A message from the user.
    UserMessageItem {
        /// Text and entity tags.
        content: Vec<UserMessageContent>,
        /// Attachments.
        #[serde(default)]
        attachments: Vec<Attachment>,
        /// Text the user quoted from the transcript.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quoted_text: Option<String>,
        /// Composer choices (tool, model).
        inference_options: InferenceOptions,
    }
}

impl UserMessageItem {
    /// The message's text, with `@mentions` written as `@name`.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .map(|part| match part {
                UserMessageContent::Text(t) => t.text.clone(),
                UserMessageContent::Tag(tag) => format!("@{}", tag.text),
            })
            .collect()
    }
}

thread_item! {
    /// A message from the assistant.
    AssistantMessageItem {
        /// Text parts.
        content: Vec<AssistantMessageContent>,
    }
}

string_enum! {
    /// The state of a client tool call.
    #[derive(Default)]
    pub enum ClientToolCallStatus {
        /// Waiting for the client's output (the default).
        #[default]
        Pending = "pending",
        /// The client sent its output.
        Completed = "completed",
    }
}

thread_item! {
    /// A tool call the client runs; the server waits for `threads.add_client_tool_output`.
    ClientToolCallItem {
        /// Pending or completed.
        #[serde(default)]
        status: ClientToolCallStatus,
        /// The model's call id.
        call_id: String,
        /// The tool name.
        name: String,
        /// The arguments.
        arguments: Map<String, Value>,
        /// The client's result, once completed, as JSON text (`null` is written as
        /// absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<JsonText>,
    }
}

thread_item! {
    /// A widget.
    WidgetItem {
        /// The widget tree.
        widget: WidgetRoot,
        /// The text copied by the copy button under the widget.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        copy_text: Option<String>,
    }
}

/// An image produced by the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedImage {
    /// Image id.
    pub id: String,
    /// URL (often a `data:` URL).
    pub url: String,
}

thread_item! {
    /// A generated image (absent while it is being made).
    GeneratedImageItem {
        /// The image.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<GeneratedImage>,
    }
}

thread_item! {
    /// Questions for the user.
    StructuredInputItem {
        /// Pending, answered or skipped.
        #[serde(default)]
        status: StructuredInputStatus,
        /// The questions.
        inputs: Vec<StructuredInput>,
    }
}

thread_item! {
    /// A workflow of tasks.
    WorkflowItem {
        /// The workflow.
        workflow: Workflow,
    }
}

thread_item! {
    /// A standalone task.
    TaskItem {
        /// The task.
        task: Task,
    }
}

thread_item! {
    /// Context for the model that users never see. `content` is any JSON; `null` is
    /// written as absent and read back from absence.
    ///
    /// Yield it from `respond` or `action` as `thread.item.done`: the pipeline saves it
    /// and does not send it (no event reaches the client, now or in `items.list` or
    /// `threads.get_by_id`); the default converter gives it to the model on the next
    /// turn as a user message. A way to tell the model what an action did.
    HiddenContextItem {
        /// The context.
        #[serde(default, skip_serializing_if = "Value::is_null")]
        content: Value,
    }
}

thread_item! {
    /// Context written by the SDK itself (e.g. "the user cancelled"), never sent to clients.
    SdkHiddenContextItem {
        /// The context text.
        content: String,
    }
}

thread_item! {
    /// Marks the end of the assistant's turn.
    EndOfTurnItem {}
}

macro_rules! on_item {
    ($self:expr, $i:ident => $e:expr) => {
        match $self {
            ThreadItem::UserMessage($i) => $e,
            ThreadItem::AssistantMessage($i) => $e,
            ThreadItem::ClientToolCall($i) => $e,
            ThreadItem::Widget($i) => $e,
            ThreadItem::GeneratedImage($i) => $e,
            ThreadItem::StructuredInput($i) => $e,
            ThreadItem::Workflow($i) => $e,
            ThreadItem::Task($i) => $e,
            ThreadItem::HiddenContext($i) => $e,
            ThreadItem::SdkHiddenContext($i) => $e,
            ThreadItem::EndOfTurn($i) => $e,
        }
    };
}

impl ThreadItem {
    /// The item id.
    pub fn id(&self) -> &str {
        on_item!(self, i => &i.id)
    }

    /// The id of the thread the item belongs to.
    pub fn thread_id(&self) -> &str {
        on_item!(self, i => &i.thread_id)
    }

    /// Creation time.
    pub fn created_at(&self) -> Timestamp {
        on_item!(self, i => i.created_at)
    }

    /// Sets the item id.
    pub fn set_id(&mut self, id: impl Into<String>) {
        on_item!(self, i => i.id = id.into())
    }

    /// Whether the item is hidden context, which clients never see.
    pub fn is_hidden(&self) -> bool {
        matches!(
            self,
            ThreadItem::HiddenContext(_) | ThreadItem::SdkHiddenContext(_)
        )
    }
}
