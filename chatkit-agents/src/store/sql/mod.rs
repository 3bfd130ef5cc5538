//! [`SqlStore`]: the store written once for SQL databases; [`SqliteStore`] and
//! [`PostgresStore`] are it on SQLite and on PostgreSQL.
//!
//! Records are kept as JSON text next to the columns used for lookups and ordering;
//! every row carries its owner and every query filters by it with bound parameters;
//! pages are read as `limit + 1` rows. Opening a database (the schema, migrations, pool
//! options) is each database's own module; what differs in the queries is in
//! [`dialect`].
//!
#![cfg_attr(feature = "sqlite", doc = "[`SqliteStore`]: super::SqliteStore")]
#![cfg_attr(not(feature = "sqlite"), doc = "[`SqliteStore`]: crate#features")]
#![cfg_attr(feature = "postgres", doc = "[`PostgresStore`]: super::PostgresStore")]
#![cfg_attr(not(feature = "postgres"), doc = "[`PostgresStore`]: crate#features")]

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

use super::{
    sum_by_day_and_model, swap_revision, ActiveRun, RecordKind, SavedRunState, Store, StoreContext,
    StoreError, TokenUsage, UsageQuery, UsageRecord,
};
use crate::types::{Attachment, Page, SortOrder, ThreadItem, ThreadMetadata, Timestamp};

mod dialect;
mod rows;

use dialect::PageQueries;
pub use dialect::SqlDialect;
pub(super) use rows::backend;
use rows::{
    active_run, count_param, decode, encode, limit_param, page_from_rows, pick, revision_param,
    saved_run_state, scope, usage_row,
};

/// A store in a SQL database, scoped per user: `SqliteStore` (`SqlStore<sqlx::Sqlite>`,
/// feature `sqlite`) or `PostgresStore` (`SqlStore<sqlx::Postgres>`, feature
/// `postgres`), whose constructors and schema are documented there. The rules of
/// [`Store`] are written once here and checked on both databases by the conformance
/// suite.
pub struct SqlStore<DB: SqlDialect> {
    pub(super) pool: Pool<DB>,
}

impl<DB: SqlDialect> SqlStore<DB> {
    /// The connection pool.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

impl<DB: SqlDialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
        }
    }
}

impl<DB: SqlDialect> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("pool", &self.pool)
            .finish()
    }
}

// The statements that read the same on both databases. Literal strings, so no SQL is
// ever built from input.

/// Usage counts only grow; days are `YYYY-MM-DD` text (sorts as dates).
const ADD_USAGE: &str = "INSERT INTO chatkit_usage (user_id, thread_id, day, model, requests, input_tokens, \
     cached_input_tokens, output_tokens, reasoning_tokens) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (user_id, thread_id, day, model) DO UPDATE SET \
     requests = chatkit_usage.requests + excluded.requests, \
     input_tokens = chatkit_usage.input_tokens + excluded.input_tokens, \
     cached_input_tokens = chatkit_usage.cached_input_tokens + excluded.cached_input_tokens, \
     output_tokens = chatkit_usage.output_tokens + excluded.output_tokens, \
     reasoning_tokens = chatkit_usage.reasoning_tokens + excluded.reasoning_tokens";
/// `$2 = ''`: every thread; the days are bounds, both included.
const LOAD_USAGE: &str = "SELECT day, model, CAST(SUM(requests) AS BIGINT) AS requests, \
     CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
     CAST(SUM(cached_input_tokens) AS BIGINT) AS cached_input_tokens, \
     CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, \
     CAST(SUM(reasoning_tokens) AS BIGINT) AS reasoning_tokens \
     FROM chatkit_usage WHERE user_id = $1 AND ($2 = '' OR thread_id = $2) AND day >= $3 AND day <= $4 \
     GROUP BY day, model";

const LOAD_THREAD: &str = "SELECT id, data FROM chatkit_threads WHERE user_id = $1 AND id = $2";
const SAVE_THREAD: &str = "INSERT INTO chatkit_threads (user_id, id, created_at, data) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (user_id, id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data";
const UPDATE_THREAD: &str =
    "UPDATE chatkit_threads SET created_at = $3, data = $4 WHERE user_id = $1 AND id = $2";
/// The thread's existence is checked in the same statement, so a concurrent delete
/// cannot leave an orphan row (on PostgreSQL the foreign key also refuses it).
const UPSERT_ITEM: &str = "INSERT INTO chatkit_items (user_id, thread_id, id, created_at, data) \
     SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM chatkit_threads WHERE user_id = $1 AND id = $2) \
     ON CONFLICT (user_id, thread_id, id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data";
const LOAD_ITEM: &str =
    "SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND id = $3";
const DELETE_ITEM: &str =
    "DELETE FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND id = $3";
/// A thread with what belongs to it, children first, in one transaction.
const DELETE_THREAD: [&str; 4] = [
    "DELETE FROM chatkit_items WHERE user_id = $1 AND thread_id = $2",
    "DELETE FROM chatkit_run_states WHERE user_id = $1 AND thread_id = $2",
    "DELETE FROM chatkit_active_runs WHERE user_id = $1 AND thread_id = $2",
    "DELETE FROM chatkit_threads WHERE user_id = $1 AND id = $2",
];
/// An upsert that keeps the first save's time.
const SAVE_ATTACHMENT: &str =
    "INSERT INTO chatkit_attachments (user_id, id, data, saved_at, used) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (user_id, id) DO UPDATE SET data = excluded.data, used = excluded.used";
/// Unused attachments saved before `$1`, oldest first, at most `$2`: deleted and
/// returned in one statement, so that concurrent sweeps never take one twice.
const TAKE_UNUSED_ATTACHMENTS: &str = "DELETE FROM chatkit_attachments WHERE (user_id, id) IN \
     (SELECT user_id, id FROM chatkit_attachments WHERE used = 0 AND saved_at < $1 \
      ORDER BY saved_at LIMIT $2) RETURNING id, data";
const LOAD_ATTACHMENT: &str =
    "SELECT id, data FROM chatkit_attachments WHERE user_id = $1 AND id = $2";
const DELETE_ATTACHMENT: &str = "DELETE FROM chatkit_attachments WHERE user_id = $1 AND id = $2";
const LOAD_RUN_STATE: &str = "SELECT t.id, r.revision, r.data FROM chatkit_threads t \
     LEFT JOIN chatkit_run_states r ON r.user_id = t.user_id AND r.thread_id = t.id \
     WHERE t.user_id = $1 AND t.id = $2";
// The run state's compare-and-swap, each a single statement so that the check and the
// write cannot be split by another connection's (binds: owner, thread, then the rest).
const INSERT_RUN_STATE: &str = "INSERT INTO chatkit_run_states (user_id, thread_id, revision, data) \
     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM chatkit_threads WHERE user_id = $1 AND id = $2) \
     ON CONFLICT (user_id, thread_id) DO NOTHING";
const REPLACE_RUN_STATE: &str = "UPDATE chatkit_run_states SET revision = $3, data = $4 \
     WHERE user_id = $1 AND thread_id = $2 AND revision = $5";
const DELETE_RUN_STATE: &str =
    "DELETE FROM chatkit_run_states WHERE user_id = $1 AND thread_id = $2 AND revision = $3";

const LOAD_ACTIVE_RUN: &str = "SELECT t.id, r.cancel_requested, r.data FROM chatkit_threads t \
     LEFT JOIN chatkit_active_runs r ON r.user_id = t.user_id AND r.thread_id = t.id \
     WHERE t.user_id = $1 AND t.id = $2";
// The lease's statements, each one check-and-write (binds: owner, thread, then the rest).
const CLAIM_FREE_THREAD: &str = "INSERT INTO chatkit_active_runs (user_id, thread_id, run_id, cancel_requested, data) \
     SELECT $1, $2, $3, 0, $4 WHERE EXISTS (SELECT 1 FROM chatkit_threads WHERE user_id = $1 AND id = $2) \
     ON CONFLICT (user_id, thread_id) DO NOTHING";
const TAKE_OVER_RUN: &str =
    "UPDATE chatkit_active_runs SET run_id = $3, cancel_requested = 0, data = $4 \
     WHERE user_id = $1 AND thread_id = $2 AND run_id = $5";
const RENEW_RUN: &str = "UPDATE chatkit_active_runs SET data = $4 \
     WHERE user_id = $1 AND thread_id = $2 AND run_id = $3 AND cancel_requested = 0";
const CANCEL_RUN: &str = "UPDATE chatkit_active_runs SET cancel_requested = 1 \
     WHERE user_id = $1 AND thread_id = $2 AND run_id = $3";
const RELEASE_RUN: &str =
    "DELETE FROM chatkit_active_runs WHERE user_id = $1 AND thread_id = $2 AND run_id = $3";

/// Whether a write failed because a row it references is gone (a thread deleted by
/// another replica a moment ago; only databases with foreign keys report it).
fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(e) if e.is_foreign_key_violation())
}

// What sqlx must offer for a database for the store's code to run on it, spelled out on
// both `impl`s below (Rust does not carry such bounds through a trait).
impl<DB> SqlStore<DB>
where
    DB: SqlDialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    &'static str: ColumnIndex<DB::Row>,
{
    /// One row by the binds, as a `T`; no row is [`StoreError::NotFound`].
    async fn load_one<T: DeserializeOwned>(
        &self,
        sql: &'static str,
        binds: &[&str],
        kind: RecordKind,
        id: &str,
    ) -> Result<T, StoreError> {
        let mut query = sqlx::query(sql);
        for value in binds {
            query = query.bind(*value);
        }
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::not_found(kind, id))?;
        decode(&row, kind)
    }

    /// The row of a thread left-joined with what belongs to it (`sql` binds the owner
    /// and the thread); no row is the thread [`StoreError::NotFound`].
    async fn thread_row(
        &self,
        sql: &'static str,
        owner: &str,
        thread_id: &str,
    ) -> Result<DB::Row, StoreError> {
        sqlx::query(sql)
            .bind(owner)
            .bind(thread_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::not_found(RecordKind::Thread, thread_id))
    }

    /// Runs `sql` with text binds; the rows it touched.
    async fn execute(&self, sql: &'static str, binds: &[&str]) -> Result<u64, StoreError> {
        let mut query = sqlx::query(sql);
        for value in binds {
            query = query.bind(*value);
        }
        let done = query.execute(&self.pool).await.map_err(backend)?;
        Ok(DB::rows_affected(&done))
    }

    /// One page of a listing: finds the cursor row (by the `scope` binds plus its id),
    /// then fetches `limit + 1` rows after it in `order`.
    async fn page<T: DeserializeOwned>(
        &self,
        queries: &PageQueries,
        scope: &[&str],
        after: Option<&str>,
        (limit, order): (usize, SortOrder),
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
                    .map_err(backend)?
                    .ok_or_else(|| StoreError::not_found(kind, after))?;
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
        let written = sqlx::query(UPSERT_ITEM)
            .bind(user)
            .bind(thread_id)
            .bind(item.id())
            .bind(item.created_at().to_utc().timestamp_micros())
            .bind(encode(item)?)
            .execute(&self.pool)
            .await;
        match written {
            Ok(done) if DB::rows_affected(&done) > 0 => Ok(()),
            Ok(_) => Err(StoreError::not_found(RecordKind::Thread, thread_id)),
            Err(e) if is_foreign_key_violation(&e) => {
                Err(StoreError::not_found(RecordKind::Thread, thread_id))
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// The run state's compare-and-swap as one statement; `None` when there is nothing
    /// to write (no state expected and none given).
    fn swap_statement<'q>(
        owner: &'q str,
        thread_id: &'q str,
        expected: Option<u64>,
        data: Option<&'q str>,
    ) -> Option<sqlx::query::Query<'q, DB, DB::Arguments>> {
        let next = revision_param(swap_revision(expected));
        let query = match (expected, data) {
            (None, Some(data)) => sqlx::query(INSERT_RUN_STATE)
                .bind(owner)
                .bind(thread_id)
                .bind(next)
                .bind(data),
            (Some(revision), Some(data)) => sqlx::query(REPLACE_RUN_STATE)
                .bind(owner)
                .bind(thread_id)
                .bind(next)
                .bind(data)
                .bind(revision_param(revision)),
            (Some(revision), None) => sqlx::query(DELETE_RUN_STATE)
                .bind(owner)
                .bind(thread_id)
                .bind(revision_param(revision)),
            (None, None) => return None,
        };
        Some(query)
    }
}

#[async_trait]
impl<C, DB> Store<C> for SqlStore<DB>
where
    C: StoreContext,
    DB: SqlDialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    &'static str: ColumnIndex<DB::Row>,
{
    async fn load_thread(&self, thread_id: &str, ctx: &C) -> Result<ThreadMetadata, StoreError> {
        self.load_one(
            LOAD_THREAD,
            &[scope(ctx), thread_id],
            RecordKind::Thread,
            thread_id,
        )
        .await
    }

    async fn save_thread(&self, thread: &ThreadMetadata, ctx: &C) -> Result<(), StoreError> {
        sqlx::query(SAVE_THREAD)
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
        let written = sqlx::query(UPDATE_THREAD)
            .bind(scope(ctx))
            .bind(&thread.id)
            .bind(thread.created_at.to_utc().timestamp_micros())
            .bind(encode(thread)?)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        if DB::rows_affected(&written) == 0 {
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
            &DB::ITEM_PAGES,
            &[scope(ctx), thread_id],
            after,
            (limit, order),
            RecordKind::Item,
            |item: &ThreadItem| item.id().to_owned(),
        )
        .await
    }

    async fn save_attachment(&self, attachment: &Attachment, ctx: &C) -> Result<(), StoreError> {
        sqlx::query(SAVE_ATTACHMENT)
            .bind(scope(ctx))
            .bind(attachment.id())
            .bind(encode(attachment)?)
            .bind(chrono::Utc::now().timestamp_micros())
            .bind(i64::from(attachment.thread_id().is_some()))
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
        self.load_one(
            LOAD_ATTACHMENT,
            &[scope(ctx), attachment_id],
            RecordKind::Attachment,
            attachment_id,
        )
        .await
    }

    async fn delete_attachment(&self, attachment_id: &str, ctx: &C) -> Result<(), StoreError> {
        self.execute(DELETE_ATTACHMENT, &[scope(ctx), attachment_id])
            .await
            .map(drop)
    }

    async fn take_unused_attachments(
        &self,
        saved_before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Attachment>, StoreError> {
        let rows = sqlx::query(TAKE_UNUSED_ATTACHMENTS)
            .bind(saved_before.to_utc().timestamp_micros())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| decode(row, RecordKind::Attachment))
            .collect()
    }

    async fn load_threads(
        &self,
        limit: usize,
        after: Option<&str>,
        order: SortOrder,
        ctx: &C,
    ) -> Result<Page<ThreadMetadata>, StoreError> {
        self.page(
            &DB::THREAD_PAGES,
            &[scope(ctx)],
            after,
            (limit, order),
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
        self.load_one(
            LOAD_ITEM,
            &[scope(ctx), thread_id, item_id],
            RecordKind::Item,
            item_id,
        )
        .await
    }

    async fn delete_thread(&self, thread_id: &str, ctx: &C) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for statement in DELETE_THREAD {
            sqlx::query(statement)
                .bind(scope(ctx))
                .bind(thread_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_thread_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.execute(DELETE_ITEM, &[scope(ctx), thread_id, item_id])
            .await
            .map(drop)
    }

    async fn load_run_state(
        &self,
        thread_id: &str,
        ctx: &C,
    ) -> Result<Option<SavedRunState>, StoreError> {
        let row = self
            .thread_row(LOAD_RUN_STATE, scope(ctx), thread_id)
            .await?;
        saved_run_state(&row, thread_id)
    }

    async fn swap_run_state(
        &self,
        thread_id: &str,
        expected: Option<u64>,
        data: Option<&str>,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        let Some(query) = Self::swap_statement(scope(ctx), thread_id, expected, data) else {
            return Ok(Store::<C>::load_run_state(self, thread_id, ctx)
                .await?
                .is_none());
        };
        let swapped = match query.execute(&self.pool).await {
            Ok(done) => DB::rows_affected(&done) == 1,
            // The thread was deleted between the check and the insert.
            Err(e) if is_foreign_key_violation(&e) => false,
            Err(e) => return Err(backend(e)),
        };
        if !swapped {
            // Tell a lost race from a thread this user does not have.
            Store::<C>::load_thread(self, thread_id, ctx).await?;
        }
        Ok(swapped)
    }

    async fn load_active_run(
        &self,
        thread_id: &str,
        ctx: &C,
    ) -> Result<Option<ActiveRun>, StoreError> {
        let row = self
            .thread_row(LOAD_ACTIVE_RUN, scope(ctx), thread_id)
            .await?;
        active_run(&row, thread_id)
    }

    async fn claim_active_run(
        &self,
        thread_id: &str,
        run: &ActiveRun,
        replacing: Option<&str>,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        let data = encode(run)?;
        let binds = [scope(ctx), thread_id, &run.run_id, &data];
        let claimed = match replacing {
            None => self.execute(CLAIM_FREE_THREAD, &binds).await,
            Some(old) => {
                let [user, thread, run_id, data] = binds;
                self.execute(TAKE_OVER_RUN, &[user, thread, run_id, data, old])
                    .await
            }
        };
        let claimed = match claimed {
            Ok(rows) => rows == 1,
            Err(StoreError::Backend(e))
                if e.downcast_ref::<sqlx::Error>()
                    .is_some_and(is_foreign_key_violation) =>
            {
                false
            }
            Err(e) => return Err(e),
        };
        if !claimed {
            // Tell a lost race from a thread this user does not have.
            Store::<C>::load_thread(self, thread_id, ctx).await?;
        }
        Ok(claimed)
    }

    async fn renew_active_run(
        &self,
        thread_id: &str,
        run: &ActiveRun,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        let data = encode(run)?;
        let rows = self
            .execute(RENEW_RUN, &[scope(ctx), thread_id, &run.run_id, &data])
            .await?;
        Ok(rows == 1)
    }

    async fn cancel_active_run(
        &self,
        thread_id: &str,
        run_id: &str,
        ctx: &C,
    ) -> Result<bool, StoreError> {
        let rows = self
            .execute(CANCEL_RUN, &[scope(ctx), thread_id, run_id])
            .await?;
        Ok(rows == 1)
    }

    async fn release_active_run(
        &self,
        thread_id: &str,
        run_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError> {
        self.execute(RELEASE_RUN, &[scope(ctx), thread_id, run_id])
            .await
            .map(drop)
    }

    async fn add_usage(
        &self,
        thread_id: &str,
        day: NaiveDate,
        model: &str,
        usage: &TokenUsage,
        ctx: &C,
    ) -> Result<(), StoreError> {
        sqlx::query(ADD_USAGE)
            .bind(scope(ctx))
            .bind(thread_id)
            .bind(day.format("%Y-%m-%d").to_string())
            .bind(model)
            .bind(count_param(usage.requests))
            .bind(count_param(usage.input_tokens))
            .bind(count_param(usage.cached_input_tokens))
            .bind(count_param(usage.output_tokens))
            .bind(count_param(usage.reasoning_tokens))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load_usage(
        &self,
        query: &UsageQuery,
        ctx: &C,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        let day = |day: Option<NaiveDate>, open: &str| match day {
            Some(day) => day.format("%Y-%m-%d").to_string(),
            None => open.to_owned(),
        };
        let rows = sqlx::query(LOAD_USAGE)
            .bind(scope(ctx))
            .bind(query.thread_id.as_deref().unwrap_or(""))
            .bind(day(query.from, "0000-01-01"))
            .bind(day(query.to, "9999-12-31"))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        // Ordered here, not by SQL: the databases' collations differ.
        Ok(sum_by_day_and_model(
            rows.iter().map(usage_row).collect::<Result<Vec<_>, _>>()?,
        ))
    }
}
