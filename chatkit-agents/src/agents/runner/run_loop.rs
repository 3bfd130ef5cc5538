//! The run loop: turn after turn, call the model, plan the turn, run its tools and take
//! the next step, streaming every event on the way.

use std::sync::{Arc, Mutex, PoisonError};

use futures::stream::{BoxStream, StreamExt};
use serde_json::{json, Value};

use super::model_call::{InputChecks, ModelCall, ModelResponse};
use super::next_step::{after_tools, answered, NextStep};
use super::plan::ActiveAgent;
use super::result::{output_tripwire, Outcome, RunError, RunEvent, RunOptions};
use super::tools::run_tools;
use super::{Runner, MULTIPLE_HANDOFFS};
use crate::agents::agent::Agent;
use crate::agents::guardrail::check_output;
use crate::agents::hooks::RunHooks;
use crate::agents::model::{ModelRequest, OutputItem};

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
) -> Result<ModelRequest, RunError> {
    let agent = &active.agent;
    let output_schema = match agent.output_type_info().map(|o| o.schema()) {
        None => None,
        Some(Ok(schema)) => Some(schema.clone()),
        Some(Err(error)) => return Err(error.clone().into()),
    };
    Ok(ModelRequest {
        instructions: agent.instructions_text().map(str::to_owned),
        input: conversation.unsent(),
        tools: active.definitions.clone(),
        settings: agent.model_settings().clone(),
        previous_response_id: conversation.previous_response.clone(),
        output_schema,
    })
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
    if let Some(tripped) = check_output(agent.output_guardrails(), context, &output).await {
        return Err(output_tripwire(tripped));
    }
    {
        let mut outcome = outcome.lock().unwrap_or_else(PoisonError::into_inner);
        outcome.final_output = Some(output.clone());
        outcome.final_value = value;
    }
    hooks.on_agent_end(context, agent, &output).await?;
    Ok(())
}

/// The events of a run of `agent` on `input`, its outcome reported into `outcome`.
pub(super) fn run<C: Clone + Send + Sync + 'static>(
    runner: Runner<C>,
    agent: Agent<C>,
    input: Vec<Value>,
    context: C,
    options: RunOptions,
    outcome: Arc<Mutex<Outcome>>,
) -> BoxStream<'static, Result<RunEvent, RunError>> {
    async_stream::try_stream! {
        let hooks = runner.hooks.clone();
        let mut checks = InputChecks::start(&agent, &context, &input);
        let mut conversation = Conversation { items: input, previous_response: options.previous_response_id, sent: 0 };
        let mut active = ActiveAgent::new(agent)?;
        let mut starting = true;

        for _turn in 0..runner.max_turns {
            let agent = &active.agent;
            if starting {
                starting = false;
                yield RunEvent::AgentUpdated { name: agent.name().to_owned() };
                hooks.on_agent_start(&context, agent).await?;
            }
            checks.blocking_passed().await?;
            let request = request(&active, &conversation)?;
            hooks.on_llm_start(&context, agent, agent.instructions_text(), &conversation.items).await?;
            let mut call = ModelCall::new(agent.model().stream(request), outcome.clone());
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
            if let Some(NextStep::FinalOutput { output, value }) = answered(agent, &plan)? {
                finish(agent, &context, &hooks, &outcome, output, value).await?;
                return;
            }
            for event in plan.call_events() {
                yield event;
            }
            let calls = plan.resolve_tools(agent)?;
            let runs = run_tools(calls, agent, &context, &hooks, runner.error_formatter.as_ref()).await?;
            let mut outputs = Vec::with_capacity(runs.len());
            for run in runs {
                let (call, output) = run.into_output()?;
                conversation.push_tool_output(&call.call_id, &output);
                outputs.push((call.name.clone(), output.clone()));
                yield RunEvent::ToolOutput { call, output };
            }

            match after_tools(agent, std::mem::take(&mut plan.handoffs), &outputs) {
                NextStep::FinalOutput { output, value } => {
                    finish(agent, &context, &hooks, &outcome, output, value).await?;
                    return;
                }
                NextStep::Handoff { call, handoff, ignored } => {
                    for call in ignored {
                        conversation.push_tool_output(&call.call_id, MULTIPLE_HANDOFFS);
                        yield RunEvent::ToolOutput { call, output: MULTIPLE_HANDOFFS.to_owned() };
                    }
                    if let Err(message) = handoff.invoke(context.clone(), &call.arguments).await {
                        Err(RunError::InvalidHandoffInput { handoff: call.name.clone(), message })?;
                    }
                    let target = handoff.agent();
                    hooks.on_handoff(&context, agent, target).await?;
                    conversation.push_tool_output(&call.call_id, &target.handoff_transfer_message());
                    let from = agent.name().to_owned();
                    yield RunEvent::Handoff { call, from, to: target.name().to_owned() };
                    if handoff.has_input_filter() {
                        let filtered = handoff.filter_input(std::mem::take(&mut conversation.items));
                        conversation.replace(filtered);
                    }
                    active = ActiveAgent::new(Agent::clone(target))?;
                    starting = true;
                }
                NextStep::RunAgain => {}
            }
        }
        Err(RunError::MaxTurnsExceeded(runner.max_turns))?;
    }
    .boxed()
}
