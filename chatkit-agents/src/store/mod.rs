//! Persistence: the [`Store`] and [`AttachmentStore`] traits, [`MemoryStore`], and
//! [`SqliteStore`][sqlite] (the embedded default, feature `sqlite`) and
//! [`PostgresStore`][postgres] (several replicas on one database, feature `postgres`).
//!
//! Stores are generic over the request context `C`, which the server passes through
//! untouched. A context that implements [`StoreContext`] and returns a user id scopes
//! everything a store keeps to that user; `()` is the unscoped context.
//!
//! Rules every store follows (checked by `testing::store_conformance`, feature `testing`):
//! - items and threads are listed by `created_at` (ties keep insertion order), `asc` or
//!   `desc`; `after` is an exclusive id cursor; `has_more` says whether more follow and
//!   then `after` is the last returned id;
//! - `add_thread_item` and `save_item` are upserts (the agents module may add the same
//!   item twice), `delete_thread_item` tolerates unknown ids;
//! - a missing thread, item or attachment is [`StoreError::NotFound`];
//! - a thread has at most one run state (a run waiting for approvals), replaced only by
//!   a compare-and-swap on its revision, and deleted with the thread;
//! - a thread has at most one [`ActiveRun`] (the lease of the run answering in it),
//!   claimed, renewed and released by compare on its run id, and deleted with the
//!   thread;
//! - token usage is added per thread, UTC day and model, and outlives its thread.
//!
#![cfg_attr(feature = "sqlite", doc = "[sqlite]: SqliteStore")]
#![cfg_attr(not(feature = "sqlite"), doc = "[sqlite]: crate#features")]
#![cfg_attr(feature = "postgres", doc = "[postgres]: PostgresStore")]
#![cfg_attr(not(feature = "postgres"), doc = "[postgres]: crate#features")]

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::types::default_generate_id;
// The wire types in the traits' signatures, reachable from here so that a store can be
// written with `use chatkit_agents::store::*` alone.
#[doc(no_inline)]
pub use crate::types::{
    Attachment, AttachmentCreateParams, Page, SortOrder, StoreItemType, ThreadItem, ThreadMetadata,
    Timestamp,
};

mod active_run;
mod attachments;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod usage;

pub(crate) use active_run::unix_ms;
pub use active_run::ActiveRun;
#[cfg(all(feature = "object-store", feature = "axum"))]
pub(crate) use attachments::INLINE_IMAGE_TYPES;
pub(crate) use attachments::{essence, is_text};
pub use attachments::{
    AttachmentContent, AttachmentError, AttachmentLimits, AttachmentStore, ByteStream, FileUpload,
};
#[cfg(feature = "object-store")]
pub use attachments::{ObjectAttachmentStore, ObjectAttachmentStoreBuilder};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStore, PostgresStoreOptions};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{SqlDialect, SqlStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub(crate) use usage::sum_by_day_and_model;
pub use usage::{total_usage, TokenUsage, UsageQuery, UsageRecord};

/// What a store needs to know about the request context.
pub trait StoreContext: Send + Sync {
    /// The user whose data this request may see; `None` means unscoped.
    fn user_id(&self) -> Option<&str> {
        None
    }
}

impl StoreContext for () {}

/// The kind of record a [`StoreError::NotFound`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKind {
    /// A thread.
    Thread,
    /// A thread item.
    Item,
    /// An attachment.
    Attachment,
    /// A thread's run waiting for approvals ([`Store::load_run_state`]).
    RunState,
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordKind::Thread => "Thread",
            RecordKind::Item => "Item",
            RecordKind::Attachment => "Attachment",
            RecordKind::RunState => "Run state",
        })
    }
}

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record does not exist (for this user).
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked up.
        kind: RecordKind,
        /// Its id.
        id: String,
    },
    /// A stored record could not be decoded (it was written by an incompatible version,
    /// or edited by hand).
    #[error("stored {kind} {id} is corrupt: {message}")]
    Corrupt {
        /// What was read.
        kind: RecordKind,
        /// Its id.
        id: String,
        /// The decoding error.
        message: String,
    },
    /// The backend failed (I/O, database).
    #[error("store backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store does not offer this operation (a store of your own that keeps no run
    /// states, say).
    #[error("{0}")]
    Unsupported(String),
}

impl StoreError {
    /// A [`StoreError::NotFound`].
    pub fn not_found(kind: RecordKind, id: impl Into<String>) -> Self {
        StoreError::NotFound {
            kind,
            id: id.into(),
        }
    }
}

/// Where threads, items and attachment metadata live.
///
/// Usable as a trait object (`Arc<dyn Store<C>>`).
#[async_trait]
pub trait Store<C: Send + Sync>: Send + Sync {
    /// A new thread id (`thr_<8 hex>` by default).
    fn generate_thread_id(&self, _ctx: &C) -> String {
        default_generate_id(StoreItemType::Thread)
    }

    /// A new item id for `item_type` in `thread` (`msg_<8 hex>` and so on by default).
    fn generate_item_id(
        &self,
        item_type: StoreItemType,
        _thread: &ThreadMetadata,
        _ctx: &C,
    ) -> String {
        default_generate_id(item_type)
    }

    /// Loads a thread.
    async fn load_thread(&self, thread_id: &str, ctx: &C) -> Result<ThreadMetadata, StoreError>;

    /// Inserts or replaces a thread (the server calls it to create one).
    async fn save_thread(&self, thread: &ThreadMetadata, ctx: &C) -> Result<(), StoreError>;

    /// Replaces a thread that exists; [`StoreError::NotFound`] when it does not (it was
    /// deleted, or belongs to another user). The server saves title and status changes
    /// with it, so a thread deleted while its answer streams is never re-created.
    ///
    /// The default loads, then saves, which leaves a short window in which a concurrent
    /// delete is undone; the built-in stores check and write in one statement, and a
    /// store of yours should too.
    async fn update_thread(&self, thread: &ThreadMetadata, ctx: &C) -> Result<(), StoreError> {
        self.load_thread(&thread.id, ctx).await?;
        self.save_thread(thread, ctx).await
    }

    /// A page of a thread's items.
    ///
    /// ```
    /// use chatkit_agents::store::{MemoryStore, SortOrder, Store, ThreadMetadata};
    /// use chatkit_agents::types::Timestamp;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// store.save_thread(&ThreadMetadata::new("thr_1", Timestamp::now()), &()).await?;
    /// // The ten newest items, newest first.
    /// let page = store.load_thread_items("thr_1", None, 10, SortOrder::Desc, &()).await?;
    /// assert!(page.data.is_empty() && !page.has_more);
    /// # Ok::<(), chatkit_agents::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn load_thread_items(
        &self,
        thread_id: &str,
        after: Option<&str>,
        limit: usize,
        order: SortOrder,
        ctx: &C,
    ) -> Result<Page<ThreadItem>, StoreError>;

    /// Inserts or replaces an attachment's metadata.
    async fn save_attachment(&self, attachment: &Attachment, ctx: &C) -> Result<(), StoreError>;

    /// Loads an attachment's metadata.
    async fn load_attachment(&self, attachment_id: &str, ctx: &C)
        -> Result<Attachment, StoreError>;

    /// Deletes an attachment's metadata.
    async fn delete_attachment(&self, attachment_id: &str, ctx: &C) -> Result<(), StoreError>;

    /// Deletes the metadata of at most `limit` attachments, of any user, first saved
    /// before `saved_before` and used by no message (no `thread_id`), oldest first, and
    /// returns them so that their bytes can be deleted too (see
    /// `ObjectAttachmentStore::sweep_unused`). Each attachment is taken by one call
    /// only, so replicas may sweep at once. The default is
    /// [`StoreError::Unsupported`]; every store of this crate implements it.
    ///
    /// ```
    /// use chatkit_agents::store::{MemoryStore, Store};
    /// use chatkit_agents::types::{Attachment, Timestamp};
    /// # futures::executor::block_on(async {
    /// let store = MemoryStore::new();
    /// let file: Attachment = serde_json::from_value(serde_json::json!(
    ///     {"id": "atc_1", "name": "a.txt", "mime_type": "text/plain", "type": "file"})).unwrap();
    /// store.save_attachment(&file, &()).await?;
    /// let later = Timestamp::now().plus_seconds(1);
    /// let taken = Store::<()>::take_unused_attachments(&store, later, 100).await?;
    /// assert_eq!(taken, [file]);
    /// assert!(store.load_attachment("atc_1", &()).await.is_err());
    /// # Ok::<(), chatkit_agents::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn take_unused_attachments(
        &self,
        saved_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Attachment>, StoreError> {
        let _ = (saved_before, limit);
        Err(StoreError::Unsupported(
            "this store cannot list unused attachments: implement \
             Store::take_unused_attachments to sweep them"
                .into(),
        ))
    }

    /// A page of threads.
    async fn load_threads(
        &self,
        limit: usize,
        after: Option<&str>,
        order: SortOrder,
        ctx: &C,
    ) -> Result<Page<ThreadMetadata>, StoreError>;

    /// Adds a new item to a thread (an upsert, so adding the same id twice is safe).
    ///
    /// A thread that does not exist (for this user) is [`StoreError::NotFound`] about
    /// the thread, checked in the same write: an item never outlives its thread.
    async fn add_thread_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError>;

    /// Inserts or replaces an item; like [`add_thread_item`](Self::add_thread_item), an
    /// error when the thread does not exist.
    async fn save_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError>;

    /// Loads one item.
    async fn load_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<ThreadItem, StoreError>;

    /// Deletes a thread and its items.
    async fn delete_thread(&self, thread_id: &str, ctx: &C) -> Result<(), StoreError>;

    /// Deletes an item; unknown ids are not an error.
    async fn delete_thread_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError>;

    /// The thread's run waiting for approvals (a serialized
    /// [`RunState`](crate::agents::RunState) with the bridge's bookkeeping), if there is
    /// one: a thread has at most one. A thread unknown to this user is
    /// [`StoreError::NotFound`]. The default says the store keeps none; every store of
    /// this crate does.
    async fn load_run_state(
        &self,
        thread_id: &str,
        _ctx: &C,
    ) -> Result<Option<SavedRunState>, StoreError> {
        Err(run_states_unsupported(thread_id))
    }

    /// Replaces the thread's run state if its revision is still `expected` (`None`: the
    /// thread has none): with `data` at the next revision (`expected + 1`, or 1), or
    /// nothing when `data` is `None`. Returns whether it did; `false` means another
    /// request (or replica) changed it first. This compare-and-swap is what makes a
    /// decision count once. A thread unknown to this user is [`StoreError::NotFound`];
    /// deleting the thread deletes its run state.
    async fn swap_run_state(
        &self,
        thread_id: &str,
        _expected: Option<u64>,
        _data: Option<&str>,
        _ctx: &C,
    ) -> Result<bool, StoreError> {
        Err(run_states_unsupported(thread_id))
    }

    /// The thread's [`ActiveRun`] (the lease of the run answering in it), if one holds
    /// it: expired or not, the caller decides. A thread unknown to this user is
    /// [`StoreError::NotFound`]. The default is [`StoreError::Unsupported`]: the server
    /// then runs without leases (two messages at once both get answered, and a run whose
    /// process died is closed by nobody); every store of this crate keeps them.
    async fn load_active_run(
        &self,
        thread_id: &str,
        _ctx: &C,
    ) -> Result<Option<ActiveRun>, StoreError> {
        Err(active_runs_unsupported(thread_id))
    }

    /// Makes `run` the thread's active run if the thread has none (`replacing: None`)
    /// or if its active run is still `replacing` (taking over an expired lease; the
    /// cancel request is cleared). Returns whether it did; `false` means another run
    /// holds the thread. One check-and-write: two replicas claiming at once, one wins.
    /// A thread unknown to this user is [`StoreError::NotFound`]; deleting the thread
    /// deletes its active run.
    async fn claim_active_run(
        &self,
        thread_id: &str,
        _run: &ActiveRun,
        _replacing: Option<&str>,
        _ctx: &C,
    ) -> Result<bool, StoreError> {
        Err(active_runs_unsupported(thread_id))
    }

    /// Renews the lease: writes `run`'s `expires_at_ms` and `pending` if `run.run_id`
    /// still holds the thread and nobody asked it to stop. `false` otherwise (load it to
    /// tell a cancel request from a takeover).
    async fn renew_active_run(
        &self,
        thread_id: &str,
        _run: &ActiveRun,
        _ctx: &C,
    ) -> Result<bool, StoreError> {
        Err(active_runs_unsupported(thread_id))
    }

    /// Asks the run `run_id` to stop (sets [`ActiveRun::cancel_requested`]); `false`
    /// when it no longer holds the thread.
    async fn cancel_active_run(
        &self,
        thread_id: &str,
        _run_id: &str,
        _ctx: &C,
    ) -> Result<bool, StoreError> {
        Err(active_runs_unsupported(thread_id))
    }

    /// Removes the lease if `run_id` still holds it (the run ended and was saved); a
    /// lease held by another run, or none, is left as it is, and a thread deleted since
    /// is not an error.
    async fn release_active_run(
        &self,
        thread_id: &str,
        _run_id: &str,
        _ctx: &C,
    ) -> Result<(), StoreError> {
        Err(active_runs_unsupported(thread_id))
    }

    /// Adds what `model` used in a run of `thread_id` that ended on `day` (UTC) to the
    /// user's counts for that thread, day and model. The server calls it once per model
    /// after each run (an answer, an action, a cancelled answer). Counts are kept when
    /// the thread is deleted later, so a user's totals stay whole for billing. The
    /// default is [`StoreError::Unsupported`] (the server then keeps no usage and says
    /// so once in its log); every store of this crate implements it.
    ///
    /// ```
    /// use chatkit_agents::store::{MemoryStore, Store, TokenUsage, UsageQuery};
    /// # futures::executor::block_on(async {
    /// let store = MemoryStore::new();
    /// let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    /// let run = TokenUsage { requests: 2, input_tokens: 900, output_tokens: 120, ..Default::default() };
    /// store.add_usage("thr_1", day, "gpt-5-mini", &run, &()).await?;
    /// store.add_usage("thr_1", day, "gpt-5-mini", &run, &()).await?;
    /// let rows = store.load_usage(&UsageQuery::thread("thr_1"), &()).await?;
    /// assert_eq!(rows[0].usage.input_tokens, 1800);
    /// # Ok::<(), chatkit_agents::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn add_usage(
        &self,
        thread_id: &str,
        _day: NaiveDate,
        _model: &str,
        _usage: &TokenUsage,
        _ctx: &C,
    ) -> Result<(), StoreError> {
        let _ = thread_id;
        Err(usage_unsupported())
    }

    /// The user's usage that `query` asks for, one [`UsageRecord`] per day and model
    /// (summed over threads when the query names none), ordered by day then model. A
    /// thread unknown to this user has no usage (an empty list). The default is
    /// [`StoreError::Unsupported`].
    async fn load_usage(
        &self,
        _query: &UsageQuery,
        _ctx: &C,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        Err(usage_unsupported())
    }
}

fn usage_unsupported() -> StoreError {
    StoreError::Unsupported(
        "this store keeps no token usage: implement Store::add_usage and Store::load_usage".into(),
    )
}

/// A thread's run waiting for approvals, as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedRunState {
    /// Starts at 1; each swap adds one.
    pub revision: u64,
    /// The JSON text, as given to [`Store::swap_run_state`].
    pub data: String,
}

/// A page from up to `limit + 1` records fetched in order: the extra one, if any, says
/// that more follow, and the cursor is then the last returned record's id.
pub(crate) fn page_of<T>(mut data: Vec<T>, limit: usize, id_of: impl Fn(&T) -> String) -> Page<T> {
    let has_more = data.len() > limit;
    data.truncate(limit);
    let after = if has_more {
        data.last().map(id_of)
    } else {
        None
    };
    Page {
        data,
        has_more,
        after,
    }
}

/// The revision a swap from `expected` writes.
pub(crate) fn swap_revision(expected: Option<u64>) -> u64 {
    expected.map_or(1, |revision| revision.saturating_add(1))
}

fn active_runs_unsupported(thread_id: &str) -> StoreError {
    StoreError::Unsupported(format!(
        "this store keeps no active runs (thread {thread_id}): implement the Store::*_active_run \
         methods for one answer at a time per thread and for closing runs whose process died"
    ))
}

fn run_states_unsupported(thread_id: &str) -> StoreError {
    StoreError::Unsupported(format!(
        "this store keeps no run states (thread {thread_id}): implement Store::load_run_state \
         and Store::swap_run_state to use tools that need approval"
    ))
}
