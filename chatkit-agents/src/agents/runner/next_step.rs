//! Deciding what follows a turn: a final output, a handoff, or another model turn.

use super::plan::TurnPlan;
use super::result::RunError;
use crate::agents::agent::{Agent, Handoff, ToolUseBehavior};
use crate::agents::model::FunctionCall;

/// What the run does after a turn.
pub(super) enum NextStep<C> {
    /// The run ends with this output (and, for an agent with an output type, its value).
    FinalOutput {
        output: String,
        value: Option<serde_json::Value>,
    },
    /// The conversation goes to another agent (the first handoff call of the turn; the
    /// others are answered with [`MULTIPLE_HANDOFFS`](super::MULTIPLE_HANDOFFS)).
    Handoff {
        call: FunctionCall,
        handoff: Handoff<C>,
        ignored: Vec<FunctionCall>,
    },
    /// The model sees the tool outputs in another turn.
    RunAgain,
}

/// The final output of a turn in which the model called nothing: the last message
/// (parsed, for an agent with an output type), or `None` when the model called tools.
pub(super) fn answered<C>(
    agent: &Agent<C>,
    plan: &TurnPlan<C>,
) -> Result<Option<NextStep<C>>, RunError> {
    let Some(output) = plan.final_message() else {
        return Ok(None);
    };
    let value = match agent.output_type_info() {
        None => None,
        Some(output_type) => {
            Some(
                output_type
                    .parse(&output)
                    .map_err(|message| RunError::InvalidOutput {
                        agent: agent.name().to_owned(),
                        message,
                    })?,
            )
        }
    };
    Ok(Some(NextStep::FinalOutput { output, value }))
}

/// What follows a turn whose tools ran with `outputs` (tool name, output), in call order.
pub(super) fn after_tools<C>(
    agent: &Agent<C>,
    handoffs: Vec<(FunctionCall, Handoff<C>)>,
    outputs: &[(String, String)],
) -> NextStep<C> {
    let mut handoffs = handoffs.into_iter();
    if let Some((call, handoff)) = handoffs.next() {
        return NextStep::Handoff {
            call,
            handoff,
            ignored: handoffs.map(|(call, _)| call).collect(),
        };
    }
    let stop = match agent.behavior() {
        ToolUseBehavior::RunLlmAgain => None,
        ToolUseBehavior::StopOnFirstTool => outputs.first(),
        ToolUseBehavior::StopAtTools(names) => {
            outputs.iter().find(|(name, _)| names.contains(name))
        }
    };
    match stop {
        Some((_, output)) => NextStep::FinalOutput {
            output: output.clone(),
            value: None,
        },
        None => NextStep::RunAgain,
    }
}
