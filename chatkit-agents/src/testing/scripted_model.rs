//! [`ScriptedModel`]: a [`Model`] that plays scripted turns as the event sequences a
//! real Responses model streams, and records every request.

use crate::locks::lock;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use serde_json::{json, Value};

use crate::agents::model::{
    ContentPart, FunctionCall, MessageItem, Model, ModelAnnotation, ModelError, ModelEvent,
    ModelRequest, OutputItem, OutputTextType, ReasoningItem, ResponseInfo, StreamErrorInfo, Usage,
};

/// One step of a scripted turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An assistant message whose text is streamed a word at a time.
    Text(String),
    /// An assistant message streamed as exactly these deltas.
    TextDeltas(Vec<String>),
    /// An assistant message with citations (added after the text).
    Annotated {
        /// The text.
        text: String,
        /// The citations.
        annotations: Vec<ModelAnnotation>,
    },
    /// A refusal message.
    Refusal(String),
    /// A message with its own item id or several content parts ([`Step::message`]).
    Message(ScriptedMessage),
    /// A function call (ids are generated unless given).
    ToolCall {
        /// The tool.
        name: String,
        /// The arguments.
        arguments: Value,
        /// The call id; `None` generates one (`call_...`).
        call_id: Option<String>,
        /// The item id; `None` generates one (`fc_...`).
        id: Option<String>,
    },
    /// A reasoning item with these summary parts, each streamed a word at a time.
    Reasoning(Vec<String>),
    /// An `error` event and a failed response, as the API reports errors mid-stream.
    ApiError {
        /// The code.
        code: String,
        /// The message.
        message: String,
    },
    /// The stream itself fails (a broken connection, an HTTP error).
    Break(ModelError),
    /// Waits before the next step.
    Delay(Duration),
    /// Raw events, sent as given.
    Events(Vec<ModelEvent>),
}

impl Step {
    /// [`Step::Text`].
    pub fn text(text: impl Into<String>) -> Self {
        Step::Text(text.into())
    }

    /// [`Step::ToolCall`] with generated ids.
    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Self {
        Step::ToolCall {
            name: name.into(),
            arguments,
            call_id: None,
            id: None,
        }
    }

    /// [`Step::ToolCall`] with the given call id and item id.
    pub fn tool_call_with_ids(
        name: impl Into<String>,
        arguments: Value,
        call_id: impl Into<String>,
        id: impl Into<String>,
    ) -> Self {
        Step::ToolCall {
            name: name.into(),
            arguments,
            call_id: Some(call_id.into()),
            id: Some(id.into()),
        }
    }

    /// A message to build part by part ([`ScriptedMessage`]).
    ///
    /// ```
    /// use chatkit_agents::agents::model::ModelAnnotation;
    /// use chatkit_agents::testing::Step;
    /// let step = Step::message()
    ///     .id("msg_answer")
    ///     .text("See the report.")
    ///     .annotated_text(" And the memo.", vec![ModelAnnotation::UrlCitation {
    ///         url: "https://example.com/memo".into(),
    ///         title: "Memo".into(),
    ///         start_index: 1,
    ///         end_index: 14,
    ///     }])
    ///     .build();
    /// # let _ = step;
    /// ```
    pub fn message() -> ScriptedMessage {
        ScriptedMessage::default()
    }

    /// [`Step::Reasoning`].
    pub fn reasoning<S: Into<String>>(summaries: impl IntoIterator<Item = S>) -> Self {
        Step::Reasoning(summaries.into_iter().map(Into::into).collect())
    }
}

/// A message of a scripted turn: its item id (generated unless given) and its content
/// parts, each streamed a word at a time (or as given deltas) with its own annotations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScriptedMessage {
    id: Option<String>,
    parts: Vec<ScriptedPart>,
}

/// A content part of a [`ScriptedMessage`].
#[derive(Debug, Clone, PartialEq)]
struct ScriptedPart {
    deltas: Vec<String>,
    annotations: Vec<ModelAnnotation>,
    refusal: bool,
}

impl ScriptedMessage {
    /// The message's item id (default: generated, `msg_...`).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// An output text part, streamed a word at a time.
    pub fn text(self, text: &str) -> Self {
        self.annotated_text(text, Vec::new())
    }

    /// An output text part with citations (added after its text).
    pub fn annotated_text(mut self, text: &str, annotations: Vec<ModelAnnotation>) -> Self {
        self.parts.push(ScriptedPart {
            deltas: words(text),
            annotations,
            refusal: false,
        });
        self
    }

    /// An output text part streamed as exactly these deltas.
    pub fn text_deltas<S: Into<String>>(mut self, deltas: impl IntoIterator<Item = S>) -> Self {
        self.parts.push(ScriptedPart {
            deltas: deltas.into_iter().map(Into::into).collect(),
            annotations: Vec::new(),
            refusal: false,
        });
        self
    }

    /// A refusal part.
    pub fn refusal(mut self, text: &str) -> Self {
        self.parts.push(ScriptedPart {
            deltas: words(text),
            annotations: Vec::new(),
            refusal: true,
        });
        self
    }

    /// The step.
    pub fn build(self) -> Step {
        Step::Message(self)
    }
}

impl From<ScriptedMessage> for Step {
    fn from(message: ScriptedMessage) -> Self {
        Step::Message(message)
    }
}

/// The model name a [`ScriptedModel`]'s responses report (what usage is kept under).
pub const SCRIPTED_MODEL_NAME: &str = "scripted";

/// A [`Model`] for tests: each call plays the next scripted turn.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Agent, RunEvent, Runner};
/// use chatkit_agents::testing::{ScriptedModel, Step};
/// use futures::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("Hello there")]]));
/// let agent: Agent<()> = Agent::new("Greeter", model.clone());
/// let mut run = Runner::new().run_streamed(&agent, "hi", ());
/// while let Some(event) = run.next().await {
///     event.unwrap();
/// }
/// assert_eq!(run.final_output().as_deref(), Some("Hello there"));
/// assert_eq!(model.requests()[0].input[0]["content"], "hi");
/// # });
/// ```
#[derive(Debug, Default)]
pub struct ScriptedModel {
    turns: Mutex<VecDeque<Vec<Step>>>,
    requests: Mutex<Vec<ModelRequest>>,
    ids: Arc<AtomicUsize>,
    unique_ids: bool,
}

impl ScriptedModel {
    /// A model that plays `turns` in order, one per request. Items it makes get random
    /// ids (`msg_<32 hex>`), as a real model's do, so runs never collide in a store.
    pub fn new(turns: Vec<Vec<Step>>) -> Self {
        ScriptedModel {
            turns: Mutex::new(turns.into()),
            requests: Mutex::default(),
            ids: Arc::default(),
            unique_ids: true,
        }
    }

    /// Numbers the ids of the items it makes (`resp_1`, `msg_2`, `fc_3`, `call_4`, ...,
    /// counted per model) instead of random ones: for tests that compare whole events.
    pub fn with_counter_ids(mut self) -> Self {
        self.unique_ids = false;
        self
    }

    /// Random item ids: the default since `with_counter_ids` exists; kept so that
    /// older tests compile.
    pub fn with_unique_ids(mut self) -> Self {
        self.unique_ids = true;
        self
    }

    /// Adds a turn at the end of the script.
    pub fn push_turn(&self, steps: Vec<Step>) {
        lock(&self.turns).push_back(steps);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ModelRequest> {
        lock(&self.requests).clone()
    }
}

/// Splits text into word-sized deltas (each keeps its leading space).
fn words(text: &str) -> Vec<String> {
    let mut deltas = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c == ' ' && !current.trim().is_empty() {
            deltas.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        deltas.push(current);
    }
    deltas
}

struct Synth {
    ids: Arc<AtomicUsize>,
    unique_ids: bool,
    output_index: usize,
    words: u64,
}

impl Synth {
    fn id(&self, prefix: &str) -> String {
        if self.unique_ids {
            format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
        } else {
            format!("{prefix}_{}", self.ids.fetch_add(1, Ordering::Relaxed) + 1)
        }
    }

    /// A single-part message.
    fn message(
        &mut self,
        deltas: Vec<String>,
        annotations: Vec<ModelAnnotation>,
        refusal: bool,
    ) -> Vec<ModelEvent> {
        self.scripted_message(ScriptedMessage {
            id: None,
            parts: vec![ScriptedPart {
                deltas,
                annotations,
                refusal,
            }],
        })
    }

    fn scripted_message(&mut self, message: ScriptedMessage) -> Vec<ModelEvent> {
        let id = message.id.unwrap_or_else(|| self.id("msg"));
        let output_index = self.output_index;
        self.output_index += 1;
        let started = MessageItem {
            id: id.clone(),
            status: Some("in_progress".into()),
            ..MessageItem::default()
        };
        let mut events = vec![ModelEvent::OutputItemAdded {
            output_index,
            item: OutputItem::Message(started),
        }];
        let mut content = Vec::with_capacity(message.parts.len());
        for (content_index, part) in message.parts.into_iter().enumerate() {
            let full_part = self.part(&id, output_index, content_index, part, &mut events);
            content.push(full_part);
        }
        let done = MessageItem {
            id,
            content,
            status: Some("completed".into()),
            ..MessageItem::default()
        };
        events.push(ModelEvent::OutputItemDone {
            output_index,
            item: OutputItem::Message(done),
        });
        events
    }

    /// The events of one content part; returns the finished part.
    fn part(
        &mut self,
        id: &str,
        output_index: usize,
        content_index: usize,
        part: ScriptedPart,
        events: &mut Vec<ModelEvent>,
    ) -> ContentPart {
        let ScriptedPart {
            deltas,
            annotations,
            refusal,
        } = part;
        let text: String = deltas.concat();
        self.words += deltas.len() as u64;
        let (empty_part, full_part) = if refusal {
            let refusal_part = |refusal: String| ContentPart::Refusal {
                part_type: Default::default(),
                refusal,
            };
            (refusal_part(String::new()), refusal_part(text.clone()))
        } else {
            let full = ContentPart::OutputText {
                part_type: OutputTextType,
                text: text.clone(),
                annotations: annotations.clone(),
            };
            (ContentPart::text(""), full)
        };
        let item_id = || id.to_owned();
        events.push(ModelEvent::ContentPartAdded {
            item_id: item_id(),
            output_index,
            content_index,
            part: empty_part,
        });
        for delta in deltas {
            events.push(if refusal {
                ModelEvent::RefusalDelta {
                    item_id: item_id(),
                    content_index,
                    delta,
                }
            } else {
                ModelEvent::OutputTextDelta {
                    item_id: item_id(),
                    output_index,
                    content_index,
                    delta,
                }
            });
        }
        for (annotation_index, annotation) in annotations.into_iter().enumerate() {
            events.push(ModelEvent::OutputTextAnnotationAdded {
                item_id: item_id(),
                output_index,
                content_index,
                annotation_index,
                annotation,
            });
        }
        events.push(if refusal {
            ModelEvent::RefusalDone {
                item_id: item_id(),
                content_index,
                refusal: text,
            }
        } else {
            ModelEvent::OutputTextDone {
                item_id: item_id(),
                output_index,
                content_index,
                text,
            }
        });
        events.push(ModelEvent::ContentPartDone {
            item_id: item_id(),
            output_index,
            content_index,
            part: full_part.clone(),
        });
        full_part
    }

    fn tool_call(
        &mut self,
        name: String,
        arguments: Value,
        call_id: Option<String>,
        id: Option<String>,
    ) -> Vec<ModelEvent> {
        let id = id.unwrap_or_else(|| self.id("fc"));
        let call_id = call_id.unwrap_or_else(|| self.id("call"));
        let output_index = self.output_index;
        self.output_index += 1;
        let arguments = arguments.to_string();
        let call = FunctionCall {
            id: Some(id.clone()),
            call_id,
            name,
            arguments: String::new(),
            ..FunctionCall::default()
        };
        let done = FunctionCall {
            arguments: arguments.clone(),
            ..call.clone()
        };
        vec![
            ModelEvent::OutputItemAdded {
                output_index,
                item: OutputItem::FunctionCall(call),
            },
            ModelEvent::FunctionCallArgumentsDelta {
                item_id: id.clone(),
                output_index,
                delta: arguments.clone(),
            },
            ModelEvent::FunctionCallArgumentsDone {
                item_id: id,
                output_index,
                arguments,
            },
            ModelEvent::OutputItemDone {
                output_index,
                item: OutputItem::FunctionCall(done),
            },
        ]
    }

    fn reasoning(&mut self, summaries: Vec<String>) -> Vec<ModelEvent> {
        let id = self.id("rs");
        let output_index = self.output_index;
        self.output_index += 1;
        let started = ReasoningItem {
            id: id.clone(),
            ..ReasoningItem::default()
        };
        let mut events = vec![ModelEvent::OutputItemAdded {
            output_index,
            item: OutputItem::Reasoning(started.clone()),
        }];
        for (summary_index, text) in summaries.iter().enumerate() {
            for delta in words(text) {
                events.push(ModelEvent::ReasoningSummaryTextDelta {
                    item_id: id.clone(),
                    output_index,
                    summary_index,
                    delta,
                });
            }
            events.push(ModelEvent::ReasoningSummaryTextDone {
                item_id: id.clone(),
                output_index,
                summary_index,
                text: text.clone(),
            });
        }
        let summary = summaries
            .iter()
            .map(|text| json!({"type": "summary_text", "text": text}))
            .collect();
        events.push(ModelEvent::OutputItemDone {
            output_index,
            item: OutputItem::Reasoning(ReasoningItem { summary, ..started }),
        });
        events
    }
}

impl Model for ScriptedModel {
    fn provider_name(&self) -> &str {
        "scripted"
    }

    fn stream(&self, request: ModelRequest) -> BoxStream<'static, Result<ModelEvent, ModelError>> {
        let number = {
            let mut requests = lock(&self.requests);
            requests.push(request);
            requests.len()
        };
        let turn = lock(&self.turns).pop_front();
        let ids = self.ids.clone();
        let unique_ids = self.unique_ids;
        async_stream::stream! {
            let Some(steps) = turn else {
                yield Err(ModelError::Other(format!("the scripted model has no turn left for request {number}: give it one more turn (one `Vec<Step>` per model call)")));
                return;
            };
            let mut synth = Synth { ids, unique_ids, output_index: 0, words: 0 };
            let response_id = synth.id("resp");
            yield Ok(ModelEvent::Created { response: ResponseInfo { id: Some(response_id.clone()), ..Default::default() } });
            for step in steps {
                let events = match step {
                    Step::Text(text) => synth.message(words(&text), Vec::new(), false),
                    Step::TextDeltas(deltas) => synth.message(deltas, Vec::new(), false),
                    Step::Annotated { text, annotations } => synth.message(words(&text), annotations, false),
                    Step::Refusal(text) => synth.message(words(&text), Vec::new(), true),
                    Step::Message(message) => synth.scripted_message(message),
                    Step::ToolCall { name, arguments, call_id, id } => synth.tool_call(name, arguments, call_id, id),
                    Step::Reasoning(summaries) => synth.reasoning(summaries),
                    Step::ApiError { code, message } => {
                        let error = StreamErrorInfo { code: Some(code), message };
                        yield Ok(ModelEvent::Error(error.clone()));
                        yield Ok(ModelEvent::Failed { response: ResponseInfo { id: Some(response_id.clone()), error: Some(error), ..Default::default() } });
                        return;
                    }
                    Step::Break(error) => {
                        yield Err(error);
                        return;
                    }
                    Step::Delay(duration) => {
                        tokio::time::sleep(duration).await;
                        Vec::new()
                    }
                    Step::Events(events) => events,
                };
                for event in events {
                    yield Ok(event);
                }
            }
            let usage = Usage { input_tokens: 10, output_tokens: synth.words, total_tokens: 10 + synth.words, ..Default::default() };
            let model = Some(SCRIPTED_MODEL_NAME.to_owned());
            yield Ok(ModelEvent::Completed { response: ResponseInfo { id: Some(response_id), model, usage: Some(usage), ..Default::default() } });
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_spaces() {
        assert_eq!(words("Hello, world!"), ["Hello,", " world!"]);
        assert_eq!(words("a  b"), ["a", "  b"]);
        assert_eq!(words(""), Vec::<String>::new());
    }
}
