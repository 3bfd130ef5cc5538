//! Runs that outlive their request: the seam between a response's **producer** (the
//! pipeline that drives `respond`/`action`, applies the thread's changes, persists, and
//! frames SSE) and its **delivery** (what an HTTP response reads).
//!
//! Under [`DisconnectPolicy::Cancel`] (the default, the reference's behaviour) the two
//! are one stream: the request reads the pipeline directly, and a client that goes away
//! cancels the answer (its text so far and a hidden note are saved). No log is kept.
//!
//! Under [`DisconnectPolicy::Detach`] the producer runs in a task of its own and writes
//! numbered frames to the run's log (in this process, in memory); the request's stream
//! is one reader of that log. A client that goes away stops reading, not the run: its
//! items are saved exactly as if the client had stayed. Every frame then carries an SSE
//! `id:` line, `id: <run id>.<n>`, and any client can join the run from such an id with
//! [`resume`](crate::server::resume) (the HTTP endpoint serves it at `GET <path>/runs/events` with the
//! `Last-Event-ID` header, or `?after=<id>`), replaying what it missed and then
//! following live. The log stays for [`RunRetention::ttl`] after the run ends (within
//! [`ENDED_LOGS_BUDGET`]). With a [`RunLogBackend`] (`ChatKitServer::run_log`, e.g.
//! `RedisRunLog`), the frames are also forwarded there in batches, and a client joins
//! the run on any replica.
//!
//! Under either policy a run holds its thread's lease in the store
//! ([`ActiveRun`](crate::store::ActiveRun), configured by [`RunLeases`]): one run per
//! thread on every replica sharing the store (a second message gets
//! [`THREAD_BUSY_MESSAGE`](crate::server::THREAD_BUSY_MESSAGE)), a stop from any replica
//! ([`cancel_run`](crate::server::cancel_run)), and a run whose process died closed as a
//! cancelled stream by the next request on its thread once its lease runs out (at once
//! on a restart of the same [`RunLeases::replica`]).
//!
//! A draining `http::Server` waits for detached runs as for
//! open responses, and cancels the ones still running at its deadline through the
//! normal cancel path. Serving with something else, do the same with [`runs_ended`],
//! [`cancel_runs`] and [`cancelled_streams_saved`](crate::server::cancelled_streams_saved).

mod backend;
mod lease;
mod log;
#[cfg(feature = "redis")]
mod redis;
mod registry;
mod remote;

use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;

pub use backend::{LogRead, RunBounds, RunLogBackend, RunLogError, RunLogReader};
pub(crate) use lease::{claim, is_abandoned, new_run_id, stop_local, Claim, Lease, Stop};
#[cfg(feature = "redis")]
pub use redis::RedisRunLog;
pub use registry::{active_runs, cancel_runs, runs_ended, ENDED_LOGS_BUDGET};
pub use remote::LOG_UNAVAILABLE_MESSAGE;
pub(crate) use remote::{join_remote, RemoteJoined};

/// What a client going away mid-answer does to the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectPolicy {
    /// The answer is cancelled, as in the reference: the pipeline's cancel path saves
    /// the assistant text so far and a hidden note for the model. The stock client's
    /// stop button closes the stream, so it stops the answer.
    #[default]
    Cancel,
    /// The answer goes on to its end and is saved as if the client had stayed; the
    /// stream's frames carry `id:` lines, and a client rejoins with [`resume`](crate::server::resume). The
    /// stock client's stop button only stops reading: the answer goes on.
    Detach(RunRetention),
}

impl DisconnectPolicy {
    /// [`DisconnectPolicy::Detach`] with the default [`RunRetention`].
    pub fn detach() -> Self {
        DisconnectPolicy::Detach(RunRetention::default())
    }
}

/// How long and how much of a detached run's log is kept for readers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunRetention {
    /// How long the log stays after the run ends (default 5 minutes), within the
    /// process-wide [`ENDED_LOGS_BUDGET`].
    pub ttl: Duration,
    /// The most bytes of frames kept per run; past it the oldest are dropped and a
    /// reader asking for them gets [`ResumeError::Expired`] (default 16 MiB).
    pub max_bytes: usize,
}

impl Default for RunRetention {
    fn default() -> Self {
        RunRetention {
            ttl: Duration::from_secs(300),
            max_bytes: 16 << 20,
        }
    }
}

impl RunRetention {
    /// Keeps the log `ttl` after the run ends.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Keeps at most `max_bytes` of frames per run.
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

/// The default [`RunLeases::ttl`]: 20 seconds.
pub const DEFAULT_RUN_LEASE_TTL: Duration = Duration::from_secs(20);

/// How a server's runs hold their threads (see
/// `ChatKitServer::run_leases`): one run at a time per thread, across every replica
/// sharing the store, and runs whose process died closed by the next one to claim the
/// thread.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunLeases {
    /// How long a run's lease lasts without renewal (renewed every quarter of it): how
    /// long after a process dies its runs are closed at the latest. Default 20 s.
    pub ttl: Duration,
    /// This replica's name, stable across its restarts and unique among the replicas
    /// running at once (a pod or host name, say). With it, a restarted replica closes
    /// the runs its earlier start left at once instead of after `ttl`. Default none.
    pub replica: Option<String>,
}

impl Default for RunLeases {
    fn default() -> Self {
        RunLeases {
            ttl: DEFAULT_RUN_LEASE_TTL,
            replica: None,
        }
    }
}

impl RunLeases {
    /// Leases that last `ttl` without renewal.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(100));
        self
    }

    /// This replica's stable name.
    pub fn replica(mut self, replica: impl Into<String>) -> Self {
        self.replica = Some(replica.into());
        self
    }
}

/// Why a run cannot be joined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// The cursor is not an event id this server wrote (`<run id>.<n>`).
    #[error("not an event id of a run: {0:?}")]
    BadCursor(String),
    /// No run by that id here: never was, or its log was dropped after its
    /// [`RunRetention::ttl`], or it belongs to a thread this user cannot see.
    #[error("no such run: {0}")]
    UnknownRun(String),
    /// The events after the cursor were dropped ([`RunRetention::max_bytes`]): reload
    /// the thread instead.
    #[error("the run's events after {0} are no longer kept; reload the thread")]
    Expired(String),
    /// The cursor names an event the run has not produced.
    #[error("the run has produced no event {0} yet")]
    FromTheFuture(String),
    /// The run is produced by another replica and the [`RunLogBackend`] that would
    /// carry its events failed.
    #[error("the event log of run {0} is unavailable")]
    LogUnavailable(String),
}

impl ResumeError {
    /// The HTTP status for this error: 400, 404, 410 or 503.
    pub fn status(&self) -> u16 {
        match self {
            ResumeError::BadCursor(_) | ResumeError::FromTheFuture(_) => 400,
            ResumeError::UnknownRun(_) => 404,
            ResumeError::Expired(_) => 410,
            ResumeError::LogUnavailable(_) => 503,
        }
    }

    /// A short machine-readable name for the error body.
    pub fn code(&self) -> &'static str {
        match self {
            ResumeError::BadCursor(_) => "bad_cursor",
            ResumeError::UnknownRun(_) => "run_not_found",
            ResumeError::Expired(_) => "run_expired",
            ResumeError::FromTheFuture(_) => "cursor_from_the_future",
            ResumeError::LogUnavailable(_) => "run_log_unavailable",
        }
    }
}

/// What a reader of a run gets, before its stream ends, when it read so slowly that
/// the events it had not read yet were dropped ([`RunRetention::max_bytes`]).
pub const READER_BEHIND_MESSAGE: &str =
    "This answer streamed faster than it was read, and its oldest events are gone. Reload the thread to see it.";

/// The SSE frame of an error event for a run's reader (not part of the run's log: no
/// `id:` line).
pub(crate) fn error_frame(message: &str) -> Bytes {
    let event =
        crate::types::ThreadStreamEvent::Error(crate::types::ErrorEvent::custom(message, true));
    let mut frame = b"data: ".to_vec();
    // A plain event always serializes.
    let _ = serde_json::to_writer(&mut frame, &event);
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

/// A run's id and a position in it, from an event id `<run id>.<n>`.
pub(crate) fn parse_cursor(cursor: &str) -> Result<(&str, u64), ResumeError> {
    let bad = || ResumeError::BadCursor(crate::text::shorten(cursor, 80));
    let (run_id, seq) = cursor.trim().rsplit_once('.').ok_or_else(bad)?;
    let valid_id = run_id.len() <= 64
        && run_id.starts_with("run_")
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_id || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok((run_id, seq.parse().map_err(|_| bad())?))
}

/// Starts `frames` (a response's SSE frames) as the detached run `run_id` of
/// `thread_id`, copied to `backend` if there is one: a reader of it from its first
/// frame.
pub(crate) fn detach(
    frames: BoxStream<'static, Bytes>,
    (thread_id, run_id): (String, String),
    retention: RunRetention,
    backend: Option<std::sync::Arc<dyn RunLogBackend>>,
) -> BoxStream<'static, Bytes> {
    registry::start(frames, thread_id, run_id, retention, backend)
}

/// A joined run: its id, its thread (to check the reader may see it) and its frames from the
/// cursor on.
#[derive(Debug)]
pub(crate) struct Joined {
    pub(crate) run_id: String,
    pub(crate) thread_id: String,
    log: std::sync::Arc<log::RunLog>,
    after: u64,
}

impl Joined {
    /// The frames after the cursor, then the live ones until the run ends.
    pub(crate) fn frames(self) -> BoxStream<'static, Bytes> {
        Box::pin(self.log.follow(self.after))
    }
}

/// Finds the run an event id names (`<run id>.<n>`), checking the cursor.
pub(crate) fn join(cursor: &str) -> Result<Joined, ResumeError> {
    let (run_id, after) = parse_cursor(cursor)?;
    let log = registry::find(run_id).ok_or_else(|| ResumeError::UnknownRun(run_id.to_owned()))?;
    match log.start(after) {
        log::Start::After(after) => Ok(Joined {
            run_id: run_id.to_owned(),
            thread_id: log.thread_id.clone(),
            log,
            after,
        }),
        log::Start::Dropped => Err(ResumeError::Expired(cursor.to_owned())),
        log::Start::Future => Err(ResumeError::FromTheFuture(cursor.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_run_ids_and_numbers() {
        assert_eq!(parse_cursor("run_ab12.7"), Ok(("run_ab12", 7)));
        assert_eq!(parse_cursor(" run_x-y.0 "), Ok(("run_x-y", 0)));
        for bad in [
            "",
            "7",
            "run_a.",
            "run_a.x",
            "thr_a.1",
            "run_a.-1",
            "run_a.99999999999999999999999",
            "run_a b.1",
            "../run_a.1",
        ] {
            assert!(
                matches!(parse_cursor(bad), Err(ResumeError::BadCursor(_))),
                "{bad:?}"
            );
        }
    }
}
