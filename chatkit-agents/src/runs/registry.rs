//! The detached runs of this process: their logs (kept until their retention's TTL
//! after they end) and the tasks that produce them.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use tokio::task::AbortHandle;

use super::log::RunLog;
use super::{RunLogBackend, RunRetention};
use crate::locks::lock;
use crate::tally::{Counted, Tally};

#[derive(Default)]
struct Registry {
    logs: HashMap<String, Arc<RunLog>>,
    /// The producers still running, to cancel them when the server stops.
    producers: HashMap<String, AbortHandle>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);
/// The producers running.
static PRODUCERS: Tally = Tally::new();
/// The copies of runs' frames to a [`RunLogBackend`] still under way.
static FORWARDS: Tally = Tally::new();

/// Spawns the producer of the run `run_id` over `frames`; a reader from its start.
pub(super) fn start(
    mut frames: BoxStream<'static, Bytes>,
    thread_id: String,
    run_id: String,
    retention: RunRetention,
    backend: Option<Arc<dyn RunLogBackend>>,
) -> BoxStream<'static, Bytes> {
    let log = Arc::new(RunLog::new(run_id.clone(), thread_id, &retention));
    let reader = log.follow(0);
    lock(&REGISTRY).logs.insert(run_id.clone(), log.clone());
    if let Some(backend) = backend {
        // Counted: a draining server waits for the log's end mark too.
        let counted = FORWARDS.enter();
        let (log, retention) = (log.clone(), retention.clone());
        tokio::spawn(async move {
            let _counted = counted;
            super::remote::forward(backend, log, retention).await;
        });
    }
    let ended = Ended {
        log: log.clone(),
        ttl: retention.ttl,
        _counted: PRODUCERS.enter(),
    };
    let producer = tokio::spawn(async move {
        // Dropped when the run ends, or when it is cancelled (the task aborted): the
        // frames' stream goes with it, which runs the pipeline's cancel path.
        let _ended = ended;
        while let Some(frame) = frames.next().await {
            log.push(&frame);
        }
    });
    let mut registry = lock(&REGISTRY);
    // A run that already ended (in its first poll) left nothing to cancel.
    if !log_ended(&run_id, &registry) {
        registry
            .producers
            .insert(run_id.clone(), producer.abort_handle());
    }
    Box::pin(reader)
}

fn log_ended(run_id: &str, registry: &Registry) -> bool {
    registry.logs.get(run_id).is_none_or(|log| log.ended())
}

/// Ends a run's log when its producer stops, and drops the log after the TTL.
struct Ended {
    log: Arc<RunLog>,
    ttl: std::time::Duration,
    /// Counts the producer until its log is ended (fields drop after `drop`).
    _counted: Counted,
}

impl Drop for Ended {
    fn drop(&mut self) {
        self.log.end();
        let run_id = self.log.run_id.clone();
        lock(&REGISTRY).producers.remove(&run_id);
        let ttl = self.ttl;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(ttl).await;
                    lock(&REGISTRY).logs.remove(&run_id);
                });
            }
            Err(_) => {
                lock(&REGISTRY).logs.remove(&run_id);
            }
        }
    }
}

/// The log of a run, if this process has it.
pub(super) fn find(run_id: &str) -> Option<Arc<RunLog>> {
    lock(&REGISTRY).logs.get(run_id).cloned()
}

/// How many detached runs of this process are still producing.
pub fn active_runs() -> usize {
    PRODUCERS.count()
}

/// Resolves once no detached run of this process is producing, and what they produced
/// is in their [`RunLogBackend`], if they have one.
pub async fn runs_ended() {
    PRODUCERS.zero().await;
    FORWARDS.zero().await;
}

/// Cancels every detached run of this process still producing: each one's pipeline
/// takes its cancel path (its text so far and the hidden note saved, see
/// [`cancelled_streams_saved`](crate::server::cancelled_streams_saved)).
pub fn cancel_runs() {
    let producers: Vec<AbortHandle> = lock(&REGISTRY).producers.values().cloned().collect();
    for producer in producers {
        producer.abort();
    }
}
