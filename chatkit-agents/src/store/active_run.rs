//! [`ActiveRun`]: the lease a running answer holds on its thread, as stores keep it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A thread's active run as a store keeps it: the lease that makes a thread answer one
/// message at a time, across replicas, and lets another process close the run when its
/// producer is gone.
///
/// A thread has at most one. The producer claims it before the run starts
/// ([`Store::claim_active_run`](super::Store::claim_active_run)), renews it while the
/// run goes on (moving [`expires_at_ms`](Self::expires_at_ms) forward and recording
/// the items it is writing), and releases it when the run has ended and been saved. A
/// lease whose time has passed belongs to a producer that is gone (killed, crashed, cut
/// off from the store): whoever next claims the thread takes it over and closes that run
/// as a cancelled stream is closed.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use chatkit_agents::store::ActiveRun;
///
/// let run = ActiveRun::new("run_1", "replica-a", SystemTime::now() + Duration::from_secs(20));
/// assert!(!run.expired_at(SystemTime::now()));
/// assert!(run.expired_at(SystemTime::now() + Duration::from_secs(21)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActiveRun {
    /// The run (`run_<hex>`); event ids of a detached run start with it.
    pub run_id: String,
    /// The process producing it (for logs and for telling runs of this process).
    pub owner: String,
    /// Until when the producer is trusted to be alive: unix milliseconds.
    pub expires_at_ms: u64,
    /// The items the run has saved while they stream (checkpoints) and not finished:
    /// what closing an abandoned run must settle.
    #[serde(default)]
    pub pending: Vec<String>,
    /// The run goes on without its client (`DisconnectPolicy::Detach`): a client that
    /// loads the thread meanwhile is shown it as locked.
    #[serde(default)]
    pub detached: bool,
    /// Someone asked the run to stop ([`Store::cancel_active_run`](super::Store::cancel_active_run));
    /// its producer stops at its next renewal. Kept apart from the rest: a renewal
    /// never clears it.
    #[serde(skip)]
    pub cancel_requested: bool,
}

impl ActiveRun {
    /// A lease on a run by `owner` until `expires_at`, with nothing pending.
    pub fn new(
        run_id: impl Into<String>,
        owner: impl Into<String>,
        expires_at: SystemTime,
    ) -> Self {
        ActiveRun {
            run_id: run_id.into(),
            owner: owner.into(),
            expires_at_ms: unix_ms(expires_at),
            pending: Vec::new(),
            detached: false,
            cancel_requested: false,
        }
    }

    /// Whether the lease has run out at `now`: its producer is presumed gone.
    pub fn expired_at(&self, now: SystemTime) -> bool {
        unix_ms(now) >= self.expires_at_ms
    }

    /// The same lease, marked as a run that goes on without its client.
    pub fn detached(mut self, detached: bool) -> Self {
        self.detached = detached;
        self
    }

    /// The same lease, good until `expires_at`.
    pub fn until(mut self, expires_at: SystemTime) -> Self {
        self.expires_at_ms = unix_ms(expires_at);
        self
    }
}

/// Milliseconds since the unix epoch (0 before it).
pub(crate) fn unix_ms(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}
