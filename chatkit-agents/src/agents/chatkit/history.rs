//! The history `AgentServer` feeds the agent: converted leniently, so that one item the
//! converter cannot handle never breaks every later turn of the thread.
//!
//! `DefaultThreadItemConverter` stays faithful to the reference (tags and attachments
//! are "not implemented" there), and a strict `to_agent_input` is tried first, so a
//! converter of yours is used exactly as written whenever it succeeds. Only when it
//! fails is the history converted item by item: a user message keeps its text (an
//! `@mention` becomes its plain `@name`) and its attachments (each as the converter
//! writes it, else as the attachment store's bytes, else as a note to the model that
//! names the file and why it is missing: never a silent drop), and any other item that
//! fails is skipped. Each fallback is logged: as a warning for the newest item, at
//! debug level for older ones (they were warned about in their own turn).

use serde_json::{json, Value};

use super::attachments::{note, AttachmentParts};
use super::to_model_input::{item_to_input, ConversionError, ThreadItemConverter};
use crate::types::{ThreadItem, UserMessageContent, UserMessageItem, UserMessageTextContent};

/// `items` as model input, never failing; see the module docs.
pub(crate) async fn convert_history<C: Send + Sync>(
    converter: &dyn ThreadItemConverter,
    items: &[ThreadItem],
    thread_id: &str,
    attachments: Option<&AttachmentParts<C>>,
) -> Vec<Value> {
    match converter.to_agent_input(items).await {
        Ok(input) => return input,
        Err(error) => tracing::debug!(thread_id, %error, "converting the history item by item"),
    }
    let mut input = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let is_last = index + 1 == items.len();
        let converted = match item_to_input(converter, item, is_last).await {
            Ok(converted) => Ok(converted),
            Err(error) => {
                let fallback = match item {
                    ThreadItem::UserMessage(message) => {
                        lenient_user_message(converter, message, is_last, attachments).await
                    }
                    _ => Err(error.clone()),
                };
                report(thread_id, item, is_last, &error, fallback.is_ok());
                fallback
            }
        };
        if let Ok(converted) = converted {
            input.extend(converted);
        }
    }
    input
}

/// A user message with its tags as plain text, and its attachments as the converter,
/// else the attachment store, else a note gives them.
async fn lenient_user_message<C: Send + Sync>(
    converter: &dyn ThreadItemConverter,
    message: &UserMessageItem,
    is_last: bool,
    attachments: Option<&AttachmentParts<C>>,
) -> Result<Vec<Value>, ConversionError> {
    let mut input = converter
        .user_message_to_input(&plain(message), is_last)
        .await?;
    if message.attachments.is_empty() {
        return Ok(input);
    }
    let mut parts = Vec::with_capacity(message.attachments.len());
    for attachment in &message.attachments {
        match converter.attachment_to_message_content(attachment).await {
            Ok(part) => parts.push(part),
            Err(_) => match attachments {
                Some(attachments) => parts.extend(attachments.parts(attachment).await),
                None => parts.push(note(attachment, "this server reads no attachments")),
            },
        }
    }
    match input
        .first_mut()
        .and_then(|first| first.get_mut("content"))
        .and_then(Value::as_array_mut)
    {
        Some(content) => content.extend(parts),
        None => input.insert(
            0,
            json!({"role": "user", "type": "message", "content": parts}),
        ),
    }
    Ok(input)
}

/// The message with its tags as plain text and without attachments.
fn plain(message: &UserMessageItem) -> UserMessageItem {
    let mut plain = message.clone();
    plain.attachments.clear();
    for part in &mut plain.content {
        if let UserMessageContent::Tag(tag) = part {
            *part = UserMessageContent::Text(UserMessageTextContent {
                text: format!("@{}", tag.text),
            });
        }
    }
    plain
}

fn report(thread_id: &str, item: &ThreadItem, newest: bool, error: &ConversionError, kept: bool) {
    let what = if kept {
        "converted with its tags as plain text"
    } else {
        "left out of the model input"
    };
    if newest {
        tracing::warn!(thread_id, item_id = item.id(), %error, "thread item {what}");
    } else {
        tracing::debug!(thread_id, item_id = item.id(), %error, "thread item {what}");
    }
}
