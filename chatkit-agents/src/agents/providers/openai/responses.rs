//! [`OpenAIResponsesModel`]: models served by the OpenAI Responses API (or any server
//! that speaks it), on async-openai (feature `openai`).

use async_openai::config::OpenAIConfig;
use async_openai::Client;
use futures::stream::{BoxStream, StreamExt};
use serde_json::{json, Map, Value};

use super::client::{async_openai_frames, openai_model_constructors, Transport, USER_AGENT};
use crate::agents::model::{Model, ModelError, ModelEvent, ModelRequest};

/// A model on the Responses API, streamed.
///
/// Frames are read leniently into [`ModelEvent`]: an unknown event type is skipped with a
/// debug log, a frame that is not JSON with a warning, and neither stops the run; usage
/// and completion always come through. HTTP and API errors become [`ModelError`]s, and a
/// stream that ends before the response completed is a [`ModelError::Connection`].
///
/// ```no_run
/// use chatkit_agents::agents::providers::openai::OpenAIResponsesModel;
/// // OPENAI_API_KEY (and OPENAI_BASE_URL, if set) from the environment:
/// let model = OpenAIResponsesModel::new("gpt-4.1-mini");
/// // Or any Responses-compatible server:
/// let local = OpenAIResponsesModel::with_base_url("my-model", "http://127.0.0.1:8080/v1", "key");
/// ```
#[derive(Debug, Clone)]
pub struct OpenAIResponsesModel {
    client: Client<OpenAIConfig>,
    /// `None` for a client given to `from_client`: it streams through async-openai.
    transport: Option<Transport>,
    model: String,
}

impl OpenAIResponsesModel {
    openai_model_constructors!(OpenAIResponsesModel);

    /// The `User-Agent` of the requests made by [`new`](Self::new) and
    /// [`with_base_url`](Self::with_base_url), in the reference's format
    /// (`Agents/Python <version> ChatKit/Python <version>`), so that traffic from ChatKit
    /// servers can be told apart. A client passed to [`from_client`](Self::from_client)
    /// keeps its own headers.
    pub const USER_AGENT: &'static str = USER_AGENT;

    /// The JSON body sent for `request`.
    pub fn request_body(&self, request: &ModelRequest) -> Value {
        let settings = &request.settings;
        let mut body = Map::new();
        body.insert(
            "model".into(),
            json!(settings.model.as_deref().unwrap_or(&self.model)),
        );
        if let Some(instructions) = &request.instructions {
            body.insert("instructions".into(), json!(instructions));
        }
        body.insert("input".into(), Value::Array(request.input.clone()));
        if !request.tools.is_empty() || !request.hosted_tools.is_empty() {
            let functions = request
                .tools
                .iter()
                .map(|t| serde_json::to_value(t).unwrap_or(Value::Null));
            let hosted = request
                .hosted_tools
                .iter()
                .map(|t| serde_json::to_value(t).unwrap_or(Value::Null));
            body.insert(
                "tools".into(),
                Value::Array(functions.chain(hosted).collect()),
            );
        }
        if let Some(choice) = &settings.tool_choice {
            let choice = match choice.as_str() {
                "auto" | "required" | "none" => json!(choice),
                name => json!({"type": "function", "name": name}),
            };
            body.insert("tool_choice".into(), choice);
        }
        let optional = [
            ("temperature", settings.temperature.map(|v| json!(v))),
            ("top_p", settings.top_p.map(|v| json!(v))),
            (
                "max_output_tokens",
                settings.max_output_tokens.map(|v| json!(v)),
            ),
            (
                "parallel_tool_calls",
                settings.parallel_tool_calls.map(|v| json!(v)),
            ),
            ("reasoning", settings.reasoning.clone()),
            ("store", settings.store.map(|v| json!(v))),
            (
                "include",
                (!settings.include.is_empty()).then(|| json!(settings.include)),
            ),
            (
                "previous_response_id",
                request.previous_response_id.as_ref().map(|v| json!(v)),
            ),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        }
        if let Some(output) = &request.output_schema {
            body.insert(
                "text".into(),
                json!({"format": {"type": "json_schema", "name": output.name, "schema": output.schema, "strict": output.strict}}),
            );
        }
        for (key, value) in &settings.extra {
            body.insert(key.clone(), value.clone());
        }
        body.insert("stream".into(), json!(true));
        Value::Object(body)
    }
}

fn terminal(event: &ModelEvent) -> bool {
    matches!(
        event,
        ModelEvent::Completed { .. }
            | ModelEvent::Failed { .. }
            | ModelEvent::Incomplete { .. }
            | ModelEvent::Error(_)
    )
}

impl Model for OpenAIResponsesModel {
    fn provider_name(&self) -> &str {
        "openai"
    }

    fn default_model(&self) -> Option<&str> {
        Some(&self.model)
    }

    fn stream(&self, request: ModelRequest) -> BoxStream<'static, Result<ModelEvent, ModelError>> {
        let body = self.request_body(&request);
        let frames = match &self.transport {
            Some(transport) => transport.stream_json(self.client.config(), "/responses", &body),
            None => {
                let client = self.client.clone();
                async_openai_frames(async move {
                    client
                        .responses()
                        .create_stream_byot::<Value, Value>(body)
                        .await
                })
            }
        };
        ResponseEvents {
            frames,
            finished: false,
            ended: false,
        }
        .boxed()
    }
}

/// The model events of a response's JSON frames, read leniently: an event type this
/// crate does not use is skipped (debug log), a frame of an unexpected shape too
/// (warning); a stream that ends before the response completed ends with a
/// [`ModelError::Connection`]. A small state of its own rather than a generator: a run
/// holds it for as long as the model streams.
struct ResponseEvents {
    frames: BoxStream<'static, Result<Value, ModelError>>,
    /// A terminal event came.
    finished: bool,
    /// Nothing more is given.
    ended: bool,
}

impl futures::Stream for ResponseEvents {
    type Item = Result<ModelEvent, ModelError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        while !self.ended {
            let value = match std::task::ready!(self.frames.poll_next_unpin(cx)) {
                Some(Ok(value)) => value,
                Some(Err(error)) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    self.ended = true;
                    if self.finished {
                        break;
                    }
                    return Poll::Ready(Some(Err(ModelError::Connection(
                        "the stream ended before the response completed".into(),
                    ))));
                }
            };
            match serde_json::from_value::<ModelEvent>(value) {
                Ok(ModelEvent::Unknown) => {
                    tracing::debug!("skipping an event type this crate does not use")
                }
                Ok(event) => {
                    self.finished |= terminal(&event);
                    return Poll::Ready(Some(Ok(event)));
                }
                Err(error) => tracing::warn!(
                    %error,
                    "skipping a stream event that does not have the expected shape"
                ),
            }
        }
        Poll::Ready(None)
    }
}
