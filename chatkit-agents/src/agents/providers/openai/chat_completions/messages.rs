//! Responses input items as Chat Completions messages.

use serde_json::{json, Map, Value};

use crate::agents::model::ModelError;

/// Responses input items as chat messages, as the Python SDK's `items_to_messages`:
/// function calls join the assistant message before them, and function call outputs
/// become `tool` messages.
pub(super) fn items_to_messages(items: &[Value]) -> Result<Vec<Value>, ModelError> {
    let mut messages: Vec<Value> = Vec::with_capacity(items.len());
    // The index of the assistant message that function calls attach to.
    let mut assistant: Option<usize> = None;
    for item in items {
        let kind = item.get("type").and_then(Value::as_str);
        let role = item.get("role").and_then(Value::as_str);
        match (kind, role) {
            (None | Some("message"), Some("assistant")) => {
                messages.push(assistant_message(item)?);
                assistant = Some(messages.len() - 1);
            }
            (None | Some("message"), Some(role @ ("user" | "system" | "developer"))) => {
                let content = match item.get("content") {
                    Some(Value::String(text)) => json!(text),
                    Some(Value::Array(parts)) => Value::Array(
                        parts
                            .iter()
                            .map(input_part)
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    _ => return Err(invalid(item, "a message needs text or content parts")),
                };
                messages.push(json!({"role": role, "content": content}));
                assistant = None;
            }
            (Some("function_call"), _) => {
                let index = match assistant {
                    Some(index) => index,
                    None => {
                        messages.push(json!({"role": "assistant", "content": null}));
                        messages.len() - 1
                    }
                };
                assistant = Some(index);
                let call = json!({
                    "id": item.get("call_id").cloned().unwrap_or(Value::Null),
                    "type": "function",
                    "function": {
                        "name": item.get("name").cloned().unwrap_or(Value::Null),
                        "arguments": item.get("arguments").cloned().unwrap_or(json!("{}")),
                    },
                });
                if let Some(Value::Object(message)) = messages.get_mut(index) {
                    match message.get_mut("tool_calls") {
                        Some(Value::Array(calls)) => calls.push(call),
                        _ => {
                            message.insert("tool_calls".into(), json!([call]));
                        }
                    }
                }
            }
            (Some("function_call_output"), _) => {
                let output = match item.get("output") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Array(parts)) if parts.iter().all(is_content_part) => {
                        content_parts_text(parts)
                    }
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": item.get("call_id").cloned().unwrap_or(Value::Null),
                    "content": output,
                }));
                assistant = None;
            }
            // Reasoning cannot be replayed to a chat model; the Python SDK drops it too.
            (Some("reasoning"), _) => {}
            _ => {
                return Err(invalid(
                    item,
                    "this item has no Chat Completions equivalent",
                ))
            }
        }
    }
    Ok(messages)
}

/// A Responses API input part a tool output can hold.
fn is_content_part(part: &Value) -> bool {
    matches!(
        part.get("type").and_then(Value::as_str),
        Some("input_text" | "input_image" | "input_file")
    )
}

/// A tool output's content parts as the text a chat model can read: chat models take
/// no images or files in tool results, so each becomes a note.
fn content_parts_text(parts: &[Value]) -> String {
    parts
        .iter()
        .map(|part| match part.get("type").and_then(Value::as_str) {
            Some("input_text") => part
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            Some("input_image") => {
                "[an image the tool returned: chat models cannot read images in tool results]"
                    .to_owned()
            }
            _ => "[a file the tool returned: chat models cannot read files in tool results]"
                .to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn invalid(item: &Value, why: &str) -> ModelError {
    let shown: String = item.to_string().chars().take(120).collect();
    ModelError::InvalidRequest(format!("cannot send {shown} to a chat model: {why}"))
}

/// An assistant message item: its text parts joined as `content`, a refusal as `refusal`.
fn assistant_message(item: &Value) -> Result<Value, ModelError> {
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    match item.get("content") {
        Some(Value::String(text)) => {
            message.insert("content".into(), json!(text));
        }
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            let mut refusal = String::new();
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("output_text" | "input_text" | "text") => {
                        text.push_str(part.get("text").and_then(Value::as_str).unwrap_or(""))
                    }
                    Some("refusal") => {
                        refusal.push_str(part.get("refusal").and_then(Value::as_str).unwrap_or(""))
                    }
                    _ => return Err(invalid(part, "unknown assistant content part")),
                }
            }
            message.insert(
                "content".into(),
                if text.is_empty() {
                    Value::Null
                } else {
                    json!(text)
                },
            );
            if !refusal.is_empty() {
                message.insert("refusal".into(), json!(refusal));
            }
        }
        _ => {
            message.insert("content".into(), Value::Null);
        }
    }
    Ok(Value::Object(message))
}

/// A user/system content part in the chat format.
fn input_part(part: &Value) -> Result<Value, ModelError> {
    let text = |key: &str| part.get(key).cloned().unwrap_or(json!(""));
    match part.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text") => {
            Ok(json!({"type": "text", "text": text("text")}))
        }
        Some("input_image") => {
            let Some(url) = part.get("image_url").filter(|u| u.is_string()) else {
                return Err(invalid(
                    part,
                    "images need an image_url (file ids are not supported)",
                ));
            };
            let mut image = Map::new();
            image.insert("url".into(), url.clone());
            if let Some(detail) = part.get("detail").filter(|d| d.is_string()) {
                image.insert("detail".into(), detail.clone());
            }
            Ok(json!({"type": "image_url", "image_url": image}))
        }
        Some("input_file") => {
            let mut file = Map::new();
            for key in ["file_data", "file_id", "filename"] {
                if let Some(value) = part.get(key).filter(|v| v.is_string()) {
                    file.insert(key.into(), value.clone());
                }
            }
            Ok(json!({"type": "file", "file": file}))
        }
        _ => Err(invalid(part, "unknown content part")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_join_the_assistant_message_before_them() {
        let messages = items_to_messages(&[
            json!({"role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"}]}),
            json!({"type": "message", "role": "assistant", "id": "msg_1", "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]}),
            json!({"type": "reasoning", "id": "rs_1", "summary": []}),
            json!({"type": "function_call", "call_id": "call_a", "name": "a", "arguments": "{}"}),
            json!({"type": "function_call", "call_id": "call_b", "name": "b", "arguments": "{\"x\":1}"}),
            json!({"type": "function_call_output", "call_id": "call_a", "output": "A"}),
            json!({"type": "function_call_output", "call_id": "call_b", "output": {"n": 2}}),
            json!({"type": "function_call", "call_id": "call_c", "name": "c", "arguments": "{}"}),
        ])
        .unwrap();
        assert_eq!(
            Value::Array(messages),
            json!([
                {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "low"}}]},
                {"role": "assistant", "content": "Let me check.", "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                    {"id": "call_b", "type": "function", "function": {"name": "b", "arguments": "{\"x\":1}"}},
                ]},
                {"role": "tool", "tool_call_id": "call_a", "content": "A"},
                {"role": "tool", "tool_call_id": "call_b", "content": "{\"n\":2}"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_c", "type": "function", "function": {"name": "c", "arguments": "{}"}},
                ]},
            ])
        );
    }

    #[test]
    fn tool_outputs_with_images_are_read_as_text_with_a_note() {
        let messages = items_to_messages(&[
            json!({"type": "function_call", "call_id": "call_a", "name": "chart", "arguments": "{}"}),
            json!({"type": "function_call_output", "call_id": "call_a", "output": [
                {"type": "input_text", "text": "The chart:"},
                {"type": "input_image", "image_url": "data:image/png;base64,AA"},
            ]}),
        ])
        .unwrap();
        assert_eq!(
            messages[1],
            json!({"role": "tool", "tool_call_id": "call_a", "content": "The chart:\n[an image the tool returned: chat models cannot read images in tool results]"})
        );
    }

    #[test]
    fn items_without_a_chat_form_are_rejected_by_name() {
        let err =
            items_to_messages(&[json!({"type": "web_search_call", "id": "ws_1"})]).unwrap_err();
        assert!(
            matches!(&err, ModelError::InvalidRequest(m) if m.contains("web_search_call") && m.contains("no Chat Completions equivalent")),
            "{err}"
        );
        let err = items_to_messages(&[
            json!({"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("image_url"), "{err}");
    }
}
