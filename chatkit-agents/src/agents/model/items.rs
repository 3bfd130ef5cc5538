//! What a model outputs: [`OutputItem`]s (messages, function calls, reasoning,
//! generated images, and any other item kept whole).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::ContentPart;

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
