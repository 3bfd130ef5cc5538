//! Structured input: questions the assistant asks, and the user's answers.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::lax;

/// An answer recorded on a question.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StructuredInputAnswer {
    /// Chosen or typed values.
    #[serde(default)]
    pub values: Vec<String>,
    /// Whether the user skipped the question.
    #[serde(default, deserialize_with = "lax::bool")]
    pub skipped: bool,
}

tagged_union! {
    /// One question. `type` is written after `answer`.
    pub enum StructuredInput, tag after "answer" {
        /// Pick from options.
        MultipleChoice(StructuredInputMultipleChoice) = "multiple_choice",
        /// Free text.
        Freeform(StructuredInputFreeform) = "freeform",
    }
}

/// A multiple-choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuredInputMultipleChoice {
    /// Question id, the key of its answer in a submission.
    pub id: String,
    /// The question.
    pub question: String,
    /// The recorded answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<StructuredInputAnswer>,
    /// The options.
    pub options: Vec<StructuredInputMultipleChoiceOption>,
    /// Whether several options may be picked.
    #[serde(default, deserialize_with = "lax::bool")]
    pub multiple: bool,
}

/// One option of a multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructuredInputMultipleChoiceOption {
    /// The option's value.
    pub value: String,
}

/// A free-text question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuredInputFreeform {
    /// Question id, the key of its answer in a submission.
    pub id: String,
    /// The question.
    pub question: String,
    /// The recorded answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<StructuredInputAnswer>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

string_enum! {
    /// The state of a structured-input item.
    #[derive(Default)]
    pub enum StructuredInputStatus {
        /// Waiting for the user (the default).
        #[default]
        Pending = "pending",
        /// Answered.
        Answered = "answered",
        /// Skipped.
        Skipped = "skipped",
    }
}

string_enum! {
    /// How the user closed a structured-input item.
    #[derive(Default)]
    pub enum StructuredInputSubmissionStatus {
        /// Answered (the default).
        #[default]
        Answered = "answered",
        /// Skipped.
        Skipped = "skipped",
    }
}

/// The user's answers (`threads.add_structured_input`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StructuredInputSubmission {
    /// Answered or skipped.
    #[serde(default)]
    pub status: StructuredInputSubmissionStatus,
    /// Answers by question id, in the order sent.
    #[serde(default)]
    pub answers: IndexMap<String, StructuredInputAnswer>,
}

/// One answer in a submission; the same shape as [`StructuredInputAnswer`].
pub type StructuredInputAnswerSubmission = StructuredInputAnswer;
