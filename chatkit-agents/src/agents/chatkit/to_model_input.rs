//! [`ThreadItemConverter`]: thread items to model input, exactly as the Python SDK's
//! `ThreadItemConverter` writes them (the same texts and tags), with a hook per
//! item type so you can change how anything reads to the model.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::types::{
    AssistantMessageItem, Attachment, ClientToolCallItem, ClientToolCallStatus, EndOfTurnItem,
    GeneratedImageItem, HiddenContextItem, SdkHiddenContextItem, StructuredInput,
    StructuredInputItem, Task, TaskItem, ThreadItem, UserMessageContent, UserMessageItem,
    UserMessageTagContent, WidgetItem, WorkflowItem,
};

/// An item the converter cannot turn into model input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    /// A hook has no default and was not overridden (attachments and @-mention tags need
    /// your own conversion, as in the reference).
    #[error("{0} is not implemented; override it in your ThreadItemConverter")]
    NotImplemented(&'static str),
    /// The item holds something the conversion cannot express (e.g. non-text hidden context).
    #[error("cannot convert {item}: {reason}")]
    Unsupported {
        /// The item id.
        item: String,
        /// Why.
        reason: String,
    },
}

/// A user message with one text part.
fn user_text(text: impl Into<String>) -> Value {
    json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text.into()}]})
}

/// JSON as Python's `json.dumps` writes it by default (`", "` and `": "` separators,
/// non-ASCII escaped), for tool arguments and outputs sent back to the model.
pub fn python_json_dumps(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::String(s) => crate::python_json::write_string(s, false, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    crate::python_json::write_string(key, false, out);
                    out.push_str(": ");
                    write(item, out);
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The text the reference uses for a performed custom task (`None` for other tasks or
/// tasks without title and content).
fn task_text(task: &Task) -> Option<String> {
    let Task::Custom(task) = task else {
        return None;
    };
    let body = match (&task.title, &task.content) {
        (Some(title), Some(content)) => format!("{title}: {content}"),
        (Some(text), None) | (None, Some(text)) => text.clone(),
        (None, None) => return None,
    };
    Some(format!("A message was displayed to the user that the following task was performed:\n<Task>\n{body}\n</Task>"))
}

fn hidden(content: &str) -> Value {
    user_text(format!("Hidden context for the agent (not shown to the user):\n<HiddenContext>\n{content}\n</HiddenContext>"))
}

/// Converts thread items into model input (Responses API input items as JSON). Every
/// method has the reference's default; override what you need, e.g.
/// [`tag_to_message_content`](Self::tag_to_message_content) to resolve `@mentions`.
///
/// ```
/// use chatkit_agents::agents::chatkit::simple_to_agent_input;
/// use chatkit_agents::types::{ThreadItem, Timestamp};
/// let item: ThreadItem = serde_json::from_value(serde_json::json!({
///     "id": "m", "thread_id": "t", "created_at": "2025-01-01T00:00:00", "type": "user_message",
///     "content": [{"type": "input_text", "text": "Hello"}], "attachments": [], "inference_options": {}
/// })).unwrap();
/// # futures::executor::block_on(async {
/// let input = simple_to_agent_input(&[item]).await.unwrap();
/// assert_eq!(input[0], serde_json::json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}));
/// # });
/// ```
#[async_trait]
pub trait ThreadItemConverter: Send + Sync {
    /// An attachment as message content. No default: attachments need your storage.
    async fn attachment_to_message_content(
        &self,
        _attachment: &Attachment,
    ) -> Result<Value, ConversionError> {
        Err(ConversionError::NotImplemented(
            "attachment_to_message_content",
        ))
    }

    /// An `@mention` tag as message content. No default: tags need your entities.
    async fn tag_to_message_content(
        &self,
        _tag: &UserMessageTagContent,
    ) -> Result<Value, ConversionError> {
        Err(ConversionError::NotImplemented("tag_to_message_content"))
    }

    /// A user message: its text (tags as `@name`) and attachments; the quoted text when it
    /// is the last message; and the resolved tags.
    async fn user_message_to_input(
        &self,
        item: &UserMessageItem,
        is_last_message: bool,
    ) -> Result<Vec<Value>, ConversionError> {
        let mut text = String::new();
        let mut tags: Vec<&UserMessageTagContent> = Vec::new();
        for part in &item.content {
            match part {
                UserMessageContent::Text(t) => text.push_str(&t.text),
                UserMessageContent::Tag(tag) => {
                    text.push('@');
                    text.push_str(&tag.text);
                    if !tags.iter().any(|seen| seen.text == tag.text) {
                        tags.push(tag);
                    }
                }
            }
        }
        let mut content = vec![json!({"type": "input_text", "text": text})];
        for attachment in &item.attachments {
            content.push(self.attachment_to_message_content(attachment).await?);
        }
        let mut input = vec![json!({"role": "user", "type": "message", "content": content})];
        // Python tests `item.quoted_text` for truth: an empty quote adds nothing.
        let quoted = item.quoted_text.as_deref().filter(|q| !q.is_empty());
        if let (Some(quoted), true) = (quoted, is_last_message) {
            input.push(user_text(format!(
                "The user is referring to this in particular: \n{quoted}"
            )));
        }
        if !tags.is_empty() {
            let mut content = vec![
                json!({"type": "input_text", "text": "# User-provided context for @-mentions\n- When referencing resolved entities, use their canonical names **without** '@'.\n- The '@' form appears only in user text and should not be echoed."}),
            ];
            for tag in tags {
                content.push(self.tag_to_message_content(tag).await?);
            }
            input.push(json!({"role": "user", "type": "message", "content": content}));
        }
        Ok(input)
    }

    /// An assistant message (annotations are not sent back).
    async fn assistant_message_to_input(
        &self,
        item: &AssistantMessageItem,
    ) -> Result<Vec<Value>, ConversionError> {
        let content: Vec<Value> = item
            .content
            .iter()
            .map(|part| json!({"annotations": [], "text": part.text, "type": "output_text", "logprobs": null}))
            .collect();
        Ok(vec![
            json!({"type": "message", "role": "assistant", "content": content}),
        ])
    }

    /// A client tool call: nothing while pending; the call and its output once completed.
    async fn client_tool_call_to_input(
        &self,
        item: &ClientToolCallItem,
    ) -> Result<Vec<Value>, ConversionError> {
        if item.status == ClientToolCallStatus::Pending {
            return Ok(Vec::new());
        }
        // Written from the result's text: a client's large result is never a tree here.
        let output = item
            .output
            .as_ref()
            .and_then(|output| crate::python_json::dumps_text(output.as_str()))
            .unwrap_or_else(|| "null".to_owned());
        Ok(vec![
            json!({"type": "function_call", "call_id": item.call_id, "name": item.name, "arguments": python_json_dumps(&Value::Object(item.arguments.clone()))}),
            json!({"type": "function_call_output", "call_id": item.call_id, "output": output}),
        ])
    }

    /// End of turn: nothing.
    async fn end_of_turn_to_input(
        &self,
        _item: &EndOfTurnItem,
    ) -> Result<Vec<Value>, ConversionError> {
        Ok(Vec::new())
    }

    /// A widget: its JSON, so the model knows what the user saw.
    async fn widget_to_input(&self, item: &WidgetItem) -> Result<Vec<Value>, ConversionError> {
        let widget = serde_json::to_string(&item.widget).unwrap_or_default();
        Ok(vec![user_text(format!(
            "The following graphical UI widget (id: {}) was displayed to the user:{widget}",
            item.id
        ))])
    }

    /// A workflow: one message per custom task with a title or content.
    async fn workflow_to_input(&self, item: &WorkflowItem) -> Result<Vec<Value>, ConversionError> {
        Ok(item
            .workflow
            .tasks
            .iter()
            .filter_map(task_text)
            .map(user_text)
            .collect())
    }

    /// A standalone task, as a workflow task.
    async fn task_to_input(&self, item: &TaskItem) -> Result<Vec<Value>, ConversionError> {
        Ok(task_text(&item.task).map(user_text).into_iter().collect())
    }

    /// Structured input: the questions and how they were answered.
    async fn structured_input_to_input(
        &self,
        item: &StructuredInputItem,
    ) -> Result<Vec<Value>, ConversionError> {
        let lines: Vec<String> = item
            .inputs
            .iter()
            .map(|input| {
                let (question, answer) = match input {
                    StructuredInput::MultipleChoice(q) => (&q.question, &q.answer),
                    StructuredInput::Freeform(q) => (&q.question, &q.answer),
                };
                let answer = match answer {
                    None => "unanswered".to_owned(),
                    Some(a) if a.skipped => "skipped".to_owned(),
                    Some(a) => a.values.join(", "),
                };
                format!("- {question}: {answer}")
            })
            .collect();
        Ok(vec![user_text(format!(
            "A structured input request was displayed to the user with the following status: {}\n<StructuredInput>\n{}\n</StructuredInput>",
            item.status,
            lines.join("\n")
        ))])
    }

    /// Your hidden context (text only).
    async fn hidden_context_to_input(
        &self,
        item: &HiddenContextItem,
    ) -> Result<Vec<Value>, ConversionError> {
        match &item.content {
            Value::String(text) => Ok(vec![hidden(text)]),
            _ => Err(ConversionError::Unsupported {
                item: item.id.clone(),
                reason:
                    "only text hidden context can be converted; override hidden_context_to_input"
                        .into(),
            }),
        }
    }

    /// The SDK's hidden context.
    async fn sdk_hidden_context_to_input(
        &self,
        item: &SdkHiddenContextItem,
    ) -> Result<Vec<Value>, ConversionError> {
        Ok(vec![hidden(&item.content)])
    }

    /// A generated image (nothing while it has no image).
    async fn generated_image_to_input(
        &self,
        item: &GeneratedImageItem,
    ) -> Result<Vec<Value>, ConversionError> {
        Ok(item
            .image
            .iter()
            .map(|image| {
                json!({"type": "message", "role": "user", "content": [
                    {"type": "input_text", "text": "The following image was generated by the agent."},
                    {"type": "input_image", "detail": "auto", "image_url": image.url},
                ]})
            })
            .collect())
    }

    /// Converts items in order; the last one is "the last message" for quoted text.
    async fn to_agent_input(&self, items: &[ThreadItem]) -> Result<Vec<Value>, ConversionError> {
        let mut input = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let is_last = index + 1 == items.len();
            input.extend(item_to_input(self, item, is_last).await?);
        }
        Ok(input)
    }
}

/// One item through the converter method for its kind.
pub(crate) async fn item_to_input<T: ThreadItemConverter + ?Sized>(
    converter: &T,
    item: &ThreadItem,
    is_last: bool,
) -> Result<Vec<Value>, ConversionError> {
    match item {
        ThreadItem::UserMessage(i) => converter.user_message_to_input(i, is_last).await,
        ThreadItem::AssistantMessage(i) => converter.assistant_message_to_input(i).await,
        ThreadItem::ClientToolCall(i) => converter.client_tool_call_to_input(i).await,
        ThreadItem::Widget(i) => converter.widget_to_input(i).await,
        ThreadItem::GeneratedImage(i) => converter.generated_image_to_input(i).await,
        ThreadItem::StructuredInput(i) => converter.structured_input_to_input(i).await,
        ThreadItem::Workflow(i) => converter.workflow_to_input(i).await,
        ThreadItem::Task(i) => converter.task_to_input(i).await,
        ThreadItem::HiddenContext(i) => converter.hidden_context_to_input(i).await,
        ThreadItem::SdkHiddenContext(i) => converter.sdk_hidden_context_to_input(i).await,
        ThreadItem::EndOfTurn(i) => converter.end_of_turn_to_input(i).await,
    }
}

/// The reference's conversions, with no overrides.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultThreadItemConverter;

impl ThreadItemConverter for DefaultThreadItemConverter {}

/// [`ThreadItemConverter::to_agent_input`] with the default converter.
pub async fn simple_to_agent_input(items: &[ThreadItem]) -> Result<Vec<Value>, ConversionError> {
    DefaultThreadItemConverter.to_agent_input(items).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_dumps() {
        assert_eq!(
            python_json_dumps(&json!({"foo": "bar", "n": [1, 2.5, null], "é": true})),
            r#"{"foo": "bar", "n": [1, 2.5, null], "\u00e9": true}"#
        );
    }
}
