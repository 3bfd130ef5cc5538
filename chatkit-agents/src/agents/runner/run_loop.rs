//! The run loop: turn after turn, call the model, plan the turn, run its tools and take
//! the next step, streaming every event on the way.

use crate::locks::lock;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures::stream::{BoxStream, StreamExt};
use serde_json::{json, Value};
use tracing::Instrument;

use super::approvals::{gate, gate_hosted, EarlierPass};
use super::model_call::{InputChecks, ModelCall, ModelResponse};
use super::next_step::{after_tools, answered, NextStep};
use super::plan::{ActiveAgent, ResolvedCall, TurnPlan};
use super::result::{output_tripwire, Outcome, RunError, RunEvent, RunOptions};
use super::state::{DoneCall, RunState, ToolApproval, RUN_STATE_VERSION};
use super::telemetry::{
    guardrail_span, handoff_span, model_call, record_request, traced_check, turn_span,
};
use super::tools::{run_tools, ToolRun};
use super::{Runner, MULTIPLE_HANDOFFS};
use crate::agents::agent::{Agent, Handoff};
use crate::agents::guardrail::check_output;
use crate::agents::hooks::RunHooks;
use crate::agents::model::{FunctionCall, ModelRequest, ModelSettings, OutputItem, Usage};

/// The conversation a run sends: every item so far, and with a conversation the model's
/// server keeps, the last response and how many items it has seen.
struct Conversation {
    items: Vec<Value>,
    previous_response: Option<String>,
    sent: usize,
}

impl Conversation {
    /// What the next model call sends: the items the server has not seen, or all.
    fn unsent(&self) -> Vec<Value> {
        match self.previous_response {
            Some(_) => self.items[self.sent..].to_vec(),
            None => self.items.clone(),
        }
    }

    /// Records the model's response: its output items join the conversation, which the
    /// server now holds whole (without an id to name it, the whole conversation goes on
    /// being sent).
    fn record_response(&mut self, response: &ModelResponse) {
        self.items.extend(response.items.iter().map(to_input));
        if self.previous_response.is_some() {
            self.previous_response = response.id.clone();
            self.sent = match self.previous_response {
                Some(_) => self.items.len(),
                None => 0,
            };
        }
    }

    fn push_tool_output(&mut self, call_id: &str, output: &str) {
        self.items
            .push(json!({"type": "function_call_output", "call_id": call_id, "output": output}));
    }

    /// A tool's output as content parts (text and images), for a tool that gave more
    /// than text.
    fn push_tool_content(&mut self, call_id: &str, content: Vec<Value>) {
        self.items
            .push(json!({"type": "function_call_output", "call_id": call_id, "output": content}));
    }

    /// The conversation rewritten by a handoff's filter. It is sent whole from now on: the
    /// server's copy has the items the filter removed.
    fn replace(&mut self, items: Vec<Value>) {
        self.items = items;
        self.previous_response = None;
        self.sent = 0;
    }
}

fn to_input(item: &OutputItem) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

/// The request for the next turn of `active`.
fn request<C>(
    active: &ActiveAgent<C>,
    conversation: &Conversation,
    tools_used: bool,
) -> Result<Box<ModelRequest>, RunError> {
    let agent = &active.agent;
    let output_schema = match agent.output_type_info().map(|o| o.schema()) {
        None => None,
        Some(Ok(schema)) => Some(schema.clone()),
        Some(Err(error)) => return Err(error.clone().into()),
    };
    Ok(Box::new(ModelRequest {
        instructions: agent.instructions_text().map(str::to_owned),
        input: conversation.unsent(),
        tools: active.definitions(),
        hosted_tools: agent.hosted_tools().to_vec(),
        settings: settings(agent, tools_used),
        previous_response_id: conversation.previous_response.clone(),
        output_schema,
    }))
}

/// The agent's settings for the next model call: a forced tool choice is dropped once a
/// tool has been called in the run ([`Agent::reset_tool_choice`]).
fn settings<C>(agent: &Agent<C>, tools_used: bool) -> ModelSettings {
    let mut settings = agent.model_settings().clone();
    if tools_used && agent.resets_tool_choice() {
        settings.tool_choice = None;
    }
    settings
}

/// Ends the run with `output`, once the agent's output guardrails let it through.
async fn finish<C: Clone + Send + Sync + 'static>(
    agent: &Agent<C>,
    context: &C,
    hooks: &Arc<dyn RunHooks<C>>,
    outcome: &Mutex<Outcome>,
    output: String,
    value: Option<Value>,
) -> Result<(), RunError> {
    if !agent.output_guardrails().is_empty() {
        let check = check_output(agent.output_guardrails(), context, &output);
        let span = guardrail_span("output", agent.name());
        if let Some(tripped) = traced_check(check, span).await {
            return Err(output_tripwire(tripped));
        }
    }
    {
        let mut outcome = lock(outcome);
        outcome.final_output = Some(output.clone());
        outcome.final_value = value;
    }
    hooks.on_agent_end(context, agent, &output).await?;
    Ok(())
}

/// Where a run starts: new input, or the state of an interrupted run.
pub(super) enum Start {
    /// A new run on this input.
    Input(Vec<Value>, RunOptions),
    /// An interrupted run, its calls decided (those still undecided interrupt again).
    Resume(RunState),
}

/// The events of a run of `agent` from `start`, its outcome reported into `outcome`.
///
/// Each turn goes through its phases in order: announce the agent (when it starts), call
/// the model, plan the answer (a final output ends the run), gate the calls by approval,
/// run the tools and record their outputs, stop for approvals, and take the next step
/// (another turn, a handoff, or the end). Phases that decide without waiting are
/// functions returning the events they produce; the loop yields them in order.
pub(super) fn run<C: Clone + Send + Sync + 'static>(
    runner: Runner<C>,
    agent: Arc<Agent<C>>,
    start: Box<Start>,
    context: C,
    outcome: Arc<Mutex<Outcome>>,
) -> BoxStream<'static, Result<RunEvent, RunError>> {
    // The run's state machine is held for as long as the run waits on its model, and
    // every local it keeps across an await has a place of its own in it, which the
    // compiler overlaps poorly (with some forty awaits): so the awaits of a run's rarer
    // steps are boxed (they take memory only while they run), and so are its big
    // values (where it starts, the active agent, the model request; the agent is
    // shared). Inline,
    // the state machine took 10.9 KiB; with the awaits boxed 7.7 KiB; with the values
    // too, see BENCHMARKS.md.
    async_stream::try_stream! {
        let hooks = runner.hooks.clone();
        let formatter = runner.error_formatter.clone();
        // `start` is handed on (and freed in `begin`): a box moved out of here would
        // keep its memory until the run ends.
        let begun = Box::pin(begin(agent, start, &context, &outcome)).await?;
        let Begun { mut checks, mut conversation, mut active, mut turn, mut earlier } = *begun;
        // A resumed run announces its agent again; its hooks saw it start already.
        let mut starting = earlier.is_none();
        // A resumed run stopped at tool calls: tools have been used.
        let mut tools_used = earlier.is_some();
        if !starting {
            yield RunEvent::AgentUpdated { name: active.agent.name().to_owned() };
        }

        loop {
            // A resumed turn goes on in a span of its own number; a new one is the next.
            let turn_span = turn_span(active.agent.name(), if earlier.is_some() { turn } else { turn + 1 });
            let (mut plan, turn_output, pass) = match earlier.take() {
                Some((turn_output, pass)) => (active.plan(&turn_output), turn_output, pass),
                None => {
                    if turn >= runner.max_turns {
                        Err(RunError::MaxTurnsExceeded(runner.max_turns))?;
                    }
                    turn += 1;
                    if starting {
                        starting = false;
                        for event in announce(&mut active, &turn_span) {
                            yield event;
                        }
                        hooks.on_agent_start(&context, &active.agent).await?;
                    }
                    let agent = &active.agent;
                    checks.blocking_passed().await?;
                    let request = request(&active, &conversation, tools_used)?;
                    hooks.on_llm_start(&context, agent, agent.instructions_text(), &conversation.items).await?;
                    let mut call = model_turn(&runner, agent, &turn_span, request, &outcome);
                    while let Some(event) = call.next(&mut checks).await? {
                        yield RunEvent::Model(event);
                    }
                    let response = call.finish();
                    // Nothing the model asked for happens before the input checks passed.
                    checks.parallel_passed().await?;
                    let response = response?;
                    hooks.on_llm_end(&context, agent, &response.items).await?;
                    conversation.record_response(&response);

                    let mut plan = active.plan(&response.items);
                    for message in &plan.messages {
                        yield RunEvent::MessageOutput(message.clone());
                    }
                    if let Some((output, value)) = final_answer(agent, &plan, &response.items)? {
                        Box::pin(finish(agent, &context, &hooks, &outcome, output, value).instrument(turn_span.clone())).await?;
                        return;
                    }
                    for event in plan.call_events() {
                        yield event;
                    }
                    (plan, response.items, EarlierPass::default())
                }
            };
            let agent = &active.agent;

            let calls = plan.resolve_tools(agent)?;
            tools_used |= !calls.is_empty();
            let mut gated = Box::pin(gate(calls, &pass, agent.name(), &context, formatter.as_ref()).instrument(turn_span.clone())).await;
            let hosted = gate_hosted(&turn_output, &pass, agent.name());
            let hosted_answered = !hosted.is_empty();
            gated.waiting.extend(hosted.waiting);
            for event in started(&gated.run) {
                yield event;
            }
            let runs = Box::pin(run_tools(gated.run, agent, &context, &hooks, formatter.as_ref(), runner.capture_content).instrument(turn_span.clone())).await?;
            let Recorded { produced, events } = record_outputs(&mut conversation, runs, gated.rejected, &turn_output)?;
            for event in events {
                yield event;
            }

            if !gated.waiting.is_empty() {
                for approval in &gated.waiting {
                    yield RunEvent::ApprovalRequested(approval.clone());
                }
                let usage = lock(&outcome).usage;
                let interrupted = Interrupted { agent: agent.name(), turn, usage, turn_output, earlier: pass, produced, waiting: gated.waiting };
                lock(&outcome).interruption = Some(interrupted.state(conversation));
                return;
            }

            // The provider makes the approved calls of its MCP servers when it reads the
            // answers: the model runs again, whatever the agent's tool use behavior.
            conversation.items.extend(hosted.answers);
            let outputs = turn_outputs(&turn_output, &pass.done, &produced);
            let next = match after_tools(agent, std::mem::take(&mut plan.handoffs), &outputs) {
                NextStep::FinalOutput { .. } if hosted_answered => NextStep::RunAgain,
                next => next,
            };
            match next {
                NextStep::FinalOutput { output, value } => {
                    Box::pin(finish(agent, &context, &hooks, &outcome, output, value).instrument(turn_span.clone())).await?;
                    return;
                }
                NextStep::Handoff { call, handoff, ignored } => {
                    for call in ignored {
                        conversation.push_tool_output(&call.call_id, MULTIPLE_HANDOFFS);
                        yield RunEvent::ToolOutput { call, output: MULTIPLE_HANDOFFS.to_owned() };
                    }
                    let handed = Box::pin(hand_over(agent, &handoff, call, &context, &hooks, &mut conversation, &turn_span)).await?;
                    yield handed;
                    active = Box::pin(start_boxed(Arc::new(Agent::clone(handoff.agent())))).await?;
                    starting = true;
                }
                NextStep::RunAgain => {}
            }
        }
    }
    .boxed()
}

/// Where a run stands before its first turn.
struct Begun<C> {
    checks: InputChecks,
    conversation: Conversation,
    active: Box<ActiveAgent<C>>,
    turn: usize,
    /// A resumed run's interrupted turn: its output and what it did before.
    earlier: Option<(Vec<OutputItem>, EarlierPass)>,
}

/// The run's first state: new input and its input checks started, or an interrupted
/// run checked against the agents it continues with.
async fn begin<C: Clone + Send + Sync + 'static>(
    agent: Arc<Agent<C>>,
    start: Box<Start>,
    context: &C,
    outcome: &Mutex<Outcome>,
) -> Result<Box<Begun<C>>, RunError> {
    Ok(Box::new(match *start {
        Start::Input(input, options) => Begun {
            checks: InputChecks::start(&agent, context, &input),
            conversation: Conversation {
                items: input,
                previous_response: options.previous_response_id,
                sent: 0,
            },
            active: start_boxed(agent).await?,
            turn: 0,
            earlier: None,
        },
        Start::Resume(state) => {
            let resumed = Resumed::check(&agent, state).await?;
            lock(outcome).usage = resumed.usage;
            Begun {
                checks: InputChecks::none(),
                conversation: resumed.conversation,
                active: Box::new(resumed.active),
                turn: resumed.turn,
                earlier: Some(resumed.pass),
            }
        }
    }))
}

/// [`ActiveAgent::start`], boxed: what a run awaits is kept in its state (see `run`).
async fn start_boxed<C>(agent: Arc<Agent<C>>) -> Result<Box<ActiveAgent<C>>, RunError> {
    ActiveAgent::start(agent).await.map(Box::new)
}

/// The events of an agent starting: which agent, and the sources of its tools left out
/// of this run (logged in the turn's span).
fn announce<C>(active: &mut ActiveAgent<C>, turn_span: &tracing::Span) -> Vec<RunEvent> {
    let mut events = vec![RunEvent::AgentUpdated {
        name: active.agent.name().to_owned(),
    }];
    for (source, message) in std::mem::take(&mut active.unavailable) {
        turn_span.in_scope(|| {
            tracing::warn!(tool_source = %source, error = %message, "tool source unavailable; the run goes on without its tools");
        });
        events.push(RunEvent::ToolSourceUnavailable { source, message });
    }
    events
}

/// The model call of a turn, traced (and its content recorded when asked).
fn model_turn<C>(
    runner: &Runner<C>,
    agent: &Agent<C>,
    turn_span: &tracing::Span,
    request: Box<ModelRequest>,
    outcome: &Arc<Mutex<Outcome>>,
) -> ModelCall {
    // Unboxed here, so that the box is freed before the model is waited on.
    let request = *request;
    let traced = model_call(turn_span, agent.name(), agent.model().as_ref(), &request);
    if runner.capture_content {
        record_request(&traced.0, &request);
    }
    let mut call = ModelCall::new(agent.model().stream(request), outcome.clone(), traced);
    call.capture_output(runner.capture_content);
    call
}

/// The final output the model gave in this turn, if it ends the run. A hosted MCP server
/// asking for approval waits for its answer: such a turn is not over.
fn final_answer<C>(
    agent: &Agent<C>,
    plan: &TurnPlan<C>,
    items: &[OutputItem],
) -> Result<Option<(String, Option<Value>)>, RunError> {
    if items
        .iter()
        .any(|item| item.approval_request_id().is_some())
    {
        return Ok(None);
    }
    Ok(match answered(agent, plan)? {
        Some(NextStep::FinalOutput { output, value }) => Some((output, value)),
        _ => None,
    })
}

/// The events of the calls about to run whose tools come from elsewhere (an MCP
/// server's), so that a client can show them as they start.
fn started<C>(calls: &[ResolvedCall<C>]) -> Vec<RunEvent> {
    calls
        .iter()
        .filter_map(|planned| {
            let origin = planned.tool.origin()?;
            Some(RunEvent::ToolStarted {
                call: planned.call.clone(),
                origin,
            })
        })
        .collect()
}

/// The turn's tool outputs, in call order, into the conversation, with their events (a
/// failure's before its output).
fn record_outputs(
    conversation: &mut Conversation,
    runs: Vec<ToolRun>,
    rejected: Vec<(FunctionCall, String)>,
    turn_output: &[OutputItem],
) -> Result<Recorded, RunError> {
    let mut produced = Vec::with_capacity(runs.len() + rejected.len());
    let mut contents = HashMap::new();
    let mut failures = HashMap::new();
    for run in runs {
        let (call, output, failure) = run.into_output()?;
        if let Some(content) = output.content {
            contents.insert(call.call_id.clone(), content);
        }
        if let Some(failure) = failure {
            failures.insert(call.call_id.clone(), failure);
        }
        produced.push((call, output.text));
    }
    produced.extend(rejected);
    let order = call_order(turn_output);
    produced.sort_by_key(|(call, _)| order.get(call.call_id.as_str()).copied());
    let mut events = Vec::with_capacity(produced.len());
    for (call, output) in &produced {
        match contents.remove(&call.call_id) {
            Some(content) => conversation.push_tool_content(&call.call_id, content),
            None => conversation.push_tool_output(&call.call_id, output),
        }
        if let Some(failure) = failures.remove(&call.call_id) {
            events.push(RunEvent::ToolFailed {
                call: call.clone(),
                failure,
            });
        }
        events.push(RunEvent::ToolOutput {
            call: call.clone(),
            output: output.clone(),
        });
    }
    Ok(Recorded { produced, events })
}

/// A turn's tool outputs, recorded: as (call, text) in call order, and their events.
struct Recorded {
    produced: Vec<(FunctionCall, String)>,
    events: Vec<RunEvent>,
}

/// A turn that stops for approvals: what its [`RunState`] is made of.
struct Interrupted<'a> {
    agent: &'a str,
    turn: usize,
    usage: Usage,
    turn_output: Vec<OutputItem>,
    earlier: EarlierPass,
    produced: Vec<(FunctionCall, String)>,
    waiting: Vec<ToolApproval>,
}

impl Interrupted<'_> {
    /// The state to continue from: the calls done before and now, and those waiting.
    fn state(self, conversation: Conversation) -> RunState {
        let mut done = self.earlier.done;
        done.extend(self.produced.into_iter().map(|(call, output)| DoneCall {
            call_id: call.call_id,
            output,
        }));
        RunState {
            version: RUN_STATE_VERSION,
            agent: self.agent.to_owned(),
            turn: self.turn,
            items: conversation.items,
            previous_response_id: conversation.previous_response,
            sent: conversation.sent,
            usage: self.usage,
            turn_output: self.turn_output,
            done,
            approvals: self.waiting,
        }
    }
}

/// Hands the conversation from `agent` to the handoff's agent: the handoff's own code
/// and the hooks run, the call gets its transfer message, and the handoff's input filter
/// rewrites the conversation. Returns the event saying so.
async fn hand_over<C: Clone + Send + Sync + 'static>(
    agent: &Agent<C>,
    handoff: &Handoff<C>,
    call: FunctionCall,
    context: &C,
    hooks: &Arc<dyn RunHooks<C>>,
    conversation: &mut Conversation,
    turn_span: &tracing::Span,
) -> Result<RunEvent, RunError> {
    let span = handoff_span(turn_span, agent.name(), handoff.agent().name());
    if let Err(message) = handoff
        .invoke(context.clone(), &call.arguments)
        .instrument(span)
        .await
    {
        return Err(RunError::InvalidHandoffInput {
            handoff: call.name.clone(),
            message,
        });
    }
    let target = handoff.agent();
    hooks.on_handoff(context, agent, target).await?;
    conversation.push_tool_output(&call.call_id, &target.handoff_transfer_message());
    if handoff.has_input_filter() {
        let filtered = handoff.filter_input(std::mem::take(&mut conversation.items));
        conversation.replace(filtered);
    }
    Ok(RunEvent::Handoff {
        call,
        from: agent.name().to_owned(),
        to: target.name().to_owned(),
    })
}

/// The position of each call in the turn's output, by call id.
fn call_order(turn_output: &[OutputItem]) -> HashMap<&str, usize> {
    turn_output
        .iter()
        .filter_map(|item| match item {
            OutputItem::FunctionCall(call) => Some(call.call_id.as_str()),
            _ => None,
        })
        .enumerate()
        .map(|(index, id)| (id, index))
        .collect()
}

/// Every output of the turn as (tool name, output), in call order: those produced
/// before an interruption and those produced now.
fn turn_outputs(
    turn_output: &[OutputItem],
    done: &[DoneCall],
    produced: &[(FunctionCall, String)],
) -> Vec<(String, String)> {
    turn_output
        .iter()
        .filter_map(|item| match item {
            OutputItem::FunctionCall(call) => {
                let output = done
                    .iter()
                    .find(|d| d.call_id == call.call_id)
                    .map(|d| &d.output)
                    .or_else(|| {
                        produced
                            .iter()
                            .find(|(c, _)| c.call_id == call.call_id)
                            .map(|(_, output)| output)
                    })?;
                Some((call.name.clone(), output.clone()))
            }
            _ => None,
        })
        .collect()
}

/// An interrupted run, checked against the agents it continues with.
struct Resumed<C> {
    active: ActiveAgent<C>,
    conversation: Conversation,
    turn: usize,
    usage: Usage,
    pass: (Vec<OutputItem>, EarlierPass),
}

impl<C> Resumed<C> {
    /// `state` continued from `start`: its agent must be `start` or reachable from it
    /// through handoffs, and still have every tool a call waits on.
    async fn check(start: &Agent<C>, state: RunState) -> Result<Self, RunError> {
        let invalid = |message: String| RunError::InvalidRunState(message);
        state.validate().map_err(|e| invalid(e.to_string()))?;
        let agent = find_agent(start, &state.agent).ok_or_else(|| {
            invalid(format!(
                "agent {} is not {} nor reachable from it through handoffs",
                state.agent,
                start.name()
            ))
        })?;
        let active = ActiveAgent::start(Arc::new(agent)).await?;
        for approval in &state.approvals {
            let has_it = match &approval.server {
                // A hosted MCP server's tool: the agent must still offer that server.
                Some(server) => active
                    .agent
                    .hosted_tools()
                    .iter()
                    .any(|tool| tool.mcp_server_label() == Some(server.as_str())),
                None => active.has_tool(&approval.tool_name),
            };
            if !has_it {
                let tool = match &approval.server {
                    Some(server) => format!("{} of hosted MCP server {server}", approval.tool_name),
                    None => approval.tool_name.clone(),
                };
                return Err(invalid(format!(
                    "tool {tool} waits for approval but agent {} no longer has it",
                    state.agent
                )));
            }
        }
        Ok(Resumed {
            active,
            conversation: Conversation {
                items: state.items,
                previous_response: state.previous_response_id,
                sent: state.sent,
            },
            turn: state.turn,
            usage: state.usage,
            pass: (
                state.turn_output,
                EarlierPass {
                    done: state.done,
                    approvals: state.approvals,
                },
            ),
        })
    }
}

/// The agent called `name`: `start`, or one reachable from it through handoffs.
fn find_agent<C>(start: &Agent<C>, name: &str) -> Option<Agent<C>> {
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([start.clone()]);
    while let Some(agent) = queue.pop_front() {
        if agent.name() == name {
            return Some(agent);
        }
        if seen.insert(agent.name().to_owned()) {
            queue.extend(agent.handoffs().iter().map(|h| Agent::clone(h.agent())));
        }
    }
    None
}
