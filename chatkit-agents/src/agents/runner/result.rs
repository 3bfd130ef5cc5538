//! What a run takes and gives: its input and options, the events it streams, its
//! errors, and its result.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::stream::{AbortHandle, Abortable, BoxStream, Stream, StreamExt};
use serde_json::{json, Value};

use super::state::{RunState, ToolApproval};
use crate::agents::guardrail::Tripped;
use crate::agents::hooks::Tripwire;
use crate::agents::model::{FunctionCall, MessageItem, ModelError, ModelEvent, Usage};
use crate::agents::schema::ToolSchemaError;
use crate::agents::tool::{ToolFailure, ToolOrigin};

/// What a run streams.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RunEvent {
    /// The agent that runs (the first event).
    AgentUpdated {
        /// Its name.
        name: String,
    },
    /// A raw model event, as the model streamed it.
    Model(ModelEvent),
    /// The model produced a message (after its response completed).
    MessageOutput(MessageItem),
    /// The model called a tool (after its response completed).
    ToolCalled(FunctionCall),
    /// A source of the agent's tools that is not
    /// [required](crate::agents::ToolSource::required) could not give them (an MCP server
    /// that cannot be reached): the agent runs without its tools. Streamed after the
    /// agent's [`AgentUpdated`](RunEvent::AgentUpdated).
    ToolSourceUnavailable {
        /// The source's name.
        source: String,
        /// Why (for logs; it may name addresses or commands).
        message: String,
    },
    /// A tool call failed (its arguments did not parse, it returned an error, panicked
    /// or timed out); its [`ToolOutput`](RunEvent::ToolOutput), the failure as the model
    /// reads it, follows at once. The run goes on.
    ToolFailed {
        /// The call.
        call: FunctionCall,
        /// What went wrong.
        failure: ToolFailure,
    },
    /// A tool's output, in call order once every call of the turn finished.
    ToolOutput {
        /// The call.
        call: FunctionCall,
        /// What the model sees.
        output: String,
    },
    /// The model called a handoff tool (after its response completed); the Python SDK's
    /// `handoff_requested`.
    HandoffCalled(FunctionCall),
    /// The conversation was handed over (the Python SDK's `handoff_occured`), after the
    /// turn's tools ran; an [`RunEvent::AgentUpdated`] for `to` follows.
    Handoff {
        /// The handoff call.
        call: FunctionCall,
        /// The agent that handed off.
        from: String,
        /// The agent that answers from now on.
        to: String,
    },
    /// A tool call waits for a person's approval: the run stops after this turn's other
    /// calls, with a [`RunState`] to continue from ([`RunOutcome::interruption`],
    /// [`RunResult::interruption`]).
    ApprovalRequested(ToolApproval),
    /// A call of a tool from elsewhere (an MCP server: [`Tool::origin`](crate::agents::Tool::origin))
    /// is about to run; its [`ToolOutput`](RunEvent::ToolOutput) follows.
    ToolStarted {
        /// The call.
        call: FunctionCall,
        /// Where its tool comes from.
        origin: ToolOrigin,
    },
}

/// The output the model reads for a handoff call it made beside an earlier one in the
/// same turn (only the first handoff of a turn runs), in the Python SDK's words.
pub const MULTIPLE_HANDOFFS: &str = "Multiple handoffs detected, ignoring this one.";

/// Why a run stopped without a final output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The model kept calling tools past the limit.
    #[error("Max turns ({0}) exceeded")]
    MaxTurnsExceeded(usize),
    /// The model called a tool the agent does not have.
    #[error("Tool {name} not found in agent {agent}")]
    UnknownTool {
        /// The tool name the model used.
        name: String,
        /// The agent.
        agent: String,
    },
    /// The model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A tool cannot be offered to the model.
    #[error(transparent)]
    ToolSchema(#[from] ToolSchemaError),
    /// A hook stopped the run.
    #[error(transparent)]
    Tripwire(#[from] Tripwire),
    /// An input guardrail's tripwire fired.
    #[error("Input guardrail {guardrail} triggered tripwire")]
    InputGuardrailTripwire {
        /// The guardrail's name.
        guardrail: String,
        /// What it reported.
        output_info: Value,
    },
    /// A tool guardrail stopped the run (other calls of the same turn may have run).
    #[error("Tool guardrail {guardrail} triggered tripwire on tool {tool}")]
    ToolGuardrailTripwire {
        /// The guardrail's name.
        guardrail: String,
        /// The tool whose call or output it checked.
        tool: String,
        /// What it reported.
        output_info: Value,
    },
    /// The model's arguments to a handoff with an input type do not parse as that type.
    #[error("Invalid JSON input for handoff {handoff}: {message}")]
    InvalidHandoffInput {
        /// The handoff tool.
        handoff: String,
        /// The parse error.
        message: String,
    },
    /// The final answer of an agent with an output type is not of that type.
    #[error("agent {agent}: {message}")]
    InvalidOutput {
        /// The agent.
        agent: String,
        /// What is wrong (the JSON or type error).
        message: String,
    },
    /// An output guardrail's tripwire fired.
    #[error("Output guardrail {guardrail} triggered tripwire")]
    OutputGuardrailTripwire {
        /// The guardrail's name.
        guardrail: String,
        /// What it reported.
        output_info: Value,
    },
    /// A [`RunState`] does not fit the agents it is resumed with (its agent or a tool
    /// it waits on is gone, or it is of another version).
    #[error("cannot resume the run: {0}")]
    InvalidRunState(String),
    /// A source of the agent's tools (an MCP server) could not give them, or gave one
    /// whose name another tool or handoff of the agent already has.
    #[error("tool source {source_name}: {message}")]
    ToolSource {
        /// The source.
        source_name: String,
        /// What went wrong.
        message: String,
    },
}

impl RunError {
    /// A low-cardinality name of the error's kind (the OpenTelemetry `error.type`).
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::MaxTurnsExceeded(_) => "max_turns_exceeded",
            RunError::UnknownTool { .. } => "unknown_tool",
            RunError::Model(_) => "model_error",
            RunError::ToolSchema(_) => "tool_schema",
            RunError::Tripwire(_) => "hook_tripwire",
            RunError::InputGuardrailTripwire { .. } => "input_guardrail_tripwire",
            RunError::ToolGuardrailTripwire { .. } => "tool_guardrail_tripwire",
            RunError::InvalidHandoffInput { .. } => "invalid_handoff_input",
            RunError::InvalidOutput { .. } => "invalid_output",
            RunError::OutputGuardrailTripwire { .. } => "output_guardrail_tripwire",
            RunError::InvalidRunState(_) => "invalid_run_state",
            RunError::ToolSource { .. } => "tool_source",
        }
    }

    /// What the user of a chat reads when a run fails with this error, and whether a
    /// retry may help: `None` for a tripwire (a hook or guardrail stopped the run on
    /// purpose; see [`AgentServer::tripwire_message`](crate::agents::chatkit::AgentServer::tripwire_message)).
    /// The sentences name no key, address or internal detail; the server log keeps them.
    /// `stream_agent_response` ends a failed run's stream with it
    /// (`{"code":"custom","message":...,"allow_retry":...}`).
    ///
    /// ```
    /// use chatkit_agents::agents::{RunError, model::ModelError};
    ///
    /// let refused = RunError::Model(ModelError::Http { status: 401, message: "bad key".into() });
    /// let (message, retry) = refused.user_error().unwrap();
    /// assert!(message.contains("refused this server's credentials"));
    /// assert!(!retry); // the same key fails again
    /// ```
    pub fn user_error(&self) -> Option<(&'static str, bool)> {
        let failure = match self {
            RunError::Model(error) => (error.user_message(), error.is_transient()),
            RunError::MaxTurnsExceeded(_) => (
                "The assistant stopped: it took too many steps without reaching an answer.",
                false,
            ),
            RunError::UnknownTool { .. }
            | RunError::InvalidHandoffInput { .. }
            | RunError::InvalidOutput { .. } => (
                "The assistant made a mistake while answering. Please try again.",
                true,
            ),
            RunError::ToolSchema(_) => (
                "The assistant is misconfigured: one of its tools cannot be offered to the AI model.",
                false,
            ),
            RunError::InvalidRunState(_) => (
                "The paused answer in this thread can no longer be resumed. Please send your message again.",
                false,
            ),
            RunError::ToolSource { .. } => (
                "A service the assistant needs for its tools is unavailable right now.",
                false,
            ),
            RunError::Tripwire(_)
            | RunError::InputGuardrailTripwire { .. }
            | RunError::OutputGuardrailTripwire { .. }
            | RunError::ToolGuardrailTripwire { .. } => return None,
        };
        Some(failure)
    }

    /// Whether a hook or a guardrail stopped the run on purpose (rather than a failure),
    /// in which case `stream_agent_response` takes back what the run showed.
    pub fn is_tripwire(&self) -> bool {
        matches!(
            self,
            RunError::Tripwire(_)
                | RunError::InputGuardrailTripwire { .. }
                | RunError::OutputGuardrailTripwire { .. }
                | RunError::ToolGuardrailTripwire { .. }
        )
    }
}

/// What a run's input can be: a user's text, or Responses input items.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInput(pub Vec<Value>);

impl From<&str> for RunInput {
    fn from(text: &str) -> Self {
        RunInput(vec![json!({"role": "user", "content": text})])
    }
}

impl From<String> for RunInput {
    fn from(text: String) -> Self {
        RunInput::from(text.as_str())
    }
}

impl From<Vec<Value>> for RunInput {
    fn from(items: Vec<Value>) -> Self {
        RunInput(items)
    }
}

/// What a finished run leaves for [`RunStream`]'s getters.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) final_output: Option<String>,
    /// The final answer as JSON, for an agent with an output type.
    pub(super) final_value: Option<Value>,
    pub(super) last_response_id: Option<String>,
    /// Token usage of every model response so far.
    pub(super) usage: Usage,
    /// The state of a run that stopped for approvals.
    pub(super) interruption: Option<RunState>,
}

/// Per-run options ([`Runner::run_streamed_with`](super::Runner::run_streamed_with), [`Runner::run_with`](super::Runner::run_with)).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RunOptions {
    /// Continue a conversation the model's server keeps (the Responses API's stored
    /// responses): the first call names this response, and each call sends only the
    /// items the server has not seen (the new input, then tool outputs), as the Python
    /// SDK's `previous_response_id`. Models that keep no state (Chat Completions) refuse
    /// it.
    pub previous_response_id: Option<String>,
}

impl RunOptions {
    /// Continue from the stored response `id` (see [`RunOptions::previous_response_id`]).
    pub fn previous_response_id(mut self, id: impl Into<String>) -> Self {
        self.previous_response_id = Some(id.into());
        self
    }
}

/// A finished run ([`Runner::run`](super::Runner::run)): its final output and every event it produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The final output: the last message's text (JSON for an agent with an output
    /// type), or the tool output that ended the run.
    pub final_output: String,
    /// The final answer as JSON, for an agent with an output type (unwrapped).
    pub final_value: Option<Value>,
    /// The id of the last model response.
    pub last_response_id: Option<String>,
    /// Everything the run streamed, in order.
    pub events: Vec<RunEvent>,
    /// Token usage of every model response of the run.
    pub usage: Usage,
    /// When tool calls wait for approval: the run stopped there (`final_output` is
    /// empty), and this state continues it ([`Runner::resume`](super::Runner::resume)).
    pub interruption: Option<RunState>,
}

impl RunResult {
    /// The final output as a `T`: the structured answer of an agent with an output type,
    /// or else the final output text read as JSON.
    pub fn final_output_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.final_value {
            Some(value) => T::deserialize(value),
            None => serde_json::from_str(&self.final_output),
        }
    }
}

/// A running agent: a stream of [`RunEvent`]s (ending with `Err` if the run fails).
/// Dropping it, or [`cancel`](Self::cancel), stops the run.
pub struct RunStream {
    events: Abortable<BoxStream<'static, Result<RunEvent, RunError>>>,
    abort: AbortHandle,
    outcome: Arc<Mutex<Outcome>>,
}

impl std::fmt::Debug for RunStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunStream").finish_non_exhaustive()
    }
}

impl RunStream {
    /// A run made of given events: for driving [`crate::agents::chatkit::stream_agent_response`]
    /// from your own run loop, a recording, or a benchmark.
    pub fn from_events(
        events: impl Stream<Item = Result<RunEvent, RunError>> + Send + 'static,
    ) -> Self {
        Self::with_outcome(events.boxed(), Arc::default())
    }

    /// A run whose loop reports its outcome into `outcome`.
    pub(super) fn with_outcome(
        events: BoxStream<'static, Result<RunEvent, RunError>>,
        outcome: Arc<Mutex<Outcome>>,
    ) -> Self {
        let (abort, registration) = AbortHandle::new_pair();
        RunStream {
            events: Abortable::new(events, registration),
            abort,
            outcome,
        }
    }

    /// Stops the run: the stream ends at its next poll.
    pub fn cancel(&self) {
        self.abort.abort();
    }

    /// A handle that stops the run from elsewhere.
    pub fn cancel_handle(&self) -> AbortHandle {
        self.abort.clone()
    }

    /// The final output, once the run has finished successfully.
    pub fn final_output(&self) -> Option<String> {
        self.outcome().final_output()
    }

    /// The final answer as JSON, once the run has finished, for an agent with an output
    /// type.
    pub fn final_value(&self) -> Option<Value> {
        self.outcome().final_value()
    }

    /// The id of the last model response.
    pub fn last_response_id(&self) -> Option<String> {
        self.outcome().last_response_id()
    }

    /// Once the stream has ended: the state of a run that stopped because tool calls
    /// wait for approval.
    pub fn interruption(&self) -> Option<RunState> {
        self.outcome().interruption()
    }

    /// A handle on the run's outcome that outlives the stream: take it before handing
    /// the run to [`stream_agent_response`](crate::agents::chatkit::stream_agent_response) (which
    /// consumes it) and read the final output afterwards.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, Runner, chatkit::{stream_agent_response, AgentContext}};
    /// use chatkit_agents::server::ThreadHandle;
    /// use chatkit_agents::store::MemoryStore;
    /// use chatkit_agents::testing::{ScriptedModel, Step};
    /// use chatkit_agents::types::{ThreadMetadata, Timestamp};
    /// use futures::StreamExt;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let agent = Agent::new("Greeter", Arc::new(ScriptedModel::new(vec![vec![Step::text("Hello!")]])));
    /// let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    /// let context = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
    /// let run = Runner::new().run_streamed(&agent, "hi", context.clone());
    /// let outcome = run.outcome();
    /// let _events: Vec<_> = stream_agent_response(&context, run).collect().await;
    /// assert_eq!(outcome.final_output().as_deref(), Some("Hello!"));
    /// # });
    /// ```
    pub fn outcome(&self) -> RunOutcome {
        RunOutcome(self.outcome.clone())
    }
}

/// What a run ended with, readable from a handle ([`RunStream::outcome`]) after the
/// stream itself is gone. Every getter is `None` until the run has finished.
#[derive(Clone)]
pub struct RunOutcome(Arc<Mutex<Outcome>>);

impl std::fmt::Debug for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RunOutcome").field(&*self.lock()).finish()
    }
}

impl RunOutcome {
    fn lock(&self) -> std::sync::MutexGuard<'_, Outcome> {
        crate::locks::lock(&self.0)
    }

    /// The final output, once the run has finished successfully.
    pub fn final_output(&self) -> Option<String> {
        self.lock().final_output.clone()
    }

    /// The final answer as JSON, once the run has finished, for an agent with an output
    /// type.
    pub fn final_value(&self) -> Option<Value> {
        self.lock().final_value.clone()
    }

    /// The id of the last model response.
    pub fn last_response_id(&self) -> Option<String> {
        self.lock().last_response_id.clone()
    }

    /// Token usage of the model responses so far.
    pub fn usage(&self) -> Usage {
        self.lock().usage
    }

    /// The state of a run that stopped because tool calls wait for approval.
    pub fn interruption(&self) -> Option<RunState> {
        self.lock().interruption.clone()
    }
}

impl Stream for RunStream {
    type Item = Result<RunEvent, RunError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.events).poll_next(cx)
    }
}

/// The error of an input guardrail that tripped.
pub(super) fn input_tripwire((guardrail, output_info): Tripped) -> RunError {
    RunError::InputGuardrailTripwire {
        guardrail,
        output_info,
    }
}

/// The error of a tool guardrail that tripped on `tool`.
pub(super) fn tool_tripwire((guardrail, output_info): Tripped, tool: &str) -> RunError {
    RunError::ToolGuardrailTripwire {
        guardrail,
        tool: tool.to_owned(),
        output_info,
    }
}

/// The error of an output guardrail that tripped.
pub(super) fn output_tripwire((guardrail, output_info): Tripped) -> RunError {
    RunError::OutputGuardrailTripwire {
        guardrail,
        output_info,
    }
}
