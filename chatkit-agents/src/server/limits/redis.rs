//! [`RedisLimitCounters`] (feature `redis`): limit counts in Redis, shared by replicas.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;

use super::{
    millis, window_of, CounterError, LimitCounters, LimitExceeded, LimitKind, LimitSettings, Rate,
};

/// One admission, atomically: count the request in its window; for a request that opens
/// a stream (`ARGV[5]`, its id), check the tokens window and take a stream slot (expired
/// slots dropped first). Answers 0 (admitted) or the limit
/// exceeded: 1 requests, 2 concurrent streams, 3 tokens.
const ADMIT: &str = r"
local req_limit = tonumber(ARGV[1])
if req_limit >= 0 then
  local n = redis.call('INCR', KEYS[1])
  if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  if n > req_limit then return 1 end
end
local tok_limit = tonumber(ARGV[3])
if tok_limit >= 0 and ARGV[5] ~= '' then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= tok_limit then return 3 end
end
local stream_limit = tonumber(ARGV[4])
if stream_limit >= 0 and ARGV[5] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[6])
  if redis.call('ZCARD', KEYS[3]) >= stream_limit then return 2 end
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[5])
  redis.call('PEXPIRE', KEYS[3], ARGV[8])
end
return 0
";

/// Limit counts in Redis (feature `redis`), so that every replica holds a user to the
/// same limits. Per user (keys hash-tagged by user, so a cluster keeps them on one node):
/// `<prefix>limits:{<user>}:req:<window>` and `…:tok:<window>` (counters that expire
/// with their window) and `…:streams` (a sorted set of stream slots scored by expiry).
/// An admission is one `EVALSHA` round trip; a streaming response adds one to free its
/// slot and one per renewal.
///
/// Why Redis rather than the thread store: these counts change on every request and
/// matter only for a window, which is what Redis's atomic counters and expiry are for;
/// the store keeps what must last (usage for billing, `Store::add_usage`), and a
/// write per request there would cost a transaction and leave rows to sweep.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use std::time::Duration;
/// use chatkit_agents::server::{Limits, RedisLimitCounters};
/// let counters = RedisLimitCounters::connect("redis://127.0.0.1:6379").await?.prefix("myapp:");
/// let limits = Limits::new(counters).requests(60, Duration::from_secs(60)).concurrent_streams(2);
/// # let _ = limits; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisLimitCounters {
    connection: MultiplexedConnection,
    prefix: String,
    /// The SHA-1 of [`ADMIT`] as the server knows it (loaded again after a restart).
    admit_sha: Arc<std::sync::Mutex<String>>,
}

impl std::fmt::Debug for RedisLimitCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimitCounters")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLimitCounters {
    /// Connects to the Redis server at `url` (`redis://host:port/db`), with the key
    /// prefix `chatkit:`.
    pub async fn connect(url: &str) -> Result<Self, CounterError> {
        let client = redis::Client::open(url)?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        let sha = load_script(&mut connection).await?;
        Ok(RedisLimitCounters {
            connection,
            prefix: "chatkit:".into(),
            admit_sha: Arc::new(std::sync::Mutex::new(sha)),
        })
    }

    /// Keys start with `prefix` instead of `chatkit:`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, user: &str, rest: std::fmt::Arguments<'_>) -> String {
        format!("{}limits:{{{user}}}:{rest}", self.prefix)
    }
}

async fn load_script(connection: &mut MultiplexedConnection) -> Result<String, CounterError> {
    Ok(redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(ADMIT)
        .query_async::<String>(connection)
        .await?)
}

/// A limit as the script reads it: `-1` for none.
fn limit_arg(limit: Option<u64>) -> i64 {
    limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX))
}

/// A window counter's time to live: what is left of it, and a second for clocks apart.
fn ttl_ms(left: Duration) -> u64 {
    millis(left).saturating_add(1000)
}

#[async_trait]
impl LimitCounters for RedisLimitCounters {
    async fn admit(
        &self,
        user: &str,
        settings: &LimitSettings,
        stream: Option<&str>,
        now_ms: u64,
    ) -> Result<Result<(), LimitExceeded>, CounterError> {
        let requests = settings
            .requests
            .map(|rate| (rate, window_of(&rate, now_ms)));
        let tokens = settings.tokens.map(|rate| (rate, window_of(&rate, now_ms)));
        let req_key = self.key(
            user,
            format_args!("req:{}", requests.map_or(0, |(_, (i, _))| i)),
        );
        let tok_key = self.key(
            user,
            format_args!("tok:{}", tokens.map_or(0, |(_, (i, _))| i)),
        );
        let streams_key = self.key(user, format_args!("streams"));
        let slot_ttl = millis(settings.stream_slot_ttl);
        let mut connection = self.connection.clone();
        let mut retried = false;
        let answer = loop {
            let sha = crate::locks::lock(&self.admit_sha).clone();
            let result = redis::cmd("EVALSHA")
                .arg(sha)
                .arg(3)
                .arg(&req_key)
                .arg(&tok_key)
                .arg(&streams_key)
                .arg(limit_arg(requests.map(|(rate, _)| rate.limit)))
                .arg(requests.map_or(0, |(_, (_, left))| ttl_ms(left)))
                .arg(limit_arg(tokens.map(|(rate, _)| rate.limit)))
                .arg(limit_arg(settings.concurrent_streams))
                .arg(stream.unwrap_or(""))
                .arg(now_ms)
                .arg(now_ms.saturating_add(slot_ttl))
                .arg(slot_ttl.saturating_add(1000))
                .query_async::<i64>(&mut connection)
                .await;
            match result {
                // The server lost its scripts (restarted, or SCRIPT FLUSH): load it again.
                Err(error)
                    if error.kind()
                        == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
                        && !retried =>
                {
                    retried = true;
                    let sha = load_script(&mut connection).await?;
                    *crate::locks::lock(&self.admit_sha) = sha;
                }
                other => break other?,
            }
        };
        Ok(match answer {
            1 => {
                let (rate, (_, left)) =
                    requests.ok_or("the script refused a request limit that is not set")?;
                Err(LimitExceeded::window(LimitKind::Requests, rate, left))
            }
            2 => Err(LimitExceeded::streams(
                settings.concurrent_streams.unwrap_or_default(),
            )),
            3 => {
                let (rate, (_, left)) =
                    tokens.ok_or("the script refused a token limit that is not set")?;
                Err(LimitExceeded::window(LimitKind::Tokens, rate, left))
            }
            _ => Ok(()),
        })
    }

    async fn renew_stream(
        &self,
        user: &str,
        stream: &str,
        expires_ms: u64,
    ) -> Result<(), CounterError> {
        let key = self.key(user, format_args!("streams"));
        redis::cmd("ZADD")
            .arg(&key)
            .arg("XX")
            .arg(expires_ms)
            .arg(stream)
            .query_async::<()>(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    async fn end_stream(&self, user: &str, stream: &str) -> Result<(), CounterError> {
        let key = self.key(user, format_args!("streams"));
        redis::cmd("ZREM")
            .arg(&key)
            .arg(stream)
            .query_async::<()>(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    async fn add_tokens(
        &self,
        user: &str,
        tokens: u64,
        rate: Rate,
        now_ms: u64,
    ) -> Result<(), CounterError> {
        let (index, left) = window_of(&rate, now_ms);
        let key = self.key(user, format_args!("tok:{index}"));
        redis::pipe()
            .cmd("INCRBY")
            .arg(&key)
            .arg(tokens)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_ms(left))
            .ignore()
            .query_async::<()>(&mut self.connection.clone())
            .await?;
        Ok(())
    }
}
