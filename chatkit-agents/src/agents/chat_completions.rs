//! [`OpenAIChatCompletionsModel`]: models behind the Chat Completions API (OpenAI's, and
//! the many servers that only speak it: vLLM, Ollama, LM Studio, hosted providers).
//!
//! The run loop and `stream_agent_response` work on Responses-shaped events, so this
//! adapter does what the Python Agents SDK's `ChatCmplStreamHandler` does: it turns the
//! request's Responses input items into chat messages, and the streamed chunks back into
//! Responses events (a reasoning item from `reasoning_content` or `reasoning` deltas, as
//! DeepSeek, vLLM and OpenRouter stream a model's thinking; a message item with an output
//! text part and deltas; a refusal part; function call items once their arguments are
//! complete; and `response.completed` with the usage). Chat chunks carry no item ids; each message gets a fresh `msg_...` id and
//! each call an `fc_...` id (the Python SDK uses one fixed placeholder id, which would
//! make every assistant message of a ChatKit thread collide).

use std::collections::BTreeMap;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::Client;
use futures::stream::{BoxStream, StreamExt};
use serde_json::{json, Map, Value};

use super::model::{
    ContentPart, FunctionCall, MessageItem, Model, ModelError, ModelEvent, ModelRequest,
    OutputItem, ReasoningItem, ResponseInfo, StreamErrorInfo, Usage,
};
use super::openai::{identify, model_error};

/// A model on the Chat Completions API, streamed, for run loops and ChatKit streams that
/// expect the Responses API's events (see the module docs for the mapping).
///
/// ```no_run
/// use chatkit_agents::agents::OpenAIChatCompletionsModel;
/// // A local server speaking Chat Completions (Ollama, vLLM, LM Studio, ...):
/// let local = OpenAIChatCompletionsModel::with_base_url("llama3.1", "http://127.0.0.1:11434/v1", "unused");
/// // OpenAI itself, with OPENAI_API_KEY (and OPENAI_BASE_URL, if set) from the environment:
/// let openai = OpenAIChatCompletionsModel::new("gpt-4.1-mini");
/// ```
///
/// Input items without a chat equivalent (hosted tool calls such as web searches) are a
/// [`ModelError::InvalidRequest`]; reasoning items are left out, as the Python SDK does.
#[derive(Debug, Clone)]
pub struct OpenAIChatCompletionsModel {
    client: Client<OpenAIConfig>,
    model: String,
}

impl OpenAIChatCompletionsModel {
    /// The model `model`, with the API key and base URL from `OPENAI_API_KEY` and
    /// `OPENAI_BASE_URL` (default `https://api.openai.com/v1`).
    pub fn new(model: impl Into<String>) -> Self {
        Self::from_client(
            Client::with_config(identify(OpenAIConfig::default())),
            model,
        )
    }

    /// The model `model` on the server at `base_url` (e.g. `http://127.0.0.1:8080/v1`).
    pub fn with_base_url(
        model: impl Into<String>,
        base_url: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Self {
        let config = OpenAIConfig::new()
            .with_api_base(base_url)
            .with_api_key(api_key);
        Self::from_client(Client::with_config(identify(config)), model)
    }

    /// The model `model` on a configured async-openai client.
    pub fn from_client(client: Client<OpenAIConfig>, model: impl Into<String>) -> Self {
        OpenAIChatCompletionsModel {
            client,
            model: model.into(),
        }
    }

    /// The default model name (the request's `settings.model` wins).
    pub fn model_name(&self) -> &str {
        &self.model
    }

    /// The JSON body sent for `request`, or why `request` cannot be sent.
    pub fn request_body(&self, request: &ModelRequest) -> Result<Value, ModelError> {
        let settings = &request.settings;
        let mut messages = Vec::with_capacity(request.input.len() + 1);
        if let Some(instructions) = &request.instructions {
            messages.push(json!({"role": "system", "content": instructions}));
        }
        messages.extend(items_to_messages(&request.input)?);
        let mut body = Map::new();
        body.insert(
            "model".into(),
            json!(settings.model.as_deref().unwrap_or(&self.model)),
        );
        body.insert("messages".into(), Value::Array(messages));
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request
                .tools
                .iter()
                .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters, "strict": t.strict}}))
                .collect();
            body.insert("tools".into(), Value::Array(tools));
            if let Some(parallel) = settings.parallel_tool_calls {
                body.insert("parallel_tool_calls".into(), json!(parallel));
            }
        }
        if let Some(choice) = &settings.tool_choice {
            let choice = match choice.as_str() {
                "auto" | "required" | "none" => json!(choice),
                name => json!({"type": "function", "function": {"name": name}}),
            };
            body.insert("tool_choice".into(), choice);
        }
        let effort = settings
            .reasoning
            .as_ref()
            .and_then(|r| r.get("effort"))
            .cloned();
        let optional = [
            ("temperature", settings.temperature.map(|v| json!(v))),
            ("top_p", settings.top_p.map(|v| json!(v))),
            ("max_tokens", settings.max_output_tokens.map(|v| json!(v))),
            ("reasoning_effort", effort),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        }
        if request.previous_response_id.is_some() {
            return Err(ModelError::InvalidRequest(
                "Chat Completions has no previous_response_id; send the whole conversation".into(),
            ));
        }
        if let Some(output) = &request.output_schema {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": output.name, "schema": output.schema, "strict": output.strict}}),
            );
        }
        for (key, value) in &settings.extra {
            body.insert(key.clone(), value.clone());
        }
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
        Ok(Value::Object(body))
    }
}

impl Model for OpenAIChatCompletionsModel {
    fn stream(&self, request: ModelRequest) -> BoxStream<'static, Result<ModelEvent, ModelError>> {
        let client = self.client.clone();
        let body = self.request_body(&request);
        async_stream::stream! {
            let body = match body {
                Ok(body) => body,
                Err(error) => {
                    yield Err(error);
                    return;
                }
            };
            let chat = client.chat();
            let mut chunks = match chat.create_stream_byot::<Value, Value>(body).await {
                Ok(chunks) => chunks,
                Err(error) => {
                    yield Err(model_error(error));
                    return;
                }
            };
            let mut state = ChunkState::default();
            while let Some(chunk) = chunks.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(OpenAIError::JSONDeserialize(error, content)) => {
                        tracing::warn!(%error, frame = %content.chars().take(200).collect::<String>(), "skipping a stream frame that is not JSON");
                        continue;
                    }
                    Err(error) => {
                        yield Err(model_error(error));
                        return;
                    }
                };
                if let Some(error) = chunk.get("error") {
                    let error: StreamErrorInfo = serde_json::from_value(error.clone()).unwrap_or_default();
                    yield Ok(ModelEvent::Error(error.clone()));
                    yield Ok(ModelEvent::Failed { response: state.info(Some(error)) });
                    return;
                }
                for event in state.chunk(&chunk) {
                    yield Ok(event);
                }
            }
            if !state.finished {
                yield Err(ModelError::Connection("the stream ended before the response completed".into()));
                return;
            }
            for event in state.finish() {
                yield Ok(event);
            }
        }
        .boxed()
    }
}

/// What the chunks of one response have said so far.
#[derive(Default)]
struct ChunkState {
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
    finished: bool,
}

impl ChunkState {
    fn info(&self, error: Option<StreamErrorInfo>) -> ResponseInfo {
        ResponseInfo {
            id: self.response_id.clone(),
            model: self.model.clone(),
            usage: self.usage,
            error,
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
    fn chunk(&mut self, chunk: &Value) -> Vec<ModelEvent> {
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
            let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Some(Usage {
                input_tokens: count("prompt_tokens"),
                output_tokens: count("completion_tokens"),
                total_tokens: count("total_tokens"),
            });
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return events;
        };
        if choice.get("finish_reason").is_some_and(|r| !r.is_null()) {
            self.finished = true;
        }
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        let thinking = ["reasoning_content", "reasoning"]
            .iter()
            .find_map(|key| delta.get(*key).and_then(Value::as_str))
            .filter(|t| !t.is_empty());
        if let Some(thinking) = thinking {
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
        if let Some(text) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.start_message(&mut events);
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
        if let Some(refusal) = delta
            .get("refusal")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.start_message(&mut events);
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
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
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
        events
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
    fn finish(mut self) -> Vec<ModelEvent> {
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
        events.push(ModelEvent::Completed {
            response: self.info(None),
        });
        events
    }
}

/// Responses input items as chat messages, as the Python SDK's `items_to_messages`:
/// function calls join the assistant message before them, and function call outputs
/// become `tool` messages.
fn items_to_messages(items: &[Value]) -> Result<Vec<Value>, ModelError> {
    let mut messages: Vec<Value> = Vec::with_capacity(items.len());
    // The index of the assistant message that function calls attach to.
    let mut assistant: Option<usize> = None;
    for item in items {
        let kind = item.get("type").and_then(Value::as_str);
        let role = item.get("role").and_then(Value::as_str);
        match (kind, role) {
            (None | Some("message"), Some("assistant")) => {
                messages.push(assistant_message(item)?);
                assistant = Some(messages.len() - 1);
            }
            (None | Some("message"), Some(role @ ("user" | "system" | "developer"))) => {
                let content = match item.get("content") {
                    Some(Value::String(text)) => json!(text),
                    Some(Value::Array(parts)) => Value::Array(
                        parts
                            .iter()
                            .map(input_part)
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    _ => return Err(invalid(item, "a message needs text or content parts")),
                };
                messages.push(json!({"role": role, "content": content}));
                assistant = None;
            }
            (Some("function_call"), _) => {
                let index = match assistant {
                    Some(index) => index,
                    None => {
                        messages.push(json!({"role": "assistant", "content": null}));
                        messages.len() - 1
                    }
                };
                assistant = Some(index);
                let call = json!({
                    "id": item.get("call_id").cloned().unwrap_or(Value::Null),
                    "type": "function",
                    "function": {
                        "name": item.get("name").cloned().unwrap_or(Value::Null),
                        "arguments": item.get("arguments").cloned().unwrap_or(json!("{}")),
                    },
                });
                if let Some(Value::Object(message)) = messages.get_mut(index) {
                    match message.get_mut("tool_calls") {
                        Some(Value::Array(calls)) => calls.push(call),
                        _ => {
                            message.insert("tool_calls".into(), json!([call]));
                        }
                    }
                }
            }
            (Some("function_call_output"), _) => {
                let output = match item.get("output") {
                    Some(Value::String(text)) => text.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": item.get("call_id").cloned().unwrap_or(Value::Null),
                    "content": output,
                }));
                assistant = None;
            }
            // Reasoning cannot be replayed to a chat model; the Python SDK drops it too.
            (Some("reasoning"), _) => {}
            _ => {
                return Err(invalid(
                    item,
                    "this item has no Chat Completions equivalent",
                ))
            }
        }
    }
    Ok(messages)
}

fn invalid(item: &Value, why: &str) -> ModelError {
    let shown: String = item.to_string().chars().take(120).collect();
    ModelError::InvalidRequest(format!("cannot send {shown} to a chat model: {why}"))
}

/// An assistant message item: its text parts joined as `content`, a refusal as `refusal`.
fn assistant_message(item: &Value) -> Result<Value, ModelError> {
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    match item.get("content") {
        Some(Value::String(text)) => {
            message.insert("content".into(), json!(text));
        }
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            let mut refusal = String::new();
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("output_text" | "input_text" | "text") => {
                        text.push_str(part.get("text").and_then(Value::as_str).unwrap_or(""))
                    }
                    Some("refusal") => {
                        refusal.push_str(part.get("refusal").and_then(Value::as_str).unwrap_or(""))
                    }
                    _ => return Err(invalid(part, "unknown assistant content part")),
                }
            }
            message.insert(
                "content".into(),
                if text.is_empty() {
                    Value::Null
                } else {
                    json!(text)
                },
            );
            if !refusal.is_empty() {
                message.insert("refusal".into(), json!(refusal));
            }
        }
        _ => {
            message.insert("content".into(), Value::Null);
        }
    }
    Ok(Value::Object(message))
}

/// A user/system content part in the chat format.
fn input_part(part: &Value) -> Result<Value, ModelError> {
    let text = |key: &str| part.get(key).cloned().unwrap_or(json!(""));
    match part.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text") => {
            Ok(json!({"type": "text", "text": text("text")}))
        }
        Some("input_image") => {
            let Some(url) = part.get("image_url").filter(|u| u.is_string()) else {
                return Err(invalid(
                    part,
                    "images need an image_url (file ids are not supported)",
                ));
            };
            let mut image = Map::new();
            image.insert("url".into(), url.clone());
            if let Some(detail) = part.get("detail").filter(|d| d.is_string()) {
                image.insert("detail".into(), detail.clone());
            }
            Ok(json!({"type": "image_url", "image_url": image}))
        }
        Some("input_file") => {
            let mut file = Map::new();
            for key in ["file_data", "file_id", "filename"] {
                if let Some(value) = part.get(key).filter(|v| v.is_string()) {
                    file.insert(key.into(), value.clone());
                }
            }
            Ok(json!({"type": "file", "file": file}))
        }
        _ => Err(invalid(part, "unknown content part")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_join_the_assistant_message_before_them() {
        let messages = items_to_messages(&[
            json!({"role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"}]}),
            json!({"type": "message", "role": "assistant", "id": "msg_1", "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]}),
            json!({"type": "reasoning", "id": "rs_1", "summary": []}),
            json!({"type": "function_call", "call_id": "call_a", "name": "a", "arguments": "{}"}),
            json!({"type": "function_call", "call_id": "call_b", "name": "b", "arguments": "{\"x\":1}"}),
            json!({"type": "function_call_output", "call_id": "call_a", "output": "A"}),
            json!({"type": "function_call_output", "call_id": "call_b", "output": {"n": 2}}),
            json!({"type": "function_call", "call_id": "call_c", "name": "c", "arguments": "{}"}),
        ])
        .unwrap();
        assert_eq!(
            Value::Array(messages),
            json!([
                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}}]},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                    {"id": "call_b", "type": "function", "function": {"name": "b", "arguments": "{\"x\":1}"}},
                ]},
                {"role": "tool", "tool_call_id": "call_a", "content": "A"},
                {"role": "tool", "tool_call_id": "call_b", "content": "{\"n\":2}"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_c", "type": "function", "function": {"name": "c", "arguments": "{}"}},
                ]},
            ])
        );
    }

    #[test]
    fn items_without_a_chat_form_are_rejected_by_name() {
        let err =
            items_to_messages(&[json!({"type": "web_search_call", "id": "ws_1"})]).unwrap_err();
        assert!(
            matches!(&err, ModelError::InvalidRequest(m) if m.contains("web_search_call") && m.contains("no Chat Completions equivalent")),
            "{err}"
        );
        let err = items_to_messages(&[
            json!({"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("image_url"), "{err}");
    }
}
