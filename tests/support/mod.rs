//! Helpers shared by the integration tests: golden files and parsing by kind name.

#![allow(dead_code, unreachable_pub)]

use chatkit_agents::types::*;
use chatkit_agents::widgets::WidgetRoot;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Reads a golden JSONL file from `tests/golden/` (copied from the reference corpus).
pub fn golden_lines(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

fn round<T: DeserializeOwned + Serialize>(json: &str) -> Result<String, String> {
    let parsed: T = serde_json::from_str(json).map_err(|e| e.to_string())?;
    serde_json::to_string(&parsed).map_err(|e| e.to_string())
}

/// Parses `json` as the reference type named `kind` and serializes it again.
pub fn round_trip(kind: &str, json: &str) -> Result<String, String> {
    match kind {
        "ThreadStreamEvent" => round::<ThreadStreamEvent>(json),
        "ThreadItem" => round::<ThreadItem>(json),
        "ThreadItemUpdate" => round::<ThreadItemUpdate>(json),
        "Thread" => round::<Thread>(json),
        "ThreadMetadata" => round::<ThreadMetadata>(json),
        "Page<Thread>" => round::<Page<Thread>>(json),
        "Page<ThreadItem>" => round::<Page<ThreadItem>>(json),
        "ChatKitRequest" => {
            let req = ChatKitRequest::parse(json.as_bytes()).map_err(|e| e.to_string())?;
            serde_json::to_string(&req).map_err(|e| e.to_string())
        }
        "Attachment" => round::<Attachment>(json),
        "WidgetRoot" => round::<WidgetRoot>(json),
        "ActionConfig" => round::<ActionConfig>(json),
        "Action" => round::<Action>(json),
        "SyncCustomActionResponse" => round::<SyncCustomActionResponse>(json),
        "TranscriptionResult" => round::<TranscriptionResult>(json),
        other => panic!("unknown kind {other}"),
    }
}
pub mod browser;
pub mod demo_process;
pub mod logs;
pub mod otlp;
pub mod own_redis;
pub mod replay;
pub mod server;
pub mod slow_model;
pub mod sse;
pub mod uploads;
