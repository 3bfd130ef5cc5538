//! [`MemoryStore`]: everything in process memory.

mod ordered;

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{
    sum_by_day_and_model, swap_revision, ActiveRun, RecordKind, SavedRunState, Store, StoreContext,
    StoreError, TokenUsage, UsageQuery, UsageRecord,
};
use crate::types::{Attachment, Page, SortOrder, ThreadItem, ThreadMetadata, Timestamp};
use ordered::Ordered;

#[derive(Default)]
struct Scope {
    threads: Ordered<ThreadMetadata>,
    /// Items per thread.
    items: HashMap<String, Ordered<ThreadItem>>,
    /// Each with when it was first saved.
    attachments: HashMap<String, (Attachment, Timestamp)>,
    /// The run waiting for approvals, per thread.
    run_states: HashMap<String, SavedRunState>,
    active_runs: HashMap<String, ActiveRun>,
    /// Token usage per (thread, day, model); kept when the thread is deleted.
    usage: HashMap<(String, NaiveDate, String), TokenUsage>,
}

/// A store that keeps everything in memory, scoped per user. For tests, demos and
/// single-process servers that need no persistence.
///
/// ```
/// use chatkit_agents::store::{MemoryStore, Store};
/// use chatkit_agents::types::{ThreadMetadata, Timestamp};
/// # futures::executor::block_on(async {
/// let store = MemoryStore::new();
/// let thread = ThreadMetadata::new("thr_1", Timestamp::now());
/// store.save_thread(&thread, &()).await.unwrap();
/// assert_eq!(store.load_thread("thr_1", &()).await.unwrap(), thread);
/// # });
/// ```
#[derive(Default)]
pub struct MemoryStore {
    scopes: RwLock<HashMap<Option<String>, Scope>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read<R>(&self, ctx: &impl StoreContext, f: impl FnOnce(Option<&Scope>) -> R) -> R {
        let scopes = crate::locks::read(&self.scopes);
        f(scopes.get(&ctx.user_id().map(str::to_owned)))
    }

    fn write<R>(&self, ctx: &impl StoreContext, f: impl FnOnce(&mut Scope) -> R) -> R {
        let mut scopes = crate::locks::write(&self.scopes);
        f(scopes.entry(ctx.user_id().map(str::to_owned)).or_default())
    }

    /// `f` over the user's active runs, if the thread is theirs.
    fn active_run<R>(
        &self,
        ctx: &impl StoreContext,
        thread_id: &str,
        f: impl FnOnce(&mut HashMap<String, ActiveRun>) -> R,
    ) -> Result<R, StoreError> {
        self.write(ctx, |s| match s.threads.contains(thread_id) {
            true => Ok(f(&mut s.active_runs)),
            false => Err(StoreError::not_found(RecordKind::Thread, thread_id)),
        })
    }
}

#[async_trait]
impl<C: StoreContext> Store<C> for MemoryStore {
    async fn load_thread(&self, thread_id: &str, ctx: &C) -> Result<ThreadMetadata, StoreError> {
        self.read(ctx, |s| s.and_then(|s| s.threads.get(thread_id)).cloned())
            .ok_or_else(|| StoreError::not_found(RecordKind::Thread, thread_id))
    }

    async fn save_thread(&self, thread: &ThreadMetadata, ctx: &C) -> Result<(), StoreError> {
        self.write(ctx, |s| s.threads.upsert(thread.clone()));
        Ok(())
    }

    async fn update_thread(&self, thread: &ThreadMetadata, ctx: &C) -> Result<(), StoreError> {
        self.write(ctx, |s| match s.threads.update(thread.clone()) {
            true => Ok(()),
            false => Err(StoreError::not_found(RecordKind::Thread, &thread.id)),
        })
    }

    async fn load_thread_items(
        &self,
        thread_id: &str,
        after: Option<&str>,
        limit: usize,
        order: SortOrder,
        ctx: &C,
    ) -> Result<Page<ThreadItem>, StoreError> {
        self.read(ctx, |s| match s.and_then(|s| s.items.get(thread_id)) {
            Some(items) => items.page(after, limit, order, RecordKind::Item),
            None => Ordered::default().page(after, limit, order, RecordKind::Item),
        })
    }

    async fn save_attachment(&self, attachment: &Attachment, ctx: &C) -> Result<(), StoreError> {
        self.write(ctx, |s| {
            let saved = s
                .attachments
                .entry(attachment.id().to_owned())
                .or_insert_with(|| (attachment.clone(), Timestamp::now()));
            saved.0 = attachment.clone();
        });
        Ok(())
    }

    async fn load_attachment(
        &self,
        attachment_id: &str,
        ctx: &C,
    ) -> Result<Attachment, StoreError> {
        self.read(ctx, |s| {
            s.and_then(|s| s.attachments.get(attachment_id))
                .map(|(attachment, _)| attachment.clone())
        })
        .ok_or_else(|| StoreError::not_found(RecordKind::Attachment, attachment_id))
    }

    async fn delete_attachment(&self, attachment_id: &str, ctx: &C) -> Result<(), StoreError> {
        self.write(ctx, |s| s.attachments.remove(attachment_id));
        Ok(())
    }

    async fn take_unused_attachments(
        &self,
        saved_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Attachment>, StoreError> {
        let cutoff = saved_before.to_utc();
        let mut scopes = crate::locks::write(&self.scopes);
        let mut stale: Vec<(Timestamp, Option<String>, String)> = scopes
            .iter()
            .flat_map(|(user, scope)| {
                scope
                    .attachments
                    .iter()
                    .filter(move |(_, (attachment, saved))| {
                        attachment.thread_id().is_none() && saved.to_utc() < cutoff
                    })
                    .map(move |(id, (_, saved))| (*saved, user.clone(), id.clone()))
            })
            .collect();
        stale.sort_by_key(|(saved, _, _)| saved.to_utc());
        stale.truncate(limit);
        Ok(stale
            .into_iter()
            .filter_map(|(_, user, id)| {
                let scope = scopes.get_mut(&user)?;
                scope
                    .attachments
                    .remove(&id)
                    .map(|(attachment, _)| attachment)
            })
            .collect())
    }

    async fn load_threads(
        &self,
        limit: usize,
        after: Option<&str>,
        order: SortOrder,
        ctx: &C,
    ) -> Result<Page<ThreadMetadata>, StoreError> {
        self.read(ctx, |s| match s {
            Some(s) => s.threads.page(after, limit, order, RecordKind::Thread),
            None => Ordered::default().page(after, limit, order, RecordKind::Thread),
        })
    }

    async fn add_thread_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.save_item(thread_id, item, ctx).await
    }

    async fn save_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.write(ctx, |s| {
            if !s.threads.contains(thread_id) {
                return Err(StoreError::not_found(RecordKind::Thread, thread_id));
            }
            s.items
                .entry(thread_id.to_owned())
                .or_default()
                .upsert(item.clone());
            Ok(())
        })
    }

    async fn load_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<ThreadItem, StoreError> {
        self.read(ctx, |s| {
            s.and_then(|s| s.items.get(thread_id))
                .and_then(|items| items.get(item_id))
                .cloned()
        })
        .ok_or_else(|| StoreError::not_found(RecordKind::Item, item_id))
    }

    async fn delete_thread(&self, thread_id: &str, ctx: &C) -> Result<(), StoreError> {
        self.write(ctx, |s| {
            s.threads.remove(thread_id);
            s.items.remove(thread_id);
            s.run_states.remove(thread_id);
            s.active_runs.remove(thread_id);
        });
        Ok(())
    }

    async fn delete_thread_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.write(ctx, |s| {
            if let Some(items) = s.items.get_mut(thread_id) {
                items.remove(item_id);
            }
        });
        Ok(())
    }

    async fn load_run_state(
        &self,
        thread_id: &str,
        ctx: &C,
    ) -> Result<Option<SavedRunState>, StoreError> {
        self.read(ctx, |s| match s {
            Some(s) if s.threads.get(thread_id).is_some() => {
                Ok(s.run_states.get(thread_id).cloned())
            }
            _ => Err(StoreError::not_found(RecordKind::Thread, thread_id)),
        })
    }

    async fn swap_run_state(
        &self,
        thread_id: &str,
        expected: Option<u64>,
        data: Option<&str>,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        self.write(ctx, |s| {
            if s.threads.get(thread_id).is_none() {
                return Err(StoreError::not_found(RecordKind::Thread, thread_id));
            }
            let current = s.run_states.get(thread_id).map(|saved| saved.revision);
            if current != expected {
                return Ok(false);
            }
            match data {
                Some(data) => {
                    let saved = SavedRunState {
                        revision: swap_revision(expected),
                        data: data.to_owned(),
                    };
                    s.run_states.insert(thread_id.to_owned(), saved);
                }
                None => {
                    s.run_states.remove(thread_id);
                }
            }
            Ok(true)
        })
    }

    async fn load_active_run(
        &self,
        thread_id: &str,
        ctx: &C,
    ) -> Result<Option<ActiveRun>, StoreError> {
        self.read(ctx, |s| match s {
            Some(s) if s.threads.contains(thread_id) => Ok(s.active_runs.get(thread_id).cloned()),
            _ => Err(StoreError::not_found(RecordKind::Thread, thread_id)),
        })
    }

    async fn claim_active_run(
        &self,
        thread_id: &str,
        run: &ActiveRun,
        replacing: Option<&str>,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        self.active_run(ctx, thread_id, |runs| {
            let holder = runs.get(thread_id).map(|held| held.run_id.as_str());
            if holder != replacing {
                return false;
            }
            let mut run = run.clone();
            run.cancel_requested = false;
            runs.insert(thread_id.to_owned(), run);
            true
        })
    }

    async fn renew_active_run(
        &self,
        thread_id: &str,
        run: &ActiveRun,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        self.active_run(ctx, thread_id, |runs| match runs.get_mut(thread_id) {
            Some(held) if held.run_id == run.run_id && !held.cancel_requested => {
                held.expires_at_ms = run.expires_at_ms;
                held.pending.clone_from(&run.pending);
                true
            }
            _ => false,
        })
    }

    async fn cancel_active_run(
        &self,
        thread_id: &str,
        run_id: &str,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        self.active_run(ctx, thread_id, |runs| match runs.get_mut(thread_id) {
            Some(held) if held.run_id == run_id => {
                held.cancel_requested = true;
                true
            }
            _ => false,
        })
    }

    async fn release_active_run(
        &self,
        thread_id: &str,
        run_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        let released = self.active_run(ctx, thread_id, |runs| {
            if runs
                .get(thread_id)
                .is_some_and(|held| held.run_id == run_id)
            {
                runs.remove(thread_id);
            }
        });
        match released {
            // A thread deleted since has no lease left to release.
            Err(StoreError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    async fn add_usage(
        &self,
        thread_id: &str,
        day: NaiveDate,
        model: &str,
        usage: &TokenUsage,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.write(ctx, |s| {
            let key = (thread_id.to_owned(), day, model.to_owned());
            s.usage.entry(key).or_default().add(usage);
        });
        Ok(())
    }

    async fn load_usage(
        &self,
        query: &UsageQuery,
        ctx: &C,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        Ok(self.read(ctx, |s| {
            let rows = s.into_iter().flat_map(|s| &s.usage);
            sum_by_day_and_model(
                rows.filter(|((thread, day, _), _)| query.includes(thread, *day))
                    .map(|((_, day, model), usage)| (*day, model.clone(), *usage)),
            )
        }))
    }
}
