//! Token usage as stores keep it: [`TokenUsage`] per thread, UTC day and model, read back
//! as [`UsageRecord`]s through a [`UsageQuery`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Tokens that model calls used, and how many calls.
///
/// ```
/// use chatkit_agents::store::TokenUsage;
/// let mut total = TokenUsage { requests: 1, input_tokens: 120, cached_input_tokens: 100, output_tokens: 30, reasoning_tokens: 10 };
/// total.add(&TokenUsage { requests: 1, input_tokens: 200, ..Default::default() });
/// assert_eq!((total.requests, total.input_tokens, total.total_tokens()), (2, 320, 350));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Model calls (responses).
    #[serde(default)]
    pub requests: u64,
    /// Input tokens, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Of the input tokens, those read from the provider's prompt cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Output tokens, reasoning ones included.
    #[serde(default)]
    pub output_tokens: u64,
    /// Of the output tokens, those spent reasoning.
    #[serde(default)]
    pub reasoning_tokens: u64,
}

impl TokenUsage {
    /// Adds `other` to these counts (saturating: counts never wrap).
    pub fn add(&mut self, other: &TokenUsage) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(other.cached_input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
    }

    /// Input plus output tokens: what providers bill and what token limits count.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Whether nothing was used.
    pub fn is_empty(&self) -> bool {
        *self == TokenUsage::default()
    }
}

/// One model's usage on one UTC day: a row of [`Store::load_usage`](super::Store::load_usage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// The UTC day the runs ended.
    pub day: NaiveDate,
    /// The model that answered (as the provider named it).
    pub model: String,
    /// What it used that day (in one thread, or in all of the user's threads).
    #[serde(flatten)]
    pub usage: TokenUsage,
}

/// Which usage [`Store::load_usage`](super::Store::load_usage) reads: the request's
/// user's, in one thread or all of them (threads since deleted included), between two
/// UTC days (both included; `None` leaves that side open).
///
/// ```
/// use chatkit_agents::store::UsageQuery;
/// use chrono::NaiveDate;
/// let december = UsageQuery::all_threads()
///     .from(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
///     .to(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
/// let one_thread = UsageQuery::thread("thr_1");
/// # let _ = (december, one_thread);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// One thread, or all of the user's.
    pub thread_id: Option<String>,
    /// The first day included.
    pub from: Option<NaiveDate>,
    /// The last day included.
    pub to: Option<NaiveDate>,
}

impl UsageQuery {
    /// All of the user's threads, every day.
    pub fn all_threads() -> Self {
        Self::default()
    }

    /// One thread, every day.
    pub fn thread(thread_id: impl Into<String>) -> Self {
        UsageQuery {
            thread_id: Some(thread_id.into()),
            ..Self::default()
        }
    }

    /// From this day on (included).
    pub fn from(mut self, day: NaiveDate) -> Self {
        self.from = Some(day);
        self
    }

    /// Up to this day (included).
    pub fn to(mut self, day: NaiveDate) -> Self {
        self.to = Some(day);
        self
    }

    /// Whether a row of `thread_id` on `day` is asked for.
    pub(crate) fn includes(&self, thread_id: &str, day: NaiveDate) -> bool {
        self.thread_id.as_deref().is_none_or(|t| t == thread_id)
            && self.from.is_none_or(|from| day >= from)
            && self.to.is_none_or(|to| day <= to)
    }
}

/// Sums rows of the same day and model, ordered by day then model: what every store
/// returns.
pub(crate) fn sum_by_day_and_model(
    rows: impl IntoIterator<Item = (NaiveDate, String, TokenUsage)>,
) -> Vec<UsageRecord> {
    let mut sums = std::collections::BTreeMap::<(NaiveDate, String), TokenUsage>::new();
    for (day, model, usage) in rows {
        sums.entry((day, model)).or_default().add(&usage);
    }
    sums.into_iter()
        .map(|((day, model), usage)| UsageRecord { day, model, usage })
        .collect()
}

/// Totals over records (all days and models).
///
/// ```
/// use chatkit_agents::store::{total_usage, TokenUsage, UsageRecord};
/// let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
/// let usage = |n| TokenUsage { requests: 1, input_tokens: n, ..Default::default() };
/// let rows = [
///     UsageRecord { day, model: "gpt-5".into(), usage: usage(10) },
///     UsageRecord { day, model: "gpt-5-mini".into(), usage: usage(5) },
/// ];
/// assert_eq!(total_usage(&rows).input_tokens, 15);
/// ```
pub fn total_usage<'a>(records: impl IntoIterator<Item = &'a UsageRecord>) -> TokenUsage {
    let mut total = TokenUsage::default();
    for record in records {
        total.add(&record.usage);
    }
    total
}
