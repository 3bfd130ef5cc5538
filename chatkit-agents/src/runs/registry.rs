//! The detached runs of this process: their logs (kept until their retention's TTL
//! after they end, within [`ENDED_LOGS_BUDGET`]) and the tasks that produce them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex};

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use tokio::task::AbortHandle;

use super::log::RunLog;
use super::{RunLogBackend, RunRetention};
use crate::locks::lock;
use crate::tally::{Counted, Tally};

/// The most bytes of ended runs' logs this process keeps for late readers, all runs
/// together (64 MiB): past it the oldest ended logs are dropped before their TTL, and a
/// reader asking for one gets a 404 as after the TTL. Without it, the memory of a busy
/// server would grow with its request rate times the TTL (some 60 KiB a short answer,
/// five minutes long by default). Runs whose events also go to a [`RunLogBackend`]
/// drop their local log as soon as the backend has it all.
pub const ENDED_LOGS_BUDGET: usize = 64 << 20;

#[derive(Default)]
struct Registry {
    logs: HashMap<String, Arc<RunLog>>,
    /// The producers still running, to cancel them when the server stops.
    producers: HashMap<String, AbortHandle>,
    /// Ended runs' logs, oldest first, with their sizes (an entry whose log is gone
    /// already is skipped).
    ended: VecDeque<(String, usize)>,
    /// The bytes of the ended logs still kept.
    ended_bytes: usize,
}

impl Registry {
    /// Files an ended log, dropping the oldest ended ones past `budget` bytes.
    fn ended(&mut self, log: &RunLog, budget: usize) {
        let bytes = log.bytes();
        self.ended.push_back((log.run_id.clone(), bytes));
        self.ended_bytes += bytes;
        while self.ended_bytes > budget {
            let Some((run_id, _)) = self.ended.pop_front() else {
                break;
            };
            self.drop_log(&run_id);
        }
    }

    /// Drops an ended run's log (its TTL passed, the budget, or a backend has it).
    fn drop_log(&mut self, run_id: &str) {
        if let Some(log) = self.logs.remove(run_id) {
            if log.ended() {
                self.ended_bytes = self.ended_bytes.saturating_sub(log.bytes());
            }
        }
        // Entries of logs gone already, at the front: dropped with them.
        while self
            .ended
            .front()
            .is_some_and(|(run_id, _)| !self.logs.contains_key(run_id))
        {
            self.ended.pop_front();
        }
    }
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
        {
            let mut registry = lock(&REGISTRY);
            registry.producers.remove(&run_id);
            registry.ended(&self.log, ENDED_LOGS_BUDGET);
        }
        let ttl = self.ttl;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(ttl).await;
                    lock(&REGISTRY).drop_log(&run_id);
                });
            }
            Err(_) => lock(&REGISTRY).drop_log(&run_id),
        }
    }
}

/// Drops the local log of an ended run whose backend has all of it: readers join it
/// there.
pub(super) fn forwarded(run_id: &str) {
    let mut registry = lock(&REGISTRY);
    if registry.logs.get(run_id).is_some_and(|log| log.ended()) {
        registry.drop_log(run_id);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ended_log(registry: &mut Registry, run_id: &str, frames: usize) {
        let log = Arc::new(RunLog::new(
            run_id.into(),
            "thr_1".into(),
            &RunRetention::default(),
        ));
        for _ in 0..frames {
            log.push(b"data: 0123456789\n\n");
        }
        log.end();
        registry.logs.insert(run_id.into(), log.clone());
        registry.ended(&log, 100);
    }

    #[test]
    fn ended_logs_past_the_budget_go_oldest_first() {
        let mut registry = Registry::default();
        // Each frame is 30 bytes with its id line: two logs of 60 bytes exceed 100.
        ended_log(&mut registry, "run_a", 2);
        assert_eq!(registry.ended_bytes, 60);
        ended_log(&mut registry, "run_b", 2);
        assert!(!registry.logs.contains_key("run_a") && registry.logs.contains_key("run_b"));
        assert_eq!(registry.ended_bytes, 60);
        // A log dropped by its TTL leaves the bookkeeping with it.
        registry.drop_log("run_b");
        assert_eq!((registry.ended_bytes, registry.ended.len()), (0, 0));
        // One log over the budget on its own is not kept either.
        ended_log(&mut registry, "run_c", 4);
        assert!(registry.logs.is_empty() && registry.ended_bytes == 0);
    }
}
