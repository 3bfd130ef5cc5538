//! [`SqliteStore`]: the embedded default store, on sqlx and a bundled SQLite.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::sql::{backend, SqlStore};
use super::StoreError;

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
    // `saved_at`: unix µs of the first save; `used`: 1 once a message uses it.
    "CREATE TABLE IF NOT EXISTS chatkit_attachments (
        user_id TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        saved_at INTEGER NOT NULL DEFAULT 0,
        used INTEGER NOT NULL DEFAULT 0,
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
    // The lease of the run answering in a thread (at most one), claimed by run id.
    "CREATE TABLE IF NOT EXISTS chatkit_active_runs (
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        cancel_requested INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (user_id, thread_id)
    )",
    // Token usage per thread, UTC day (`YYYY-MM-DD`) and model; outlives its thread.
    "CREATE TABLE IF NOT EXISTS chatkit_usage (
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        day TEXT NOT NULL,
        model TEXT NOT NULL,
        requests INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        cached_input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        PRIMARY KEY (user_id, thread_id, day, model)
    )",
    "CREATE INDEX IF NOT EXISTS chatkit_usage_by_day ON chatkit_usage (user_id, day)",
];

/// A database made before attachments had `saved_at` and `used` gets them: used as
/// their `thread_id` says, saved now (so that none is swept before its time).
async fn add_attachment_columns(pool: &SqlitePool) -> Result<(), StoreError> {
    let has: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_info('chatkit_attachments') WHERE name = 'saved_at'",
    )
    .fetch_one(pool)
    .await
    .map_err(backend)?;
    if has == 0 {
        let mut tx = pool.begin().await.map_err(backend)?;
        for statement in [
            "ALTER TABLE chatkit_attachments ADD COLUMN saved_at INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE chatkit_attachments ADD COLUMN used INTEGER NOT NULL DEFAULT 0",
        ] {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        sqlx::query(
            "UPDATE chatkit_attachments SET used = (json_extract(data, '$.thread_id') IS NOT NULL), saved_at = $1",
        )
        .bind(chrono::Utc::now().timestamp_micros())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
    }
    sqlx::query(
        "CREATE INDEX IF NOT EXISTS chatkit_attachments_unused ON chatkit_attachments (used, saved_at)",
    )
    .execute(pool)
    .await
    .map_err(backend)?;
    Ok(())
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
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

impl SqlStore<sqlx::Sqlite> {
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
        add_attachment_columns(&pool).await?;
        Ok(SqlStore { pool })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::types::Timestamp;

    #[tokio::test]
    async fn a_database_from_before_the_sweep_columns_gets_them() {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").unwrap();
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .unwrap();
        // The table as earlier versions made it, with one sent and one unsent file.
        sqlx::query("CREATE TABLE chatkit_attachments (user_id TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (user_id, id))")
            .execute(&pool)
            .await
            .unwrap();
        for (id, thread) in [("atc_sent", r#","thread_id":"thr_1""#), ("atc_unsent", "")] {
            let data = format!(
                r#"{{"id":"{id}","name":"a.txt","mime_type":"text/plain"{thread},"type":"file"}}"#
            );
            sqlx::query("INSERT INTO chatkit_attachments VALUES ('', $1, $2)")
                .bind(id)
                .bind(data)
                .execute(&pool)
                .await
                .unwrap();
        }
        let store = SqliteStore::with_pool(pool).await.unwrap();
        // Counted as saved now: nothing is old enough yet.
        let now = Timestamp::now().plus_seconds(-60);
        assert!(Store::<()>::take_unused_attachments(&store, now, 10)
            .await
            .unwrap()
            .is_empty());
        let later = Timestamp::now().plus_seconds(60);
        let taken = Store::<()>::take_unused_attachments(&store, later, 10)
            .await
            .unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].id(), "atc_unsent");
        Store::<()>::load_attachment(&store, "atc_sent", &())
            .await
            .unwrap();
        // Opening again changes nothing.
        let again = SqliteStore::with_pool(store.pool.clone()).await.unwrap();
        Store::<()>::load_attachment(&again, "atc_sent", &())
            .await
            .unwrap();
    }
}
