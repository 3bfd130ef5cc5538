//! The history `AgentServer` feeds the agent: converted leniently, so that one item the
//! converter cannot handle never breaks every later turn of the thread.
//!
//! `DefaultThreadItemConverter` stays faithful to the reference (tags and attachments
//! are "not implemented" there), and a strict `to_agent_input` is tried first, so a
//! converter of yours is used exactly as written whenever it succeeds. Only when it
//! fails is the history converted item by item: a user message keeps its text (an
//! `@mention` becomes its plain `@name`, an attachment the converter cannot express is
//! left out), and any other item that fails is skipped. Each fallback is logged: as a
//! warning for the newest item, at debug level for older ones (they were warned about
//! in their own turn).

use serde_json::Value;

use super::to_model_input::{item_to_input, ConversionError, ThreadItemConverter};
use crate::types::{ThreadItem, UserMessageContent, UserMessageItem, UserMessageTextContent};

/// `items` as model input, never failing; see the module docs.
pub(crate) async fn convert_history(
    converter: &dyn ThreadItemConverter,
    items: &[ThreadItem],
    thread_id: &str,
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
                        converter
                            .user_message_to_input(&plain(message), is_last)
                            .await
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
        "converted without its tags and attachments"
    } else {
        "left out of the model input"
    };
    if newest {
        tracing::warn!(thread_id, item_id = item.id(), %error, "thread item {what}");
    } else {
        tracing::debug!(thread_id, item_id = item.id(), %error, "thread item {what}");
    }
}
