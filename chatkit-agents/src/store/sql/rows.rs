//! Binds and rows of [`SqlStore`](super::SqlStore): records as JSON text, the owner
//! column's value, pages read as `limit + 1` rows, run states with their revision.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{ActiveRun, RecordKind, SavedRunState, StoreContext, StoreError, TokenUsage};
use crate::store::page_of;
use crate::types::{to_storage_json, Page, SortOrder};

pub(in crate::store) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// The owner column's value: the user, or `''` when unscoped.
pub(super) fn scope<C: StoreContext>(ctx: &C) -> &str {
    ctx.user_id().unwrap_or("")
}

/// The query of a `[ascending, descending]` pair.
pub(super) fn pick(queries: [&'static str; 2], order: SortOrder) -> &'static str {
    match order {
        SortOrder::Asc => queries[0],
        SortOrder::Desc => queries[1],
    }
}

/// The `LIMIT` of a page: one extra row tells whether more follow.
pub(super) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit)
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1)
}

pub(super) fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    to_storage_json(value).map_err(|e| StoreError::Backend(Box::new(e)))
}

/// A row's `data` as a `T`; a row that does not decode is [`StoreError::Corrupt`].
pub(super) fn decode<'r, T, R>(row: &'r R, kind: RecordKind) -> Result<T, StoreError>
where
    T: DeserializeOwned,
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let data: String = row.try_get("data").map_err(backend)?;
    serde_json::from_str(&data).map_err(|e| {
        let id: String = row.try_get("id").unwrap_or_default();
        StoreError::Corrupt {
            kind,
            id,
            message: e.to_string(),
        }
    })
}

/// A page from `limit + 1` fetched rows.
pub(super) fn page_from_rows<T, R>(
    rows: &[R],
    limit: usize,
    kind: RecordKind,
    id_of: impl Fn(&T) -> String,
) -> Result<Page<T>, StoreError>
where
    T: DeserializeOwned,
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let data = rows
        .iter()
        .take(limit.saturating_add(1))
        .map(|row| decode(row, kind))
        .collect::<Result<Vec<T>, _>>()?;
    Ok(page_of(data, limit, id_of))
}

/// A revision as the SQL stores keep it (a signed 64-bit column).
pub(super) fn revision_param(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

/// The run state of a row of `(id, revision, data)` from a thread left-joined with its
/// run state: `None` when the thread has none.
pub(super) fn saved_run_state<R>(
    row: &R,
    thread_id: &str,
) -> Result<Option<SavedRunState>, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let revision: Option<i64> = row.try_get("revision").map_err(backend)?;
    let data: Option<String> = row.try_get("data").map_err(backend)?;
    match (revision, data) {
        (Some(revision), Some(data)) => {
            let revision = u64::try_from(revision).map_err(|_| StoreError::Corrupt {
                kind: RecordKind::RunState,
                id: thread_id.to_owned(),
                message: format!("negative revision {revision}"),
            })?;
            Ok(Some(SavedRunState { revision, data }))
        }
        _ => Ok(None),
    }
}

/// The active run of a row of `(id, cancel_requested, data)` from a thread left-joined
/// with its lease: `None` when no run holds the thread.
pub(super) fn active_run<R>(row: &R, thread_id: &str) -> Result<Option<ActiveRun>, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let cancel_requested: Option<i64> = row.try_get("cancel_requested").map_err(backend)?;
    let data: Option<String> = row.try_get("data").map_err(backend)?;
    let (Some(cancel_requested), Some(data)) = (cancel_requested, data) else {
        return Ok(None);
    };
    let mut run: ActiveRun = serde_json::from_str(&data).map_err(|e| StoreError::Corrupt {
        kind: RecordKind::Thread,
        id: format!("{thread_id} (its active run)"),
        message: e.to_string(),
    })?;
    run.cancel_requested = cancel_requested != 0;
    Ok(Some(run))
}

/// A row of `chatkit_usage` sums: `(day, model, usage)`. Counts are stored as `BIGINT`
/// (never negative: they are only ever added to); a day that does not parse is
/// [`StoreError::Corrupt`].
pub(super) fn usage_row<R>(row: &R) -> Result<(NaiveDate, String, TokenUsage), StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let day: String = row.try_get("day").map_err(backend)?;
    let model: String = row.try_get("model").map_err(backend)?;
    let count = |column: &'static str| -> Result<u64, StoreError> {
        let value: i64 = row.try_get(column).map_err(backend)?;
        Ok(u64::try_from(value).unwrap_or(0))
    };
    let usage = TokenUsage {
        requests: count("requests")?,
        input_tokens: count("input_tokens")?,
        cached_input_tokens: count("cached_input_tokens")?,
        output_tokens: count("output_tokens")?,
        reasoning_tokens: count("reasoning_tokens")?,
    };
    let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| StoreError::Corrupt {
        kind: RecordKind::Thread,
        id: format!("usage of {model} on {day:?}"),
        message: e.to_string(),
    })?;
    Ok((day, model, usage))
}

/// A count as a `BIGINT` (counts beyond `i64::MAX` stop there).
pub(super) fn count_param(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
