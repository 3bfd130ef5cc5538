//! [`PostgresStore`] (feature `postgres`): threads, items and attachment metadata in
//! PostgreSQL, for several server replicas sharing one database.
//!
//! The schema is `migrations/` (`0001_init.sql`, `0002_run_states.sql`), applied by versioned migrations (sqlx's
//! migrator, recorded in `chatkit_schema_migrations`, under an advisory lock so that
//! replicas starting together apply it once). Records are stored as the JSON the store
//! writes; every row carries its owner and every query filters by it with bound
//! parameters; a thread's items reference it, so an item is never saved for a thread
//! that does not exist and a deleted thread takes its items with it, whichever replica
//! deletes it.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Row, SqlStr};

use super::sql::decode;
use super::sql::{
    backend, encode, limit_param, page_from_rows, pick, revision_param, saved_run_state, scope,
};
use super::{swap_revision, RecordKind, SavedRunState, Store, StoreContext, StoreError};
use crate::types::{Attachment, Page, SortOrder, ThreadItem, ThreadMetadata};

/// The schema versions this build knows, oldest first.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "run_states",
        include_str!("migrations/0002_run_states.sql"),
    ),
];

/// Where the applied versions are recorded (not sqlx's default table, which an
/// application's own migrations may use).
const MIGRATIONS_TABLE: &str = "chatkit_schema_migrations";

/// The embedded migrations, as sqlx's migrator reads them.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        SqlStr::from_static(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// How [`PostgresStore::connect_with`] connects.
///
/// ```
/// use std::time::Duration;
/// use chatkit_agents::store::PostgresStoreOptions;
/// let options = PostgresStoreOptions::default()
///     .max_connections(20)
///     .acquire_timeout(Duration::from_secs(2))
///     .schema("chatkit");
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStoreOptions {
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    idle_timeout: Option<Duration>,
    schema: Option<String>,
    migrate: bool,
}

impl Default for PostgresStoreOptions {
    fn default() -> Self {
        PostgresStoreOptions {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(600)),
            schema: None,
            migrate: true,
        }
    }
}

impl PostgresStoreOptions {
    /// The most connections the pool opens (default 10).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// The connections the pool keeps open (default 0).
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// How long a store call waits for a free connection before it fails (default 5 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long an unused connection stays open (default 10 minutes; `None`: forever).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Keeps the tables in this schema (created if missing) instead of the connection's
    /// default (`public`). A plain identifier: letters, digits and `_`, not starting
    /// with a digit.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Whether connecting applies the migrations this build has (default `true`; with
    /// `false`, call [`PostgresStore::migrate`] yourself, e.g. from a deploy step).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }
}

/// A store in PostgreSQL, scoped per user, safe to share between server replicas.
///
/// Tables (schema version 2, `migrations/`):
///
/// | table | key | columns | index |
/// |---|---|---|---|
/// | `chatkit_threads` | `(user_id, id)` | `created_at` (unix µs), `seq` (insertion order), `data` (JSON text) | `(user_id, created_at, seq)` for `threads.list` |
/// | `chatkit_items` | `(user_id, thread_id, id)`, references its thread `ON DELETE CASCADE` | the same | `(user_id, thread_id, created_at, seq)` for `items.list` and history |
/// | `chatkit_attachments` | `(user_id, id)` | `data` | |
/// | `chatkit_run_states` | `(user_id, thread_id)`, references its thread `ON DELETE CASCADE` | `revision` (compare-and-swap), `data` | |
/// | `chatkit_schema_migrations` | `version` | sqlx's migration record | |
///
/// ```no_run
/// use chatkit_agents::store::{PostgresStore, Store};
/// use chatkit_agents::types::{ThreadMetadata, Timestamp};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = PostgresStore::connect("postgres://app@db.internal/chat").await.unwrap();
/// let thread = ThreadMetadata::new("thr_1", Timestamp::now());
/// store.save_thread(&thread, &()).await.unwrap();
/// assert_eq!(store.load_thread("thr_1", &()).await.unwrap(), thread);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

fn migration_error(e: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Whether `name` can be used as a schema name without quoting surprises.
fn plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

/// The SQL of one listing, as `[ascending, descending]` pairs: literal strings, so no
/// SQL is ever built from input.
struct PageQueries {
    /// Finds the cursor row's `(created_at, seq)` by the scope binds and its id.
    cursor: &'static str,
    first: [&'static str; 2],
    after: [&'static str; 2],
}

const ITEM_PAGES: PageQueries = PageQueries {
    cursor: "SELECT created_at, seq FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND id = $3",
    first: [
        "SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 ORDER BY created_at ASC, seq ASC LIMIT $3",
        "SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 ORDER BY created_at DESC, seq DESC LIMIT $3",
    ],
    after: [
        "SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND (created_at, seq) > ($3, $4) \
         ORDER BY created_at ASC, seq ASC LIMIT $5",
        "SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND (created_at, seq) < ($3, $4) \
         ORDER BY created_at DESC, seq DESC LIMIT $5",
    ],
};

const THREAD_PAGES: PageQueries = PageQueries {
    cursor: "SELECT created_at, seq FROM chatkit_threads WHERE user_id = $1 AND id = $2",
    first: [
        "SELECT id, data FROM chatkit_threads WHERE user_id = $1 ORDER BY created_at ASC, seq ASC LIMIT $2",
        "SELECT id, data FROM chatkit_threads WHERE user_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2",
    ],
    after: [
        "SELECT id, data FROM chatkit_threads WHERE user_id = $1 AND (created_at, seq) > ($2, $3) \
         ORDER BY created_at ASC, seq ASC LIMIT $4",
        "SELECT id, data FROM chatkit_threads WHERE user_id = $1 AND (created_at, seq) < ($2, $3) \
         ORDER BY created_at DESC, seq DESC LIMIT $4",
    ],
};

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`)
    /// with the default [`PostgresStoreOptions`], applying the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresStoreOptions::default()).await
    }

    /// Connects to the database at `url` with `options`.
    pub async fn connect_with(
        url: &str,
        options: PostgresStoreOptions,
    ) -> Result<Self, StoreError> {
        let mut connect = PgConnectOptions::from_str(url).map_err(backend)?;
        if let Some(schema) = &options.schema {
            if !plain_identifier(schema) {
                return Err(StoreError::Backend(
                    format!("schema name {schema:?} is not a plain identifier (letters, digits and _, not starting with a digit)").into(),
                ));
            }
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .min_connections(options.min_connections)
            .acquire_timeout(options.acquire_timeout)
            .idle_timeout(options.idle_timeout)
            .connect_with(connect)
            .await
            .map_err(backend)?;
        let store = PostgresStore { pool };
        if let Some(schema) = &options.schema {
            store.create_schema(schema).await?;
        }
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Creates `schema` if it is missing. `CREATE SCHEMA IF NOT EXISTS` is not safe
    /// against itself (two replicas starting together collide on the catalog's unique
    /// index), so it runs under a transaction-scoped advisory lock.
    async fn create_schema(&self, schema: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('chatkit-agents schema ' || $1))")
            .bind(schema)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        // Checked by the caller: a plain identifier, so quoting it is exact.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    /// A store on an existing pool, applying the migrations.
    pub async fn with_pool(pool: PgPool) -> Result<Self, StoreError> {
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this build has that the database lacks (a no-op when it
    /// is current). Replicas may call it at once: the migrator holds an advisory lock.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = Migrator::new(Embedded).await.map_err(migration_error)?;
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator.run(&self.pool).await.map_err(migration_error)
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
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
                let row = row.ok_or_else(|| StoreError::not_found(kind, after))?;
                let created_at: i64 = row.try_get(0).map_err(backend)?;
                let seq: i64 = row.try_get(1).map_err(backend)?;
                Some((created_at, seq))
            }
        };
        let sql = match cursor {
            Some(_) => pick(queries.after, order),
            None => pick(queries.first, order),
        };
        let mut query = sqlx::query(sql);
        for value in scope {
            query = query.bind(*value);
        }
        if let Some((created_at, seq)) = cursor {
            query = query.bind(created_at).bind(seq);
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
        let written = sqlx::query(
            "INSERT INTO chatkit_items (user_id, thread_id, id, created_at, data) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, thread_id, id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data",
        )
        .bind(user)
        .bind(thread_id)
        .bind(item.id())
        .bind(item.created_at().to_utc().timestamp_micros())
        .bind(encode(item)?)
        .execute(&self.pool)
        .await;
        match written {
            Ok(_) => Ok(()),
            // The thread's row is gone (or never was): the foreign key refuses the item,
            // also when another replica deleted the thread a moment ago.
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(StoreError::not_found(RecordKind::Thread, thread_id))
            }
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl<C: StoreContext> Store<C> for PostgresStore {
    async fn load_thread(&self, thread_id: &str, ctx: &C) -> Result<ThreadMetadata, StoreError> {
        let row =
            sqlx::query("SELECT id, data FROM chatkit_threads WHERE user_id = $1 AND id = $2")
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
            "INSERT INTO chatkit_threads (user_id, id, created_at, data) VALUES ($1, $2, $3, $4)
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
            "UPDATE chatkit_threads SET created_at = $1, data = $2 WHERE user_id = $3 AND id = $4",
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
        self.page(
            &ITEM_PAGES,
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
            "INSERT INTO chatkit_attachments (user_id, id, data) VALUES ($1, $2, $3)
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
            sqlx::query("SELECT id, data FROM chatkit_attachments WHERE user_id = $1 AND id = $2")
                .bind(scope(ctx))
                .bind(attachment_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .ok_or_else(|| StoreError::not_found(RecordKind::Attachment, attachment_id))?;
        decode(&row, RecordKind::Attachment)
    }

    async fn delete_attachment(&self, attachment_id: &str, ctx: &C) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM chatkit_attachments WHERE user_id = $1 AND id = $2")
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
        self.page(
            &THREAD_PAGES,
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
            "SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND id = $3",
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
        // The items and the run state go with it (ON DELETE CASCADE), in the same
        // statement.
        sqlx::query("DELETE FROM chatkit_threads WHERE user_id = $1 AND id = $2")
            .bind(scope(ctx))
            .bind(thread_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete_thread_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND id = $3")
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
             WHERE t.user_id = $1 AND t.id = $2",
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
        // Each a single statement: the check and the write cannot be split by another
        // replica's.
        let query = match (expected, data) {
            (None, Some(data)) => sqlx::query(
                "INSERT INTO chatkit_run_states (user_id, thread_id, revision, data) \
                 SELECT $1, $2, $3, $4 WHERE EXISTS \
                 (SELECT 1 FROM chatkit_threads WHERE user_id = $1 AND id = $2) \
                 ON CONFLICT (user_id, thread_id) DO NOTHING",
            )
            .bind(owner)
            .bind(thread_id)
            .bind(next)
            .bind(data),
            (Some(revision), Some(data)) => sqlx::query(
                "UPDATE chatkit_run_states SET revision = $1, data = $2 \
                 WHERE user_id = $3 AND thread_id = $4 AND revision = $5",
            )
            .bind(next)
            .bind(data)
            .bind(owner)
            .bind(thread_id)
            .bind(revision_param(revision)),
            (Some(revision), None) => sqlx::query(
                "DELETE FROM chatkit_run_states WHERE user_id = $1 AND thread_id = $2 AND revision = $3",
            )
            .bind(owner)
            .bind(thread_id)
            .bind(revision_param(revision)),
            (None, None) => {
                return Ok(Store::<C>::load_run_state(self, thread_id, ctx).await?.is_none())
            }
        };
        let swapped = match query.execute(&self.pool).await {
            Ok(done) => done.rows_affected() == 1,
            // The thread was deleted between the check and the insert.
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => false,
            Err(e) => return Err(backend(e)),
        };
        if !swapped {
            // Tell a lost race from a thread this user does not have.
            Store::<C>::load_thread(self, thread_id, ctx).await?;
        }
        Ok(swapped)
    }
}
