//! [`RunState`]: a run interrupted by tool calls that wait for approval, with everything
//! needed to continue it later, in another process if need be.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agents::model::{OutputItem, Usage};

/// The version of the [`RunState`] JSON this build writes and reads.
pub const RUN_STATE_VERSION: u32 = 1;

/// A tool call waiting for a person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolApproval {
    /// An id for this approval (`apr_...`), unique across runs: what a UI hands back.
    pub id: String,
    /// The model's id for the call.
    pub call_id: String,
    /// The tool.
    pub tool_name: String,
    /// The raw JSON arguments the model sent.
    pub arguments: String,
    /// The agent whose call it is.
    pub agent: String,
    /// For a tool of one of the provider's hosted MCP servers ([`HostedTool::mcp`]), the
    /// server's label: the provider makes the call once approved. `None` for the agent's
    /// own tools.
    ///
    /// [`HostedTool::mcp`]: crate::agents::HostedTool::mcp
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The decision, once taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ApprovalDecision>,
}

/// What a person decided about a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// The call runs.
    Approved,
    /// The call does not run; the model reads `message`, or
    /// [`DEFAULT_APPROVAL_REJECTION_MESSAGE`](crate::agents::DEFAULT_APPROVAL_REJECTION_MESSAGE)
    /// (after the run's error formatter) without one.
    Rejected {
        /// What the model reads instead of the tool's output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// Why a decision or a saved state was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunStateError {
    /// No pending call has this call id (or approval id).
    #[error("no tool call {0} waits for approval in this run")]
    UnknownCall(String),
    /// The call was decided before.
    #[error("tool call {call_id} was already {}", if *.approved { "approved" } else { "rejected" })]
    AlreadyDecided {
        /// The call.
        call_id: String,
        /// Whether the earlier decision approved it.
        approved: bool,
    },
    /// The JSON is not a run state.
    #[error("not a run state: {0}")]
    Invalid(String),
    /// The state was written by an incompatible version.
    #[error(
        "run state version {found} is not supported (this build reads version {RUN_STATE_VERSION})"
    )]
    UnsupportedVersion {
        /// The version the state names.
        found: u32,
    },
}

/// A tool output produced in the interrupted turn, before the interruption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DoneCall {
    pub(crate) call_id: String,
    pub(crate) output: String,
}

/// A run that stopped because tool calls wait for approval: the conversation so far
/// (with the model's calls), the agent that was running, the turn, the usage, the
/// interrupted turn's output and the calls with their decisions. Decide with
/// [`approve`](Self::approve) and [`reject`](Self::reject), then continue with
/// [`Runner::resume`](super::Runner::resume) (calls still undecided interrupt again).
/// It serializes to JSON ([`to_json`](Self::to_json), [`from_json`](Self::from_json))
/// with a format version, so a later request or another process can continue it.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{function_tool, Agent, RunState, Runner};
/// use chatkit_agents::testing::{ScriptedModel, Step};
///
/// /// Delete a file.
/// #[function_tool(needs_approval)]
/// async fn delete_file(path: String) -> String {
///     format!("deleted {path}")
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::new(vec![
///     vec![Step::tool_call("delete_file", serde_json::json!({"path": "notes.txt"}))],
///     vec![Step::text("Deleted notes.txt.")],
/// ]));
/// let agent: Agent<()> = Agent::new("Files", model).tool(delete_file);
/// let runner = Runner::new();
///
/// let first = runner.run(&agent, "delete notes.txt", ()).await.unwrap();
/// let state = first.interruption.expect("the call waits for approval");
/// assert_eq!(state.pending()[0].tool_name, "delete_file");
///
/// // Later, perhaps in another process:
/// let mut state = RunState::from_json(&state.to_json()).unwrap();
/// let call_id = state.pending()[0].call_id.clone();
/// state.approve(&call_id).unwrap();
/// let done = runner.resume(&agent, state, ()).await.unwrap();
/// assert_eq!(done.final_output, "Deleted notes.txt.");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub(crate) version: u32,
    /// The agent that was running, by name.
    pub(crate) agent: String,
    /// Turns taken so far (the interrupted turn included).
    pub(crate) turn: usize,
    /// Every item of the conversation so far.
    pub(crate) items: Vec<Value>,
    /// With a conversation the model's server keeps: the last response, and how many
    /// items it has seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous_response_id: Option<String>,
    #[serde(default)]
    pub(crate) sent: usize,
    #[serde(default)]
    pub(crate) usage: Usage,
    /// The interrupted turn's model output, planned again on resume.
    pub(crate) turn_output: Vec<OutputItem>,
    /// The outputs of that turn's calls that ran before the interruption.
    #[serde(default)]
    pub(crate) done: Vec<DoneCall>,
    pub(crate) approvals: Vec<ToolApproval>,
}

impl RunState {
    /// Every call of the interrupted turn that needed approval, decided or not.
    pub fn approvals(&self) -> &[ToolApproval] {
        &self.approvals
    }

    /// The calls still waiting for a decision.
    pub fn pending(&self) -> Vec<&ToolApproval> {
        self.approvals
            .iter()
            .filter(|a| a.decision.is_none())
            .collect()
    }

    /// Whether every call has its decision (resuming then runs the turn to its end).
    pub fn is_decided(&self) -> bool {
        self.approvals.iter().all(|a| a.decision.is_some())
    }

    /// The agent that was running.
    pub fn agent_name(&self) -> &str {
        &self.agent
    }

    /// Turns taken so far.
    pub fn turn(&self) -> usize {
        self.turn
    }

    /// Token usage of the run so far.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The approval of a call, by call id or approval id.
    pub fn approval(&self, id: &str) -> Option<&ToolApproval> {
        self.approvals
            .iter()
            .find(|a| a.call_id == id || a.id == id)
    }

    /// Approves a call (by call id or approval id): it runs when the run resumes.
    pub fn approve(&mut self, id: &str) -> Result<(), RunStateError> {
        self.decide(id, ApprovalDecision::Approved)
    }

    /// Rejects a call (by call id or approval id): it does not run, and the model reads
    /// `message`, or the default rejection message without one (the Python SDK's
    /// `RunState.reject`).
    pub fn reject(&mut self, id: &str, message: Option<String>) -> Result<(), RunStateError> {
        self.decide(id, ApprovalDecision::Rejected { message })
    }

    fn decide(&mut self, id: &str, decision: ApprovalDecision) -> Result<(), RunStateError> {
        let approval = self
            .approvals
            .iter_mut()
            .find(|a| a.call_id == id || a.id == id)
            .ok_or_else(|| RunStateError::UnknownCall(id.to_owned()))?;
        if let Some(earlier) = &approval.decision {
            return Err(RunStateError::AlreadyDecided {
                call_id: approval.call_id.clone(),
                approved: *earlier == ApprovalDecision::Approved,
            });
        }
        approval.decision = Some(decision);
        Ok(())
    }

    /// The state as JSON (`{"version": 1, ...}`).
    pub fn to_json(&self) -> String {
        // Only strings, numbers and JSON values: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A state from [`to_json`](Self::to_json)'s output; another version or malformed
    /// JSON is an error. Whether it still fits the agents is checked when resuming.
    pub fn from_json(json: &str) -> Result<Self, RunStateError> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let version: Version =
            serde_json::from_str(json).map_err(|e| RunStateError::Invalid(e.to_string()))?;
        if version.version != RUN_STATE_VERSION {
            return Err(RunStateError::UnsupportedVersion {
                found: version.version,
            });
        }
        let state: RunState =
            serde_json::from_str(json).map_err(|e| RunStateError::Invalid(e.to_string()))?;
        state.validate()?;
        Ok(state)
    }

    /// What deserializing alone cannot promise: the version is this build's, and the
    /// calls waiting are calls of the interrupted turn.
    pub(crate) fn validate(&self) -> Result<(), RunStateError> {
        if self.version != RUN_STATE_VERSION {
            return Err(RunStateError::UnsupportedVersion {
                found: self.version,
            });
        }
        if self.approvals.is_empty() {
            return Err(RunStateError::Invalid(
                "no tool call waits for approval".into(),
            ));
        }
        if self.sent > self.items.len() {
            return Err(RunStateError::Invalid(
                "more items sent than the conversation has".into(),
            ));
        }
        for approval in &self.approvals {
            let in_turn = self.turn_output.iter().any(|item| match item {
                OutputItem::FunctionCall(call) => call.call_id == approval.call_id,
                item => item.approval_request_id() == Some(approval.call_id.as_str()),
            });
            if !in_turn {
                return Err(RunStateError::Invalid(format!(
                    "tool call {} is not a call of the interrupted turn",
                    approval.call_id
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::model::FunctionCall;

    fn state() -> RunState {
        let call = |id: &str| {
            OutputItem::FunctionCall(FunctionCall {
                call_id: id.into(),
                name: "delete".into(),
                arguments: "{}".into(),
                ..FunctionCall::default()
            })
        };
        let approval = |id: &str| ToolApproval {
            id: format!("apr_{id}"),
            call_id: id.into(),
            tool_name: "delete".into(),
            arguments: "{}".into(),
            agent: "Files".into(),
            server: None,
            decision: None,
        };
        RunState {
            version: RUN_STATE_VERSION,
            agent: "Files".into(),
            turn: 1,
            items: vec![serde_json::json!({"role": "user", "content": "hi"})],
            previous_response_id: None,
            sent: 0,
            usage: Usage::default(),
            turn_output: vec![call("call_1"), call("call_2")],
            done: vec![],
            approvals: vec![approval("call_1"), approval("call_2")],
        }
    }

    #[test]
    fn decisions_are_taken_once() {
        let mut state = state();
        assert_eq!(state.pending().len(), 2);
        state.approve("call_1").unwrap();
        assert_eq!(
            state.approve("call_1"),
            Err(RunStateError::AlreadyDecided {
                call_id: "call_1".into(),
                approved: true
            })
        );
        assert!(!state.is_decided());
        state.reject("apr_call_2", Some("no".into())).unwrap();
        assert!(state.is_decided());
        assert!(state.reject("call_2", None).is_err());
        assert_eq!(
            state.approve("call_9"),
            Err(RunStateError::UnknownCall("call_9".into()))
        );
    }

    #[test]
    fn json_round_trips_and_is_checked() {
        let mut state = state();
        state.reject("call_2", None).unwrap();
        let json = state.to_json();
        assert!(json.starts_with(r#"{"version":1,"#), "{json}");
        assert_eq!(RunState::from_json(&json).unwrap(), state);

        let newer = json.replacen(r#""version":1"#, r#""version":7"#, 1);
        assert_eq!(
            RunState::from_json(&newer),
            Err(RunStateError::UnsupportedVersion { found: 7 })
        );
        assert!(matches!(
            RunState::from_json("[1, 2]"),
            Err(RunStateError::Invalid(_))
        ));
        let foreign = json.replace(r#""call_id":"call_1","tool"#, r#""call_id":"call_x","tool"#);
        assert!(matches!(
            RunState::from_json(&foreign),
            Err(RunStateError::Invalid(message)) if message.contains("call_x")
        ));
    }
}
