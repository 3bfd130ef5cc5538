//! The event pipeline: persists what `respond`/`action` stream, announces thread
//! changes, maps errors to `error` events, and saves pending work when the client goes
//! away.

use std::sync::Arc;

use futures::stream::StreamExt;

use futures::stream::{AbortHandle, Abortable};

use super::active_runs::save_cancelled;
use super::pending::Pending;
use super::result::Events;
use super::usage::{save_usage, USAGE_METADATA_KEY};
use super::{ChatKitServer, EventStream, ThreadHandle};
use crate::runs::{Lease, Stop};
use crate::store::{RecordKind, Store, StoreError};
use crate::types::{
    Annotation, AssistantMessageContent, SdkHiddenContextItem, StoreItemType, Task, Thread,
    ThreadItem, ThreadItemUpdate, ThreadMetadata, ThreadStreamEvent, Timestamp,
};

/// The note saved when a client cancels a stream, for the model's next turn.
pub const CANCELLED_NOTE: &str =
    "The user cancelled the stream. Stop responding to the prior request.";

/// The thread as clients see it: server-side metadata replaced by `{}` (but for the
/// token totals, with `show_usage`) and hidden items removed.
pub(crate) fn thread_response(
    thread: &ThreadMetadata,
    mut items: crate::types::Page<ThreadItem>,
    show_usage: bool,
) -> Thread {
    items.data.retain(|item| !item.is_hidden());
    let mut meta = thread.clone();
    let usage = match show_usage {
        true => meta.metadata.remove(USAGE_METADATA_KEY),
        false => None,
    };
    meta.metadata.clear();
    if let Some(usage) = usage {
        meta.metadata.insert(USAGE_METADATA_KEY.into(), usage);
    }
    Thread { meta, items }
}

/// Runs the reference's `_process_events` over the events `start` returns. `start` (the
/// call to `respond` or `action`) runs after the thread's snapshot is taken: like the
/// reference's generators, whose bodies only run once iterated, a change made before the
/// first event is still announced.
pub(crate) fn process_events<S: ChatKitServer>(
    server: Arc<S>,
    thread: ThreadHandle,
    ctx: S::Context,
    mut lease: Option<Lease<S::Context>>,
    start: impl FnOnce() -> EventStream + Send + 'static,
) -> Events {
    // Boxed, so that it leaves no room in this stream's state once called.
    let start = Box::new(start);
    async_stream::stream! {
        let store = server.store();
        let mut last = Box::new(thread.snapshot());
        let mut last_version = thread.version();
        yield Box::new(ThreadStreamEvent::StreamOptions { stream_options: server.get_stream_options(&last, &ctx) });

        // From here until the events end, dropping this stream (a client disconnect)
        // makes the guard hand the pending items to `handle_stream_cancelled`.
        // The lease stops the events when the run is cancelled from elsewhere or lost.
        let stop = lease.as_mut().and_then(Lease::registration).unwrap_or_else(|| AbortHandle::new_pair().1);
        let mut guard = CancelGuard::<S> {
            server: Some(server.clone()),
            thread: thread.clone(),
            ctx: ctx.clone(),
            pending: Pending::new(server.checkpoint_interval()),
            lease,
        };
        let mut events = Abortable::new(start(), stop);
        while let Some(next) = events.next().await {
            // A response made in memory never waits, so without this one long stream
            // would hold its worker until done while other requests wait for their
            // first event; this yields once Tokio's cooperative budget runs out.
            tokio::task::consume_budget().await;
            let event = match next {
                Ok(event) => event,
                Err(error) if error.downcast_ref::<StoreError>().is_some_and(thread_deleted) => {
                    tracing::info!(thread_id = thread.id(), "thread deleted while its answer streamed; stream ended");
                    guard.disarm();
                    break;
                }
                Err(error) => {
                    // Logged once, here, with its causes. A message meant for the user
                    // (`StreamError::custom` / `code`) is deliberate: not a server error.
                    if error.is_internal() {
                        tracing::error!(thread_id = thread.id(), error = %error.with_causes(), "streamed response failed; the client got stream.error");
                    } else {
                        tracing::info!(thread_id = thread.id(), error = %error, "streamed response ended with an error event for the user");
                    }
                    yield Box::new(ThreadStreamEvent::Error(error.to_event()));
                    break;
                }
            };
            let mut persisted = match &event {
                // Most events of an answer: applied here, with no store call and no
                // future to set up (this costs per text delta).
                ThreadStreamEvent::ThreadItemUpdated { item_id, update } => {
                    if let Some(item) = guard.pending.get_mut(item_id) {
                        apply_update(item, update);
                    }
                    Ok(())
                }
                // The store steps are boxed here and below: inline, each would keep its
                // room in this stream's state for the whole answer.
                _ => Box::pin(persist(&*store, &thread, &ctx, &event, &mut guard.pending, guard.lease.as_ref())).await,
            };
            if persisted.is_ok() && guard.pending.checkpoint_due() {
                persisted = Box::pin(guard.pending.checkpoint(&*store, thread.id(), &ctx)).await;
            }
            if let Err(error) = persisted {
                if thread_deleted(&error) {
                    // Deleted by another request while this answer streamed: nothing of
                    // it may be saved any more, and there is nothing to report.
                    tracing::info!(thread_id = thread.id(), "thread deleted while its answer streamed; stream ended");
                    guard.disarm();
                    break;
                }
                tracing::error!(thread_id = thread.id(), %error, "store failed while streaming");
                yield Box::new(ThreadStreamEvent::Error(crate::types::ErrorEvent::stream_error(true)));
                break;
            }
            let hidden = matches!(&event, ThreadStreamEvent::ThreadItemDone { item } if item.is_hidden());
            if !hidden {
                yield Box::new(event);
            }
            match thread_changed(&thread, &mut last, &mut last_version) {
                None => {}
                Some(changed) => match Box::pin(save_thread_change(&*server, &*store, changed, &ctx)).await {
                    Ok(updated) => yield updated,
                    Err(error) if thread_deleted(&error) => {
                        tracing::info!(thread_id = thread.id(), "thread deleted while its answer streamed; stream ended");
                        guard.disarm();
                        break;
                    }
                    Err(error) => {
                        tracing::error!(thread_id = thread.id(), %error, "saving the thread failed");
                        yield Box::new(ThreadStreamEvent::Error(crate::types::ErrorEvent::stream_error(true)));
                        break;
                    }
                },
            }
        }
        drop(events);
        match guard.lease.as_ref().and_then(Lease::stopped) {
            // Cancelled (on request, from any replica): the guard, still armed, takes
            // the cancel path as it ends with the stream.
            Some(Stop::Cancel) => return,
            // Another process closes this run (its lease ran out and was taken over):
            // nothing more is written here.
            Some(Stop::Lost) => {
                guard.disarm();
                guard.lease = None;
                Box::pin(save_usage(&*server, &thread, &ctx)).await;
                return;
            }
            None => {}
        }
        guard.disarm();
        // Counted in the thread's metadata (when shown) before the last comparison, so
        // the client gets the totals with the final `thread.updated`.
        Box::pin(save_usage(&*server, &thread, &ctx)).await;
        if let Some(lease) = &guard.lease {
            lease.closing();
        }
        // Items still pending when the answer ends (after an error, or never finished)
        // are not kept, as in the reference: remove what checkpoints saved of them.
        if let Err(error) = Box::pin(guard.pending.discard(&*store, thread.id(), &ctx)).await {
            if !thread_deleted(&error) {
                tracing::error!(thread_id = thread.id(), %error, "removing unfinished items failed");
            }
        }
        if let Some(changed) = thread_changed(&thread, &mut last, &mut last_version) {
            match Box::pin(save_thread_change(&*server, &*store, changed, &ctx)).await {
                Ok(updated) => yield updated,
                Err(error) if thread_deleted(&error) => {
                    tracing::info!(thread_id = thread.id(), "thread deleted while its answer streamed; its update is dropped");
                }
                Err(error) => tracing::error!(thread_id = thread.id(), %error, "saving the thread failed"),
            }
        }
        if let Some(lease) = guard.lease.take() {
            Box::pin(lease.release()).await;
        }
    }
    .boxed()
}

/// Saves a change of the thread's metadata: the `thread.updated` to send.
async fn save_thread_change<S: ChatKitServer>(
    server: &S,
    store: &dyn Store<S::Context>,
    changed: Box<ThreadMetadata>,
    ctx: &S::Context,
) -> Result<Box<ThreadStreamEvent>, StoreError> {
    store.update_thread(&changed, ctx).await?;
    Ok(Box::new(ThreadStreamEvent::thread_updated(
        thread_response(
            &changed,
            Default::default(),
            server.usage_in_thread_metadata(),
        ),
    )))
}

/// Whether a store error says the thread itself is gone.
pub(crate) fn thread_deleted(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::NotFound {
            kind: RecordKind::Thread,
            ..
        }
    )
}

/// The thread, if it differs from the last snapshot (which it then replaces).
fn thread_changed(
    thread: &ThreadHandle,
    last: &mut ThreadMetadata,
    last_version: &mut u64,
) -> Option<Box<ThreadMetadata>> {
    let version = thread.version();
    if version == *last_version {
        return None;
    }
    *last_version = version;
    let now = thread.snapshot();
    if now == *last {
        return None;
    }
    *last = now.clone();
    Some(Box::new(now))
}

/// Persists what `event` means for the store and tracks pending items.
async fn persist<C: Clone + Send + Sync + 'static>(
    store: &dyn Store<C>,
    thread: &ThreadHandle,
    ctx: &C,
    event: &ThreadStreamEvent,
    pending: &mut Pending,
    lease: Option<&Lease<C>>,
) -> Result<(), StoreError> {
    match event {
        ThreadStreamEvent::ThreadItemAdded { item } => {
            if let Some(ids) = pending.ids_if_saved(Some(item.id())) {
                // Named in the lease before it is first saved: a crash in between
                // leaves a name without an item, never an unfinished item unnamed.
                if let Some(lease) = lease {
                    if !lease.pending(ids).await? {
                        // The run is stopping: its items are no longer this run's to save.
                        return Ok(());
                    }
                }
            }
            pending.added(store, thread.id(), item, ctx).await?;
        }
        ThreadStreamEvent::ThreadItemDone { item } => {
            store.add_thread_item(thread.id(), item, ctx).await?;
            settled(pending, item.id(), lease).await?;
        }
        ThreadStreamEvent::ThreadItemRemoved { item_id } => {
            store.delete_thread_item(thread.id(), item_id, ctx).await?;
            settled(pending, item_id, lease).await?;
        }
        ThreadStreamEvent::ThreadItemReplaced { item } => {
            store.save_item(thread.id(), item, ctx).await?;
            settled(pending, item.id(), lease).await?;
        }
        // Updates are applied by the caller.
        _ => {}
    }
    Ok(())
}

/// An item finished (done, replaced, removed): no longer pending, nor named in the
/// lease once it was (a finished item is not for a crash's cleanup to touch).
async fn settled<C: Clone + Send + Sync + 'static>(
    pending: &mut Pending,
    id: &str,
    lease: Option<&Lease<C>>,
) -> Result<(), StoreError> {
    if !pending.remove(id) {
        return Ok(());
    }
    match (lease, pending.ids_if_saved(None)) {
        (Some(lease), Some(ids)) => lease.pending(ids).await.map(drop),
        _ => Ok(()),
    }
}

/// Applies an update to the pipeline's copy of a pending item, so that cancellation
/// saves what the client has seen.
pub(crate) fn apply_update(item: &mut ThreadItem, update: &ThreadItemUpdate) {
    match (item, update) {
        (ThreadItem::AssistantMessage(message), update) => {
            let parts = &mut message.content;
            match update {
                ThreadItemUpdate::AssistantMessageContentPartAdded {
                    content_index,
                    content,
                }
                | ThreadItemUpdate::AssistantMessageContentPartDone {
                    content_index,
                    content,
                } => {
                    *part(parts, *content_index) = content.clone();
                }
                ThreadItemUpdate::AssistantMessageContentPartTextDelta {
                    content_index,
                    delta,
                } => {
                    part(parts, *content_index).text.push_str(delta);
                }
                ThreadItemUpdate::AssistantMessageContentPartAnnotationAdded {
                    content_index,
                    annotation_index,
                    annotation,
                } => {
                    let annotations = &mut part(parts, *content_index).annotations;
                    let at = (*annotation_index).min(annotations.len());
                    annotations.insert(at, Annotation::clone(annotation));
                }
                _ => {}
            }
        }
        (ThreadItem::Workflow(workflow), ThreadItemUpdate::WorkflowTaskAdded { task, .. }) => {
            workflow.workflow.tasks.push(Task::clone(task));
        }
        (
            ThreadItem::Workflow(workflow),
            ThreadItemUpdate::WorkflowTaskUpdated { task_index, task },
        ) => {
            let tasks = &mut workflow.workflow.tasks;
            if let Some(slot) = tasks.get_mut(*task_index) {
                *slot = Task::clone(task);
            } else if *task_index == tasks.len() {
                tasks.push(Task::clone(task));
            } else {
                tracing::warn!(
                    task_index,
                    "workflow.task.updated for a task that does not exist; ignored"
                );
            }
        }
        _ => {}
    }
}

/// The content part at `index`, padding with empty parts as the reference does. Called
/// per text delta: inlined, the padding out of line.
#[inline]
fn part(parts: &mut Vec<AssistantMessageContent>, index: usize) -> &mut AssistantMessageContent {
    if parts.len() <= index {
        pad(parts, index + 1);
    }
    &mut parts[index]
}

#[cold]
fn pad(parts: &mut Vec<AssistantMessageContent>, len: usize) {
    parts.resize_with(len, AssistantMessageContent::default);
}

/// Hands pending items to `handle_stream_cancelled` when the pipeline is dropped before
/// its events end. Dropping cannot await, so the handler runs on the current Tokio
/// runtime, counted until done ([`super::cancelled_streams_saved`]).
struct CancelGuard<S: ChatKitServer> {
    server: Option<Arc<S>>,
    thread: ThreadHandle,
    ctx: S::Context,
    pending: Pending,
    /// Released once the response has ended and been saved (after the cancel path's
    /// save, when cancelled).
    lease: Option<Lease<S::Context>>,
}

impl<S: ChatKitServer> CancelGuard<S> {
    fn disarm(&mut self) {
        self.server = None;
    }
}

impl<S: ChatKitServer> Drop for CancelGuard<S> {
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        let thread = self.thread.snapshot();
        let checkpointed = self.pending.checkpoints();
        let pending = self.pending.take();
        let ctx = self.ctx.clone();
        let lease = self.lease.take();
        if let Some(lease) = &lease {
            lease.closing();
        }
        tracing::info!(thread_id = %thread.id, pending = pending.len(), "stream cancelled (the client went away, the run was stopped, or the server is stopping)");
        let handle = self.thread.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                super::cancellations::spawn_save(&runtime, async move {
                    let saved = save_cancelled(&server, thread, pending, checkpointed, &ctx).await;
                    // The tokens of the cancelled answer count too.
                    if !save_usage(&*server, &handle, &ctx).await.is_empty()
                        && server.usage_in_thread_metadata()
                    {
                        if let Err(error) =
                            server.store().update_thread(&handle.snapshot(), &ctx).await
                        {
                            if !thread_deleted(&error) {
                                tracing::warn!(thread_id = handle.id(), %error, "saving the cancelled answer's usage in the thread failed");
                            }
                        }
                    }
                    // The thread is free for another run once the cancelled one is saved.
                    if let Some(lease) = lease {
                        lease.release().await;
                    }
                    match saved {
                        Ok(()) => {}
                        Err(error) if thread_deleted(&error) => {
                            tracing::info!(
                                "stream cancelled after its thread was deleted; nothing saved"
                            );
                        }
                        Err(error) => tracing::error!(%error, "handle_stream_cancelled failed"),
                    }
                });
            }
            Err(_) => tracing::error!(
                thread_id = %thread.id,
                "stream cancelled outside a Tokio runtime; pending items were not saved"
            ),
        }
    }
}

/// The reference's default `handle_stream_cancelled`: saves every pending assistant
/// message that has text, then a hidden note telling the model the user cancelled.
pub async fn default_handle_stream_cancelled<C: Send + Sync>(
    store: &dyn Store<C>,
    thread: &ThreadMetadata,
    pending: &[ThreadItem],
    ctx: &C,
) -> Result<(), StoreError> {
    for item in pending {
        if let ThreadItem::AssistantMessage(message) = item {
            if message
                .content
                .iter()
                .any(|part| !part.text.trim().is_empty())
            {
                store.add_thread_item(&thread.id, item, ctx).await?;
            }
        }
    }
    let note = SdkHiddenContextItem {
        id: store.generate_item_id(StoreItemType::SdkHiddenContext, thread, ctx),
        thread_id: thread.id.clone(),
        created_at: Timestamp::now(),
        content: CANCELLED_NOTE.to_owned(),
    };
    store.add_thread_item(&thread.id, &note.into(), ctx).await
}
