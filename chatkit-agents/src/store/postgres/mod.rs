//! [`PostgresStore`] (feature `postgres`): threads, items and attachment metadata in
//! PostgreSQL, for several server replicas sharing one database.
//!
//! The schema is `migrations/` (`0001_init.sql`, `0002_run_states.sql`,
//! `0003_active_runs.sql`, `0004_unused_attachments.sql`, `0005_usage.sql`), applied by versioned migrations (sqlx's
//! migrator, recorded in `chatkit_schema_migrations`, under an advisory lock so that
//! replicas starting together apply it once). Records are stored as the JSON the store
//! writes; every row carries its owner and every query filters by it with bound
//! parameters; a thread's items reference it, so an item is never saved for a thread
//! that does not exist and a deleted thread takes its items with it, whichever replica
//! deletes it.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::SqlStr;

use super::sql::{backend, SqlStore};
use super::StoreError;

/// The schema versions this build knows, oldest first.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "run_states",
        include_str!("migrations/0002_run_states.sql"),
    ),
    (
        3,
        "active_runs",
        include_str!("migrations/0003_active_runs.sql"),
    ),
    (
        4,
        "unused_attachments",
        include_str!("migrations/0004_unused_attachments.sql"),
    ),
    (5, "usage", include_str!("migrations/0005_usage.sql")),
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
/// Tables (schema version 5, `migrations/`):
///
/// | table | key | columns | index |
/// |---|---|---|---|
/// | `chatkit_threads` | `(user_id, id)` | `created_at` (unix µs), `seq` (insertion order), `data` (JSON text) | `(user_id, created_at, seq)` for `threads.list` |
/// | `chatkit_items` | `(user_id, thread_id, id)`, references its thread `ON DELETE CASCADE` | the same | `(user_id, thread_id, created_at, seq)` for `items.list` and history |
/// | `chatkit_attachments` | `(user_id, id)` | `saved_at` (unix µs, first save), `used` (a message uses it), `data` | `(used, saved_at)` for sweeping unused ones |
/// | `chatkit_run_states` | `(user_id, thread_id)`, references its thread `ON DELETE CASCADE` | `revision` (compare-and-swap), `data` | |
/// | `chatkit_active_runs` | `(user_id, thread_id)`, references its thread `ON DELETE CASCADE` | `run_id` (claimed by it), `cancel_requested`, `data` (the lease) | |
/// | `chatkit_usage` | `(user_id, thread_id, day, model)`, no foreign key (usage outlives threads) | token counts | `(user_id, day)` for a user's totals |
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
pub type PostgresStore = SqlStore<sqlx::Postgres>;

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

impl SqlStore<sqlx::Postgres> {
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
        let store = SqlStore { pool };
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
        let store = SqlStore { pool };
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
}
