//! Detached runs through a [`RunLogBackend`]: forwarding a run's frames from its
//! in-process log, and following a run that another replica produces.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use futures::FutureExt;

use super::backend::{RunLogBackend, RunLogError, RunLogReader};
use super::log::RunLog;
use super::{error_frame, parse_cursor, ResumeError, RunRetention, READER_BEHIND_MESSAGE};

/// Frames sent to the backend in one call, at most.
const BATCH: usize = 256;
/// How often a failed write to the backend is tried again, and how long it waits first.
const RETRIES: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::from_millis(1600),
];
/// How long a reader waits for a frame before it checks the run is still going.
const IDLE: Duration = Duration::from_secs(5);
/// How long the last read of a run found gone waits for frames still on their way.
const LAST_READ: Duration = Duration::from_secs(1);
/// What a reader of another replica's run gets when the backend fails under it.
pub const LOG_UNAVAILABLE_MESSAGE: &str =
    "The answer's event stream is unavailable right now. Reload the thread to see the answer.";

/// Calls `write` until it succeeds or the retries are spent.
async fn with_retries<F>(mut write: impl FnMut() -> F) -> Result<(), RunLogError>
where
    F: std::future::Future<Output = Result<(), RunLogError>>,
{
    let mut waits = RETRIES.iter();
    loop {
        match write().await {
            Ok(()) => return Ok(()),
            Err(error) => match waits.next() {
                Some(wait) => {
                    tracing::warn!(%error, "writing to the run log backend failed; trying again");
                    tokio::time::sleep(*wait).await;
                }
                None => return Err(error),
            },
        }
    }
}

/// Copies a run's frames from its in-process log to `backend`, in batches of what is
/// ready, and marks the end. The run itself never waits for this: a backend that fails
/// loses readers on other replicas the rest of the run, never anything the store saves.
pub(super) async fn forward(
    backend: Arc<dyn RunLogBackend>,
    log: Arc<RunLog>,
    retention: RunRetention,
) {
    let run_id = log.run_id.clone();
    let started = with_retries(|| backend.start(&run_id, &log.thread_id)).await;
    if let Err(error) = started {
        tracing::error!(run_id, %error, "the run log backend is unavailable: this run cannot be joined on other replicas");
        return;
    }
    let mut frames = log.follow(0).quiet();
    let mut next = 1u64;
    while let Some(frame) = frames.next().await {
        let mut batch = vec![frame];
        while batch.len() < BATCH {
            match frames.next().now_or_never() {
                Some(Some(frame)) => batch.push(frame),
                _ => break,
            }
        }
        let keep_from = log.first();
        let written = with_retries(|| backend.append(&run_id, next, &batch, keep_from)).await;
        if let Err(error) = written {
            tracing::error!(run_id, %error, "the run log backend failed mid-run: readers on other replicas lose the rest of this run");
            return;
        }
        next += batch.len() as u64;
    }
    if log.ended() && next == log.next_seq() {
        let last = next - 1;
        match with_retries(|| backend.end(&run_id, last, retention.ttl)).await {
            // The backend has it all: new readers join there.
            Ok(()) => super::registry::forwarded(&run_id),
            Err(error) => {
                tracing::error!(run_id, %error, "marking the run's end in the run log backend failed")
            }
        }
    }
}

/// A run joined through the backend: its thread (for the reader's scope) and a reader
/// from the cursor.
pub(crate) struct RemoteJoined {
    pub(crate) run_id: String,
    pub(crate) thread_id: String,
    after: u64,
    reader: Box<dyn RunLogReader>,
}

impl std::fmt::Debug for RemoteJoined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJoined")
            .field("run_id", &self.run_id)
            .field("after", &self.after)
            .finish_non_exhaustive()
    }
}

/// Finds the run `cursor` names in `backend`, checking the cursor against what it keeps.
pub(crate) async fn join_remote(
    backend: &dyn RunLogBackend,
    cursor: &str,
) -> Result<RemoteJoined, ResumeError> {
    let (run_id, after) = parse_cursor(cursor)?;
    let unavailable = |error: RunLogError| {
        tracing::error!(run_id, %error, "the run log backend failed");
        ResumeError::LogUnavailable(run_id.to_owned())
    };
    let bounds = backend
        .bounds(run_id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ResumeError::UnknownRun(run_id.to_owned()))?;
    if after > bounds.last {
        return Err(ResumeError::FromTheFuture(cursor.to_owned()));
    }
    if after + 1 < bounds.first {
        return Err(ResumeError::Expired(cursor.to_owned()));
    }
    let reader = backend.reader(run_id).await.map_err(unavailable)?;
    Ok(RemoteJoined {
        run_id: run_id.to_owned(),
        thread_id: bounds.thread_id,
        after,
        reader,
    })
}

impl RemoteJoined {
    /// The frames after the cursor, then the live ones until the run ends. When no frame
    /// comes for a while, `running` says whether the run is still going (its process
    /// may have died, and its end would never come). A backend that fails ends the
    /// stream with an error event ([`LOG_UNAVAILABLE_MESSAGE`]).
    pub(crate) fn frames(
        self,
        running: impl Fn() -> BoxFuture<'static, bool> + Send + 'static,
    ) -> BoxStream<'static, Bytes> {
        let RemoteJoined {
            run_id,
            mut after,
            mut reader,
            ..
        } = self;
        Box::pin(async_stream::stream! {
            // Set once the run is found gone: one last short read picks up frames
            // forwarded just after its lease was released, then the stream ends.
            let mut last_read = false;
            loop {
                let wait = if last_read { LAST_READ } else { IDLE };
                let read = match reader.read(after, wait).await {
                    Ok(read) => read,
                    Err(error) => {
                        tracing::error!(run_id, %error, "the run log backend failed under a reader");
                        yield error_frame(LOG_UNAVAILABLE_MESSAGE);
                        return;
                    }
                };
                let idle = read.frames.is_empty();
                for (seq, frame) in read.frames {
                    if seq != after + 1 {
                        // Dropped by the retention while this reader lagged: end,
                        // saying so, rather than skip.
                        tracing::warn!(run_id, after, seq, "a reader fell behind the run's retention; its stream ends");
                        yield error_frame(READER_BEHIND_MESSAGE);
                        return;
                    }
                    after = seq;
                    yield frame;
                }
                if read.ended || last_read {
                    return;
                }
                if idle && !running().await {
                    last_read = true;
                }
            }
        })
    }
}
