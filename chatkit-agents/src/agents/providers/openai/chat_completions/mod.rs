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

use async_openai::config::OpenAIConfig;
use async_openai::Client;
use futures::stream::{BoxStream, StreamExt};
use serde_json::{json, Map, Value};

use super::client::{async_openai_frames, openai_model_constructors, Transport};
use crate::agents::model::{Model, ModelError, ModelEvent, ModelRequest, StreamErrorInfo};

mod chunks;
mod messages;

use chunks::ChunkState;
use messages::items_to_messages;

/// A model on the Chat Completions API, streamed, for run loops and ChatKit streams that
/// expect the Responses API's events (see the module docs for the mapping).
///
/// ```no_run
/// use chatkit_agents::agents::providers::openai::OpenAIChatCompletionsModel;
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
    /// `None` for a client given to `from_client`: it streams through async-openai.
    transport: Option<Transport>,
    model: String,
}

impl OpenAIChatCompletionsModel {
    openai_model_constructors!(OpenAIChatCompletionsModel);

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
            ("store", settings.store.map(|v| json!(v))),
            (
                // Only meaningful with tools; some servers reject it otherwise.
                "parallel_tool_calls",
                settings
                    .parallel_tool_calls
                    .filter(|_| !request.tools.is_empty())
                    .map(|v| json!(v)),
            ),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        }
        if let Some(hosted) = request.hosted_tools.first() {
            return Err(ModelError::InvalidRequest(format!(
                "the hosted tool {} needs the Responses API (OpenAIResponsesModel); Chat Completions has no hosted tools",
                hosted.kind()
            )));
        }
        if !settings.include.is_empty() {
            return Err(ModelError::InvalidRequest(
                "`include` is a Responses API setting; Chat Completions has no such field".into(),
            ));
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
        if settings.include_usage != Some(false) {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        Ok(Value::Object(body))
    }
}

impl Model for OpenAIChatCompletionsModel {
    fn provider_name(&self) -> &str {
        "openai"
    }

    fn default_model(&self) -> Option<&str> {
        Some(&self.model)
    }

    fn stream(&self, request: ModelRequest) -> BoxStream<'static, Result<ModelEvent, ModelError>> {
        let body = match self.request_body(&request) {
            Ok(body) => body,
            Err(error) => return futures::stream::once(async { Err(error) }).boxed(),
        };
        let mut chunks = match &self.transport {
            Some(transport) => {
                transport.stream_json(self.client.config(), "/chat/completions", &body)
            }
            None => {
                let client = self.client.clone();
                async_openai_frames(async move {
                    client.chat().create_stream_byot::<Value, Value>(body).await
                })
            }
        };
        async_stream::stream! {
            let mut state = ChunkState::default();
            while let Some(chunk) = chunks.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(error) => {
                        yield Err(error);
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
