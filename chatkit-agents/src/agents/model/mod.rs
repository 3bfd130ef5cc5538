//! The model layer: [`Model`] streams [`ModelEvent`]s, our own enum shaped like the
//! OpenAI Responses API stream.
//!
//! The enum deserializes from real Responses SSE `data` JSON (event `type` names and
//! field names are the API's), leniently: unknown event types become
//! [`ModelEvent::Unknown`], unknown output items [`OutputItem::Other`] (kept whole, so
//! they can be sent back), and missing numbers default to 0. One odd frame never stops a
//! run.

mod error;
mod events;
mod items;
mod parts;
mod request;

use futures::stream::BoxStream;

pub use error::ModelError;
pub use events::{
    IncompleteDetails, InputTokensDetails, ModelEvent, OutputTokensDetails, ResponseInfo,
    StreamErrorInfo, Usage,
};
pub use items::{
    AssistantRole, FunctionCall, FunctionCallType, ImageGenerationItem, ImageGenerationType,
    MessageItem, MessageType, OutputItem, ReasoningItem, ReasoningType,
};
pub use parts::{ContentPart, ModelAnnotation, OutputTextType, RefusalType};
pub use request::{ModelRequest, ModelSettings};

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
