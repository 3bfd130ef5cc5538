//! Leases: one run at a time per thread, across replicas, and runs whose producer died
//! found by whoever next claims their thread.
//!
//! A response claims its thread's [`ActiveRun`] in the store before it starts, a task
//! renews it every quarter of [`RunLeases::ttl`], and the response releases it once it
//! has ended and been saved (after the cancel path's save, when cancelled). A renewal
//! that finds the run asked to stop, or its lease taken over, stops the run's events.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use futures::stream::{AbortHandle, AbortRegistration};
use tokio::sync::Notify;

use super::RunLeases;
use crate::locks::lock;
use crate::store::{ActiveRun, Store, StoreError};

/// How long a claim waits for a run of this process that is saving its end (a
/// cancelled stream whose save is under way) to let go of the thread.
const WAIT_FOR_CLOSING: Duration = Duration::from_secs(10);

/// This process as a lease owner: `<replica>#<instance>`, the instance new each start.
fn owner(leases: &RunLeases) -> String {
    static INSTANCE: LazyLock<String> = LazyLock::new(|| uuid::Uuid::new_v4().simple().to_string());
    format!("{}#{}", leases.replica.as_deref().unwrap_or(""), *INSTANCE)
}

/// A new run id, `run_<32 hex>`.
pub(crate) fn new_run_id() -> String {
    format!("run_{}", uuid::Uuid::new_v4().simple())
}

/// Why a run's events were stopped by its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Someone asked the run to stop: it ends through the cancel path.
    Cancel,
    /// The lease is no longer this run's (taken over after it expired, or the thread
    /// was deleted): the run ends without writing anything more.
    Lost,
}

const RUNNING: u8 = 0;
const CANCEL: u8 = 1;
const LOST: u8 = 2;
const CLOSING: u8 = 3;

/// What a run's producer and the process's other requests share of its lease.
#[derive(Debug)]
struct Shared {
    run: Mutex<ActiveRun>,
    /// Held across each renewal's store write, so that writes land in the order their
    /// contents were taken: a periodic renewal never overwrites newer pending ids.
    renewing: tokio::sync::Mutex<()>,
    state: AtomicU8,
    /// Ends the run's events (see [`Lease::registration`]).
    abort: AbortHandle,
    /// Woken when the lease is released.
    released: Notify,
}

impl Shared {
    fn stop(&self, why: Stop) {
        let state = match why {
            Stop::Cancel => CANCEL,
            Stop::Lost => LOST,
        };
        if self
            .state
            .compare_exchange(RUNNING, state, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.abort.abort();
        }
    }
}

/// The leases this process holds, by run id.
static HELD: LazyLock<Mutex<HashMap<String, Arc<Shared>>>> = LazyLock::new(Mutex::default);

/// Asks a run of this process to stop at once; `false` when this process does not
/// hold it.
pub(crate) fn stop_local(run_id: &str) -> bool {
    let shared = lock(&HELD).get(run_id).cloned();
    match shared {
        Some(shared) => {
            shared.stop(Stop::Cancel);
            true
        }
        None => false,
    }
}

/// The outcome of a claim.
pub(crate) enum Claim<C: Clone + Send + Sync + 'static> {
    /// The thread is the run's; `abandoned` is the run that held it before and whose
    /// producer is gone, for the caller to close.
    Held {
        lease: Lease<C>,
        abandoned: Option<ActiveRun>,
    },
    /// Another run answers in the thread.
    Busy(ActiveRun),
    /// The store keeps no leases: the run goes on without one.
    NotKept,
}

/// Claims `thread_id` for the run `run_id`.
pub(crate) async fn claim<C: Clone + Send + Sync + 'static>(
    store: Arc<dyn Store<C>>,
    thread_id: &str,
    run_id: &str,
    detached: bool,
    leases: &RunLeases,
    ctx: &C,
) -> Result<Claim<C>, StoreError> {
    let me = owner(leases);
    let mut waited = false;
    // A lost race is looked at again: the winner then shows as busy.
    for _ in 0..3 {
        let held = match store.load_active_run(thread_id, ctx).await {
            Err(StoreError::Unsupported(_)) => return Ok(Claim::NotKept),
            other => other?,
        };
        let now = SystemTime::now();
        let abandoned = match held {
            None => None,
            Some(held) if abandoned(&held, &me, leases, now) => Some(held),
            Some(held) => {
                if !waited {
                    if let Some(closing) = closing_here(&held.run_id) {
                        waited = true;
                        let released = closing.released.notified();
                        if lock(&HELD).contains_key(&held.run_id) {
                            let _ = tokio::time::timeout(WAIT_FOR_CLOSING, released).await;
                        }
                        continue;
                    }
                }
                return Ok(Claim::Busy(held));
            }
        };
        let run = ActiveRun::new(run_id, me.clone(), now + leases.ttl).detached(detached);
        let replacing = abandoned.as_ref().map(|held| held.run_id.as_str());
        if store
            .claim_active_run(thread_id, &run, replacing, ctx)
            .await?
        {
            let lease = Lease::start(store, thread_id, run, leases.ttl, ctx.clone());
            return Ok(Claim::Held { lease, abandoned });
        }
    }
    match store.load_active_run(thread_id, ctx).await? {
        Some(held) => Ok(Claim::Busy(held)),
        None => Err(StoreError::Backend(
            "the thread's lease changed hands three times while claiming it".into(),
        )),
    }
}

/// Whether `held`'s producer is gone: its lease expired, or it was held by an earlier
/// start of this replica (a restart after a crash).
fn abandoned(held: &ActiveRun, me: &str, leases: &RunLeases, now: SystemTime) -> bool {
    if held.expired_at(now) {
        return true;
    }
    match &leases.replica {
        Some(replica) => {
            held.owner != me
                && held
                    .owner
                    .rsplit_once('#')
                    .is_some_and(|(earlier, _instance)| earlier == replica)
        }
        None => false,
    }
}

/// Whether `held`'s producer is gone as of now, by the rules a claim applies.
pub(crate) fn is_abandoned(held: &ActiveRun, leases: &RunLeases) -> bool {
    abandoned(held, &owner(leases), leases, SystemTime::now())
}

/// A run of this process that has ended and is saving, if `run_id` is one.
fn closing_here(run_id: &str) -> Option<Arc<Shared>> {
    let held = lock(&HELD);
    let shared = held.get(run_id)?;
    (shared.state.load(Ordering::Acquire) != RUNNING).then(|| shared.clone())
}

/// A run's hold on its thread. Dropping it without [`release`](Self::release) stops the
/// renewals: the lease then expires and the next claimant closes the run.
pub(crate) struct Lease<C: Clone + Send + Sync + 'static> {
    thread_id: String,
    /// Released by [`Lease::release`]; otherwise dropping it releases it in a task.
    released: bool,
    shared: Arc<Shared>,
    registration: Option<AbortRegistration>,
    store: Arc<dyn Store<C>>,
    ctx: C,
    renewals: tokio::task::JoinHandle<()>,
    ttl: Duration,
}

impl<C: Clone + Send + Sync + 'static> std::fmt::Debug for Lease<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("thread_id", &self.thread_id)
            .field("run", &self.shared.run)
            .finish_non_exhaustive()
    }
}

impl<C: Clone + Send + Sync + 'static> Lease<C> {
    fn start(
        store: Arc<dyn Store<C>>,
        thread_id: &str,
        run: ActiveRun,
        ttl: Duration,
        ctx: C,
    ) -> Self {
        let (abort, registration) = AbortHandle::new_pair();
        let run_id = run.run_id.clone();
        let shared = Arc::new(Shared {
            run: Mutex::new(run),
            renewing: tokio::sync::Mutex::new(()),
            state: AtomicU8::new(RUNNING),
            abort,
            released: Notify::new(),
        });
        lock(&HELD).insert(run_id, shared.clone());
        let renewals = tokio::spawn(renew(
            store.clone(),
            thread_id.to_owned(),
            shared.clone(),
            ttl,
            ctx.clone(),
        ));
        Lease {
            thread_id: thread_id.to_owned(),
            released: false,
            shared,
            registration: Some(registration),
            store,
            ctx,
            renewals,
            ttl,
        }
    }

    /// The run's id.
    pub(crate) fn run_id(&self) -> String {
        lock(&self.shared.run).run_id.clone()
    }

    /// What ends the run's events when it must stop (taken once, by the pipeline).
    pub(crate) fn registration(&mut self) -> Option<AbortRegistration> {
        self.registration.take()
    }

    /// Why the run was stopped, if it was.
    pub(crate) fn stopped(&self) -> Option<Stop> {
        match self.shared.state.load(Ordering::Acquire) {
            CANCEL => Some(Stop::Cancel),
            LOST => Some(Stop::Lost),
            _ => None,
        }
    }

    /// The run has ended and is saving: a claim of this process waits for its release.
    pub(crate) fn closing(&self) {
        let _ = self.shared.state.compare_exchange(
            RUNNING,
            CLOSING,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Records the items the run has saved unfinished, before the first of them is
    /// saved (so a crash in between leaves an id with no item, never an item no lease
    /// names). `false` when the run must stop (asked to, or its lease lost).
    pub(crate) async fn pending(&self, ids: Vec<String>) -> Result<bool, StoreError> {
        renew_once(
            &*self.store,
            &self.thread_id,
            &self.shared,
            self.ttl,
            Some(ids),
            &self.ctx,
        )
        .await
    }

    /// Lets go of the thread (the run has ended and been saved). A lease taken over
    /// meanwhile is left to its new holder (the store releases by run id).
    pub(crate) async fn release(mut self) {
        self.released = true;
        self.renewals.abort();
        let run_id = self.run_id();
        release(&*self.store, &self.thread_id, &run_id, &self.ctx).await;
        forget(&run_id, &self.shared);
    }
}

async fn release<C: Send + Sync>(store: &dyn Store<C>, thread_id: &str, run_id: &str, ctx: &C) {
    if let Err(error) = store.release_active_run(thread_id, run_id, ctx).await {
        tracing::warn!(%error, thread_id, run_id, "releasing the run's lease failed; it expires on its own");
    }
}

impl<C: Clone + Send + Sync + 'static> Drop for Lease<C> {
    fn drop(&mut self) {
        self.renewals.abort();
        if self.released {
            return;
        }
        let run_id = self.run_id();
        // Dropped before the response started (its client went away first), or by a
        // panic: nothing was written that the lease must outlive.
        let (store, thread_id, ctx, shared) = (
            self.store.clone(),
            self.thread_id.clone(),
            self.ctx.clone(),
            self.shared.clone(),
        );
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    release(&*store, &thread_id, &run_id, &ctx).await;
                    forget(&run_id, &shared);
                });
            }
            Err(_) => forget(&run_id, &self.shared),
        }
    }
}

fn forget(run_id: &str, shared: &Arc<Shared>) {
    let mut held = lock(&HELD);
    if held.get(run_id).is_some_and(|s| Arc::ptr_eq(s, shared)) {
        held.remove(run_id);
    }
    drop(held);
    shared.released.notify_waiters();
}

/// Renews the lease every quarter of its time until the task is aborted or the lease is
/// no longer the run's. A store that fails is tried again at the next beat: the run goes
/// on, and its lease expires if the store stays away.
async fn renew<C: Send + Sync + 'static>(
    store: Arc<dyn Store<C>>,
    thread_id: String,
    shared: Arc<Shared>,
    ttl: Duration,
    ctx: C,
) {
    let every = ttl / 4;
    loop {
        tokio::time::sleep(every).await;
        // Boxed: this task lives as long as the run, the renewal only for a moment.
        match Box::pin(renew_once(&*store, &thread_id, &shared, ttl, None, &ctx)).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(thread_id, %error, "renewing the run's lease failed; trying again")
            }
        }
    }
}

/// Moves the lease `ttl` ahead (with new `pending` ids if given) in the store. `false`
/// when it was refused: the run is then stopped (asked to, or its lease lost).
async fn renew_once<C: Send + Sync>(
    store: &dyn Store<C>,
    thread_id: &str,
    shared: &Shared,
    ttl: Duration,
    pending: Option<Vec<String>>,
    ctx: &C,
) -> Result<bool, StoreError> {
    let _in_order = shared.renewing.lock().await;
    let run = {
        let mut run = lock(&shared.run);
        if let Some(pending) = pending {
            run.pending = pending;
        }
        let renewed = run.clone().until(SystemTime::now() + ttl);
        *run = renewed.clone();
        renewed
    };
    if store.renew_active_run(thread_id, &run, ctx).await? {
        return Ok(true);
    }
    let why = why_not_renewed(store, thread_id, &run.run_id, ctx).await;
    tracing::info!(
        thread_id,
        run_id = run.run_id,
        ?why,
        "the run's lease was not renewed; the run stops"
    );
    shared.stop(why);
    Ok(false)
}

/// Why a renewal was refused: a cancel request for this run, or the lease gone.
async fn why_not_renewed<C: Send + Sync>(
    store: &dyn Store<C>,
    thread_id: &str,
    run_id: &str,
    ctx: &C,
) -> Stop {
    match store.load_active_run(thread_id, ctx).await {
        Ok(Some(held)) if held.run_id == run_id && held.cancel_requested => Stop::Cancel,
        _ => Stop::Lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leases(replica: Option<&str>) -> RunLeases {
        RunLeases {
            replica: replica.map(str::to_owned),
            ..RunLeases::default()
        }
    }

    #[test]
    fn a_lease_is_abandoned_when_expired_or_left_by_an_earlier_start_of_this_replica() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(10);
        let run = |owner: &str, until| ActiveRun::new("run_1", owner, until);
        let me = owner(&leases(Some("a")));
        assert!(abandoned(&run(&me, now), &me, &leases(Some("a")), now));
        assert!(!abandoned(&run(&me, later), &me, &leases(Some("a")), now));
        assert!(abandoned(
            &run("a#old", later),
            &me,
            &leases(Some("a")),
            now
        ));
        assert!(!abandoned(
            &run("ab#old", later),
            &me,
            &leases(Some("a")),
            now
        ));
        assert!(!abandoned(
            &run("b#old", later),
            &me,
            &leases(Some("a")),
            now
        ));
        assert!(!abandoned(
            &run("a#b#old", later),
            &me,
            &leases(Some("a")),
            now
        ));
        let anonymous = owner(&leases(None));
        assert!(!abandoned(
            &run("#old", later),
            &anonymous,
            &leases(None),
            now
        ));
    }
}
