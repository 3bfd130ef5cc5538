//! The model layer: [`Model`] streams [`ModelEvent`]s, our own enum shaped like the
//! OpenAI Responses API stream.
//!
//! The enum deserializes from real Responses SSE `data` JSON (event `type` names and
//! field names are the API's), leniently: unknown event types become
//! [`ModelEvent::Unknown`], unknown output items [`OutputItem::Other`] (kept whole, so
//! they can be sent back), and missing numbers default to 0. One odd frame never stops a
//! run.

use futures::stream::BoxStream;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::tool::ToolDefinition;

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

/// Token usage of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// All tokens.
    #[serde(default)]
    pub total_tokens: u64,
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

/// An item of a model's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OutputItem {
    /// An assistant message.
    Message(MessageItem),
    /// A function (tool) call.
    FunctionCall(FunctionCall),
    /// Reasoning (summaries; the encrypted content is kept to send back).
    Reasoning(ReasoningItem),
    /// An image generation call.
    ImageGeneration(ImageGenerationItem),
    /// Any other item (web search calls, ...), kept as sent.
    Other(Value),
}

/// An assistant message of the model's output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageItem {
    /// Always `"message"`.
    #[serde(rename = "type", default)]
    pub item_type: MessageType,
    /// Item id.
    #[serde(default)]
    pub id: String,
    /// Always `"assistant"`.
    #[serde(default)]
    pub role: AssistantRole,
    /// The content parts.
    #[serde(default)]
    pub content: Vec<ContentPart>,
    /// `in_progress` or `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

literal_tag! {
    /// `"message"`.
    pub struct MessageType = "message";
}

literal_tag! {
    /// `"assistant"`.
    pub struct AssistantRole = "assistant";
}

/// A function call of the model's output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Always `"function_call"`.
    #[serde(rename = "type", default)]
    pub item_type: FunctionCallType,
    /// Item id (`fc_...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call id the output refers to (`call_...`).
    #[serde(default)]
    pub call_id: String,
    /// The tool.
    #[serde(default)]
    pub name: String,
    /// The arguments JSON.
    #[serde(default)]
    pub arguments: String,
}

literal_tag! {
    /// `"function_call"`.
    pub struct FunctionCallType = "function_call";
}

/// A reasoning item.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReasoningItem {
    /// Always `"reasoning"`.
    #[serde(rename = "type", default)]
    pub item_type: ReasoningType,
    /// Item id (`rs_...`).
    #[serde(default)]
    pub id: String,
    /// Summary parts.
    #[serde(default)]
    pub summary: Vec<Value>,
    /// Encrypted reasoning, to send back on the next turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
}

literal_tag! {
    /// `"reasoning"`.
    pub struct ReasoningType = "reasoning";
}

/// An image generation call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImageGenerationItem {
    /// Always `"image_generation_call"`.
    #[serde(rename = "type", default)]
    pub item_type: ImageGenerationType,
    /// Item id.
    #[serde(default)]
    pub id: String,
    /// The final image, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

literal_tag! {
    /// `"image_generation_call"`.
    pub struct ImageGenerationType = "image_generation_call";
}

impl<'de> Deserialize<'de> for OutputItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let parsed = match value.get("type").and_then(Value::as_str) {
            Some("message") => MessageItem::deserialize(&value)
                .ok()
                .map(OutputItem::Message),
            Some("function_call") => FunctionCall::deserialize(&value)
                .ok()
                .map(OutputItem::FunctionCall),
            Some("reasoning") => ReasoningItem::deserialize(&value)
                .ok()
                .map(OutputItem::Reasoning),
            Some("image_generation_call") => ImageGenerationItem::deserialize(&value)
                .ok()
                .map(OutputItem::ImageGeneration),
            _ => None,
        };
        Ok(parsed.unwrap_or(OutputItem::Other(value)))
    }
}

impl OutputItem {
    /// The id of an `mcp_approval_request` (a hosted MCP server asking for approval), if
    /// this is one.
    pub(crate) fn approval_request_id(&self) -> Option<&str> {
        match self {
            OutputItem::Other(item) if item["type"] == "mcp_approval_request" => {
                item["id"].as_str()
            }
            _ => None,
        }
    }

    /// The item's id, if it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            OutputItem::Message(m) => Some(&m.id),
            OutputItem::FunctionCall(f) => f.id.as_deref(),
            OutputItem::Reasoning(r) => Some(&r.id),
            OutputItem::ImageGeneration(i) => Some(&i.id),
            OutputItem::Other(v) => v.get("id").and_then(Value::as_str),
        }
    }
}

/// A content part of a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ContentPart {
    /// Text with citations.
    OutputText {
        /// Always `"output_text"`.
        #[serde(rename = "type")]
        part_type: OutputTextType,
        /// The text.
        text: String,
        /// Citations.
        annotations: Vec<ModelAnnotation>,
    },
    /// A refusal.
    Refusal {
        /// Always `"refusal"`.
        #[serde(rename = "type")]
        part_type: RefusalType,
        /// The refusal text.
        refusal: String,
    },
    /// Any other part (`reasoning_text`, ...), kept as sent.
    Other(Value),
}

literal_tag! {
    /// `"output_text"`.
    pub struct OutputTextType = "output_text";
}

literal_tag! {
    /// `"refusal"`.
    pub struct RefusalType = "refusal";
}

impl ContentPart {
    /// An `output_text` part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::OutputText {
            part_type: OutputTextType,
            text: text.into(),
            annotations: Vec::new(),
        }
    }

    /// A refusal part.
    pub fn refusal(refusal: impl Into<String>) -> Self {
        ContentPart::Refusal {
            part_type: RefusalType,
            refusal: refusal.into(),
        }
    }

    /// The part's `type`.
    pub fn part_type(&self) -> &str {
        match self {
            ContentPart::OutputText { .. } => "output_text",
            ContentPart::Refusal { .. } => "refusal",
            ContentPart::Other(v) => v.get("type").and_then(Value::as_str).unwrap_or_default(),
        }
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(match value.get("type").and_then(Value::as_str) {
            Some("output_text") => ContentPart::OutputText {
                part_type: OutputTextType,
                text: text("text"),
                annotations: value
                    .get("annotations")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|a| ModelAnnotation::deserialize(a).ok())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            Some("refusal") => ContentPart::Refusal {
                part_type: RefusalType,
                refusal: text("refusal"),
            },
            _ => ContentPart::Other(value),
        })
    }
}

/// A citation in model output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ModelAnnotation {
    /// A web page.
    #[serde(rename = "url_citation")]
    UrlCitation {
        /// The URL.
        #[serde(default)]
        url: String,
        /// Its title.
        #[serde(default)]
        title: String,
        /// Start of the cited text.
        #[serde(default)]
        start_index: usize,
        /// End of the cited text (where ChatKit puts the marker).
        #[serde(default)]
        end_index: usize,
    },
    /// A file.
    #[serde(rename = "file_citation")]
    FileCitation {
        /// The file id.
        #[serde(default)]
        file_id: String,
        /// The file name.
        #[serde(default)]
        filename: String,
        /// Position in the text.
        #[serde(default)]
        index: usize,
    },
    /// A file in a code container.
    #[serde(rename = "container_file_citation")]
    ContainerFileCitation {
        /// The container.
        #[serde(default)]
        container_id: String,
        /// The file id.
        #[serde(default)]
        file_id: String,
        /// The file name.
        #[serde(default)]
        filename: String,
        /// Start of the cited text.
        #[serde(default)]
        start_index: usize,
        /// End of the cited text.
        #[serde(default)]
        end_index: usize,
    },
    /// A file path (not shown by ChatKit).
    #[serde(rename = "file_path")]
    FilePath {
        /// The file id.
        #[serde(default)]
        file_id: String,
        /// Position in the text.
        #[serde(default)]
        index: usize,
    },
    /// Any other annotation (dropped by ChatKit).
    #[serde(other)]
    Other,
}

/// Model settings sent with every request of an agent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelSettings {
    /// The model name (`gpt-4.1-mini`, ...). Adapters use their default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// `auto`, `required`, `none`, or a tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
    /// Whether the model may call several tools at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Reasoning options (`{"effort": "low", "summary": "auto"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Value>,
    /// Whether the provider keeps the response (`store`). With `false`, ask for
    /// `reasoning.encrypted_content` in [`include`](Self::include) so that reasoning
    /// items can be sent back in the next turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Extra output the Responses API should include (`include`, e.g.
    /// `reasoning.encrypted_content`, `file_search_call.results`); the Python SDK's
    /// `response_include`. Chat Completions has no such field: a request with it is an
    /// error there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Chat Completions only: whether to ask for usage in the stream
    /// (`stream_options.include_usage`, on unless `Some(false)`). Turn it off for
    /// servers that reject the option; the run then reports no token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Any other request fields, sent as given.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// One model call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelRequest {
    /// The system instructions.
    pub instructions: Option<String>,
    /// The input items, in the Responses API's JSON form (messages, function calls,
    /// function call outputs, reasoning items...).
    pub input: Vec<Value>,
    /// The tools offered.
    pub tools: Vec<ToolDefinition>,
    /// The provider's own tools offered (Responses API only).
    pub hosted_tools: Vec<super::hosted::HostedTool>,
    /// Settings.
    pub settings: ModelSettings,
    /// The previous response, for servers that keep state.
    pub previous_response_id: Option<String>,
    /// The JSON schema the answer must follow (an agent with an output type).
    pub output_schema: Option<super::output::OutputSchema>,
}

/// A model call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The service answered with an HTTP error.
    #[error("model HTTP error {status}: {message}")]
    Http {
        /// The status.
        status: u16,
        /// The body or reason.
        message: String,
    },
    /// The service reported an error (in the stream or as a failed response).
    #[error("model error{}: {message}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api {
        /// The error code.
        code: Option<String>,
        /// The message.
        message: String,
        /// The HTTP status of a response refused with an error body; `None` for an
        /// error reported inside the stream.
        status: Option<u16>,
    },
    /// The connection failed or broke off.
    #[error("model connection error: {0}")]
    Connection(String),
    /// The request could not be built.
    #[error("invalid model request: {0}")]
    InvalidRequest(String),
    /// The model is not configured to work (no API key, for example): found when it
    /// is built, or by its first request.
    #[error("model configuration: {0}")]
    Configuration(String),
    /// Any other failure of a model implementation (your own [`Model`], or a
    /// `testing::ScriptedModel` that has no turn left).
    #[error("model error: {0}")]
    Other(String),
}

/// In-stream error codes of the Responses API that another attempt may not repeat.
const TRANSIENT_API_CODES: [&str; 4] = [
    "server_error",
    "rate_limit_exceeded",
    "vector_store_timeout",
    "server_is_overloaded",
];

impl ModelError {
    /// Whether another attempt later may succeed: the service could not be reached, was
    /// busy (408, 409, 429) or failed on its side (5xx, `server_error`). A refused key,
    /// an unknown model, a request the service rejects (a conversation too long, an
    /// image it cannot read) fail again the same way.
    ///
    /// ```
    /// use chatkit_agents::agents::ModelError;
    ///
    /// assert!(ModelError::Http { status: 503, message: "unavailable".into() }.is_transient());
    /// assert!(!ModelError::Http { status: 401, message: "no key".into() }.is_transient());
    /// assert!(ModelError::Connection("reset".into()).is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            ModelError::Http { status, .. } => transient_status(*status),
            ModelError::Api {
                status: Some(status),
                ..
            } => transient_status(*status),
            ModelError::Api {
                status: None, code, ..
            } => code
                .as_deref()
                .is_none_or(|code| TRANSIENT_API_CODES.contains(&code)),
            ModelError::Connection(_) | ModelError::Other(_) => true,
            ModelError::InvalidRequest(_) | ModelError::Configuration(_) => false,
        }
    }

    /// A sentence for the user of a chat whose answer failed with this error: what
    /// happened in words a user understands, naming no key, address or internal detail
    /// (the server log keeps those).
    ///
    /// ```
    /// use chatkit_agents::agents::ModelError;
    ///
    /// let refused = ModelError::Http { status: 401, message: "Incorrect API key provided: sk-...".into() };
    /// assert!(!refused.user_message().contains("sk-"));
    /// ```
    pub fn user_message(&self) -> &'static str {
        let (status, code) = match self {
            ModelError::Http { status, .. } => (Some(*status), None),
            ModelError::Api { status, code, .. } => (*status, code.as_deref()),
            ModelError::Connection(_) => {
                return "The AI model service could not be reached. Please try again."
            }
            ModelError::InvalidRequest(_) => {
                return "This conversation cannot be sent to the AI model as it is."
            }
            ModelError::Other(_) => return "The AI model failed to answer. Please try again.",
            ModelError::Configuration(_) => {
                return "The assistant is unavailable: its AI model is not configured."
            }
        };
        match (status, code) {
            (_, Some("invalid_api_key")) | (Some(401 | 403), _) => {
                "The assistant is unavailable: the AI model service refused this server's credentials."
            }
            (_, Some("model_not_found")) | (Some(404), _) => {
                "The assistant is unavailable: the AI model service does not offer the configured model."
            }
            (_, Some("context_length_exceeded")) => {
                "This conversation is too long for the AI model. Please start a new thread."
            }
            (_, Some("rate_limit_exceeded")) | (Some(429), _) => {
                "The AI model service is busy right now. Please try again in a moment."
            }
            _ if self.is_transient() => {
                "The AI model service had a problem answering. Please try again."
            }
            _ => "The AI model service could not process this request.",
        }
    }
}

/// Statuses after which the same request may succeed later.
fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// A model: streams events for a request. Implementations: the OpenAI Responses and
/// Chat Completions adapters (feature `openai`), and `testing::ScriptedModel` (feature
/// `testing`) for tests.
pub trait Model: Send + Sync {
    /// Starts a streamed response.
    fn stream(&self, request: ModelRequest) -> BoxStream<'static, Result<ModelEvent, ModelError>>;

    /// Who serves the model, for traces (`gen_ai.provider.name`: `"openai"` for the
    /// OpenAI adapters). Default: `"unknown"`.
    fn provider_name(&self) -> &str {
        "unknown"
    }

    /// The model a request goes to when its settings name none, for traces
    /// (`gen_ai.request.model`). Default: none.
    fn default_model(&self) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_real_event_shapes_leniently() {
        let event: ModelEvent = serde_json::from_value(json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Hi", "logprobs": [], "obfuscation": "x", "sequence_number": 5})).unwrap();
        assert_eq!(
            event,
            ModelEvent::OutputTextDelta {
                item_id: "msg_1".into(),
                output_index: 0,
                content_index: 0,
                delta: "Hi".into()
            }
        );
        let unknown: ModelEvent =
            serde_json::from_value(json!({"type": "response.brand_new_event", "x": 1})).unwrap();
        assert_eq!(unknown, ModelEvent::Unknown);
        let nested: ModelEvent = serde_json::from_value(json!({"type": "error", "sequence_number": 2, "error": {"type": "insufficient_quota", "code": "insufficient_quota", "message": "quota", "param": null}})).unwrap();
        assert_eq!(
            nested,
            ModelEvent::Error(StreamErrorInfo {
                code: Some("insufficient_quota".into()),
                message: "quota".into()
            })
        );
        let flat: ModelEvent =
            serde_json::from_value(json!({"type": "error", "code": "x", "message": "m"})).unwrap();
        assert_eq!(
            flat,
            ModelEvent::Error(StreamErrorInfo {
                code: Some("x".into()),
                message: "m".into()
            })
        );
    }

    #[test]
    fn unknown_items_and_parts_are_kept() {
        let item: OutputItem = serde_json::from_value(json!({"type": "web_search_call", "id": "ws_1", "action": {"sources": [{"type": "api"}]}})).unwrap();
        assert!(matches!(&item, OutputItem::Other(v) if v["id"] == "ws_1"));
        assert_eq!(item.id(), Some("ws_1"));
        let call: OutputItem = serde_json::from_value(json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}", "status": "completed"})).unwrap();
        assert!(matches!(call, OutputItem::FunctionCall(ref f) if f.call_id == "call_1"));
        let part: ContentPart = serde_json::from_value(json!({"type": "output_text", "text": "t", "annotations": [{"type": "url_citation", "url": "u", "title": "T", "start_index": 0, "end_index": 1}, {"type": "weird"}]})).unwrap();
        let ContentPart::OutputText { annotations, .. } = part else {
            panic!()
        };
        assert_eq!(annotations.len(), 2);
        assert_eq!(annotations[1], ModelAnnotation::Other);
    }
}
