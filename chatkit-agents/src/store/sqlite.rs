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
    // The lease of the run answering in a thread (at most one), claimed by run id.
    "CREATE TABLE IF NOT EXISTS chatkit_active_runs (
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        cancel_requested INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (user_id, thread_id)
    )",
];

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
        Ok(SqlStore { pool })
    }
}
