//! Approval cards: their states, the actions of their buttons, and the default card
//! (what the call does, in words, with Approve and Reject buttons while pending, or the
//! decision taken). A leaf of the bridge: the response stream draws cards, the
//! approval handler redraws them, and neither needs the other for it.

use serde_json::{json, Value};

use crate::agents::runner::ToolApproval;
use crate::text::shorten;
use crate::types::ActionConfig;
use crate::widgets::{self as w, WidgetRoot};

/// The action type of an approval card's Approve button (payload `{"approval_id"}`).
pub const APPROVE_ACTION: &str = "chatkit_agents.approve";
/// The action type of an approval card's Reject button (payload `{"approval_id"}`).
pub const REJECT_ACTION: &str = "chatkit_agents.reject";

/// What an approval card shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApprovalStatus {
    /// Waiting for the user: the card has its buttons.
    Pending,
    /// The user approved the call.
    Approved,
    /// The user rejected the call.
    Rejected,
    /// The run was abandoned (the user wrote a new message instead).
    Expired,
}

/// How many arguments the card lists, and how long a value may be before it is cut.
const MAX_ARGUMENTS: usize = 8;
const MAX_VALUE_CHARS: usize = 160;

/// The default card for `approval` in `status`: a title naming the tool, one line per
/// argument, and Approve and Reject buttons while it is pending (server actions whose
/// payload is only the approval id), or a badge with the decision.
///
/// ```
/// use chatkit_agents::agents::{ToolApproval, chatkit::{default_approval_card, ApprovalStatus}};
///
/// let approval = ToolApproval {
///     id: "apr_1".into(),
///     call_id: "call_1".into(),
///     tool_name: "delete_file".into(),
///     arguments: r#"{"path": "notes.txt"}"#.into(),
///     agent: "Files".into(),
///     server: None,
///     decision: None,
/// };
/// let card = serde_json::to_value(default_approval_card(&approval, ApprovalStatus::Pending)).unwrap();
/// let text = card.to_string();
/// assert!(text.contains("Delete file"));
/// assert!(text.contains("path: notes.txt"));
/// assert!(text.contains(r#""payload":{"approval_id":"apr_1"}"#));
/// ```
pub fn default_approval_card(approval: &ToolApproval, status: ApprovalStatus) -> WidgetRoot {
    let mut card = w::Card::new().size(w::CardSize::Sm).child(
        w::Title::new(match &approval.server {
            // A hosted MCP server's tool: the server says whose it is.
            Some(server) => format!("Allow {server}: {}?", tool_title(&approval.tool_name)),
            None => format!("Allow {}?", tool_title(&approval.tool_name)),
        })
        .size(w::TitleSize::Sm),
    );
    for line in argument_lines(&approval.arguments) {
        card = card.child(w::Text::new(line).size(w::TextSize::Sm));
    }
    let footer = match status {
        ApprovalStatus::Pending => w::Row::new()
            .gap(2)
            .child(button(
                "Approve",
                APPROVE_ACTION,
                &approval.id,
                w::ButtonStyle::Primary,
            ))
            .child(button(
                "Reject",
                REJECT_ACTION,
                &approval.id,
                w::ButtonStyle::Secondary,
            )),
        decided => {
            let (label, color) = match decided {
                ApprovalStatus::Approved => ("Approved", w::BadgeColor::Success),
                ApprovalStatus::Rejected => ("Rejected", w::BadgeColor::Danger),
                _ => ("Expired", w::BadgeColor::Secondary),
            };
            w::Row::new().child(w::Badge::new(label).color(color))
        }
    };
    card.child(footer).into()
}

fn button(label: &str, action: &str, approval_id: &str, style: w::ButtonStyle) -> w::Button {
    w::Button::new()
        .label(label)
        .style(style)
        .on_click_action(ActionConfig::new(action).payload(json!({ "approval_id": approval_id })))
}

/// `delete_file` → `“Delete file”`.
fn tool_title(name: &str) -> String {
    let words = name.replace(['_', '-'], " ");
    let mut chars = words.trim().chars();
    let title: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name.to_owned(),
    };
    format!("“{title}”")
}

/// The arguments as `key: value` lines (a value that is not a string as JSON), the
/// first few, each cut to a readable length; arguments that are not an object as one
/// line.
fn argument_lines(arguments: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(map)) => {
            let mut lines: Vec<String> = map
                .iter()
                .take(MAX_ARGUMENTS)
                .map(|(key, value)| {
                    let value = match value {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    shorten(&format!("{key}: {value}"), MAX_VALUE_CHARS)
                })
                .collect();
            if map.len() > MAX_ARGUMENTS {
                lines.push(format!("and {} more", map.len() - MAX_ARGUMENTS));
            }
            lines
        }
        _ if arguments.trim().is_empty() => Vec::new(),
        _ => vec![shorten(arguments, MAX_VALUE_CHARS)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_argument_lines() {
        assert_eq!(tool_title("delete_file"), "“Delete file”");
        assert_eq!(tool_title("send-note"), "“Send note”");
        assert_eq!(argument_lines(r#"{"path":"a","n":2}"#), ["path: a", "n: 2"]);
        assert_eq!(argument_lines(""), Vec::<String>::new());
        assert_eq!(argument_lines("not json"), ["not json"]);
        let long = format!(r#"{{"x":"{}"}}"#, "é".repeat(500));
        let line = &argument_lines(&long)[0];
        assert_eq!(line.chars().count(), MAX_VALUE_CHARS + 1);
        let many: serde_json::Map<String, Value> =
            (0..20).map(|i| (format!("k{i}"), json!(i))).collect();
        let lines = argument_lines(&Value::Object(many).to_string());
        assert_eq!(lines.len(), MAX_ARGUMENTS + 1);
        assert_eq!(lines.last().unwrap(), "and 12 more");
    }
}
