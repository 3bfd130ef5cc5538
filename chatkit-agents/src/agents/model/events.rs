//! What a model streams: [`ModelEvent`], shaped like the Responses API's stream, and
//! what the stream says about the response (ids, usage, errors).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{ContentPart, ModelAnnotation, OutputItem};

/// One event of a model's streamed response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ModelEvent {
    /// The response started.
    #[serde(rename = "response.created")]
    Created {
        /// The response.
        #[serde(default)]
        response: ResponseInfo,
    },
    /// An output item (message, function call, reasoning, ...) started.
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        /// Position in the response's output.
        #[serde(default)]
        output_index: usize,
        /// The item as it starts.
        item: OutputItem,
    },
    /// An output item is complete.
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        /// Position in the response's output.
        #[serde(default)]
        output_index: usize,
        /// The complete item.
        item: OutputItem,
    },
    /// A content part of a message started.
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        /// The message.
        #[serde(default)]
        item_id: String,
        /// Position of the message in the output.
        #[serde(default)]
        output_index: usize,
        /// Position of the part in the message.
        #[serde(default)]
        content_index: usize,
        /// The part as it starts.
        part: ContentPart,
    },
    /// A content part is complete.
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        /// The message.
        #[serde(default)]
        item_id: String,
        /// Position of the message in the output.
        #[serde(default)]
        output_index: usize,
        /// Position of the part in the message.
        #[serde(default)]
        content_index: usize,
        /// The complete part.
        part: ContentPart,
    },
    /// Text appended to a content part.
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        /// The message.
        #[serde(default)]
        item_id: String,
        /// Position of the message in the output.
        #[serde(default)]
        output_index: usize,
        /// Position of the part in the message.
        #[serde(default)]
        content_index: usize,
        /// The text.
        delta: String,
    },
    /// A content part's text is complete.
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        /// The message.
        #[serde(default)]
        item_id: String,
        /// Position of the message in the output.
        #[serde(default)]
        output_index: usize,
        /// Position of the part in the message.
        #[serde(default)]
        content_index: usize,
        /// The whole text.
        #[serde(default)]
        text: String,
    },
    /// A citation added to a content part.
    #[serde(rename = "response.output_text.annotation.added")]
    OutputTextAnnotationAdded {
        /// The message.
        #[serde(default)]
        item_id: String,
        /// Position of the message in the output.
        #[serde(default)]
        output_index: usize,
        /// Position of the part in the message.
        #[serde(default)]
        content_index: usize,
        /// The model's index (ChatKit recounts).
        #[serde(default)]
        annotation_index: usize,
        /// The citation.
        annotation: ModelAnnotation,
    },
    /// Refusal text appended.
    #[serde(rename = "response.refusal.delta")]
    RefusalDelta {
        /// The message.
        #[serde(default)]
        item_id: String,
        /// Position of the part in the message.
        #[serde(default)]
        content_index: usize,
        /// The text.
        delta: String,
    },
    /// The refusal is complete.
    #[serde(rename = "response.refusal.done")]
    RefusalDone {
        /// The message.
        #[serde(default)]
        item_id: String,
        /// Position of the part in the message.
        #[serde(default)]
        content_index: usize,
        /// The whole refusal.
        #[serde(default)]
        refusal: String,
    },
    /// Function-call arguments appended.
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        /// The function call item.
        #[serde(default)]
        item_id: String,
        /// Position of the call in the output.
        #[serde(default)]
        output_index: usize,
        /// The text.
        delta: String,
    },
    /// Function-call arguments are complete.
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        /// The function call item.
        #[serde(default)]
        item_id: String,
        /// Position of the call in the output.
        #[serde(default)]
        output_index: usize,
        /// The whole arguments JSON.
        #[serde(default)]
        arguments: String,
    },
    /// Reasoning summary text appended.
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        /// The reasoning item.
        #[serde(default)]
        item_id: String,
        /// Position of the reasoning in the output.
        #[serde(default)]
        output_index: usize,
        /// Which summary part.
        #[serde(default)]
        summary_index: usize,
        /// The text.
        delta: String,
    },
    /// A reasoning summary part is complete.
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        /// The reasoning item.
        #[serde(default)]
        item_id: String,
        /// Position of the reasoning in the output.
        #[serde(default)]
        output_index: usize,
        /// Which summary part.
        #[serde(default)]
        summary_index: usize,
        /// The whole text.
        #[serde(default)]
        text: String,
    },
    /// A partial image of an image generation.
    #[serde(rename = "response.image_generation_call.partial_image")]
    ImageGenerationPartialImage {
        /// The image generation item.
        #[serde(default)]
        item_id: String,
        /// Position in the output.
        #[serde(default)]
        output_index: usize,
        /// Which partial image (0-based).
        #[serde(default)]
        partial_image_index: u32,
        /// The image, base64.
        #[serde(default)]
        partial_image_b64: String,
    },
    /// The response is complete.
    #[serde(rename = "response.completed")]
    Completed {
        /// The response, with usage.
        #[serde(default)]
        response: ResponseInfo,
    },
    /// The response ended incomplete (e.g. token limit).
    #[serde(rename = "response.incomplete")]
    Incomplete {
        /// The response.
        #[serde(default)]
        response: ResponseInfo,
    },
    /// The response failed.
    #[serde(rename = "response.failed")]
    Failed {
        /// The response, with its error.
        #[serde(default)]
        response: ResponseInfo,
    },
    /// An error reported in the stream.
    #[serde(
        rename = "error",
        deserialize_with = "deserialize_stream_error",
        serialize_with = "serialize_stream_error"
    )]
    Error(StreamErrorInfo),
    /// Any other event (logged and skipped by consumers).
    #[serde(other)]
    Unknown,
}

/// What a response says about itself (only what runs need).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseInfo {
    /// Response id.
    #[serde(default)]
    pub id: Option<String>,
    /// Model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// Token usage (on completion).
    #[serde(default)]
    pub usage: Option<Usage>,
    /// The error (on failure).
    #[serde(default)]
    pub error: Option<StreamErrorInfo>,
    /// Why the response is incomplete (on `response.incomplete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_details: Option<IncompleteDetails>,
}

/// Why a response ended before it was complete.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Token usage of a response, as the Responses API reports it (and the Python Agents
/// SDK's `Usage`): the details say how many input tokens came from the prompt cache and
/// how many output tokens were spent reasoning.
///
/// ```
/// use chatkit_agents::agents::model::Usage;
/// let usage: Usage = serde_json::from_str(r#"{"input_tokens": 120, "input_tokens_details": {"cached_tokens": 100},
///     "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 150}"#).unwrap();
/// assert_eq!((usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens), (100, 12));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens (cached ones included).
    #[serde(default)]
    pub input_tokens: u64,
    /// What the input tokens were.
    #[serde(default, deserialize_with = "null_as_default")]
    pub input_tokens_details: InputTokensDetails,
    /// Output tokens (reasoning ones included).
    #[serde(default)]
    pub output_tokens: u64,
    /// What the output tokens were.
    #[serde(default, deserialize_with = "null_as_default")]
    pub output_tokens_details: OutputTokensDetails,
    /// All tokens.
    #[serde(default)]
    pub total_tokens: u64,
}

impl Usage {
    /// Adds `other` to this usage.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.input_tokens_details.cached_tokens += other.input_tokens_details.cached_tokens;
        self.output_tokens += other.output_tokens;
        self.output_tokens_details.reasoning_tokens += other.output_tokens_details.reasoning_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// Of a response's input tokens ([`Usage::input_tokens_details`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputTokensDetails {
    /// Read from the provider's prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
}

/// Of a response's output tokens ([`Usage::output_tokens_details`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutputTokensDetails {
    /// Spent reasoning.
    #[serde(default)]
    pub reasoning_tokens: u64,
}

/// `null` reads as the default (providers send `"input_tokens_details": null`).
fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An error reported by the model service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamErrorInfo {
    /// Machine-readable code (`insufficient_quota`, ...).
    #[serde(default)]
    pub code: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
}

/// `error` events come flat (`{"type":"error","code":..,"message":..}`) or nested
/// (`{"type":"error","error":{...}}`); both are read.
fn deserialize_stream_error<'de, D: Deserializer<'de>>(d: D) -> Result<StreamErrorInfo, D::Error> {
    let value = Map::<String, Value>::deserialize(d)?;
    let source = match value.get("error") {
        Some(Value::Object(nested)) => nested,
        _ => &value,
    };
    Ok(StreamErrorInfo {
        code: source
            .get("code")
            .and_then(Value::as_str)
            .map(str::to_owned),
        message: source
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
}

fn serialize_stream_error<S: serde::Serializer>(
    error: &StreamErrorInfo,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry("error", error)?;
    map.end()
}
