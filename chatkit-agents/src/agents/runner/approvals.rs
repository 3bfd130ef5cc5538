//! The approval gate of a turn: which of its tool calls run now, which were rejected,
//! and which wait for a person (interrupting the run).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::plan::ResolvedCall;
use super::state::{ApprovalDecision, DoneCall, ToolApproval};
use crate::agents::approval::DEFAULT_APPROVAL_REJECTION_MESSAGE;
use crate::agents::model::{FunctionCall, OutputItem};
use crate::agents::tool::{ToolContext, ToolErrorFormatter, ToolFailure};

/// What an interrupted turn carries into its resumption: the outputs of the calls that
/// ran, and the calls that needed approval, with the decisions taken since.
#[derive(Default)]
pub(super) struct EarlierPass {
    pub(super) done: Vec<DoneCall>,
    pub(super) approvals: Vec<ToolApproval>,
}

/// A turn's calls, sorted by the gate.
pub(super) struct Gated<C> {
    /// The calls that run now.
    pub(super) run: Vec<ResolvedCall<C>>,
    /// The calls a person rejected, with what the model reads instead.
    pub(super) rejected: Vec<(FunctionCall, String)>,
    /// The calls that wait for a decision.
    pub(super) waiting: Vec<ToolApproval>,
}

/// Sorts `calls` of `agent`'s turn. A call that ran before the interruption is left out,
/// a decided one runs or is rejected, and any other asks its tool whether it needs
/// approval.
pub(super) async fn gate<C: Clone + Send + Sync + 'static>(
    calls: Vec<ResolvedCall<C>>,
    earlier: &EarlierPass,
    agent: &str,
    context: &C,
    formatter: Option<&ToolErrorFormatter>,
) -> Gated<C> {
    let approvals: HashMap<&str, &ToolApproval> = earlier
        .approvals
        .iter()
        .map(|a| (a.call_id.as_str(), a))
        .collect();
    let mut gated = Gated {
        run: Vec::with_capacity(calls.len()),
        rejected: Vec::new(),
        waiting: Vec::new(),
    };
    for call in calls {
        let call_id = call.call.call_id.as_str();
        if earlier.done.iter().any(|d| d.call_id == call_id) {
            continue;
        }
        match approvals.get(call_id) {
            Some(approval) => match &approval.decision {
                Some(ApprovalDecision::Approved) => gated.run.push(call),
                Some(ApprovalDecision::Rejected { message }) => {
                    let output = match message {
                        Some(message) => message.clone(),
                        None => rejection_output(&call, formatter),
                    };
                    gated.rejected.push((call.call, output));
                }
                None => gated.waiting.push((*approval).clone()),
            },
            None => {
                let ctx = ToolContext::new(
                    context.clone(),
                    call.call.name.clone(),
                    call.call.call_id.clone(),
                    call.call.arguments.clone(),
                );
                if call.tool.needs_approval(&ctx, &call.call.arguments).await {
                    gated.waiting.push(new_approval(&call.call, agent));
                } else {
                    gated.run.push(call);
                }
            }
        }
    }
    gated
}

/// What the model reads for a call rejected without a message: the tool's or the run's
/// formatting of [`ToolFailure::NotApproved`], else the default message.
fn rejection_output<C>(call: &ResolvedCall<C>, formatter: Option<&ToolErrorFormatter>) -> String {
    let failure = ToolFailure::NotApproved {
        tool: call.call.name.clone(),
    };
    call.tool
        .format_failure(&failure)
        .or_else(|| formatter.map(|f| f(&failure)))
        .unwrap_or_else(|| DEFAULT_APPROVAL_REJECTION_MESSAGE.to_owned())
}

fn new_approval(call: &FunctionCall, agent: &str) -> ToolApproval {
    ToolApproval {
        id: format!("apr_{}", uuid::Uuid::new_v4().simple()),
        call_id: call.call_id.clone(),
        tool_name: call.name.clone(),
        arguments: call.arguments.clone(),
        agent: agent.to_owned(),
        server: None,
        decision: None,
    }
}

/// What a turn's approval requests from the provider's hosted MCP servers come to: the
/// answers to send for those decided, and those that wait.
#[derive(Default)]
pub(super) struct HostedGate {
    /// `mcp_approval_response` input items, in request order.
    pub(super) answers: Vec<Value>,
    pub(super) waiting: Vec<ToolApproval>,
}

impl HostedGate {
    /// Whether the turn had any request.
    pub(super) fn is_empty(&self) -> bool {
        self.answers.is_empty() && self.waiting.is_empty()
    }
}

/// Sorts the `mcp_approval_request` items of a turn's output: a request decided before
/// an interruption is answered, any other waits for a person.
pub(super) fn gate_hosted(
    turn_output: &[OutputItem],
    earlier: &EarlierPass,
    agent: &str,
) -> HostedGate {
    let mut gate = HostedGate::default();
    for output in turn_output {
        let (Some(id), OutputItem::Other(item)) = (output.approval_request_id(), output) else {
            continue;
        };
        let decided = earlier.approvals.iter().find(|a| a.call_id == id);
        match decided.and_then(|a| a.decision.as_ref()) {
            Some(ApprovalDecision::Approved) => gate.answers.push(
                json!({"type": "mcp_approval_response", "approval_request_id": id, "approve": true}),
            ),
            Some(ApprovalDecision::Rejected { message }) => {
                let mut answer = json!({"type": "mcp_approval_response", "approval_request_id": id, "approve": false});
                if let Some(message) = message {
                    answer["reason"] = Value::from(message.as_str());
                }
                gate.answers.push(answer);
            }
            None => gate.waiting.push(match decided {
                Some(approval) => approval.clone(),
                None => ToolApproval {
                    id: format!("apr_{}", uuid::Uuid::new_v4().simple()),
                    call_id: id.to_owned(),
                    tool_name: item["name"].as_str().unwrap_or_default().to_owned(),
                    arguments: item["arguments"].as_str().unwrap_or("{}").to_owned(),
                    agent: agent.to_owned(),
                    server: item["server_label"].as_str().map(str::to_owned),
                    decision: None,
                },
            }),
        }
    }
    gate
}
