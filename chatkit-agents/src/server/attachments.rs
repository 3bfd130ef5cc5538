//! The server's attachment rules over any [`AttachmentStore`](crate::store::AttachmentStore)
//! (see [`crate::store`]'s attachment docs): who may use, delete and reuse what.

use std::collections::HashSet;
use std::sync::Arc;

use super::{ChatKitServer, ProcessError};
use crate::store::{AttachmentError, AttachmentStore, Store};
use crate::types::{Attachment, AttachmentCreateParams, SortOrder, ThreadItem};

fn configured<S: ChatKitServer>(
    server: &Arc<S>,
) -> Result<Arc<dyn AttachmentStore<S::Context>>, ProcessError> {
    server.attachment_store().ok_or_else(|| {
        ProcessError::NotImplemented(
            "AttachmentStore is not configured; attachments cannot be created or deleted".into(),
        )
    })
}

/// `attachments.create`: the store makes the attachment and its upload descriptor, the
/// server saves the metadata.
pub(crate) async fn create<S: ChatKitServer>(
    server: &Arc<S>,
    params: &AttachmentCreateParams,
    ctx: &S::Context,
) -> Result<Attachment, ProcessError> {
    let attachment = configured(server)?.create_attachment(params, ctx).await?;
    server.store().save_attachment(&attachment, ctx).await?;
    Ok(attachment)
}

/// `attachments.delete`: only the owner's (the store is scoped by user, so another
/// user's id is not found, and nothing of it is touched); bytes first, then metadata.
/// A message that used it keeps the attachment's name, and the model is told the file
/// is gone (as in the reference, deleting a sent file is allowed).
pub(crate) async fn delete<S: ChatKitServer>(
    server: &Arc<S>,
    attachment_id: &str,
    ctx: &S::Context,
) -> Result<(), ProcessError> {
    let attachments = configured(server)?;
    let store = server.store();
    // Loaded first: the store is scoped by user, so another user's id stops here.
    store.load_attachment(attachment_id, ctx).await?;
    attachments.delete_attachment(attachment_id, ctx).await?;
    store.delete_attachment(attachment_id, ctx).await?;
    Ok(())
}

/// The attachments a new message in `thread_id` names, loaded and checked, with their
/// thread set. Nothing is written here: the message path saves them with the message.
///
/// With an attachment store: at most [`AttachmentLimits::per_message`](crate::store::AttachmentLimits::per_message),
/// each named once, each the user's own, unused, and uploaded as its type says. Without
/// one (metadata only, bytes kept by the app) the reference's behaviour: each is loaded
/// and given the thread.
pub(crate) async fn for_message<S: ChatKitServer>(
    server: &Arc<S>,
    ids: &[String],
    thread_id: &str,
    ctx: &S::Context,
) -> Result<Vec<Attachment>, ProcessError> {
    let store = server.store();
    let checks = server.attachment_store();
    if let Some(limit) = checks
        .as_ref()
        .and_then(|a| a.limits())
        .map(|l| l.per_message())
    {
        if ids.len() > limit {
            return Err(AttachmentError::TooMany {
                limit,
                count: ids.len(),
            }
            .into());
        }
    }
    let mut seen = HashSet::with_capacity(ids.len());
    let mut attachments = Vec::with_capacity(ids.len());
    for id in ids {
        let mut attachment = store.load_attachment(id, ctx).await?;
        if let Some(checks) = &checks {
            if !seen.insert(id.as_str()) {
                return Err(AttachmentError::Invalid(format!(
                    "attachment {id} is named twice in one message"
                ))
                .into());
            }
            if let Some(used) = attachment.thread_id() {
                return Err(AttachmentError::Conflict(format!(
                    "attachment {id} is already used by a message in thread {used}; attach \
                     the file again"
                ))
                .into());
            }
            checks.verify_upload(&attachment, ctx).await?;
        }
        attachment.set_thread_id(thread_id);
        attachments.push(attachment);
    }
    Ok(attachments)
}

/// The attachments the messages of `thread_id` use (read before the thread is deleted).
pub(crate) async fn of_thread<C: Send + Sync>(
    store: &dyn Store<C>,
    thread_id: &str,
    ctx: &C,
) -> Result<Vec<String>, ProcessError> {
    const PAGE: usize = 100;
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .load_thread_items(thread_id, after.as_deref(), PAGE, SortOrder::Asc, ctx)
            .await?;
        for item in &page.data {
            if let ThreadItem::UserMessage(message) = item {
                ids.extend(message.attachments.iter().map(|a| a.id().to_owned()));
            }
        }
        match page.after {
            Some(next) if page.has_more => after = Some(next),
            _ => return Ok(ids),
        }
    }
}

/// `threads.delete` with an attachment store: the thread first (a failure after it
/// leaves unreachable bytes, never a thread whose files are gone), then each
/// attachment's bytes and metadata; a failure there is logged.
pub(crate) async fn delete_thread<S: ChatKitServer>(
    server: &Arc<S>,
    thread_id: &str,
    ctx: &S::Context,
) -> Result<(), ProcessError> {
    let store = server.store();
    let Some(attachments) = server.attachment_store() else {
        store.delete_thread(thread_id, ctx).await?;
        return Ok(());
    };
    let ids = of_thread(&*store, thread_id, ctx).await?;
    store.delete_thread(thread_id, ctx).await?;
    for id in ids {
        let deleted = match attachments.delete_attachment(&id, ctx).await {
            Ok(()) => store.delete_attachment(&id, ctx).await.map_err(Into::into),
            Err(error) => Err(error),
        };
        if let Err(error) = deleted {
            tracing::warn!(thread_id, attachment_id = %id, %error, "could not delete a deleted thread's attachment");
        }
    }
    Ok(())
}
