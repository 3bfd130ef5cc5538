//! Small response and request models.

use serde::{Deserialize, Serialize};

use super::items::ThreadItem;

/// The reply to `threads.sync_custom_action`: `{}` or `{"updated_item": ...}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SyncCustomActionResponse {
    /// The item as the action left it, for the client to show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_item: Option<ThreadItem>,
}

/// The reply to `input.transcribe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptionResult {
    /// The transcribed text.
    pub text: String,
}

string_enum! {
    /// Feedback on assistant items (`items.feedback`).
    pub enum FeedbackKind {
        /// Thumbs up.
        Positive = "positive",
        /// Thumbs down.
        Negative = "negative",
    }
}

/// Audio to transcribe, decoded from `input.transcribe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioInput {
    /// The audio bytes.
    pub data: Vec<u8>,
    /// The MIME type as sent, e.g. `audio/webm;codecs=opus`.
    pub mime_type: String,
}

impl AudioInput {
    /// The MIME type without parameters (`audio/webm;codecs=opus` gives `audio/webm`).
    pub fn media_type(&self) -> &str {
        self.mime_type.split(';').next().unwrap_or_default().trim()
    }
}
