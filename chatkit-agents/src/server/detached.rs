//! Runs without a request of their own: [`start_run`] (server code starts an answer) and
//! [`resume`] (a client joins a detached run, on this replica or, through the
//! [`RunLogBackend`](crate::runs::RunLogBackend), on another).

use std::sync::Arc;
use std::time::SystemTime;

use futures::future::BoxFuture;

use super::{
    active_runs, pipeline, ChatKitServer, EventStream, ProcessError, StreamingResult, ThreadHandle,
};
use crate::runs::{ResumeError, RunRetention};
use crate::store::StoreError;
use crate::telemetry::metrics::RequestMeter;

/// Starts an answer into an existing thread with no request attached (a webhook, a
/// schedule, a follow-up): `events` gets the thread's handle and runs through the same
/// pipeline as [`ChatKitServer::respond`] (thread changes applied, items saved,
/// checkpoints), as a detached run kept under `retention`. Any client of the thread's
/// user joins it with [`resume`] from `<run id>.0` (all of it) or a later event id.
/// Returns the run id.
///
/// The thread must be one `context` may load (404 otherwise) and not answering
/// already ([`ProcessError::ThreadBusy`], 409, when another run holds it; see
/// [`ChatKitServer::run_leases`]). Nothing stops it if no client ever reads it but
/// [`cancel_run`](super::cancel_run); a draining `http::Server` waits for it
/// as for any detached run.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::runs::RunRetention;
/// use chatkit_agents::server::{respond_with, start_run, resume};
/// use chatkit_agents::store::{MemoryStore, Store};
/// use chatkit_agents::types::*;
/// use futures::StreamExt;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Arc::new(MemoryStore::new());
/// store.save_thread(&ThreadMetadata::new("thr_1", Timestamp::now()), &()).await.unwrap();
/// let server = Arc::new(respond_with(store.clone(), |_, _, _: ()| Box::pin(futures::stream::empty())));
///
/// // A webhook says the report is ready: tell the thread.
/// let run = start_run(&server, "thr_1", (), RunRetention::default(), |thread| {
///     let item = AssistantMessageItem {
///         id: "msg_report".into(),
///         thread_id: thread.id().to_owned(),
///         created_at: Timestamp::now(),
///         content: vec![AssistantMessageContent::new("Your report is ready.")],
///     };
///     Box::pin(futures::stream::iter([Ok(ThreadStreamEvent::item_done(item))]))
/// })
/// .await
/// .unwrap();
///
/// let events: Vec<_> = resume(&server, &format!("{run}.0"), ()).await.unwrap().into_events().collect().await;
/// assert!(matches!(events.last(), Some(ThreadStreamEvent::ThreadItemDone { .. })));
/// assert_eq!(store.load_item("thr_1", "msg_report", &()).await.unwrap().id(), "msg_report");
/// # });
/// ```
pub async fn start_run<S: ChatKitServer>(
    server: &Arc<S>,
    thread_id: &str,
    context: S::Context,
    retention: RunRetention,
    events: impl FnOnce(ThreadHandle) -> EventStream + Send + 'static,
) -> Result<String, ProcessError> {
    let thread = server.store().load_thread(thread_id, &context).await?;
    let run_id = crate::runs::new_run_id();
    let lease = match active_runs::begin_run(server, &thread, &run_id, true, &context).await {
        Ok(lease) => lease,
        Err(active_runs::NotStarted::Busy(held)) => {
            return Err(ProcessError::ThreadBusy {
                thread_id: thread_id.to_owned(),
                run_id: held.run_id,
            })
        }
        Err(active_runs::NotStarted::Store(error)) => return Err(error.into()),
    };
    let handle = ThreadHandle::new(thread);
    let for_events = handle.clone();
    let span = tracing::info_span!("chatkit_run", thread_id, run_id, started_by = "server");
    let events = pipeline::process_events(server.clone(), handle, context, lease, move || {
        events(for_events)
    });
    let frames = StreamingResult::new(events).in_span(span, RequestMeter::start("runs.start"));
    let reader = crate::runs::detach(
        Box::pin(frames),
        (thread_id.to_owned(), run_id.clone()),
        retention,
        server.run_log(),
    );
    // Nobody reads it here: the log keeps its frames for whoever joins.
    drop(reader);
    Ok(run_id)
}

/// Joins a detached run from an event id (`<run id>.<n>`: what a detached run's `id:`
/// lines say, and what a browser's `EventSource` sends back as `Last-Event-ID`): the
/// run's events after it, then the live ones until the run ends. The run's thread must
/// be one `context` may load, as for every other request; a run of a thread it cannot
/// see is unknown (404).
///
/// ```
/// # use std::sync::Arc;
/// # use chatkit_agents::server::{respond_with, resume};
/// # use chatkit_agents::store::MemoryStore;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = Arc::new(respond_with(Arc::new(MemoryStore::new()), |_, _, _: ()| {
///     Box::pin(futures::stream::empty())
/// }));
/// let error = resume(&server, "run_0123.4", ()).await.unwrap_err();
/// assert_eq!(error.status(), 404);
/// # });
/// ```
pub async fn resume<S: ChatKitServer>(
    server: &Arc<S>,
    last_event_id: &str,
    context: S::Context,
) -> Result<StreamingResult, ProcessError> {
    match crate::runs::join(last_event_id) {
        Ok(joined) => {
            visible(server, &joined.thread_id, &joined.run_id, &context).await?;
            Ok(StreamingResult::of_run(joined.frames()))
        }
        // Not a run of this process: another replica's, through the shared log.
        Err(ResumeError::UnknownRun(run_id)) => match server.run_log() {
            None => Err(ResumeError::UnknownRun(run_id).into()),
            Some(backend) => {
                let joined = crate::runs::join_remote(&*backend, last_event_id).await?;
                visible(server, &joined.thread_id, &joined.run_id, &context).await?;
                let running = still_running(server, &joined, context);
                Ok(StreamingResult::of_run(joined.frames(running)))
            }
        },
        Err(error) => Err(error.into()),
    }
}

/// Whether `context` may see the run's thread; a thread it cannot see makes the run
/// unknown (404), as if it did not exist.
async fn visible<S: ChatKitServer>(
    server: &Arc<S>,
    thread_id: &str,
    run_id: &str,
    context: &S::Context,
) -> Result<(), ProcessError> {
    match server.store().load_thread(thread_id, context).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(ResumeError::UnknownRun(run_id.to_owned()).into()),
        Err(error) => Err(error.into()),
    }
}

/// Whether another replica's run is still going, from its thread's lease: a reader
/// that hears nothing for a while asks, since a run whose process died never writes
/// its end. Without leases it is taken as going (the log's own expiry ends it).
fn still_running<S: ChatKitServer>(
    server: &Arc<S>,
    joined: &crate::runs::RemoteJoined,
    context: S::Context,
) -> impl Fn() -> BoxFuture<'static, bool> + Send + 'static {
    let store = server.store();
    let (thread_id, run_id) = (joined.thread_id.clone(), joined.run_id.clone());
    move || {
        let (store, thread_id, run_id, context) = (
            store.clone(),
            thread_id.clone(),
            run_id.clone(),
            context.clone(),
        );
        Box::pin(async move {
            match store.load_active_run(&thread_id, &context).await {
                Ok(Some(held)) => held.run_id == run_id && !held.expired_at(SystemTime::now()),
                Ok(None) => false,
                Err(_) => true,
            }
        })
    }
}
