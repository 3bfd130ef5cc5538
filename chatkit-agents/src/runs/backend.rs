//! [`RunLogBackend`]: where detached runs' events go besides the process that runs them,
//! so that a client can join a run on any replica.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

/// A run log backend failed (the server went away, a reply did not parse).
#[derive(Debug, thiserror::Error)]
#[error("run log backend: {0}")]
pub struct RunLogError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl RunLogError {
    /// An error with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        RunLogError(message.into().into())
    }
}

/// What a backend keeps of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunBounds {
    /// The thread the run answers in (a reader must be allowed to see it).
    pub thread_id: String,
    /// The first frame kept (frames before it were dropped by the retention).
    pub first: u64,
    /// The last frame written so far (0: none yet).
    pub last: u64,
    /// Whether the run has ended (no frame comes after `last`).
    pub ended: bool,
}

/// Frames read from a backend.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct LogRead {
    /// Frames after the cursor, in order, with their numbers.
    pub frames: Vec<(u64, Bytes)>,
    /// The run ended after these frames.
    pub ended: bool,
}

/// A log of detached runs' frames shared by replicas (Redis Streams with the `redis`
/// feature: `runs::RedisRunLog`). The process that runs an answer
/// keeps its log in memory for its own readers and forwards the frames here in batches;
/// a client that joins the run on another replica reads them from here.
///
/// Frames are numbered from 1 and stored as written (`id:` line included).
#[async_trait]
pub trait RunLogBackend: Send + Sync + 'static {
    /// Records a new run of `thread_id`. A run whose [`end`](Self::end) never comes
    /// (its process died) is dropped some time after its last frame: the backend's
    /// choice (a day for Redis).
    async fn start(&self, run_id: &str, thread_id: &str) -> Result<(), RunLogError>;

    /// Appends frames numbered `first`, `first + 1`, …; frames before `keep_from` may
    /// be dropped.
    async fn append(
        &self,
        run_id: &str,
        first: u64,
        frames: &[Bytes],
        keep_from: u64,
    ) -> Result<(), RunLogError>;

    /// The run ended after frame `last`; its log goes `ttl` from now.
    async fn end(&self, run_id: &str, last: u64, ttl: Duration) -> Result<(), RunLogError>;

    /// What is kept of the run; `None` when nothing is (never was, or expired).
    async fn bounds(&self, run_id: &str) -> Result<Option<RunBounds>, RunLogError>;

    /// A reader of the run (a connection of its own where reads block).
    async fn reader(&self, run_id: &str) -> Result<Box<dyn RunLogReader>, RunLogError>;
}

/// One client's reads of one run.
#[async_trait]
pub trait RunLogReader: Send {
    /// The frames after `after`, waiting up to `wait` for the first one.
    async fn read(&mut self, after: u64, wait: Duration) -> Result<LogRead, RunLogError>;
}
