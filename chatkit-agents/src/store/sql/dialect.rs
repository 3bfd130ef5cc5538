//! What differs between the databases [`SqlStore`](super::SqlStore) runs on: the
//! column that orders rows written in the same microsecond, and where a statement's
//! count of touched rows is read. Everything else — the
//! `$n` placeholders (sqlx's SQLite driver reads them as positions too), `ON CONFLICT`
//! upserts, row values, the single-statement compare-and-swap — is one SQL text for
//! both.

/// The SQL of one listing (threads of a user, items of a thread). `[ascending,
/// descending]` pairs of literal strings, so no SQL is ever built from input.
#[derive(Debug)]
pub struct PageQueries {
    /// The cursor row's `(created_at, insertion order)`, by the scope binds and its id.
    pub(super) cursor: &'static str,
    /// The first page: the scope binds, then the limit.
    pub(super) first: [&'static str; 2],
    /// A page after the cursor: the scope binds, the cursor's two values, the limit.
    pub(super) after: [&'static str; 2],
}

/// Both listings, written once for a database's insertion-order column (a literal).
macro_rules! listings {
    ($seq:literal) => {
        (
            // Threads, scoped by `user_id = $1`.
            PageQueries {
                cursor: concat!("SELECT created_at, ", $seq, " FROM chatkit_threads WHERE user_id = $1 AND id = $2"),
                first: [
                    concat!("SELECT id, data FROM chatkit_threads WHERE user_id = $1 ORDER BY created_at ASC, ", $seq, " ASC LIMIT $2"),
                    concat!("SELECT id, data FROM chatkit_threads WHERE user_id = $1 ORDER BY created_at DESC, ", $seq, " DESC LIMIT $2"),
                ],
                after: [
                    concat!("SELECT id, data FROM chatkit_threads WHERE user_id = $1 AND (created_at, ", $seq, ") > ($2, $3) ORDER BY created_at ASC, ", $seq, " ASC LIMIT $4"),
                    concat!("SELECT id, data FROM chatkit_threads WHERE user_id = $1 AND (created_at, ", $seq, ") < ($2, $3) ORDER BY created_at DESC, ", $seq, " DESC LIMIT $4"),
                ],
            },
            // Items, scoped by `user_id = $1 AND thread_id = $2`.
            PageQueries {
                cursor: concat!("SELECT created_at, ", $seq, " FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND id = $3"),
                first: [
                    concat!("SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 ORDER BY created_at ASC, ", $seq, " ASC LIMIT $3"),
                    concat!("SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 ORDER BY created_at DESC, ", $seq, " DESC LIMIT $3"),
                ],
                after: [
                    concat!("SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND (created_at, ", $seq, ") > ($3, $4) ORDER BY created_at ASC, ", $seq, " ASC LIMIT $5"),
                    concat!("SELECT id, data FROM chatkit_items WHERE user_id = $1 AND thread_id = $2 AND (created_at, ", $seq, ") < ($3, $4) ORDER BY created_at DESC, ", $seq, " DESC LIMIT $5"),
                ],
            },
        )
    };
}

/// Kept out of the public trait: the listings are the store's business.
pub(super) mod sealed {
    use super::PageQueries;

    pub trait Sealed: sqlx::Database {
        /// How many rows a statement touched (an inherent method of each driver's
        /// result type, not a trait's).
        fn rows_affected(result: &Self::QueryResult) -> u64;
        /// Listing a user's threads.
        const THREAD_PAGES: PageQueries;
        /// Listing a thread's items.
        const ITEM_PAGES: PageQueries;
    }
}

/// A database [`SqlStore`](super::SqlStore) runs on: `sqlx::Sqlite` (feature `sqlite`)
/// or `sqlx::Postgres` (feature `postgres`). Sealed: the store's SQL is written and
/// tested for these two.
pub trait SqlDialect: sealed::Sealed {}

/// SQLite orders by `rowid`, which an upsert keeps.
#[cfg(feature = "sqlite")]
impl sealed::Sealed for sqlx::Sqlite {
    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
    const THREAD_PAGES: PageQueries = listings!("rowid").0;
    const ITEM_PAGES: PageQueries = listings!("rowid").1;
}

#[cfg(feature = "sqlite")]
impl SqlDialect for sqlx::Sqlite {}

/// PostgreSQL orders by `seq`, an identity column an upsert keeps (see `migrations/`).
#[cfg(feature = "postgres")]
impl sealed::Sealed for sqlx::Postgres {
    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }
    const THREAD_PAGES: PageQueries = listings!("seq").0;
    const ITEM_PAGES: PageQueries = listings!("seq").1;
}

#[cfg(feature = "postgres")]
impl SqlDialect for sqlx::Postgres {}
