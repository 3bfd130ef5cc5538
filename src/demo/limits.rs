//! The demo's per-user limits from `CHATKIT_LIMITS` (and `CHATKIT_LIMITS_REDIS`).

use std::time::Duration;

use chatkit_agents::server::{Limits, RedisLimitCounters};

/// What `CHATKIT_LIMITS` asks for: `requests=120/1m,streams=2,tokens=200000/1d`
/// (each optional; a window is a number with `s`, `m`, `h` or `d`, seconds without).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoLimits {
    /// Requests per window.
    pub requests: Option<(u64, Duration)>,
    /// Streams open at once.
    pub streams: Option<u64>,
    /// Model tokens per window.
    pub tokens: Option<(u64, Duration)>,
    /// Where the counts are kept so that replicas share them (`CHATKIT_LIMITS_REDIS`, a
    /// `redis://` URL); in each process without one.
    pub redis: Option<String>,
}

impl DemoLimits {
    /// Parses `CHATKIT_LIMITS`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use chatkit_agents_workspace::demo::DemoLimits;
    /// let limits = DemoLimits::parse("requests=120/1m, streams=2,tokens=200000/1d").unwrap();
    /// assert_eq!(limits.requests, Some((120, Duration::from_secs(60))));
    /// assert_eq!(limits.streams, Some(2));
    /// assert!(DemoLimits::parse("requests=lots").is_err());
    /// ```
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut limits = DemoLimits::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, value) = entry
                .split_once('=')
                .ok_or_else(|| format!("CHATKIT_LIMITS: {entry:?} is not name=value"))?;
            match name.trim() {
                "requests" => limits.requests = Some(rate(value)?),
                "tokens" => limits.tokens = Some(rate(value)?),
                "streams" => {
                    limits.streams = Some(value.trim().parse().map_err(|_| {
                        format!("CHATKIT_LIMITS: streams={value:?} is not a number")
                    })?)
                }
                other => {
                    return Err(format!(
                        "CHATKIT_LIMITS: unknown limit {other:?} (requests, streams, tokens)"
                    ))
                }
            }
        }
        Ok(limits)
    }

    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.requests.is_some() || self.streams.is_some() || self.tokens.is_some()
    }

    /// The limits, counted in Redis when asked.
    pub async fn build(&self) -> Result<Limits, String> {
        let mut limits = match &self.redis {
            None => Limits::in_memory(),
            Some(url) => Limits::new(
                RedisLimitCounters::connect(url)
                    .await
                    .map_err(|e| format!("CHATKIT_LIMITS_REDIS: {e}"))?,
            ),
        };
        if let Some((count, window)) = self.requests {
            limits = limits.requests(count, window);
        }
        if let Some(count) = self.streams {
            limits = limits.concurrent_streams(count);
        }
        if let Some((count, window)) = self.tokens {
            limits = limits.tokens(count, window);
        }
        Ok(limits)
    }
}

/// `120/1m`: a count per window.
fn rate(value: &str) -> Result<(u64, Duration), String> {
    let bad = || format!("CHATKIT_LIMITS: {value:?} is not count/window (e.g. 120/1m)");
    let (count, window) = value.trim().split_once('/').ok_or_else(bad)?;
    let count = count.trim().parse().map_err(|_| bad())?;
    let window = window.trim();
    let (number, unit) = match window.char_indices().last() {
        Some((at, unit @ ('s' | 'm' | 'h' | 'd'))) => (&window[..at], unit),
        _ => (window, 's'),
    };
    let number: u64 = number.trim().parse().map_err(|_| bad())?;
    let seconds = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 1,
    };
    match number.checked_mul(seconds) {
        Some(0) | None => Err(bad()),
        Some(total) => Ok((count, Duration::from_secs(total))),
    }
}
