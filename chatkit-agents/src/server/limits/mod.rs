//! Per-user limits: requests per window, concurrent streams, and model tokens per
//! window ([`Limits`]), counted by a [`LimitCounters`] backend — in this process
//! ([`MemoryLimitCounters`]) or in Redis for every replica (`RedisLimitCounters`, feature
//! `redis`).
//!
//! A request over a limit is refused before anything of it is read or written: a
//! streaming request (a message, an action, a retry) gets one `error` event whose message
//! names the limit and when to try again, any other request a `429` with `Retry-After`
//! ([`ProcessError::LimitExceeded`](super::ProcessError::LimitExceeded)).
//!
//! Windows are fixed (they start at multiples of their length since the Unix epoch, the
//! same on every replica), so a user may spend a window's allowance at its end and the
//! next one's at the start of the next. Tokens are counted when a response ends (or is
//! cancelled), so a response that starts under the token limit may end above it; the
//! next one is refused.
//!
//! Counters are not a database: when the backend fails (Redis restarting), requests are
//! let through and the failure is logged, so a counter outage never takes the chat down.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub use memory::MemoryLimitCounters;
#[cfg(feature = "redis")]
pub use redis::RedisLimitCounters;

/// How long a stream slot lasts without renewal (a replica that dies frees its users'
/// slots after this); the holder renews it every third of it.
pub const DEFAULT_STREAM_SLOT_TTL: Duration = Duration::from_secs(30);

/// At most `limit` in each window of `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many.
    pub limit: u64,
    /// The window's length (at least a millisecond).
    pub window: Duration,
}

impl Rate {
    fn window_ms(&self) -> u64 {
        u64::try_from(self.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// What [`Limits`] hold users to: what a [`LimitCounters`] backend checks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitSettings {
    /// ChatKit requests of any kind (reads included).
    pub requests: Option<Rate>,
    /// Streaming responses open at once (a detached run counts until it ends).
    pub concurrent_streams: Option<u64>,
    /// Model tokens (input plus output), checked when a response starts: reading
    /// threads stays possible once they are spent.
    pub tokens: Option<Rate>,
    /// How long a stream slot lasts without renewal.
    pub stream_slot_ttl: Duration,
}

/// Which limit a request exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitKind {
    /// Requests per window.
    Requests,
    /// Streams open at once.
    ConcurrentStreams,
    /// Model tokens per window.
    Tokens,
}

impl LimitKind {
    /// A short machine-readable name: `requests`, `concurrent_streams`, `tokens`.
    pub fn as_str(&self) -> &'static str {
        match self {
            LimitKind::Requests => "requests",
            LimitKind::ConcurrentStreams => "concurrent_streams",
            LimitKind::Tokens => "tokens",
        }
    }
}

/// A request over one of its user's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The limit.
    pub kind: LimitKind,
    /// Its value (requests or tokens per window, or streams at once).
    pub limit: u64,
    /// Its window (none for concurrent streams).
    pub window: Option<Duration>,
    /// When the user may try again (the window's end); none for concurrent streams,
    /// which free up when one of the user's answers ends.
    pub retry_after: Option<Duration>,
}

impl LimitExceeded {
    /// The window limit `kind` of `rate` reached, with `left` of its window to wait.
    pub fn window(kind: LimitKind, rate: Rate, left: Duration) -> Self {
        LimitExceeded {
            kind,
            limit: rate.limit,
            window: Some(rate.window),
            retry_after: Some(left),
        }
    }

    /// `limit` streams open at once already.
    pub fn streams(limit: u64) -> Self {
        LimitExceeded {
            kind: LimitKind::ConcurrentStreams,
            limit,
            window: None,
            retry_after: None,
        }
    }

    /// Whether the client should offer a retry button: when the wait is a minute at
    /// most (or a stream may end any moment).
    pub fn allow_retry(&self) -> bool {
        self.retry_after
            .is_none_or(|wait| wait <= Duration::from_secs(60))
    }
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per = self.window.map(human_duration).unwrap_or_default();
        match self.kind {
            LimitKind::Requests => write!(f, "Too many requests: the limit is {} per {per}", self.limit)?,
            LimitKind::Tokens => write!(f, "Token limit reached: the limit is {} tokens per {per}", self.limit)?,
            LimitKind::ConcurrentStreams => {
                return write!(
                    f,
                    "Too many answers at once: the limit is {} at a time. Wait for one to finish, then try again.",
                    self.limit
                )
            }
        }
        match self.retry_after {
            Some(wait) => write!(
                f,
                ". Try again in {}.",
                human_duration(wait.max(Duration::from_secs(1)))
            ),
            None => f.write_str("."),
        }
    }
}

impl std::error::Error for LimitExceeded {}

/// `1 h 5 min`, `42 s`, `minute` for exactly one minute (as in "per minute").
fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let named = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    if let Some((_, name)) = named.iter().find(|(unit, _)| secs == *unit) {
        return (*name).to_owned();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s} s"));
    }
    parts.join(" ")
}

/// A counter backend failed (the request is let through).
pub type CounterError = Box<dyn std::error::Error + Send + Sync>;

/// Where [`Limits`] keep their counts. Implement it to keep them elsewhere; every method
/// is one atomic step on the backend.
#[async_trait]
pub trait LimitCounters: Send + Sync + 'static {
    /// Admits one request of `user` at `now_ms` (Unix ms) under `settings`, in one
    /// atomic step: counts it in its requests window; and when it opens a stream
    /// (`stream: Some(id)`: it starts a response), checks the tokens window and takes a
    /// stream slot under that id that lasts until `now_ms + settings.stream_slot_ttl`
    /// (when streams are limited). `Ok(Err(..))` names the limit exceeded (and takes no
    /// slot).
    async fn admit(
        &self,
        user: &str,
        settings: &LimitSettings,
        stream: Option<&str>,
        now_ms: u64,
    ) -> Result<Result<(), LimitExceeded>, CounterError>;

    /// Whether stream slots expire unless renewed (so that a replica that dies frees its
    /// users' slots): the holder of a slot then renews it every third of
    /// [`LimitSettings::stream_slot_ttl`]. Default `true`; counters that live and die
    /// with the process (memory) say `false`, and their slots last until freed.
    fn slots_expire(&self) -> bool {
        true
    }

    /// Extends the stream slot `stream` of `user` to `expires_ms`.
    async fn renew_stream(
        &self,
        user: &str,
        stream: &str,
        expires_ms: u64,
    ) -> Result<(), CounterError>;

    /// Frees the stream slot `stream` of `user` at once if that needs no waiting (counters
    /// in memory), and says whether it did; otherwise (the default) a task calls
    /// [`end_stream`](Self::end_stream).
    fn end_stream_now(&self, _user: &str, _stream: &str) -> bool {
        false
    }

    /// Frees the stream slot `stream` of `user`.
    async fn end_stream(&self, user: &str, stream: &str) -> Result<(), CounterError>;

    /// Adds `tokens` to `user`'s tokens window of `rate` at `now_ms`.
    async fn add_tokens(
        &self,
        user: &str,
        tokens: u64,
        rate: Rate,
        now_ms: u64,
    ) -> Result<(), CounterError>;
}

/// Per-user limits, for [`ChatKitServer::limits`](super::ChatKitServer::limits). Build
/// them once and keep them in your server; [`for_user`](Self::for_user) names the user
/// of a request.
///
/// ```
/// use std::time::Duration;
/// use chatkit_agents::server::Limits;
/// let limits = Limits::in_memory()
///     .requests(120, Duration::from_secs(60))
///     .concurrent_streams(2)
///     .tokens(200_000, Duration::from_secs(24 * 3600));
/// let ada = limits.for_user("ada");
/// # let _ = ada;
/// ```
///
/// Across replicas, count in Redis (feature `redis`):
///
/// ```no_run
/// # #[cfg(feature = "redis")]
/// # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use chatkit_agents::server::{Limits, RedisLimitCounters};
/// let counters = RedisLimitCounters::connect("redis://127.0.0.1:6379").await?;
/// let limits = Limits::new(counters).concurrent_streams(2);
/// # let _ = limits; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Limits {
    settings: LimitSettings,
    counters: Arc<dyn LimitCounters>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Limits {
    /// No limits yet, counted by `counters`.
    pub fn new(counters: impl LimitCounters) -> Self {
        Limits {
            settings: LimitSettings {
                requests: None,
                concurrent_streams: None,
                tokens: None,
                stream_slot_ttl: DEFAULT_STREAM_SLOT_TTL,
            },
            counters: Arc::new(counters),
        }
    }

    /// No limits yet, counted in this process ([`MemoryLimitCounters`]): right for one
    /// replica; with several, each counts alone.
    pub fn in_memory() -> Self {
        Self::new(MemoryLimitCounters::new())
    }

    /// At most `limit` requests (of any kind) per `window`.
    pub fn requests(mut self, limit: u64, window: Duration) -> Self {
        self.settings.requests = Some(Rate { limit, window });
        self
    }

    /// At most `limit` streaming responses open at once.
    pub fn concurrent_streams(mut self, limit: u64) -> Self {
        self.settings.concurrent_streams = Some(limit);
        self
    }

    /// At most `limit` model tokens (input plus output) per `window`: past it, no new
    /// response starts (threads can still be read) until the window ends.
    pub fn tokens(mut self, limit: u64, window: Duration) -> Self {
        self.settings.tokens = Some(Rate { limit, window });
        self
    }

    /// How long a stream slot lasts without renewal (default
    /// [`DEFAULT_STREAM_SLOT_TTL`]): the slots of a replica that died free up after it.
    pub fn stream_slot_ttl(mut self, ttl: Duration) -> Self {
        self.settings.stream_slot_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// The limits in force.
    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    /// These limits for the user `user` (an opaque id: it goes into counter keys).
    pub fn for_user(&self, user: impl Into<String>) -> UserLimits {
        UserLimits {
            limits: self.clone(),
            user: user.into(),
        }
    }
}

/// [`Limits`] for one user: what [`ChatKitServer::limits`](super::ChatKitServer::limits)
/// returns for a request.
#[derive(Debug, Clone)]
pub struct UserLimits {
    limits: Limits,
    user: String,
}

/// A request let in: holds its stream slot, if it took one, until dropped.
#[derive(Debug, Default)]
pub(crate) struct Admission {
    _slot: Option<StreamSlot>,
}

impl UserLimits {
    /// The user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Admits one request (`streaming`: it opens a stream), or says which limit it
    /// exceeds.
    pub(crate) async fn admit(&self, streaming: bool) -> Result<Admission, LimitExceeded> {
        let settings = &self.limits.settings;
        let stream = streaming.then(crate::runs::new_run_id);
        let now = now_ms();
        match self
            .limits
            .counters
            .admit(&self.user, settings, stream.as_deref(), now)
            .await
        {
            Ok(Ok(())) => Ok(Admission {
                _slot: stream
                    .filter(|_| settings.concurrent_streams.is_some())
                    .map(|id| StreamSlot::hold(self.clone(), id)),
            }),
            Ok(Err(exceeded)) => Err(exceeded),
            Err(error) => {
                tracing::warn!(user = self.user, %error, "the limit counters failed; the request is let through");
                Ok(Admission::default())
            }
        }
    }

    /// Counts `tokens` against the token limit (the pipeline calls it when a response
    /// ends).
    pub(crate) async fn add_tokens(&self, tokens: u64) {
        let Some(rate) = self.limits.settings.tokens else {
            return;
        };
        if tokens == 0 {
            return;
        }
        if let Err(error) = self
            .limits
            .counters
            .add_tokens(&self.user, tokens, rate, now_ms())
            .await
        {
            tracing::warn!(user = self.user, tokens, %error, "counting tokens against the limit failed");
        }
    }
}

/// A stream slot: renewed while held, freed when dropped.
struct StreamSlot {
    user: UserLimits,
    id: String,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for StreamSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSlot")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl StreamSlot {
    fn hold(user: UserLimits, id: String) -> Self {
        if !user.limits.counters.slots_expire() {
            return StreamSlot {
                user,
                id,
                renewal: None,
            };
        }
        let ttl = user.limits.settings.stream_slot_ttl;
        let (renewer, slot) = (user.clone(), id.clone());
        let renewal = tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let expires = now_ms().saturating_add(millis(ttl));
                if let Err(error) = renewer
                    .limits
                    .counters
                    .renew_stream(&renewer.user, &slot, expires)
                    .await
                {
                    tracing::warn!(user = renewer.user, %error, "renewing a stream slot failed");
                }
            }
        });
        StreamSlot {
            user,
            id,
            renewal: Some(renewal),
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some(renewal) = &self.renewal {
            renewal.abort();
        }
        let counters = &self.user.limits.counters;
        if counters.end_stream_now(&self.user.user, &self.id) {
            return;
        }
        let (user, id) = (self.user.clone(), std::mem::take(&mut self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = user.limits.counters.end_stream(&user.user, &id).await {
                    tracing::warn!(user = user.user, %error, "freeing a stream slot failed; it frees itself when it expires");
                }
            });
        }
    }
}

/// The response to a streaming request over a limit: one `error` event.
pub(crate) fn refused_stream(exceeded: &LimitExceeded) -> super::StreamingResult {
    let event = crate::types::ErrorEvent::custom(exceeded.to_string(), exceeded.allow_retry());
    let event = Box::new(crate::types::ThreadStreamEvent::Error(event));
    super::StreamingResult::new(futures::StreamExt::boxed(futures::stream::iter([event])))
}

/// Now, in milliseconds since the unix epoch (the clock leases are written in).
pub(crate) fn now_ms() -> u64 {
    crate::store::unix_ms(SystemTime::now())
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The window of `rate` that `now_ms` falls in, and the time left in it.
pub(crate) fn window_of(rate: &Rate, now_ms: u64) -> (u64, Duration) {
    let length = rate.window_ms();
    let index = now_ms / length;
    let left = (index + 1).saturating_mul(length).saturating_sub(now_ms);
    (index, Duration::from_millis(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_limit_and_the_wait() {
        let exceeded = |kind, window, retry_after| LimitExceeded {
            kind,
            limit: 5,
            window,
            retry_after,
        };
        let minute = Some(Duration::from_secs(60));
        assert_eq!(
            exceeded(LimitKind::Requests, minute, Some(Duration::from_secs(42))).to_string(),
            "Too many requests: the limit is 5 per minute. Try again in 42 s."
        );
        let day = Some(Duration::from_secs(86_400));
        let tokens = exceeded(
            LimitKind::Tokens,
            day,
            Some(Duration::from_secs(3 * 3600 + 120)),
        );
        assert_eq!(
            tokens.to_string(),
            "Token limit reached: the limit is 5 tokens per day. Try again in 3 h 2 min."
        );
        assert!(!tokens.allow_retry());
        let streams = exceeded(LimitKind::ConcurrentStreams, None, None);
        assert!(streams
            .to_string()
            .starts_with("Too many answers at once: the limit is 5 at a time."));
        assert!(streams.allow_retry());
    }

    #[test]
    fn windows_are_aligned_to_their_length() {
        let rate = Rate {
            limit: 1,
            window: Duration::from_secs(60),
        };
        assert_eq!(window_of(&rate, 125_000), (2, Duration::from_secs(55)));
        let zero = Rate {
            limit: 1,
            window: Duration::ZERO,
        };
        assert_eq!(
            window_of(&zero, 7).0,
            7,
            "a zero window counts as a millisecond"
        );
    }
}
