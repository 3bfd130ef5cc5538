//! [`Runner`]: the multi-turn loop: call the model, run the tools it asks for (all
//! calls of a turn concurrently), feed the outputs back, switch agents on a handoff,
//! until it answers.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::future::join_all;
use futures::stream::{AbortHandle, Abortable, BoxStream, Stream, StreamExt};
use serde_json::{json, Value};

use super::agent::{Agent, ToolUseBehavior};
use super::guardrail::{
    check_input, check_output, check_tool_input, check_tool_output, ToolVerdict, Tripped,
};
use super::handoff::Handoff;
use super::hooks::{NoHooks, RunHooks, Tripwire};
use super::model::{
    ContentPart, FunctionCall, MessageItem, ModelError, ModelEvent, ModelRequest, OutputItem,
};
use super::schema::ToolSchemaError;
use super::tool::{call_tool, ToolContext, ToolDefinition, ToolErrorFormatter};

/// The Python Agents SDK's default turn limit.
pub const DEFAULT_MAX_TURNS: usize = 10;

/// What a run streams.
#[derive(Debug, Clone, PartialEq)]
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
}

/// The output the model reads for a handoff call it made beside an earlier one in the
/// same turn (only the first handoff of a turn runs), in the Python SDK's words.
pub const MULTIPLE_HANDOFFS: &str = "Multiple handoffs detected, ignoring this one.";

/// Why a run stopped without a final output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
}

impl RunError {
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

#[derive(Debug, Default)]
struct Outcome {
    final_output: Option<String>,
    /// The final answer as JSON, for an agent with an output type.
    final_value: Option<Value>,
    last_response_id: Option<String>,
}

/// Per-run options ([`Runner::run_streamed_with`], [`Runner::run_with`]).
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

/// A finished run ([`Runner::run`]): its final output and every event it produced.
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
    /// A run made of given events: for driving [`super::stream_agent_response`] from
    /// your own run loop, a recording, or a benchmark.
    pub fn from_events(
        events: impl Stream<Item = Result<RunEvent, RunError>> + Send + 'static,
    ) -> Self {
        let (abort, registration) = AbortHandle::new_pair();
        RunStream {
            events: Abortable::new(events.boxed(), registration),
            abort,
            outcome: Arc::default(),
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
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .final_output
            .clone()
    }

    /// The final answer as JSON, once the run has finished, for an agent with an output
    /// type.
    pub fn final_value(&self) -> Option<Value> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .final_value
            .clone()
    }

    /// The id of the last model response.
    pub fn last_response_id(&self) -> Option<String> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_response_id
            .clone()
    }
}

impl Stream for RunStream {
    type Item = Result<RunEvent, RunError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.events).poll_next(cx)
    }
}

/// Runs agents. Configure the turn limit, hooks and the tool error formatter, then call
/// [`run_streamed`](Self::run_streamed).
pub struct Runner<C> {
    max_turns: usize,
    hooks: Arc<dyn RunHooks<C>>,
    error_formatter: Option<ToolErrorFormatter>,
}

impl<C: Send + Sync + 'static> Default for Runner<C> {
    fn default() -> Self {
        Runner {
            max_turns: DEFAULT_MAX_TURNS,
            hooks: Arc::new(NoHooks),
            error_formatter: None,
        }
    }
}

impl<C> Clone for Runner<C> {
    fn clone(&self) -> Self {
        Runner {
            max_turns: self.max_turns,
            hooks: self.hooks.clone(),
            error_formatter: self.error_formatter.clone(),
        }
    }
}

/// The text of a message (its text and refusal parts, joined).
pub fn message_text(message: &MessageItem) -> String {
    message
        .content
        .iter()
        .filter_map(|part| match part {
            ContentPart::OutputText { text, .. } => Some(text.as_str()),
            ContentPart::Refusal { refusal, .. } => Some(refusal.as_str()),
            ContentPart::Other(_) => None,
        })
        .collect()
}

fn to_input(item: &OutputItem) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

impl<C: Clone + Send + Sync + 'static> Runner<C> {
    /// A runner with the default limit (10 turns) and no hooks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the turn limit.
    pub fn max_turns(mut self, max_turns: usize) -> Self {
        self.max_turns = max_turns;
        self
    }

    /// Sets the hooks.
    pub fn hooks(mut self, hooks: impl RunHooks<C> + 'static) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// Sets how tool failures read to the model (tools' own formatters come first).
    pub fn error_formatter(mut self, formatter: ToolErrorFormatter) -> Self {
        self.error_formatter = Some(formatter);
        self
    }

    /// Runs `agent` on `input` to the end: the final output, or the error that ended the
    /// run. [`run_streamed`](Self::run_streamed) gives the same run as a stream.
    pub async fn run(
        &self,
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        context: C,
    ) -> Result<RunResult, RunError> {
        self.run_with(agent, input, context, RunOptions::default())
            .await
    }

    /// [`run`](Self::run) with per-run options.
    pub async fn run_with(
        &self,
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        context: C,
        options: RunOptions,
    ) -> Result<RunResult, RunError> {
        let mut run = self.run_streamed_with(agent, input, context, options);
        let mut events = Vec::new();
        while let Some(event) = run.next().await {
            events.push(event?);
        }
        Ok(RunResult {
            final_output: run.final_output().unwrap_or_default(),
            final_value: run.final_value(),
            last_response_id: run.last_response_id(),
            events,
        })
    }

    /// Starts `agent` on `input` with run context `context`.
    pub fn run_streamed(
        &self,
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        context: C,
    ) -> RunStream {
        self.run_streamed_with(agent, input, context, RunOptions::default())
    }

    /// [`run_streamed`](Self::run_streamed) with per-run options.
    pub fn run_streamed_with(
        &self,
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        context: C,
        options: RunOptions,
    ) -> RunStream {
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        let events = run(
            self.clone(),
            agent.clone(),
            input.into().0,
            context,
            options,
            outcome.clone(),
        );
        let (abort, registration) = AbortHandle::new_pair();
        RunStream {
            events: Abortable::new(events, registration),
            abort,
            outcome,
        }
    }
}

fn run<C: Clone + Send + Sync + 'static>(
    runner: Runner<C>,
    agent: Agent<C>,
    mut input: Vec<Value>,
    context: C,
    options: RunOptions,
    outcome: Arc<Mutex<Outcome>>,
) -> BoxStream<'static, Result<RunEvent, RunError>> {
    async_stream::try_stream! {
        let hooks = runner.hooks.clone();
        // With a stored conversation, each call names the last response and sends only
        // `input[sent..]`, the items the server has not seen.
        let mut previous_response = options.previous_response_id;
        let mut sent = 0;
        let mut agent = agent;
        let mut definitions = definitions_of(&agent)?;
        let mut starting = true;
        // Only the agent the run starts with checks the input, on the first turn.
        let (blocking, parallel): (Vec<_>, Vec<_>) =
            agent.input_guardrails().iter().partition(|g| !g.runs_in_parallel());
        let mut input_check = (!parallel.is_empty()).then(|| check_input(&parallel, &context, &input));
        let mut blocking_check = (!blocking.is_empty()).then(|| check_input(&blocking, &context, &input));

        for _turn in 0..runner.max_turns {
            if starting {
                starting = false;
                yield RunEvent::AgentUpdated { name: agent.name().to_owned() };
                hooks.on_agent_start(&context, &agent).await?;
            }
            if let Some(check) = blocking_check.take() {
                if let Some(tripped) = check.await {
                    Err(input_tripwire(tripped))?;
                }
            }
            let output_schema = match agent.output_type_info().map(|o| o.schema()) {
                None => None,
                Some(Ok(schema)) => Some(schema.clone()),
                Some(Err(error)) => Err(error.clone())?,
            };
            let request = ModelRequest {
                instructions: agent.instructions_text().map(str::to_owned),
                input: if previous_response.is_some() { input[sent..].to_vec() } else { input.clone() },
                tools: definitions.clone(),
                settings: agent.model_settings().clone(),
                previous_response_id: previous_response.clone(),
                output_schema,
            };
            hooks.on_llm_start(&context, &agent, agent.instructions_text(), &input).await?;
            let mut events = agent.model().stream(request);
            let mut output: Vec<(usize, OutputItem)> = Vec::new();
            let mut failure: Option<ModelError> = None;
            let mut response_id = None;
            loop {
                // A parallel input check runs alongside the first model call.
                let next = match input_check.as_mut() {
                    None => Racing::Model(events.next().await),
                    Some(check) => tokio::select! {
                        tripped = check => Racing::Check(tripped),
                        event = events.next() => Racing::Model(event),
                    },
                };
                let event = match next {
                    Racing::Check(tripped) => {
                        input_check = None;
                        if let Some(tripped) = tripped {
                            Err(input_tripwire(tripped))?;
                        }
                        continue;
                    }
                    Racing::Model(None) => break,
                    Racing::Model(Some(event)) => event?,
                };
                match &event {
                    ModelEvent::OutputItemDone { output_index, item } => output.push((*output_index, item.clone())),
                    ModelEvent::Error(info) => {
                        failure.get_or_insert(ModelError::Api { code: info.code.clone(), message: info.message.clone() });
                    }
                    ModelEvent::Failed { response } => {
                        let info = response.error.clone().unwrap_or_default();
                        failure.get_or_insert(ModelError::Api { code: info.code, message: info.message });
                    }
                    ModelEvent::Completed { response } => {
                        response_id = response.id.clone();
                        outcome.lock().unwrap_or_else(PoisonError::into_inner).last_response_id = response.id.clone();
                    }
                    _ => {}
                }
                yield RunEvent::Model(event);
            }
            drop(events);
            // Nothing the model asked for happens before the input checks passed.
            if let Some(check) = input_check.take() {
                if let Some(tripped) = check.await {
                    Err(input_tripwire(tripped))?;
                }
            }
            if let Some(failure) = failure {
                Err(failure)?;
            }
            output.sort_by_key(|(index, _)| *index);
            let items: Vec<OutputItem> = output.into_iter().map(|(_, item)| item).collect();
            hooks.on_llm_end(&context, &agent, &items).await?;
            input.extend(items.iter().map(to_input));
            if previous_response.is_some() {
                // The server now holds everything so far; without an id to name it, go
                // on sending the whole conversation.
                previous_response = response_id;
                sent = if previous_response.is_some() { input.len() } else { 0 };
            }

            let mut calls: Vec<FunctionCall> = Vec::new();
            let mut handoffs: Vec<(FunctionCall, Handoff<C>)> = Vec::new();
            let mut last_message = None;
            for item in &items {
                match item {
                    OutputItem::Message(message) => {
                        last_message = Some(message_text(message));
                        yield RunEvent::MessageOutput(message.clone());
                    }
                    OutputItem::FunctionCall(call) => match handoff_target(&agent, &definitions, &call.name) {
                        Some(target) => handoffs.push((call.clone(), target)),
                        None => calls.push(call.clone()),
                    },
                    _ => {}
                }
            }
            if calls.is_empty() && handoffs.is_empty() {
                let final_output = last_message.unwrap_or_default();
                let final_value = match agent.output_type_info() {
                    None => None,
                    Some(output) => match output.parse(&final_output) {
                        Ok(value) => Some(value),
                        Err(message) => Err(RunError::InvalidOutput { agent: agent.name().to_owned(), message })?,
                    },
                };
                if let Some(tripped) = check_output(agent.output_guardrails(), &context, &final_output).await {
                    Err(output_tripwire(tripped))?;
                }
                {
                    let mut outcome = outcome.lock().unwrap_or_else(PoisonError::into_inner);
                    outcome.final_output = Some(final_output.clone());
                    outcome.final_value = final_value;
                }
                hooks.on_agent_end(&context, &agent, &final_output).await?;
                return;
            }
            // Run items in output order, as the Python SDK streams them.
            for item in &items {
                if let OutputItem::FunctionCall(call) = item {
                    if handoffs.iter().any(|(handoff, _)| handoff.call_id == call.call_id) {
                        yield RunEvent::HandoffCalled(call.clone());
                    } else {
                        yield RunEvent::ToolCalled(call.clone());
                    }
                }
            }
            let mut resolved = Vec::with_capacity(calls.len());
            for call in &calls {
                // The agent's tools come first in `definitions`, its handoffs after them.
                let Some(index) = definitions[..agent.tools().len()].iter().position(|d| d.name == call.name) else {
                    Err(RunError::UnknownTool { name: call.name.clone(), agent: agent.name().to_owned() })?;
                    return;
                };
                resolved.push((agent.tools()[index].clone(), &definitions[index], call));
            }
            let contexts: Vec<ToolContext<C>> = resolved
                .iter()
                .map(|(_, _, call)| ToolContext::new(context.clone(), call.name.clone(), call.call_id.clone(), call.arguments.clone()))
                .collect();
            // Every start hook fires before any tool runs, as in the Python SDK.
            for ((_, definition, _), tool_context) in resolved.iter().zip(&contexts) {
                hooks.on_tool_start(tool_context, &agent, definition).await?;
            }
            let formatter = runner.error_formatter.as_ref();
            let runs = resolved.iter().zip(&contexts).map(|((tool, definition, call), tool_context)| {
                let hooks = &hooks;
                let agent = &agent;
                async move {
                    let tripped = |tripped: Tripped| Some(tool_tripwire(tripped, &call.name));
                    let output = match check_tool_input(agent.tool_input_guardrails(), tool_context).await {
                        ToolVerdict::Allow => call_tool(tool.as_ref(), tool_context, &call.arguments, formatter).await,
                        ToolVerdict::Reject(message) => message,
                        ToolVerdict::Trip(trip) => return (String::new(), Ok(()), tripped(trip)),
                    };
                    let output = match check_tool_output(agent.tool_output_guardrails(), tool_context, &output).await {
                        ToolVerdict::Allow => output,
                        ToolVerdict::Reject(message) => message,
                        ToolVerdict::Trip(trip) => return (output, Ok(()), tripped(trip)),
                    };
                    let hook = hooks.on_tool_end(tool_context, agent, definition, &output).await;
                    (output, hook, None)
                }
            });
            let results = join_all(runs).await;
            let mut outputs = Vec::with_capacity(results.len());
            for ((_, _, call), (output, hook, tripped)) in resolved.iter().zip(results) {
                if let Some(tripped) = tripped {
                    Err(tripped)?;
                }
                hook?;
                yield RunEvent::ToolOutput { call: (*call).clone(), output: output.clone() };
                input.push(json!({"type": "function_call_output", "call_id": call.call_id, "output": output}));
                outputs.push((call.name.clone(), output));
            }
            if let Some(((call, handoff), ignored)) = handoffs.split_first() {
                let target = handoff.agent();
                for (call, _) in ignored {
                    yield RunEvent::ToolOutput { call: call.clone(), output: MULTIPLE_HANDOFFS.to_owned() };
                    input.push(json!({"type": "function_call_output", "call_id": call.call_id, "output": MULTIPLE_HANDOFFS}));
                }
                if let Err(message) = handoff.invoke(context.clone(), &call.arguments).await {
                    Err(RunError::InvalidHandoffInput { handoff: call.name.clone(), message })?;
                }
                hooks.on_handoff(&context, &agent, target).await?;
                input.push(json!({"type": "function_call_output", "call_id": call.call_id, "output": target.handoff_transfer_message()}));
                yield RunEvent::Handoff { call: call.clone(), from: agent.name().to_owned(), to: target.name().to_owned() };
                if handoff.has_input_filter() {
                    // A filtered conversation is sent whole: the server's copy has the
                    // items the filter removed.
                    input = handoff.filter_input(input);
                    previous_response = None;
                    sent = 0;
                }
                agent = Agent::clone(target);
                definitions = definitions_of(&agent)?;
                starting = true;
                continue;
            }
            let stop = match agent.behavior() {
                ToolUseBehavior::RunLlmAgain => None,
                ToolUseBehavior::StopOnFirstTool => outputs.first().map(|(_, output)| output.clone()),
                ToolUseBehavior::StopAtTools(names) => {
                    outputs.iter().find(|(name, _)| names.contains(name)).map(|(_, output)| output.clone())
                }
            };
            if let Some(final_output) = stop {
                if let Some(tripped) = check_output(agent.output_guardrails(), &context, &final_output).await {
                    Err(output_tripwire(tripped))?;
                }
                outcome.lock().unwrap_or_else(PoisonError::into_inner).final_output = Some(final_output.clone());
                hooks.on_agent_end(&context, &agent, &final_output).await?;
                return;
            }
        }
        Err(RunError::MaxTurnsExceeded(runner.max_turns))?;
    }
    .boxed()
}

/// The next thing that happened while the first model call races the input checks.
enum Racing {
    Check(Option<Tripped>),
    Model(Option<Result<ModelEvent, ModelError>>),
}

fn input_tripwire((guardrail, output_info): Tripped) -> RunError {
    RunError::InputGuardrailTripwire {
        guardrail,
        output_info,
    }
}

fn tool_tripwire((guardrail, output_info): Tripped, tool: &str) -> RunError {
    RunError::ToolGuardrailTripwire {
        guardrail,
        tool: tool.to_owned(),
        output_info,
    }
}

fn output_tripwire((guardrail, output_info): Tripped) -> RunError {
    RunError::OutputGuardrailTripwire {
        guardrail,
        output_info,
    }
}

/// What the model is offered: the agent's tools, then a tool per handoff.
fn definitions_of<C>(agent: &Agent<C>) -> Result<Vec<ToolDefinition>, RunError> {
    let mut definitions = Vec::with_capacity(agent.tools().len() + agent.handoffs().len());
    for tool in agent.tools() {
        definitions.push(tool.definition()?.clone());
    }
    for handoff in agent.handoffs() {
        definitions.push(handoff.definition()?);
    }
    Ok(definitions)
}

/// The handoff a call to `tool_name` makes, if it is one of `agent`'s handoffs (whose
/// tools follow the agent's own in `definitions`).
fn handoff_target<C>(
    agent: &Agent<C>,
    definitions: &[ToolDefinition],
    tool_name: &str,
) -> Option<Handoff<C>> {
    definitions[agent.tools().len()..]
        .iter()
        .position(|definition| definition.name == tool_name)
        .map(|index| agent.handoffs()[index].clone())
}

/// The text deltas of a run's messages, for [`crate::widgets::accumulate_text`] (the
/// reference's `accumulate_text` reads them from the run's events the same way). Run
/// errors end the stream.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{text_deltas, Agent, Runner};
/// use chatkit_agents::testing::{ScriptedModel, Step};
/// use futures::StreamExt;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let agent: Agent<()> = Agent::new("Writer", Arc::new(ScriptedModel::new(vec![vec![Step::text("Dear Harry,")]])));
/// let deltas: Vec<String> = text_deltas(Runner::new().run_streamed(&agent, "write", ())).collect().await;
/// assert_eq!(deltas.concat(), "Dear Harry,");
/// # });
/// ```
pub fn text_deltas(run: RunStream) -> BoxStream<'static, String> {
    run.take_while(|event| futures::future::ready(event.is_ok()))
        .filter_map(|event| {
            futures::future::ready(match event {
                Ok(RunEvent::Model(ModelEvent::OutputTextDelta { delta, .. })) => Some(delta),
                _ => None,
            })
        })
        .boxed()
}
