//! [`Runner`]: the multi-turn loop: call the model, run the tools it asks for (all
//! calls of a turn concurrently), feed the outputs back, switch agents on a handoff,
//! until it answers.
//!
//! Each turn goes through the same phases, one file each (as the Python SDK's
//! `run_internal/` splits them): `model_call` calls the model while the input
//! guardrails race it, `plan` sorts what the model asked for into messages, tool calls
//! and handoffs through a name → target map, `approvals` holds back the calls that wait
//! for a person, `tools` runs the others, and `next_step` decides what follows
//! (`NextStep`: a final output, a handoff, or another turn). `run_loop` strings the
//! phases together and streams the events; `result` holds what a run takes and gives,
//! `state` the [`RunState`] an interrupted run leaves to be resumed from.

mod approvals;
mod model_call;
mod next_step;
mod plan;
mod result;
mod run_loop;
mod state;
mod telemetry;
mod tools;

use std::sync::{Arc, Mutex};

use futures::stream::{BoxStream, StreamExt};

pub use result::{
    RunError, RunEvent, RunInput, RunOptions, RunOutcome, RunResult, RunStream, MULTIPLE_HANDOFFS,
};
pub use state::{ApprovalDecision, RunState, RunStateError, ToolApproval, RUN_STATE_VERSION};

use super::agent::Agent;
use super::hooks::{NoHooks, RunHooks};
use super::model::{ContentPart, MessageItem, ModelEvent};
use super::tool::ToolErrorFormatter;
use result::Outcome;
use run_loop::Start;

/// The Python Agents SDK's default turn limit.
pub const DEFAULT_MAX_TURNS: usize = 10;

/// Runs agents. Configure the turn limit, hooks and the tool error formatter, then call
/// [`run_streamed`](Self::run_streamed) (events as they happen) or [`run`](Self::run)
/// (to the end).
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{function_tool, Agent, RunEvent, Runner};
/// use chatkit_agents::testing::{ScriptedModel, Step};
/// use futures::StreamExt;
///
/// /// Add two numbers.
/// #[function_tool]
/// async fn add(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::new(vec![
///     vec![Step::tool_call("add", serde_json::json!({"a": 2, "b": 3}))],
///     vec![Step::text("5")],
/// ]));
/// let agent: Agent<()> = Agent::new("Calculator", model).tool(add);
/// let runner = Runner::new().max_turns(4);
///
/// let result = runner.run(&agent, "2 + 3?", ()).await.unwrap();
/// assert_eq!(result.final_output, "5");
/// let outputs: Vec<_> = result.events.iter().filter_map(|e| match e {
///     RunEvent::ToolOutput { output, .. } => Some(output.as_str()),
///     _ => None,
/// }).collect();
/// assert_eq!(outputs, ["5"]);
/// # });
/// ```
pub struct Runner<C> {
    max_turns: usize,
    hooks: Arc<dyn RunHooks<C>>,
    error_formatter: Option<ToolErrorFormatter>,
    capture_content: bool,
}

impl<C: Send + Sync + 'static> Default for Runner<C> {
    fn default() -> Self {
        Runner {
            max_turns: DEFAULT_MAX_TURNS,
            hooks: Arc::new(NoHooks),
            error_formatter: None,
            capture_content: telemetry::capture_content_from_env(),
        }
    }
}

impl<C> Clone for Runner<C> {
    fn clone(&self) -> Self {
        Runner {
            max_turns: self.max_turns,
            hooks: self.hooks.clone(),
            error_formatter: self.error_formatter.clone(),
            capture_content: self.capture_content,
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

    /// Records what the conversation says on the spans of model and tool calls: the
    /// instructions, the input and output messages (`gen_ai.system_instructions`,
    /// `gen_ai.input.messages`, `gen_ai.output.messages`, as JSON) and each tool call's
    /// arguments and result (`gen_ai.tool.call.arguments`, `gen_ai.tool.call.result`).
    /// They may hold personal data: off unless you turn it on here or with
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
    pub fn capture_content(mut self, capture: bool) -> Self {
        self.capture_content = capture;
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
        collect(self.run_streamed_with(agent, input, context, options)).await
    }

    /// Continues an interrupted run (see [`RunState`]) to the end: decided calls run or
    /// read their rejection, then the run goes on as [`run`](Self::run) does. Calls
    /// still undecided interrupt it again. `agent` is the agent the run started with
    /// (the state names the one that was running, which must be reachable from it).
    pub async fn resume(
        &self,
        agent: &Agent<C>,
        state: RunState,
        context: C,
    ) -> Result<RunResult, RunError> {
        collect(self.resume_streamed(agent, state, context)).await
    }

    /// [`resume`](Self::resume) as a stream of events, as [`run_streamed`](Self::run_streamed).
    pub fn resume_streamed(&self, agent: &Agent<C>, state: RunState, context: C) -> RunStream {
        self.start(Arc::new(agent.clone()), Start::Resume(state), context)
    }

    fn start(&self, agent: Arc<Agent<C>>, start: Start, context: C) -> RunStream {
        let outcome = Arc::new(Mutex::new(Outcome::default()));
        let span = telemetry::run_span(agent.name());
        let events = run_loop::run(
            self.clone(),
            agent,
            Box::new(start),
            context,
            outcome.clone(),
        );
        let events = if span.is_disabled() {
            events
        } else {
            traced_run(events, span, outcome.clone())
        };
        RunStream::with_outcome(events, outcome)
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
        self.start(
            Arc::new(agent.clone()),
            Start::Input(input.into().0, options),
            context,
        )
    }

    /// [`run_streamed`](Self::run_streamed) of a shared agent (no copy of it).
    pub(crate) fn run_streamed_shared(
        &self,
        agent: Arc<Agent<C>>,
        input: impl Into<RunInput>,
        context: C,
    ) -> RunStream {
        self.start(
            agent,
            Start::Input(input.into().0, RunOptions::default()),
            context,
        )
    }
}

/// `events` polled inside the run's span, which records the run's usage when it ends
/// and the kind of error that ended it.
fn traced_run(
    events: BoxStream<'static, Result<RunEvent, RunError>>,
    span: tracing::Span,
    outcome: Arc<Mutex<Outcome>>,
) -> BoxStream<'static, Result<RunEvent, RunError>> {
    let recorded = span.clone();
    let events = events
        .inspect(move |event| {
            if let Err(error) = event {
                telemetry::record_error(&recorded, error.kind());
            }
        })
        .chain(futures::stream::poll_fn(move |_| {
            let usage = crate::locks::lock(&outcome).usage;
            telemetry::record_usage(&tracing::Span::current(), &usage);
            std::task::Poll::Ready(None)
        }));
    crate::telemetry::InSpan::new(events.boxed(), span).boxed()
}

/// A run to its end.
async fn collect(mut run: RunStream) -> Result<RunResult, RunError> {
    let mut events = Vec::new();
    while let Some(event) = run.next().await {
        events.push(event?);
    }
    let outcome = run.outcome();
    Ok(RunResult {
        final_output: outcome.final_output().unwrap_or_default(),
        final_value: outcome.final_value(),
        last_response_id: outcome.last_response_id(),
        usage: outcome.usage(),
        interruption: outcome.interruption(),
        events,
    })
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
