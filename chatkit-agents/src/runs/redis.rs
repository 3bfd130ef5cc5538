//! [`RedisRunLog`] (feature `redis`): detached runs' frames in Redis Streams, one stream
//! a run, so that a client can join a run on any replica.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use redis::Value;

use super::backend::{LogRead, RunBounds, RunLogBackend, RunLogError, RunLogReader};

/// Detached runs' frames in Redis Streams (feature `redis`).
///
/// A run is the stream `<prefix>run:<run id>` and the string
/// `<prefix>run:<run id>:thread` (its thread). Each batch of frames the run's process
/// forwards is one entry: its id is `<n>-0`, the number of its last frame, and its
/// fields are the frames, each under its own number, so a cursor maps to `XREAD`
/// directly (entries after `<cursor>-0` hold every later frame). Once the run has
/// ended, a last entry with the field `end` follows. Frames before the run's retention are trimmed with `XADD … MINID`; both keys
/// expire [`RunRetention::ttl`](super::RunRetention::ttl) after the run ends, and a day
/// after its last frame if its process died before. Readers block in `XREAD` on a
/// connection of their own.
///
/// ```no_run
/// # async fn demo() -> Result<(), chatkit_agents::runs::RunLogError> {
/// use std::sync::Arc;
/// use chatkit_agents::runs::{RedisRunLog, RunLogBackend};
///
/// let log: Arc<dyn RunLogBackend> = Arc::new(RedisRunLog::connect("redis://127.0.0.1:6379").await?);
/// // return it from ChatKitServer::run_log
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRunLog {
    client: redis::Client,
    writer: MultiplexedConnection,
    prefix: String,
}

impl std::fmt::Debug for RedisRunLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRunLog")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// How long a run's log is kept after its last frame when its end never comes.
const ORPHAN_TTL: Duration = Duration::from_secs(24 * 3600);

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> RunLogError {
    RunLogError(Box::new(e))
}

impl RedisRunLog {
    /// Connects to the Redis server at `url` (`redis://host:port/db`), with the key
    /// prefix `chatkit:`.
    pub async fn connect(url: &str) -> Result<Self, RunLogError> {
        let client = redis::Client::open(url).map_err(backend)?;
        let writer = client
            .get_multiplexed_async_connection()
            .await
            .map_err(backend)?;
        Ok(RedisRunLog {
            client,
            writer,
            prefix: "chatkit:".into(),
        })
    }

    /// Keys start with `prefix` instead of `chatkit:`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn stream_key(&self, run_id: &str) -> String {
        format!("{}run:{run_id}", self.prefix)
    }

    fn thread_key(&self, run_id: &str) -> String {
        format!("{}run:{run_id}:thread", self.prefix)
    }
}

fn seconds(duration: Duration) -> u64 {
    duration.as_secs().max(1)
}

#[async_trait]
impl RunLogBackend for RedisRunLog {
    async fn start(&self, run_id: &str, thread_id: &str) -> Result<(), RunLogError> {
        let mut connection = self.writer.clone();
        redis::cmd("SET")
            .arg(self.thread_key(run_id))
            .arg(thread_id)
            .arg("EX")
            .arg(seconds(ORPHAN_TTL))
            .query_async::<()>(&mut connection)
            .await
            .map_err(backend)
    }

    async fn append(
        &self,
        run_id: &str,
        first: u64,
        frames: &[Bytes],
        keep_from: u64,
    ) -> Result<(), RunLogError> {
        let Some(last) = (frames.len() as u64).checked_sub(1).map(|n| first + n) else {
            return Ok(());
        };
        let key = self.stream_key(run_id);
        let mut pipe = redis::pipe();
        // One entry for the batch: a run streaming hundreds of deltas at once costs one
        // XADD, not hundreds.
        let add = pipe
            .cmd("XADD")
            .arg(&key)
            .arg("MINID")
            .arg(format!("{keep_from}-0"))
            .arg(format!("{last}-0"));
        let mut digits = itoa::Buffer::new();
        for (n, frame) in (first..).zip(frames) {
            add.arg(digits.format(n)).arg(frame.as_ref());
        }
        add.ignore();
        pipe.cmd("EXPIRE")
            .arg(&key)
            .arg(seconds(ORPHAN_TTL))
            .ignore()
            .cmd("EXPIRE")
            .arg(self.thread_key(run_id))
            .arg(seconds(ORPHAN_TTL))
            .ignore();
        let mut connection = self.writer.clone();
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(backend)
    }

    async fn end(&self, run_id: &str, last: u64, ttl: Duration) -> Result<(), RunLogError> {
        let key = self.stream_key(run_id);
        let mut connection = self.writer.clone();
        redis::pipe()
            .cmd("XADD")
            .arg(&key)
            .arg(format!("{}-0", last + 1))
            .arg("end")
            .arg(1)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(seconds(ttl))
            .ignore()
            .cmd("EXPIRE")
            .arg(self.thread_key(run_id))
            .arg(seconds(ttl))
            .ignore()
            .query_async::<()>(&mut connection)
            .await
            .map_err(backend)
    }

    async fn bounds(&self, run_id: &str) -> Result<Option<RunBounds>, RunLogError> {
        let key = self.stream_key(run_id);
        let mut connection = self.writer.clone();
        let (thread_id, first, last): (Option<String>, Value, Value) = redis::pipe()
            .cmd("GET")
            .arg(self.thread_key(run_id))
            .cmd("XRANGE")
            .arg(&key)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .cmd("XREVRANGE")
            .arg(&key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut connection)
            .await
            .map_err(backend)?;
        let Some(thread_id) = thread_id else {
            return Ok(None);
        };
        let first = entries(first)?.into_iter().next();
        let last = entries(last)?.into_iter().next();
        let (first, last, ended) = match (first, last) {
            (Some(first), Some(last)) => {
                let first_frame = first.frames.first().map_or(first.seq, |(n, _)| *n);
                let last_frame = if last.end { last.seq - 1 } else { last.seq };
                (first_frame, last_frame, last.end)
            }
            // Started, nothing written yet.
            _ => (1, 0, false),
        };
        Ok(Some(RunBounds {
            thread_id,
            first,
            last,
            ended,
        }))
    }

    async fn reader(&self, run_id: &str) -> Result<Box<dyn RunLogReader>, RunLogError> {
        // XREAD BLOCK holds its connection: each reader has one of its own.
        let connection = self
            .client
            .get_multiplexed_async_connection()
            .await
            .map_err(backend)?;
        Ok(Box::new(RedisReader {
            connection,
            key: self.stream_key(run_id),
        }))
    }
}

struct RedisReader {
    connection: MultiplexedConnection,
    key: String,
}

/// Entries read at once, at most.
const READ_COUNT: usize = 512;

#[async_trait]
impl RunLogReader for RedisReader {
    async fn read(&mut self, after: u64, wait: Duration) -> Result<LogRead, RunLogError> {
        let block = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let reply: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(block)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(format!("{after}-0"))
            .query_async(&mut self.connection)
            .await
            .map_err(backend)?;
        let mut read = LogRead::default();
        let streams = match reply {
            Value::Nil => return Ok(read),
            Value::Array(streams) => streams,
            Value::Map(streams) => streams.into_iter().map(|(_, v)| v).collect(),
            other => return Err(unexpected(&other)),
        };
        for stream in streams {
            let items = match stream {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop().unwrap_or(Value::Nil),
                other => other,
            };
            for entry in entries(items)? {
                if entry.end {
                    read.ended = true;
                    break;
                }
                // The first entry may begin before the cursor.
                read.frames
                    .extend(entry.frames.into_iter().filter(|(n, _)| *n > after));
            }
        }
        Ok(read)
    }
}

/// One stream entry: its id's number (its last frame's), its frames, or the end mark.
struct Entry {
    seq: u64,
    frames: Vec<(u64, Bytes)>,
    end: bool,
}

fn unexpected(value: &Value) -> RunLogError {
    RunLogError::msg(format!("unexpected reply from Redis: {value:?}"))
}

/// The entries of an `XRANGE`/`XREAD` reply: `[[id, [field, value, …]], …]`.
fn entries(reply: Value) -> Result<Vec<Entry>, RunLogError> {
    let list = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(list) => list,
        other => return Err(unexpected(&other)),
    };
    list.into_iter().map(entry).collect()
}

fn entry(value: Value) -> Result<Entry, RunLogError> {
    let Value::Array(parts) = value else {
        return Err(unexpected(&value));
    };
    let mut parts = parts.into_iter();
    let (Some(id), Some(fields)) = (parts.next(), parts.next()) else {
        return Err(RunLogError::msg("a stream entry without id or fields"));
    };
    let id: String = redis::from_redis_value(id).map_err(backend)?;
    let seq = id
        .split_once('-')
        .and_then(|(seq, _)| seq.parse().ok())
        .ok_or_else(|| RunLogError::msg(format!("a stream entry id that is not <n>-0: {id}")))?;
    let fields: Vec<Vec<u8>> = redis::from_redis_value(fields).map_err(backend)?;
    let mut entry = Entry {
        seq,
        frames: Vec::with_capacity(fields.len() / 2),
        end: false,
    };
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        if name == b"end" {
            entry.end = true;
            continue;
        }
        let number = std::str::from_utf8(&name).ok().and_then(|n| n.parse().ok());
        match number {
            Some(number) => entry.frames.push((number, Bytes::from(value))),
            None => {
                return Err(RunLogError::msg(format!(
                    "a stream entry field that is not a frame number: {:?}",
                    String::from_utf8_lossy(&name)
                )))
            }
        }
    }
    Ok(entry)
}
