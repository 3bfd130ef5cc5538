//! The items a response has added but not finished, as the client has seen them, and
//! their checkpoints: saved when they are added and, while they stream, at most once an
//! interval, so that a process killed mid-answer loses at most the last interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::time::Duration;

use indexmap::IndexMap;

use crate::store::{Store, StoreError};
use crate::types::ThreadItem;

/// The default [`ChatKitServer::checkpoint_interval`](super::ChatKitServer::checkpoint_interval):
/// one second.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// The checkpoint clock's resolution.
const TICK: Duration = Duration::from_millis(50);
/// Ticks of [`TICK`] since the clock started.
static TICKS: AtomicU64 = AtomicU64::new(0);
static CLOCK: Once = Once::new();

/// Starts the checkpoint clock: one thread of its own that counts ticks, so that the
/// check made after every event of every response is an atomic load rather than a clock
/// read (which costs more than framing a text delta).
fn start_clock() {
    CLOCK.call_once(|| {
        let started = std::thread::Builder::new()
            .name("chatkit-checkpoint-clock".into())
            .spawn(|| loop {
                std::thread::sleep(TICK);
                TICKS.fetch_add(1, Ordering::Relaxed);
            });
        if let Err(error) = started {
            tracing::warn!(%error, "cannot start the checkpoint clock; items are saved when added and when done only");
        }
    });
}

/// `interval` in ticks, rounded up.
fn ticks_in(interval: Duration) -> u64 {
    let ticks = interval.as_nanos().div_ceil(TICK.as_nanos());
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// A response's pending items.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Boxed: the map keeps room for four entries from its first, and an item is big.
    items: IndexMap<String, Box<ThreadItem>>,
    /// How often streaming items are saved, in clock ticks (`None`: only when done, as
    /// the reference).
    interval: Option<u64>,
    /// Whether an item changed since the last checkpoint.
    dirty: bool,
    last_checkpoint: u64,
}

impl Pending {
    pub(crate) fn new(interval: Option<Duration>) -> Self {
        if interval.is_some() {
            start_clock();
        }
        Pending {
            items: IndexMap::new(),
            interval: interval.map(ticks_in),
            dirty: false,
            last_checkpoint: TICKS.load(Ordering::Relaxed),
        }
    }

    /// A new pending item, saved at once when checkpoints are on (an item boundary).
    pub(crate) async fn added<C: Send + Sync>(
        &mut self,
        store: &dyn Store<C>,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.items
            .insert(item.id().to_owned(), Box::new(item.clone()));
        if self.interval.is_some() {
            store.add_thread_item(thread_id, item, ctx).await?;
        }
        Ok(())
    }

    /// The item `id`, to apply an update to; marks the items for the next checkpoint.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut ThreadItem> {
        let item = self.items.get_mut(id)?;
        self.dirty = true;
        Some(&mut **item)
    }

    /// An item no longer pending (done, replaced or removed); whether it was.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        self.items.shift_remove(id).is_some()
    }

    /// The ids of the pending items (and `and`), when checkpoints save them while they
    /// stream: what a crash would leave unfinished in the store.
    pub(crate) fn ids_if_saved(&self, and: Option<&str>) -> Option<Vec<String>> {
        self.interval?;
        Some(
            self.items
                .keys()
                .map(String::as_str)
                .chain(and)
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Whether the pending items changed and the interval has passed since the last
    /// checkpoint. Called after every event: an atomic load and two comparisons.
    #[inline]
    pub(crate) fn checkpoint_due(&self) -> bool {
        match self.interval {
            Some(interval) if self.dirty => {
                TICKS
                    .load(Ordering::Relaxed)
                    .wrapping_sub(self.last_checkpoint)
                    >= interval
            }
            _ => false,
        }
    }

    /// Saves the pending items as they are now.
    pub(crate) async fn checkpoint<C: Send + Sync>(
        &mut self,
        store: &dyn Store<C>,
        thread_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        for item in self.items.values() {
            store.save_item(thread_id, item, ctx).await?;
        }
        self.dirty = false;
        self.last_checkpoint = TICKS.load(Ordering::Relaxed);
        Ok(())
    }

    /// Deletes what checkpoints saved of the items still pending (the answer ended
    /// without finishing them); nothing without checkpoints.
    pub(crate) async fn discard<C: Send + Sync>(
        &mut self,
        store: &dyn Store<C>,
        thread_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        let items = self.take();
        if self.interval.is_none() {
            return Ok(());
        }
        for item in items {
            store.delete_thread_item(thread_id, item.id(), ctx).await?;
        }
        Ok(())
    }

    /// Whether items are saved while they stream.
    pub(crate) fn checkpoints(&self) -> bool {
        self.interval.is_some()
    }

    /// The pending items, for the cancel path.
    pub(crate) fn take(&mut self) -> Vec<ThreadItem> {
        std::mem::take(&mut self.items)
            .into_values()
            .map(|item| *item)
            .collect()
    }
}
