//! [`MemoryLimitCounters`]: limit counts in this process.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    millis, window_of, CounterError, LimitCounters, LimitExceeded, LimitKind, LimitSettings, Rate,
};

/// Limit counts in this process: exact for one replica; with several, each counts
/// alone (use `RedisLimitCounters`, feature `redis`). Stream slots need no renewal (they
/// die with the process that holds them). A user's counts are forgotten once their
/// windows have passed and they hold no stream.
#[derive(Debug, Default)]
pub struct MemoryLimitCounters {
    users: Mutex<Users>,
}

#[derive(Debug, Default)]
struct Users {
    counts: HashMap<String, UserCounts>,
    /// Admissions since idle users were last forgotten.
    since_sweep: usize,
}

#[derive(Debug, Default)]
struct UserCounts {
    /// `(window index, count)`.
    requests: (u64, u64),
    tokens: (u64, u64),
    /// Stream id → expiry (Unix ms).
    streams: HashMap<String, u64>,
    /// The end of the latest window counted (Unix ms): idle after it.
    busy_until: u64,
}

/// Idle users are forgotten every this many admissions.
const SWEEP_EVERY: usize = 4096;

impl MemoryLimitCounters {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The count of `slot` in the window `index` (a count of an earlier window is zero).
fn in_window(slot: &mut (u64, u64), index: u64) -> &mut u64 {
    if slot.0 != index {
        *slot = (index, 0);
    }
    &mut slot.1
}

#[async_trait]
impl LimitCounters for MemoryLimitCounters {
    async fn admit(
        &self,
        user: &str,
        settings: &LimitSettings,
        stream: Option<&str>,
        now_ms: u64,
    ) -> Result<Result<(), LimitExceeded>, CounterError> {
        let mut users = crate::locks::lock(&self.users);
        users.since_sweep += 1;
        if users.since_sweep >= SWEEP_EVERY {
            users.since_sweep = 0;
            users.counts.retain(|_, counts| {
                counts.streams.retain(|_, expires| *expires > now_ms);
                counts.busy_until > now_ms || !counts.streams.is_empty()
            });
        }
        let counts = users.counts.entry(user.to_owned()).or_default();
        if let Some(rate) = settings.requests {
            let (index, left) = window_of(&rate, now_ms);
            counts.busy_until = counts.busy_until.max(now_ms.saturating_add(millis(left)));
            let count = in_window(&mut counts.requests, index);
            *count += 1;
            if *count > rate.limit {
                return Ok(Err(LimitExceeded::window(LimitKind::Requests, rate, left)));
            }
        }
        if let (Some(rate), Some(_)) = (settings.tokens, stream) {
            let (index, left) = window_of(&rate, now_ms);
            if *in_window(&mut counts.tokens, index) >= rate.limit {
                return Ok(Err(LimitExceeded::window(LimitKind::Tokens, rate, left)));
            }
        }
        if let (Some(limit), Some(stream)) = (settings.concurrent_streams, stream) {
            counts.streams.retain(|_, expires| *expires > now_ms);
            if counts.streams.len() as u64 >= limit {
                return Ok(Err(LimitExceeded::streams(limit)));
            }
            // Held until freed: the slots die with the process that holds them.
            counts.streams.insert(stream.to_owned(), u64::MAX);
        }
        Ok(Ok(()))
    }

    fn slots_expire(&self) -> bool {
        false
    }

    fn end_stream_now(&self, user: &str, stream: &str) -> bool {
        let mut users = crate::locks::lock(&self.users);
        if let Some(counts) = users.counts.get_mut(user) {
            counts.streams.remove(stream);
        }
        true
    }

    async fn renew_stream(
        &self,
        user: &str,
        stream: &str,
        expires_ms: u64,
    ) -> Result<(), CounterError> {
        let mut users = crate::locks::lock(&self.users);
        if let Some(expires) = users
            .counts
            .get_mut(user)
            .and_then(|counts| counts.streams.get_mut(stream))
        {
            *expires = expires_ms;
        }
        Ok(())
    }

    async fn end_stream(&self, user: &str, stream: &str) -> Result<(), CounterError> {
        self.end_stream_now(user, stream);
        Ok(())
    }

    async fn add_tokens(
        &self,
        user: &str,
        tokens: u64,
        rate: Rate,
        now_ms: u64,
    ) -> Result<(), CounterError> {
        let mut users = crate::locks::lock(&self.users);
        let counts = users.counts.entry(user.to_owned()).or_default();
        let (index, left) = window_of(&rate, now_ms);
        counts.busy_until = counts.busy_until.max(now_ms.saturating_add(millis(left)));
        let count = in_window(&mut counts.tokens, index);
        *count = count.saturating_add(tokens);
        Ok(())
    }
}
