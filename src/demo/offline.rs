//! [`OfflineModel`]: a rule-based model so the demo works with no network and no key.
//! It still calls the tools and streams its text, through the same event sequences a
//! real model produces.

use chatkit_agents::agents::model::{Model, ModelError, ModelEvent, ModelRequest};
use chatkit_agents::testing::{ScriptedModel, Step};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream::BoxStream;
use serde_json::{json, Value};

/// Requests that asked for an outage so far (see [`OfflineModel`]).
static OUTAGES: AtomicUsize = AtomicUsize::new(0);

/// Answers from simple rules on the last user message:
/// - "weather" (optionally "in <city>") calls `get_weather`;
/// - "task" or "todo" calls `show_tasks`;
/// - "research" (optionally "about <topic>") calls `research`, which takes a while;
/// - "time" calls `get_local_time`, which the client answers;
/// - "note", "draft" or "write" calls `draft_note`;
/// - a message with files gets a description of each (name, type, size; the first
///   line of a text file; the dimensions of an image);
/// - after tool outputs, it sums them up;
/// - anything else gets a short explanation;
/// - a tool picked in the composer (`tool_choice`) is called with the message as its
///   topic or city;
/// - "simulate an outage" fails every other time as a busy model would (a retryable
///   error), so that the client's retry recovers;
/// - as the note writer (instructions starting "You write"), it writes the note.
#[derive(Debug, Default, Clone, Copy)]
pub struct OfflineModel;

/// The text of a Responses input message (a string, or its text parts).
fn message_text(item: &Value) -> String {
    match &item["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn after_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let lower = text.to_lowercase();
    let at = lower.find(word)? + word.len();
    let rest = text
        .get(at..)?
        .trim()
        .trim_end_matches(['?', '.', '!'])
        .trim();
    (!rest.is_empty()).then_some(rest)
}

fn offer(tools: &ModelRequest, name: &str) -> bool {
    tools.tools.iter().any(|t| t.name == name)
}

/// The call of `tool` the composer forced, with the message as its argument.
fn forced_call(request: &ModelRequest, tool: &str, text: &str) -> Option<Step> {
    if !offer(request, tool) {
        return None;
    }
    // A tagged entity is what the tool is about ("weather for @Paris"); else the text
    // after "about" or "in"; else the whole message.
    let text = match text.rsplit_once('@') {
        Some((_, tagged)) if !tagged.trim().is_empty() => tagged.trim(),
        _ => after_word(text, "about")
            .or_else(|| after_word(text, " in "))
            .unwrap_or(text),
    };
    let text = if text.is_empty() { "Rust" } else { text };
    let arguments = match tool {
        "research" | "draft_note" => json!({"topic": text}),
        "get_weather" => json!({"city": text}),
        _ => json!({}),
    };
    Some(Step::tool_call(tool, arguments))
}

impl OfflineModel {
    /// The steps answering `request`.
    pub fn plan(request: &ModelRequest) -> Vec<Step> {
        let writer = request
            .instructions
            .as_deref()
            .is_some_and(|i| i.starts_with("You write"));
        let last = request.input.last().cloned().unwrap_or(Value::Null);
        if writer {
            let topic = after_word(&message_text(&last), "about")
                .unwrap_or("this")
                .to_owned();
            return vec![Step::text(format!(
                "## {topic}\n\nA quick note about **{topic}**: it streams into this card a word at a time, from a second agent run inside the `draft_note` tool.\n\n- Written offline\n- Streamed as widget text deltas"
            ))];
        }
        if last["type"] == "function_call_output" {
            let outputs: Vec<&str> = request
                .input
                .iter()
                .rev()
                .take_while(|i| i["type"] == "function_call_output")
                .filter_map(|i| i["output"].as_str())
                .collect();
            return vec![Step::text(format!(
                "Done. {}",
                outputs.into_iter().rev().collect::<Vec<_>>().join(" ")
            ))];
        }
        let user = request.input.iter().rev().find(|i| i["role"] == "user");
        let parts = user.and_then(|u| u["content"].as_array());
        if let Some(files) = parts.and_then(|parts| super::received::describe(parts)) {
            return vec![Step::text(files)];
        }
        // The typed text only (attachment parts come after it).
        let text = match parts {
            Some(parts) => parts
                .first()
                .and_then(|p| p["text"].as_str())
                .unwrap_or_default()
                .to_owned(),
            None => user.map(message_text).unwrap_or_default(),
        };
        let lower = text.to_lowercase();
        // A tool the user picked in the composer (`tool_choice`), before anything else.
        if let Some(step) = request
            .settings
            .tool_choice
            .as_deref()
            .and_then(|tool| forced_call(request, tool, text.trim()))
        {
            return vec![step];
        }
        if lower.contains("simulate an outage") {
            // Every other request fails as a busy model would (a retryable error the
            // client offers to retry), so that retrying recovers.
            if OUTAGES.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
                return vec![Step::Break(ModelError::Http {
                    status: 503,
                    message: "the offline model simulates an outage".into(),
                })];
            }
            return vec![Step::text(
                "Recovered: the model answers again after the outage.",
            )];
        }
        // "use <tool> {json}": any offered tool by name (MCP servers' tools included).
        if let Some(rest) = text.trim().strip_prefix("use ") {
            let (name, arguments) = rest.split_once(' ').unwrap_or((rest, "{}"));
            if offer(request, name) {
                let arguments = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
                return vec![Step::tool_call(name, arguments)];
            }
        }
        if lower.contains("time") && offer(request, "get_local_time") {
            return vec![Step::tool_call("get_local_time", json!({}))];
        }
        if lower.contains("weather") && offer(request, "get_weather") {
            let city = after_word(&text, " in ").unwrap_or("Oslo");
            return vec![Step::tool_call("get_weather", json!({"city": city}))];
        }
        if (lower.contains("delete") || lower.contains("remove")) && offer(request, "delete_task") {
            if let Some(task) = after_word(&text, "task") {
                return vec![Step::tool_call("delete_task", json!({"task": task}))];
            }
        }
        if (lower.contains("task") || lower.contains("todo")) && offer(request, "show_tasks") {
            return vec![Step::tool_call("show_tasks", json!({}))];
        }
        if lower.contains("research") && offer(request, "research") {
            let topic = after_word(&text, "about")
                .or_else(|| after_word(&text, "research"))
                .unwrap_or("Rust");
            return vec![Step::tool_call("research", json!({"topic": topic}))];
        }
        if (lower.contains("note") || lower.contains("draft") || lower.contains("write"))
            && offer(request, "draft_note")
        {
            let topic = after_word(&text, "about").unwrap_or("Rust");
            return vec![Step::tool_call("draft_note", json!({"topic": topic}))];
        }
        vec![Step::text(format!(
            "You said: \"{}\". I am the demo's offline model (set OPENAI_API_KEY for a real one). Try \"What's the weather in Paris?\", \"Show my tasks\", \"Delete the task Stream a widget\" (it asks for your approval) or \"Draft a note about Rust\".",
            text.trim()
        ))]
    }
}

impl Model for OfflineModel {
    fn stream(&self, request: ModelRequest) -> BoxStream<'static, Result<ModelEvent, ModelError>> {
        let steps = Self::plan(&request);
        ScriptedModel::new(vec![steps])
            .with_unique_ids()
            .stream(request)
    }
}
