//! What the store keeps for a thread's run waiting for approvals: the [`RunState`] and
//! which widget item shows which approval.

use serde::{Deserialize, Serialize};

use crate::agents::runner::{RunState, RunStateError, ToolApproval};
use crate::store::{RecordKind, SavedRunState, StoreError};

/// The version of the record's JSON (the run state inside has its own).
const RECORD_VERSION: u32 = 1;

/// The card of one approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Card {
    pub(crate) approval_id: String,
    pub(crate) item_id: String,
}

/// A thread's run waiting for approvals, with its cards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PendingRun {
    version: u32,
    pub(crate) state: RunState,
    pub(crate) cards: Vec<Card>,
}

impl PendingRun {
    pub(crate) fn new(state: RunState, cards: Vec<Card>) -> Self {
        PendingRun {
            version: RECORD_VERSION,
            state,
            cards,
        }
    }

    /// The record of a saved run state; one this build cannot read is corrupt.
    pub(crate) fn read(saved: &SavedRunState, thread_id: &str) -> Result<Self, StoreError> {
        let corrupt = |message: String| StoreError::Corrupt {
            kind: RecordKind::RunState,
            id: thread_id.to_owned(),
            message,
        };
        let record: PendingRun =
            serde_json::from_str(&saved.data).map_err(|e| corrupt(e.to_string()))?;
        if record.version != RECORD_VERSION {
            return Err(corrupt(format!(
                "record version {} is not supported",
                record.version
            )));
        }
        // The state inside is checked as `RunState::from_json` checks it.
        record
            .state
            .validate()
            .map_err(|e: RunStateError| corrupt(e.to_string()))?;
        Ok(record)
    }

    pub(crate) fn to_json(&self) -> String {
        // Strings, numbers and JSON values only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The approval with this id (approval ids only: the payload is untrusted, and call
    /// ids may repeat across runs).
    pub(crate) fn approval(&self, approval_id: &str) -> Option<&ToolApproval> {
        self.state.approvals().iter().find(|a| a.id == approval_id)
    }

    /// The widget item showing `approval_id`.
    pub(crate) fn card_item(&self, approval_id: &str) -> Option<&str> {
        self.cards
            .iter()
            .find(|c| c.approval_id == approval_id)
            .map(|c| c.item_id.as_str())
    }
}
