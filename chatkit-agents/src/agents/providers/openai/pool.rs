//! [`ConnectionPool`]: the models' HTTP clients, one more whenever the others carry
//! their share of streams, so that HTTP/2 connections never run out of streams.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use futures::StreamExt;
use reqwest::Response;

/// How many responses one connection carries at once by default: HTTP/2 servers allow
/// 100 streams a connection or more (RFC 9113 recommends at least 100).
pub const DEFAULT_STREAMS_PER_CONNECTION: usize = 100;

/// The HTTP clients the OpenAI models send with: requests go to the client with the
/// fewest responses in flight (a response is in flight until its body is read or
/// dropped), and a new client — a new connection — is made when every client carries
/// [`streams_per_connection`](Self::streams_per_connection) already.
///
/// Why: over HTTPS the client speaks HTTP/2 when the server offers it (api.openai.com
/// does), and one HTTP/2 connection multiplexes many answers for less memory than a
/// connection each (measured on the demo: 76 KiB an answer in flight over HTTP/1.1
/// against 62 over HTTP/2, `BENCHMARKS.md`), and one TLS session instead of hundreds.
/// But a client keeps one HTTP/2 connection per host
/// and never opens a second (RFC 9113 §9.1), so past the server's limit of concurrent
/// streams (about 100) the next answers would wait for minutes; the pool opens the
/// next connection instead. Over plain `http://` the clients speak HTTP/1.1 (a
/// connection per answer), unless [`h2c`](Self::h2c) says the server speaks HTTP/2
/// without TLS.
///
/// ```
/// use chatkit_agents::agents::providers::openai::{ConnectionPool, OpenAIResponsesModel, RetryPolicy};
/// let pool = ConnectionPool::new().streams_per_connection(50);
/// let model = OpenAIResponsesModel::with_base_url("gpt-4.1", "https://llm.internal/v1", "sk-…")
///     .connection_pool(pool, RetryPolicy::default());
/// # let _ = model;
/// ```
#[derive(Clone)]
pub struct ConnectionPool {
    make: Arc<dyn Fn() -> reqwest::Client + Send + Sync>,
    per_connection: usize,
    clients: Arc<Mutex<Vec<Slot>>>,
}

struct Slot {
    client: reqwest::Client,
    in_flight: Arc<AtomicUsize>,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("streams_per_connection", &self.per_connection)
            .field("clients", &self.clients())
            .finish()
    }
}

impl Default for ConnectionPool {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnectionPool {
    /// Clients as `reqwest::Client::new()` makes them (HTTP/2 over TLS when the server
    /// offers it), [`DEFAULT_STREAMS_PER_CONNECTION`] each.
    pub fn new() -> Self {
        Self::with_clients(reqwest::Client::new)
    }

    /// Clients made by `make` (your timeouts, proxy, TLS roots): called once per
    /// connection the pool opens. Make each client new (do not clone one): a clone shares
    /// its connections.
    pub fn with_clients(make: impl Fn() -> reqwest::Client + Send + Sync + 'static) -> Self {
        ConnectionPool {
            make: Arc::new(make),
            per_connection: DEFAULT_STREAMS_PER_CONNECTION,
            clients: Arc::default(),
        }
    }

    /// Clients that speak HTTP/2 to `http://` servers with no negotiation (h2c "prior
    /// knowledge": vLLM, a sidecar, a test server); a server that only speaks HTTP/1.1
    /// fails every request then.
    pub fn h2c() -> Self {
        Self::with_clients(|| {
            reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .unwrap_or_default()
        })
    }

    /// At most `streams` responses a connection before the next one opens (at least 1).
    /// Match the server's `SETTINGS_MAX_CONCURRENT_STREAMS` or stay under it.
    pub fn streams_per_connection(mut self, streams: usize) -> Self {
        self.per_connection = streams.max(1);
        self
    }

    /// The responses in flight on each client, in the order they were opened.
    pub fn clients(&self) -> Vec<usize> {
        crate::locks::lock(&self.clients)
            .iter()
            .map(|slot| slot.in_flight.load(Ordering::Relaxed))
            .collect()
    }

    /// The client for the next request, counted in flight until the guard drops.
    fn pick(&self) -> (reqwest::Client, InFlight) {
        let mut clients = crate::locks::lock(&self.clients);
        let least = clients
            .iter()
            .min_by_key(|slot| slot.in_flight.load(Ordering::Relaxed))
            .filter(|slot| slot.in_flight.load(Ordering::Relaxed) < self.per_connection);
        let slot = match least {
            Some(slot) => slot,
            None => {
                clients.push(Slot {
                    client: (self.make)(),
                    in_flight: Arc::new(AtomicUsize::new(0)),
                });
                clients.last().expect("just pushed")
            }
        };
        slot.in_flight.fetch_add(1, Ordering::Relaxed);
        (slot.client.clone(), InFlight(slot.in_flight.clone()))
    }
}

/// One response in flight on a client.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The response with its body counted in flight until read to its end or dropped.
fn counted(response: Response, in_flight: InFlight) -> Response {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.bytes_stream().map(move |chunk| {
        let _held = &in_flight;
        chunk
    });
    let mut counted = http::Response::new(reqwest::Body::wrap_stream(body));
    *counted.status_mut() = status;
    *counted.version_mut() = version;
    *counted.headers_mut() = headers;
    Response::from(counted)
}

impl tower_service::Service<HttpRequestFactory> for ConnectionPool {
    type Response = Response;
    type Error = OpenAIError;
    type Future = futures::future::BoxFuture<'static, Result<Response, OpenAIError>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let (client, in_flight) = self.pick();
        Box::pin(async move {
            let request = request.build().await?;
            let response = client
                .execute(request)
                .await
                .map_err(OpenAIError::Reqwest)?;
            Ok(counted(response, in_flight))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_client_opens_when_every_client_carries_its_share() {
        let pool = ConnectionPool::new().streams_per_connection(2);
        let mut held: Vec<_> = (0..4).map(|_| pool.pick().1).collect();
        assert_eq!(pool.clients(), [2, 2]);
        drop(held.remove(0));
        assert_eq!(pool.clients(), [1, 2]);
        // A stream freed on the first client: the next request goes there.
        held.push(pool.pick().1);
        assert_eq!(pool.clients(), [2, 2]);
        held.push(pool.pick().1);
        assert_eq!(pool.clients(), [2, 2, 1]);
    }
}
