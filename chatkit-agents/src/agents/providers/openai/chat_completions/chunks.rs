//! Chat Completions chunks as Responses events.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::agents::model::{
    ContentPart, FunctionCall, IncompleteDetails, InputTokensDetails, MessageItem, ModelEvent,
    OutputItem, OutputTokensDetails, ReasoningItem, ResponseInfo, StreamErrorInfo, Usage,
};

/// What the chunks of one response have said so far.
#[derive(Default)]
pub(super) struct ChunkState {
    created: bool,
    response_id: Option<String>,
    model: Option<String>,
    usage: Option<Usage>,
    /// Output indexes are given in the order items first appear.
    next_output_index: usize,
    /// The reasoning item and its index, once thinking arrived, and its text so far.
    reasoning: Option<(usize, ReasoningItem, String)>,
    /// The message item and its index, once text or a refusal arrived.
    message: Option<(usize, MessageItem)>,
    text: Option<String>,
    refusal: Option<String>,
    /// Tool calls by their chunk index: call id, name, arguments.
    calls: BTreeMap<u64, (String, String, String)>,
    pub(super) finished: bool,
    /// The choice's `finish_reason`, once given.
    finish_reason: Option<String>,
}

impl ChunkState {
    pub(super) fn info(&self, error: Option<StreamErrorInfo>) -> ResponseInfo {
        ResponseInfo {
            id: self.response_id.clone(),
            model: self.model.clone(),
            usage: self.usage,
            error,
            incomplete_details: None,
        }
    }

    fn message_id(&self) -> String {
        self.message
            .as_ref()
            .map(|(_, m)| m.id.clone())
            .unwrap_or_default()
    }

    fn message_index(&self) -> usize {
        self.message.as_ref().map_or(0, |(index, _)| *index)
    }

    fn take_output_index(&mut self) -> usize {
        self.next_output_index += 1;
        self.next_output_index - 1
    }

    /// The events one chunk gives.
    pub(super) fn chunk(&mut self, chunk: &Value) -> Vec<ModelEvent> {
        let mut events = Vec::new();
        if let Some(id) = chunk.get("id").and_then(Value::as_str) {
            self.response_id.get_or_insert_with(|| id.to_owned());
        }
        if let Some(model) = chunk.get("model").and_then(Value::as_str) {
            self.model.get_or_insert_with(|| model.to_owned());
        }
        if !self.created {
            self.created = true;
            events.push(ModelEvent::Created {
                response: self.info(None),
            });
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            let count = |path: &str| usage.pointer(path).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Some(Usage {
                input_tokens: count("/prompt_tokens"),
                input_tokens_details: InputTokensDetails {
                    cached_tokens: count("/prompt_tokens_details/cached_tokens"),
                },
                output_tokens: count("/completion_tokens"),
                output_tokens_details: OutputTokensDetails {
                    reasoning_tokens: count("/completion_tokens_details/reasoning_tokens"),
                },
                total_tokens: count("/total_tokens"),
            });
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return events;
        };
        if let Some(reason) = choice.get("finish_reason").filter(|r| !r.is_null()) {
            self.finished = true;
            self.finish_reason = reason.as_str().map(str::to_owned);
        }
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        let thinking = ["reasoning_content", "reasoning"]
            .iter()
            .find_map(|key| non_empty(delta, key));
        if let Some(thinking) = thinking {
            self.reasoning_delta(thinking, &mut events);
        }
        if let Some(text) = non_empty(delta, "content") {
            self.text_delta(text, &mut events);
        }
        if let Some(refusal) = non_empty(delta, "refusal") {
            self.refusal_delta(refusal, &mut events);
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.tool_call_delta(call);
        }
        events
    }

    /// A piece of the model's thinking: the summary of one reasoning item.
    fn reasoning_delta(&mut self, thinking: &str, events: &mut Vec<ModelEvent>) {
        if self.reasoning.is_none() {
            let item = ReasoningItem {
                id: format!("rs_{}", uuid::Uuid::new_v4().simple()),
                ..Default::default()
            };
            let index = self.take_output_index();
            events.push(ModelEvent::OutputItemAdded {
                output_index: index,
                item: OutputItem::Reasoning(item.clone()),
            });
            self.reasoning = Some((index, item, String::new()));
        }
        if let Some((index, item, text)) = &mut self.reasoning {
            text.push_str(thinking);
            events.push(ModelEvent::ReasoningSummaryTextDelta {
                item_id: item.id.clone(),
                output_index: *index,
                summary_index: 0,
                delta: thinking.to_owned(),
            });
        }
    }

    /// A piece of the answer: the message's output text part.
    fn text_delta(&mut self, text: &str, events: &mut Vec<ModelEvent>) {
        self.start_message(events);
        if self.text.is_none() {
            self.text = Some(String::new());
            events.push(ModelEvent::ContentPartAdded {
                item_id: self.message_id(),
                output_index: self.message_index(),
                content_index: 0,
                part: ContentPart::text(""),
            });
        }
        self.text.get_or_insert_with(String::new).push_str(text);
        events.push(ModelEvent::OutputTextDelta {
            item_id: self.message_id(),
            output_index: self.message_index(),
            content_index: 0,
            delta: text.to_owned(),
        });
    }

    /// A piece of a refusal: the message's refusal part.
    fn refusal_delta(&mut self, refusal: &str, events: &mut Vec<ModelEvent>) {
        self.start_message(events);
        let content_index = self.refusal_index();
        if self.refusal.is_none() {
            self.refusal = Some(String::new());
            events.push(ModelEvent::ContentPartAdded {
                item_id: self.message_id(),
                output_index: self.message_index(),
                content_index,
                part: ContentPart::refusal(""),
            });
        }
        self.refusal
            .get_or_insert_with(String::new)
            .push_str(refusal);
        events.push(ModelEvent::RefusalDelta {
            item_id: self.message_id(),
            content_index,
            delta: refusal.to_owned(),
        });
    }

    /// A piece of a tool call (its id, name and arguments arrive in pieces), kept until
    /// the response finishes.
    fn tool_call_delta(&mut self, call: &Value) {
        let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let entry = self.calls.entry(index).or_default();
        if let Some(id) = call.get("id").and_then(Value::as_str) {
            if entry.0.is_empty() {
                entry.0 = id.to_owned();
            }
        }
        let function = call.get("function").unwrap_or(&Value::Null);
        if let Some(name) = function.get("name").and_then(Value::as_str) {
            entry.1.push_str(name);
        }
        if let Some(arguments) = function.get("arguments").and_then(Value::as_str) {
            entry.2.push_str(arguments);
        }
    }

    fn start_message(&mut self, events: &mut Vec<ModelEvent>) {
        if self.message.is_none() {
            let message = MessageItem {
                id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
                status: Some("in_progress".into()),
                ..Default::default()
            };
            let index = self.take_output_index();
            events.push(ModelEvent::OutputItemAdded {
                output_index: index,
                item: OutputItem::Message(message.clone()),
            });
            self.message = Some((index, message));
        }
    }

    /// The refusal part follows the text part, if there is one.
    fn refusal_index(&self) -> usize {
        usize::from(self.text.is_some())
    }

    /// The closing events: the reasoning item, the message's parts and item, each
    /// function call as a complete item, then `response.completed`.
    pub(super) fn finish(mut self) -> Vec<ModelEvent> {
        let mut events = Vec::new();
        if let Some((index, item, text)) = self.reasoning.take() {
            events.push(ModelEvent::ReasoningSummaryTextDone {
                item_id: item.id.clone(),
                output_index: index,
                summary_index: 0,
                text: text.clone(),
            });
            events.push(ModelEvent::OutputItemDone {
                output_index: index,
                item: OutputItem::Reasoning(ReasoningItem {
                    summary: vec![json!({"type": "summary_text", "text": text})],
                    ..item
                }),
            });
        }
        if let Some((output_index, mut message)) = self.message.take() {
            let id = message.id.clone();
            if let Some(text) = self.text.take() {
                events.push(ModelEvent::OutputTextDone {
                    item_id: id.clone(),
                    output_index,
                    content_index: 0,
                    text: text.clone(),
                });
                let part = ContentPart::text(text);
                events.push(ModelEvent::ContentPartDone {
                    item_id: id.clone(),
                    output_index,
                    content_index: 0,
                    part: part.clone(),
                });
                message.content.push(part);
            }
            if let Some(refusal) = self.refusal.take() {
                let content_index = message.content.len();
                events.push(ModelEvent::RefusalDone {
                    item_id: id.clone(),
                    content_index,
                    refusal: refusal.clone(),
                });
                let part = ContentPart::refusal(refusal);
                events.push(ModelEvent::ContentPartDone {
                    item_id: id,
                    output_index,
                    content_index,
                    part: part.clone(),
                });
                message.content.push(part);
            }
            message.status = Some("completed".into());
            events.push(ModelEvent::OutputItemDone {
                output_index,
                item: OutputItem::Message(message),
            });
        }
        for (call_id, name, arguments) in std::mem::take(&mut self.calls).into_values() {
            let output_index = self.take_output_index();
            let id = format!("fc_{}", uuid::Uuid::new_v4().simple());
            let call = FunctionCall {
                id: Some(id.clone()),
                call_id,
                name,
                arguments: arguments.clone(),
                ..Default::default()
            };
            events.push(ModelEvent::OutputItemAdded {
                output_index,
                item: OutputItem::FunctionCall(FunctionCall {
                    arguments: String::new(),
                    ..call.clone()
                }),
            });
            events.push(ModelEvent::FunctionCallArgumentsDelta {
                item_id: id.clone(),
                output_index,
                delta: arguments.clone(),
            });
            events.push(ModelEvent::FunctionCallArgumentsDone {
                item_id: id,
                output_index,
                arguments,
            });
            events.push(ModelEvent::OutputItemDone {
                output_index,
                item: OutputItem::FunctionCall(call),
            });
        }
        // Cut short by the token limit or the content filter: incomplete, as the
        // Responses API says it.
        let incomplete = match self.finish_reason.as_deref() {
            Some("length") => Some("max_output_tokens"),
            Some("content_filter") => Some("content_filter"),
            _ => None,
        };
        let mut response = self.info(None);
        events.push(match incomplete {
            None => ModelEvent::Completed { response },
            Some(reason) => {
                response.incomplete_details = Some(IncompleteDetails {
                    reason: Some(reason.to_owned()),
                });
                ModelEvent::Incomplete { response }
            }
        });
        events
    }
}

/// The string at `key` of a chunk's delta, unless missing, null or empty.
fn non_empty<'a>(delta: &'a Value, key: &str) -> Option<&'a str> {
    delta
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}
