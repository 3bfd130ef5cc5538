//! The items a response has added but not finished, as the client has seen them, and
//! their checkpoints: saved when they are added and, while they stream, at most once an
//! interval, so that a process killed mid-answer loses at most the last interval.

use std::time::{Duration, Instant};

use indexmap::IndexMap;

use crate::store::{Store, StoreError};
use crate::types::ThreadItem;

/// The default [`ChatKitServer::checkpoint_interval`](super::ChatKitServer::checkpoint_interval):
/// one second.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// A response's pending items.
#[derive(Debug)]
pub(crate) struct Pending {
    items: IndexMap<String, ThreadItem>,
    /// How often streaming items are saved (`None`: only when done, as the reference).
    interval: Option<Duration>,
    /// Whether an item changed since the last checkpoint.
    dirty: bool,
    last_checkpoint: Instant,
}

impl Pending {
    pub(crate) fn new(interval: Option<Duration>) -> Self {
        Pending {
            items: IndexMap::new(),
            interval,
            dirty: false,
            last_checkpoint: Instant::now(),
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
        self.items.insert(item.id().to_owned(), item.clone());
        if self.interval.is_some() {
            store.add_thread_item(thread_id, item, ctx).await?;
        }
        Ok(())
    }

    /// The item `id`, to apply an update to; marks the items for the next checkpoint.
    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut ThreadItem> {
        let item = self.items.get_mut(id)?;
        self.dirty = true;
        Some(item)
    }

    /// An item no longer pending (done, replaced or removed).
    pub(crate) fn remove(&mut self, id: &str) {
        self.items.shift_remove(id);
    }

    /// Saves the pending items if they changed and the interval has passed since the
    /// last checkpoint.
    pub(crate) async fn checkpoint_if_due<C: Send + Sync>(
        &mut self,
        store: &dyn Store<C>,
        thread_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        let Some(interval) = self.interval else {
            return Ok(());
        };
        if !self.dirty || self.last_checkpoint.elapsed() < interval {
            return Ok(());
        }
        for item in self.items.values() {
            store.save_item(thread_id, item, ctx).await?;
        }
        self.dirty = false;
        self.last_checkpoint = Instant::now();
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
        std::mem::take(&mut self.items).into_values().collect()
    }
}
