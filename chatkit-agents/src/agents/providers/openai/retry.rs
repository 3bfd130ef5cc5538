//! [`RetryPolicy`]: how the OpenAI models retry a request that failed before its stream
//! started (feature `openai`).
//!
//! async-openai's own retry (three retries of 429s, 5xx and connect errors) honours any
//! `Retry-After` without a cap and has no overall deadline, so one rate-limited model
//! call could hold a ChatKit stream for minutes with nothing to show. The OpenAI models
//! of this crate install this policy instead.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use reqwest::header::HeaderMap;
use reqwest::Response;
use tokio::time::Instant;

/// When and how often a failed model request is sent again.
///
/// A request is retried when the server answered 408, 409, 429 or 5xx (unless it said
/// `x-should-retry: false`), or the connection could not be made or timed out, and only
/// before any of the response has been read: a stream that breaks halfway is never
/// replayed. The wait is the server's `Retry-After` (or `retry-after-ms`) when it gives
/// one no longer than [`max_retry_after`](Self::max_retry_after), otherwise exponential
/// backoff with jitter; a server asking for a longer wait gets no retry, so the error
/// reaches the user at once. No retry starts past the [`deadline`](Self::deadline).
///
/// ```
/// use std::time::Duration;
/// use chatkit_agents::agents::{providers::openai::{OpenAIResponsesModel, RetryPolicy}};
///
/// let model = OpenAIResponsesModel::with_base_url("m", "http://127.0.0.1:9/v1", "key")
///     .retry_policy(RetryPolicy::default().max_attempts(2).deadline(Duration::from_secs(5)));
/// let never = RetryPolicy::none(); // one attempt
/// # let _ = (model, never);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    deadline: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts; backoff from 0.5 s doubling to at most 4 s; `Retry-After`
    /// honoured up to 5 s; no retry starts 15 s after the first attempt.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(5),
            deadline: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// How many times a request is sent at most, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff, doubled after each retry up to `max`.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The longest `Retry-After` waited for; a longer one ends the retries.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// No retry starts (or waits past) this long after the first attempt began.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The wait before attempt `retry + 1` (0-based `retry`), or `None` to stop.
    fn wait(&self, retry: u32, server_asked: Option<Duration>) -> Option<Duration> {
        match server_asked {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked),
            None => {
                let backoff = self
                    .initial_backoff
                    .saturating_mul(2u32.saturating_pow(retry))
                    .min(self.max_backoff);
                // Up to 25% less, so that clients that failed together do not all
                // come back at the same instant.
                let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 4000.0;
                Some(backoff.mul_f64(1.0 - jitter))
            }
        }
    }
}

/// The tower service that sends a request under a [`RetryPolicy`].
#[derive(Clone)]
pub(crate) struct RetryService<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> RetryService<S> {
    pub(crate) fn new(inner: S, policy: RetryPolicy) -> Self {
        RetryService { inner, policy }
    }
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, OpenAIError>> + Send>>;

impl<S> tower_service::Service<HttpRequestFactory> for RetryService<S>
where
    S: tower_service::Service<HttpRequestFactory, Response = Response, Error = OpenAIError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = OpenAIError;
    type Future = ResponseFuture;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), OpenAIError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> ResponseFuture {
        // The clone that was made ready serves the first attempt.
        let clone = self.inner.clone();
        let mut service = std::mem::replace(&mut self.inner, clone);
        let policy = self.policy;
        Box::pin(async move {
            let started = Instant::now();
            let mut retry = 0u32;
            let mut result = service.call(request.clone()).await;
            loop {
                let server_asked = match &result {
                    Ok(response) if !retryable_status(response) => return result,
                    Ok(response) => retry_after(response.headers()),
                    Err(error) if retryable_error(error) => None,
                    Err(_) => return result,
                };
                if retry + 1 >= policy.max_attempts {
                    return result;
                }
                let Some(wait) = policy.wait(retry, server_asked) else {
                    return result;
                };
                if started.elapsed().saturating_add(wait) > policy.deadline {
                    return result;
                }
                let status = result.as_ref().ok().map(|r| r.status().as_u16());
                tracing::info!(
                    ?status,
                    attempt = retry + 2,
                    wait_ms = wait.as_millis() as u64,
                    "retrying a model request"
                );
                // Let the failed attempt's connection go before waiting.
                drop(result);
                tokio::time::sleep(wait).await;
                retry += 1;
                futures::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                result = service.call(request.clone()).await;
            }
        })
    }
}

fn retryable_status(response: &Response) -> bool {
    let status = response.status();
    if status.is_success() {
        return false;
    }
    match response
        .headers()
        .get("x-should-retry")
        .and_then(|v| v.to_str().ok())
    {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

fn retryable_error(error: &OpenAIError) -> bool {
    matches!(error, OpenAIError::Reqwest(e) if e.is_connect() || e.is_timeout())
}

/// `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        // `try_`: a huge or negative value from the server must not panic.
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(150)));
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a date in the past"
        );
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        for hostile in ["1e300", "-5", "NaN", "inf"] {
            headers.insert("retry-after", hostile.parse().unwrap());
            assert_eq!(retry_after(&headers), None, "{hostile}");
        }
    }

    #[test]
    fn waits_grow_to_their_cap_and_long_server_waits_stop_retrying() {
        let policy =
            RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_millis(300));
        let waits: Vec<Duration> = (0..4).map(|n| policy.wait(n, None).unwrap()).collect();
        for (wait, full) in waits.iter().zip([100, 200, 300, 300]) {
            let full = Duration::from_millis(full);
            assert!(
                *wait <= full && *wait >= full.mul_f64(0.75),
                "{wait:?} for {full:?}"
            );
        }
        assert_eq!(
            policy.wait(0, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(policy.wait(0, Some(Duration::from_secs(60))), None);
        assert_eq!(RetryPolicy::none().max_attempts, 1);
    }
}
