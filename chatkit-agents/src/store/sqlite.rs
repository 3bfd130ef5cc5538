//! [`SqliteStore`]: the embedded default store, on sqlx and a bundled SQLite.

use std::str::FromStr;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;

use super::sql::{
    backend, decode, encode, limit_param, page_from_rows, pick, revision_param, saved_run_state,
    scope,
};
use super::{swap_revision, RecordKind, SavedRunState, Store, StoreContext, StoreError};
use crate::types::{Attachment, Page, SortOrder, ThreadItem, ThreadMetadata};

/// Created on open; `IF NOT EXISTS` makes opening an existing database a no-op.
/// `created_at` is unix microseconds (sortable whatever zone a timestamp was written
/// in); `rowid` breaks ties in insertion order and survives upserts.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS chatkit_threads (
        user_id TEXT NOT NULL,
        id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (user_id, id)
    )",
    "CREATE INDEX IF NOT EXISTS chatkit_threads_by_time ON chatkit_threads (user_id, created_at)",
    "CREATE TABLE IF NOT EXISTS chatkit_items (
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (user_id, thread_id, id)
    )",
    "CREATE INDEX IF NOT EXISTS chatkit_items_by_time ON chatkit_items (user_id, thread_id, created_at)",
    "CREATE TABLE IF NOT EXISTS chatkit_attachments (
        user_id TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (user_id, id)
    )",
    // A thread's run waiting for approvals (at most one), replaced by revision.
    "CREATE TABLE IF NOT EXISTS chatkit_run_states (
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (user_id, thread_id)
    )",
];

// Page queries as `[ascending, descending]`. Literal strings, so no SQL is ever built
// from input.
const ITEMS_PAGE: [&str; 2] = [
    "SELECT id, data FROM chatkit_items WHERE user_id = ? AND thread_id = ? ORDER BY created_at ASC, rowid ASC LIMIT ?",
    "SELECT id, data FROM chatkit_items WHERE user_id = ? AND thread_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
];
const ITEMS_PAGE_AFTER: [&str; 2] = [
    "SELECT id, data FROM chatkit_items WHERE user_id = ? AND thread_id = ? AND (created_at, rowid) > (?, ?) \
     ORDER BY created_at ASC, rowid ASC LIMIT ?",
    "SELECT id, data FROM chatkit_items WHERE user_id = ? AND thread_id = ? AND (created_at, rowid) < (?, ?) \
     ORDER BY created_at DESC, rowid DESC LIMIT ?",
];
const THREADS_PAGE: [&str; 2] = [
    "SELECT id, data FROM chatkit_threads WHERE user_id = ? ORDER BY created_at ASC, rowid ASC LIMIT ?",
    "SELECT id, data FROM chatkit_threads WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
];
const THREADS_PAGE_AFTER: [&str; 2] = [
    "SELECT id, data FROM chatkit_threads WHERE user_id = ? AND (created_at, rowid) > (?, ?) \
     ORDER BY created_at ASC, rowid ASC LIMIT ?",
    "SELECT id, data FROM chatkit_threads WHERE user_id = ? AND (created_at, rowid) < (?, ?) \
     ORDER BY created_at DESC, rowid DESC LIMIT ?",
];

/// The SQL of one listing: the cursor lookup, and the pages without and after a cursor.
struct PageQueries {
    cursor: &'static str,
    first: [&'static str; 2],
    after: [&'static str; 2],
}

/// A store in a SQLite database file (or in memory), scoped per user.
///
/// Records are kept as JSON (attachment `metadata` included) next to the columns used
/// for lookups and ordering. The schema is created when the store is opened.
///
/// ```
/// use chatkit_agents::store::{SqliteStore, Store};
/// use chatkit_agents::types::{ThreadMetadata, Timestamp};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = SqliteStore::open_in_memory().await.unwrap();
/// let thread = ThreadMetadata::new("thr_1", Timestamp::now());
/// store.save_thread(&thread, &()).await.unwrap();
/// assert_eq!(store.load_thread("thr_1", &()).await.unwrap(), thread);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::with_pool(pool).await
    }

    /// A private database in memory (one connection that never closes, so the data
    /// lives as long as the store).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(backend)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::with_pool(pool).await
    }

    /// Uses an existing pool, creating the tables if needed.
    pub async fn with_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        for statement in SCHEMA {
            sqlx::query(*statement)
                .execute(&pool)
                .await
                .map_err(backend)?;
        }
        Ok(SqliteStore { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// One page of a listing: finds the cursor row (by the `scope` binds plus its id),
    /// then fetches `limit + 1` rows after it in `order`.
    #[allow(clippy::too_many_arguments)]
    async fn page<T: DeserializeOwned>(
        &self,
        queries: &PageQueries,
        scope: &[&str],
        after: Option<&str>,
        limit: usize,
        order: SortOrder,
        kind: RecordKind,
        id_of: impl Fn(&T) -> String,
    ) -> Result<Page<T>, StoreError> {
        let cursor = match after {
            None => None,
            Some(after) => {
                let mut lookup = sqlx::query(queries.cursor);
                for value in scope {
                    lookup = lookup.bind(*value);
                }
                let row = lookup
                    .bind(after)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                Some(row.ok_or_else(|| StoreError::not_found(kind, after))?)
            }
        };
        let mut query = sqlx::query(pick(
            if cursor.is_some() {
                queries.after
            } else {
                queries.first
            },
            order,
        ));
        for value in scope {
            query = query.bind(*value);
        }
        if let Some(cursor) = cursor {
            query = query
                .bind(cursor.try_get::<i64, _>(0).map_err(backend)?)
                .bind(cursor.try_get::<i64, _>(1).map_err(backend)?);
        }
        let rows = query
            .bind(limit_param(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        page_from_rows(&rows, limit, kind, id_of)
    }

    async fn upsert_item(
        &self,
        user: &str,
        thread_id: &str,
        item: &ThreadItem,
    ) -> Result<(), StoreError> {
        // The thread's existence is checked in the same statement, so a concurrent
        // delete cannot leave an orphan row behind.
        let written = sqlx::query(
            "INSERT INTO chatkit_items (user_id, thread_id, id, created_at, data)
             SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM chatkit_threads WHERE user_id = ? AND id = ?)
             ON CONFLICT (user_id, thread_id, id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data",
        )
        .bind(user)
        .bind(thread_id)
        .bind(item.id())
        .bind(item.created_at().to_utc().timestamp_micros())
        .bind(encode(item)?)
        .bind(user)
        .bind(thread_id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::not_found(RecordKind::Thread, thread_id));
        }
        Ok(())
    }
}

#[async_trait]
impl<C: StoreContext> Store<C> for SqliteStore {
    async fn load_thread(&self, thread_id: &str, ctx: &C) -> Result<ThreadMetadata, StoreError> {
        let row = sqlx::query("SELECT id, data FROM chatkit_threads WHERE user_id = ? AND id = ?")
            .bind(scope(ctx))
            .bind(thread_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::not_found(RecordKind::Thread, thread_id))?;
        decode(&row, RecordKind::Thread)
    }

    async fn save_thread(&self, thread: &ThreadMetadata, ctx: &C) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chatkit_threads (user_id, id, created_at, data) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id, id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data",
        )
        .bind(scope(ctx))
        .bind(&thread.id)
        .bind(thread.created_at.to_utc().timestamp_micros())
        .bind(encode(thread)?)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn update_thread(&self, thread: &ThreadMetadata, ctx: &C) -> Result<(), StoreError> {
        let written = sqlx::query(
            "UPDATE chatkit_threads SET created_at = ?, data = ? WHERE user_id = ? AND id = ?",
        )
        .bind(thread.created_at.to_utc().timestamp_micros())
        .bind(encode(thread)?)
        .bind(scope(ctx))
        .bind(&thread.id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if written.rows_affected() == 0 {
            return Err(StoreError::not_found(RecordKind::Thread, &thread.id));
        }
        Ok(())
    }

    async fn load_thread_items(
        &self,
        thread_id: &str,
        after: Option<&str>,
        limit: usize,
        order: SortOrder,
        ctx: &C,
    ) -> Result<Page<ThreadItem>, StoreError> {
        let queries = PageQueries {
            cursor: "SELECT created_at, rowid FROM chatkit_items WHERE user_id = ? AND thread_id = ? AND id = ?",
            first: ITEMS_PAGE,
            after: ITEMS_PAGE_AFTER,
        };
        self.page(
            &queries,
            &[scope(ctx), thread_id],
            after,
            limit,
            order,
            RecordKind::Item,
            |item: &ThreadItem| item.id().to_owned(),
        )
        .await
    }

    async fn save_attachment(&self, attachment: &Attachment, ctx: &C) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chatkit_attachments (user_id, id, data) VALUES (?, ?, ?)
             ON CONFLICT (user_id, id) DO UPDATE SET data = excluded.data",
        )
        .bind(scope(ctx))
        .bind(attachment.id())
        .bind(encode(attachment)?)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load_attachment(
        &self,
        attachment_id: &str,
        ctx: &C,
    ) -> Result<Attachment, StoreError> {
        let row =
            sqlx::query("SELECT id, data FROM chatkit_attachments WHERE user_id = ? AND id = ?")
                .bind(scope(ctx))
                .bind(attachment_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .ok_or_else(|| StoreError::not_found(RecordKind::Attachment, attachment_id))?;
        decode(&row, RecordKind::Attachment)
    }

    async fn delete_attachment(&self, attachment_id: &str, ctx: &C) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM chatkit_attachments WHERE user_id = ? AND id = ?")
            .bind(scope(ctx))
            .bind(attachment_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load_threads(
        &self,
        limit: usize,
        after: Option<&str>,
        order: SortOrder,
        ctx: &C,
    ) -> Result<Page<ThreadMetadata>, StoreError> {
        let queries = PageQueries {
            cursor: "SELECT created_at, rowid FROM chatkit_threads WHERE user_id = ? AND id = ?",
            first: THREADS_PAGE,
            after: THREADS_PAGE_AFTER,
        };
        self.page(
            &queries,
            &[scope(ctx)],
            after,
            limit,
            order,
            RecordKind::Thread,
            |t: &ThreadMetadata| t.id.clone(),
        )
        .await
    }

    async fn add_thread_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.upsert_item(scope(ctx), thread_id, item).await
    }

    async fn save_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.upsert_item(scope(ctx), thread_id, item).await
    }

    async fn load_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<ThreadItem, StoreError> {
        let row = sqlx::query(
            "SELECT id, data FROM chatkit_items WHERE user_id = ? AND thread_id = ? AND id = ?",
        )
        .bind(scope(ctx))
        .bind(thread_id)
        .bind(item_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::not_found(RecordKind::Item, item_id))?;
        decode(&row, RecordKind::Item)
    }

    async fn delete_thread(&self, thread_id: &str, ctx: &C) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("DELETE FROM chatkit_items WHERE user_id = ? AND thread_id = ?")
            .bind(scope(ctx))
            .bind(thread_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query("DELETE FROM chatkit_run_states WHERE user_id = ? AND thread_id = ?")
            .bind(scope(ctx))
            .bind(thread_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query("DELETE FROM chatkit_threads WHERE user_id = ? AND id = ?")
            .bind(scope(ctx))
            .bind(thread_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn delete_thread_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM chatkit_items WHERE user_id = ? AND thread_id = ? AND id = ?")
            .bind(scope(ctx))
            .bind(thread_id)
            .bind(item_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load_run_state(
        &self,
        thread_id: &str,
        ctx: &C,
    ) -> Result<Option<SavedRunState>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, r.revision, r.data FROM chatkit_threads t \
             LEFT JOIN chatkit_run_states r ON r.user_id = t.user_id AND r.thread_id = t.id \
             WHERE t.user_id = ? AND t.id = ?",
        )
        .bind(scope(ctx))
        .bind(thread_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::not_found(RecordKind::Thread, thread_id))?;
        saved_run_state(&row, thread_id)
    }

    async fn swap_run_state(
        &self,
        thread_id: &str,
        expected: Option<u64>,
        data: Option<&str>,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        let owner = scope(ctx);
        let next = revision_param(swap_revision(expected));
        let query = match (expected, data) {
            (None, Some(data)) => sqlx::query(
                "INSERT INTO chatkit_run_states (user_id, thread_id, revision, data) \
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS \
                 (SELECT 1 FROM chatkit_threads WHERE user_id = ?1 AND id = ?2) \
                 ON CONFLICT (user_id, thread_id) DO NOTHING",
            )
            .bind(owner)
            .bind(thread_id)
            .bind(next)
            .bind(data),
            (Some(revision), Some(data)) => sqlx::query(
                "UPDATE chatkit_run_states SET revision = ?, data = ? \
                 WHERE user_id = ? AND thread_id = ? AND revision = ?",
            )
            .bind(next)
            .bind(data)
            .bind(owner)
            .bind(thread_id)
            .bind(revision_param(revision)),
            (Some(revision), None) => sqlx::query(
                "DELETE FROM chatkit_run_states WHERE user_id = ? AND thread_id = ? AND revision = ?",
            )
            .bind(owner)
            .bind(thread_id)
            .bind(revision_param(revision)),
            (None, None) => {
                return Ok(Store::<C>::load_run_state(self, thread_id, ctx).await?.is_none())
            }
        };
        let swapped = query
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected()
            == 1;
        if !swapped {
            // Tell a lost race from a thread this user does not have.
            Store::<C>::load_thread(self, thread_id, ctx).await?;
        }
        Ok(swapped)
    }
}
