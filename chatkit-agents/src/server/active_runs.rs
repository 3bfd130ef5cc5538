//! A thread's active run as requests meet it: claiming the thread before a response
//! writes anything, closing a run whose process is gone, showing a detached run to a
//! client that reloads, and stopping a run from any replica.

use std::sync::Arc;

use super::{ChatKitServer, ProcessError};
use crate::runs::{self, Claim, Lease};
use crate::store::{ActiveRun, StoreError};
use crate::types::{ErrorEvent, ThreadItem, ThreadMetadata, ThreadStatus, ThreadStreamEvent};

/// What a second message gets while a thread's run is still answering.
pub const THREAD_BUSY_MESSAGE: &str =
    "This thread is still answering an earlier message. Wait for that answer to finish, or stop it, and send again.";

/// The status a client that loads a thread sees while a detached run answers in it.
pub const RUN_ACTIVE_REASON: &str =
    "Still answering in the background. Reload the thread to see the answer when it is done.";

/// Why a response could not start on its thread.
pub(crate) enum NotStarted {
    /// Another run answers in it.
    Busy(ActiveRun),
    /// The store failed.
    Store(StoreError),
}

impl NotStarted {
    /// The error event the response sends instead.
    pub(crate) fn event(&self) -> Box<ThreadStreamEvent> {
        let error = match self {
            NotStarted::Busy(_) => ErrorEvent::custom(THREAD_BUSY_MESSAGE, true),
            NotStarted::Store(_) => ErrorEvent::stream_error(true),
        };
        Box::new(ThreadStreamEvent::Error(error))
    }

    fn log(&self, thread_id: &str) {
        match self {
            NotStarted::Busy(held) => tracing::info!(
                thread_id,
                active_run = held.run_id,
                "a second run on a thread that is still answering was refused"
            ),
            NotStarted::Store(error) => {
                tracing::error!(thread_id, %error, "claiming the thread for a run failed")
            }
        }
    }
}

/// Claims `thread` for the run `run_id` (closing the run before it if its process is
/// gone): the lease the response holds until it has ended and been saved, `None` when
/// the server or its store keeps no leases.
pub(crate) async fn begin_run<S: ChatKitServer>(
    server: &Arc<S>,
    thread: &ThreadMetadata,
    run_id: &str,
    detached: bool,
    ctx: &S::Context,
) -> Result<Option<Lease<S::Context>>, NotStarted> {
    let Some(leases) = server.run_leases() else {
        return Ok(None);
    };
    let claimed = runs::claim(server.store(), &thread.id, run_id, detached, &leases, ctx).await;
    let started = match claimed {
        Ok(Claim::NotKept) => Ok(None),
        Ok(Claim::Busy(held)) => Err(NotStarted::Busy(held)),
        Ok(Claim::Held { lease, abandoned }) => match abandoned {
            Some(run) => close_abandoned(server, thread, &run, ctx)
                .await
                .map(|()| Some(lease))
                .map_err(NotStarted::Store),
            None => Ok(Some(lease)),
        },
        Err(error) => Err(NotStarted::Store(error)),
    };
    if let Err(not_started) = &started {
        not_started.log(&thread.id);
    }
    started
}

/// Closes a run whose process is gone as the cancel path closes a cancelled stream: the
/// items it left unfinished go through `handle_stream_cancelled` (by default its text
/// so far is kept and the hidden note added).
async fn close_abandoned<S: ChatKitServer>(
    server: &Arc<S>,
    thread: &ThreadMetadata,
    run: &ActiveRun,
    ctx: &S::Context,
) -> Result<(), StoreError> {
    let store = server.store();
    let mut pending = Vec::with_capacity(run.pending.len());
    for item_id in &run.pending {
        match store.load_item(&thread.id, item_id, ctx).await {
            Ok(item) => pending.push(item),
            Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
    }
    tracing::warn!(
        thread_id = thread.id,
        run_id = run.run_id,
        owner = run.owner,
        pending = pending.len(),
        "closing a run whose process is gone (its lease ran out), as a cancelled stream"
    );
    save_cancelled(server, thread.clone(), pending, true, ctx).await
}

/// The cancel path's save: what checkpoints saved of the pending items is removed, then
/// `handle_stream_cancelled` saves what it keeps of them, as the client has seen them.
pub(crate) async fn save_cancelled<S: ChatKitServer>(
    server: &Arc<S>,
    thread: ThreadMetadata,
    pending: Vec<ThreadItem>,
    checkpointed: bool,
    ctx: &S::Context,
) -> Result<(), StoreError> {
    if checkpointed {
        let store = server.store();
        for item in &pending {
            store.delete_thread_item(&thread.id, item.id(), ctx).await?;
        }
    }
    server.handle_stream_cancelled(thread, pending, ctx).await
}

/// The thread as a client loading it sees it: `locked` with [`RUN_ACTIVE_REASON`] while
/// a detached run answers in it (an open thread only); a run whose process is gone is
/// closed first. Failing here never fails the load: the thread is shown as stored.
pub(crate) async fn show_active_run<S: ChatKitServer>(
    server: &Arc<S>,
    thread: &mut ThreadMetadata,
    ctx: &S::Context,
) {
    let Some(leases) = server.run_leases() else {
        return;
    };
    let held = match server.store().load_active_run(&thread.id, ctx).await {
        Ok(Some(held)) => held,
        Ok(None) | Err(StoreError::Unsupported(_)) => return,
        Err(error) => {
            tracing::warn!(thread_id = thread.id, %error, "loading the thread's active run failed");
            return;
        }
    };
    if runs::is_abandoned(&held, &leases) {
        settle(server, thread, ctx).await;
    } else if held.detached && thread.status == ThreadStatus::Active {
        thread.status = ThreadStatus::Locked {
            reason: Some(RUN_ACTIVE_REASON.to_owned()),
        };
    }
}

/// Closes the thread's abandoned run, if it still has one, under a lease of its own.
async fn settle<S: ChatKitServer>(server: &Arc<S>, thread: &ThreadMetadata, ctx: &S::Context) {
    if let Ok(Some(lease)) = begin_run(server, thread, &runs::new_run_id(), false, ctx).await {
        lease.release().await;
    }
}

/// Stops the run answering in `thread_id`, on whichever replica produces it: at once on
/// this one, at its next lease renewal (a quarter of [`runs::RunLeases::ttl`]) on
/// another. The run ends through the cancel path (its text so far and the hidden note
/// saved), and its readers' streams end. `false` when no run answers in the thread.
///
/// Scoped like every request: a thread this user cannot see is
/// [`ProcessError::NotFound`]. The endpoint serves it at `POST <path>/runs/cancel`.
///
/// ```
/// # use std::sync::Arc;
/// # use chatkit_agents::server::{cancel_run, ChatKitServer};
/// # async fn stop<S: ChatKitServer>(server: Arc<S>, ctx: S::Context) -> Result<(), chatkit_agents::server::ProcessError> {
/// if cancel_run(&server, "thr_123", ctx).await? {
///     println!("the answer stops and is saved as cancelled");
/// }
/// # Ok(()) }
/// ```
pub async fn cancel_run<S: ChatKitServer>(
    server: &Arc<S>,
    thread_id: &str,
    context: S::Context,
) -> Result<bool, ProcessError> {
    let store = server.store();
    let thread = store.load_thread(thread_id, &context).await?;
    let held = match store.load_active_run(thread_id, &context).await {
        Ok(Some(held)) => held,
        Ok(None) => return Ok(false),
        Err(StoreError::Unsupported(message)) => return Err(ProcessError::NotImplemented(message)),
        Err(error) => return Err(error.into()),
    };
    if server
        .run_leases()
        .is_some_and(|leases| runs::is_abandoned(&held, &leases))
    {
        settle(server, &thread, &context).await;
        return Ok(true);
    }
    if !store
        .cancel_active_run(thread_id, &held.run_id, &context)
        .await?
    {
        return Ok(false);
    }
    if runs::stop_local(&held.run_id) {
        tracing::info!(thread_id, run_id = held.run_id, "run cancelled on request");
    } else {
        tracing::info!(
            thread_id,
            run_id = held.run_id,
            owner = held.owner,
            "run asked to stop; its replica stops it at its next lease renewal"
        );
    }
    Ok(true)
}
