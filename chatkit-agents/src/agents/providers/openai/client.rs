//! The async-openai client both OpenAI providers build on: configuration from the
//! environment or a base URL, this crate's `User-Agent`, the [`RetryPolicy`] transport
//! ([`Transport`]), and the reading of streamed frames and errors into the runtime's
//! [`ModelError`].

use async_openai::config::{Config, OpenAIConfig};
use async_openai::error::{ApiError, ApiErrorResponse, OpenAIError, WrappedError};
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::Client;
use eventsource_stream::Eventsource;
use futures::stream::{BoxStream, Stream, StreamExt};
use reqwest::Response;
use serde_json::Value;

use super::pool::ConnectionPool;
use super::retry::{RetryPolicy, RetryService};
use crate::agents::model::ModelError;

/// The `User-Agent` of requests from clients this module builds, in the reference's
/// format (`Agents/Python <version> ChatKit/Python <version>`).
pub(crate) const USER_AGENT: &str = concat!(
    "Agents/Rust ",
    env!("CARGO_PKG_VERSION"),
    " ChatKit/Rust ",
    env!("CARGO_PKG_VERSION")
);

/// `config` with this crate's `User-Agent`.
fn identify(config: OpenAIConfig) -> OpenAIConfig {
    // A constant, valid header value: the fallback is never taken.
    config
        .clone()
        .with_header("user-agent", USER_AGENT)
        .unwrap_or(config)
}

/// A client configured from `OPENAI_API_KEY` and `OPENAI_BASE_URL`, with this crate's
/// `User-Agent`. Without a key it warns once per model built: the operator learns it at
/// start, not from the first user's failed answer.
pub(crate) fn env_client() -> Client<OpenAIConfig> {
    if let Err(missing) = api_key_from_env() {
        tracing::warn!("{missing}");
    }
    Client::with_config(identify(OpenAIConfig::default()))
}

/// The environment's `OPENAI_API_KEY`, or why there is none to use.
pub(crate) fn api_key_from_env() -> Result<String, ModelError> {
    match std::env::var("OPENAI_API_KEY") {
        Ok(key) if !key.trim().is_empty() => Ok(key),
        Ok(_) => Err(ModelError::Configuration(
            "OPENAI_API_KEY is empty: the model service will refuse every request".into(),
        )),
        Err(_) => Err(ModelError::Configuration(
            "OPENAI_API_KEY is not set: the model service will refuse every request (set it, or use with_base_url)".into(),
        )),
    }
}

/// A client for the server at `base_url`, with this crate's `User-Agent`.
pub(crate) fn client_for(
    base_url: impl Into<String>,
    api_key: impl Into<String>,
) -> Client<OpenAIConfig> {
    let config = OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(api_key);
    Client::with_config(identify(config))
}

/// How a model built by this crate (every constructor but `from_client`, whose model
/// has none and streams through its async-openai client) sends its requests.
///
/// With one, a model posts the request itself under its [`RetryPolicy`] and reads the
/// response's events where the run polls them. async-openai's streams read the body in
/// a task of their own and hand each event over a channel: a task, a channel and a hop
/// between workers per event, and 4 KiB an answer while the model thinks.
#[derive(Clone)]
pub(crate) enum Transport {
    /// This crate's pool of HTTP/2 connections.
    Pool(RetryService<ConnectionPool>),
    /// A reqwest client of your own (`http_client`).
    Reqwest(RetryService<ReqwestService>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Pool(_) => "Transport::Pool",
            Transport::Reqwest(_) => "Transport::Reqwest",
        })
    }
}

impl Transport {
    /// The default: a [`ConnectionPool`] under the default [`RetryPolicy`].
    pub(crate) fn default_pool() -> Self {
        Transport::Pool(RetryService::new(
            ConnectionPool::new(),
            RetryPolicy::default(),
        ))
    }

    /// Sends `request` (retried under the policy): the response, whatever its status.
    async fn send(self, request: HttpRequestFactory) -> Result<Response, OpenAIError> {
        use tower_service::Service;
        async fn call<S>(
            mut service: S,
            request: HttpRequestFactory,
        ) -> Result<Response, OpenAIError>
        where
            S: Service<HttpRequestFactory, Response = Response, Error = OpenAIError>,
        {
            futures::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            service.call(request).await
        }
        match self {
            Transport::Pool(service) => call(service, request).await,
            Transport::Reqwest(service) => call(service, request).await,
        }
    }

    /// The JSON frames of the streamed response to `body` posted at `path` of the API in
    /// `config`, read in place (see [`Transport`]). Frames that are not JSON are skipped
    /// with a warning; a failed request, an error status or a broken stream ends the
    /// frames with a [`ModelError`].
    pub(crate) fn stream_json(
        &self,
        config: &OpenAIConfig,
        path: &str,
        body: &Value,
    ) -> BoxStream<'static, Result<Value, ModelError>> {
        let request = match json_request(config, path, body) {
            Ok(request) => request,
            Err(error) => return futures::stream::once(async { Err(error) }).boxed(),
        };
        let transport = self.clone();
        async_stream::stream! {
            // The request and the error steps are boxed: inline, their room would stay in
            // this stream's state for as long as the model streams.
            let response = match Box::pin(transport.send(request)).await {
                Ok(response) => response,
                Err(error) => {
                    yield Err(model_error(error));
                    return;
                }
            };
            if !response.status().is_success() {
                yield Err(Box::pin(error_response(response)).await);
                return;
            }
            let mut events = std::pin::pin!(response.bytes_stream().eventsource());
            while let Some(event) = events.next().await {
                match event {
                    Ok(event) if event.data == "[DONE]" => return,
                    Ok(event) if event.event == "keepalive" => {}
                    Ok(event) => match serde_json::from_str::<Value>(&event.data) {
                        Ok(value) => yield Ok(value),
                        Err(error) => warn_not_json(&error, &event.data),
                    },
                    Err(error) => {
                        yield Err(ModelError::Connection(format!("stream failed: {error}")));
                        return;
                    }
                }
            }
        }
        .boxed()
    }
}

/// A request posting `body` as JSON to `path` of the API in `config`, built again for
/// each attempt (the body serialised once).
fn json_request(
    config: &OpenAIConfig,
    path: &str,
    body: &Value,
) -> Result<HttpRequestFactory, ModelError> {
    let mut url = reqwest::Url::parse(&config.url(path))
        .map_err(|error| ModelError::Configuration(format!("the model's URL: {error}")))?;
    let query = config.query();
    // Only when there is one: an empty query would still add a `?` to the URL.
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let mut headers = config.headers();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    let body = bytes::Bytes::from(
        serde_json::to_vec(body).map_err(|error| ModelError::InvalidRequest(error.to_string()))?,
    );
    Ok(HttpRequestFactory::new(move || {
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
        *request.headers_mut() = headers.clone();
        *request.body_mut() = Some(body.clone().into());
        std::future::ready(Ok(request))
    }))
}

/// The [`ModelError`] of a response with an error status, read as async-openai reads
/// one: the API's `{"error": {...}}`, or the body as the message (always for a 5xx:
/// OpenAI does not promise JSON there).
async fn error_response(response: Response) -> ModelError {
    let status = response.status();
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(error) => return model_error(OpenAIError::Reqwest(error)),
    };
    let parsed = if status.is_server_error() {
        None
    } else {
        serde_json::from_slice::<WrappedError>(&bytes).ok()
    };
    let api_error = parsed
        .map(|wrapped| wrapped.error)
        .unwrap_or_else(|| ApiError {
            message: String::from_utf8_lossy(&bytes).into_owned(),
            r#type: None,
            param: None,
            code: None,
            misalignment: None,
        });
    model_error(OpenAIError::ApiError(ApiErrorResponse {
        status_code: status,
        api_error,
    }))
}

/// The frames of the response `started` streams through async-openai (a model on a
/// client given to `from_client`), read as [`lenient_frames`].
pub(crate) fn async_openai_frames<F>(started: F) -> BoxStream<'static, Result<Value, ModelError>>
where
    F: std::future::Future<
            Output = Result<async_openai::types::stream::StreamResponse<Value>, OpenAIError>,
        > + Send
        + 'static,
{
    futures::stream::once(started)
        .map(|started| match started {
            Ok(frames) => lenient_frames(frames),
            Err(error) => futures::stream::once(async { Err(model_error(error)) }).boxed(),
        })
        .flatten()
        .boxed()
}

/// The frames of a response streamed by async-openai as JSON: a frame that is not JSON
/// is skipped with a warning (one odd frame never stops a run); any other error becomes
/// a [`ModelError`], after which the caller stops reading.
pub(crate) fn lenient_frames(
    frames: impl Stream<Item = Result<Value, OpenAIError>> + Send + 'static,
) -> BoxStream<'static, Result<Value, ModelError>> {
    frames
        .filter_map(|frame| {
            futures::future::ready(match frame {
                Ok(value) => Some(Ok(value)),
                Err(OpenAIError::JSONDeserialize(error, content)) => {
                    warn_not_json(&error, &content);
                    None
                }
                Err(error) => Some(Err(model_error(error))),
            })
        })
        .boxed()
}

/// One odd frame never stops a run: it is logged (its start) and skipped.
fn warn_not_json(error: &serde_json::Error, frame: &str) {
    let shown: String = frame.chars().take(200).collect();
    tracing::warn!(%error, frame = %shown, "skipping a stream frame that is not JSON");
}

pub(crate) fn model_error(error: OpenAIError) -> ModelError {
    match error {
        OpenAIError::ApiError(response) => {
            let status = response.status_code.as_u16();
            let api = response.api_error;
            if status >= 400 && api.code.is_none() && api.r#type.is_none() {
                ModelError::Http {
                    status,
                    message: api.message,
                }
            } else {
                ModelError::Api {
                    code: api.code.or(api.r#type),
                    message: format!("{} (HTTP {status})", api.message),
                    status: Some(status),
                }
            }
        }
        OpenAIError::Reqwest(e) => match e.status() {
            Some(status) => ModelError::Http {
                status: status.as_u16(),
                message: e.to_string(),
            },
            None => ModelError::Connection(e.to_string()),
        },
        OpenAIError::InvalidArgument(message) => ModelError::InvalidRequest(message),
        other => ModelError::Connection(other.to_string()),
    }
}

/// The constructors the two OpenAI models share, expanded inside each model's `impl`
/// (the models differ only in the API they call; both hold `client` and `model`).
macro_rules! openai_model_constructors {
    ($model:ident) => {
        /// The model `model`, with the API key and base URL from `OPENAI_API_KEY` and
        /// `OPENAI_BASE_URL` (default `https://api.openai.com/v1`). Without a key it
        /// logs a warning (the first request would be refused); use
        /// [`try_new`](Self::try_new) to fail instead.
        pub fn new(model: impl Into<String>) -> Self {
            Self {
                client: $crate::agents::providers::openai::client::env_client(),
                transport: Some($crate::agents::providers::openai::client::Transport::default_pool()),
                model: model.into(),
            }
        }

        /// Like [`new`](Self::new), but a missing or empty `OPENAI_API_KEY` is an error
        /// ([`ModelError::Configuration`]($crate::agents::model::ModelError::Configuration)),
        /// for apps that would rather not start without one.
        pub fn try_new(
            model: impl Into<String>,
        ) -> Result<Self, $crate::agents::model::ModelError> {
            $crate::agents::providers::openai::client::api_key_from_env()?;
            Ok(Self::new(model))
        }

        /// The model `model` on the server at `base_url` (e.g. `http://127.0.0.1:8080/v1`).
        pub fn with_base_url(
            model: impl Into<String>,
            base_url: impl Into<String>,
            api_key: impl Into<String>,
        ) -> Self {
            Self {
                client: $crate::agents::providers::openai::client::client_for(base_url, api_key),
                transport: Some($crate::agents::providers::openai::client::Transport::default_pool()),
                model: model.into(),
            }
        }

        /// The model `model` on a configured async-openai client, which sends the
        /// requests and reads the streamed responses with its own transport.
        pub fn from_client(
            client: async_openai::Client<async_openai::config::OpenAIConfig>,
            model: impl Into<String>,
        ) -> Self {
            Self {
                client,
                transport: None,
                model: model.into(),
            }
        }

        /// Sends requests under `policy` (the default:
        /// [`RetryPolicy::default`]($crate::agents::providers::openai::RetryPolicy::default)). This
        /// replaces the client's transport, so call it on models made by
        /// [`new`](Self::new) or [`with_base_url`](Self::with_base_url); a client passed
        /// to [`from_client`](Self::from_client) keeps its own until you call this.
        pub fn retry_policy(self, policy: $crate::agents::providers::openai::RetryPolicy) -> Self {
            self.connection_pool(
                $crate::agents::providers::openai::ConnectionPool::new(),
                policy,
            )
        }

        /// Sends requests with `http`, your own reqwest client (timeouts, a proxy, a
        /// local address), under `policy`. One client keeps one HTTP/2 connection per
        /// host, which carries about 100 answers at once: for more, give a
        #[doc = concat!("[`ConnectionPool::with_clients`]($crate::agents::providers::openai::ConnectionPool::with_clients) to [`connection_pool`](Self::connection_pool) instead.")]
        ///
        /// ```
        #[doc = concat!("use chatkit_agents::agents::providers::openai::{reqwest, ", stringify!($model), ", RetryPolicy};")]
        /// let http = reqwest::Client::builder()
        ///     .connect_timeout(std::time::Duration::from_secs(5))
        ///     .build()
        ///     .unwrap();
        #[doc = concat!("let model = ", stringify!($model), "::with_base_url(\"gpt-4.1\", \"http://127.0.0.1:8080/v1\", \"sk-local\")")]
        ///     .http_client(http, RetryPolicy::default());
        /// assert_eq!(model.model_name(), "gpt-4.1");
        /// ```
        pub fn http_client(
            mut self,
            http: reqwest::Client,
            policy: $crate::agents::providers::openai::RetryPolicy,
        ) -> Self {
            self.transport = Some($crate::agents::providers::openai::client::Transport::Reqwest(
                $crate::agents::providers::openai::retry::RetryService::new(
                    async_openai::middleware::ReqwestService::new(http),
                    policy,
                ),
            ));
            self
        }

        /// Sends requests through `pool` (its own clients and number of streams a
        /// connection) under `policy`; the default is a
        #[doc = concat!("[`ConnectionPool::new`]($crate::agents::providers::openai::ConnectionPool::new).")]
        ///
        /// ```
        #[doc = concat!("use chatkit_agents::agents::providers::openai::{ConnectionPool, ", stringify!($model), ", RetryPolicy};")]
        /// // A local server that speaks HTTP/2 without TLS.
        #[doc = concat!("let model = ", stringify!($model), "::with_base_url(\"gpt-4.1\", \"http://127.0.0.1:8080/v1\", \"sk-local\")")]
        ///     .connection_pool(ConnectionPool::h2c(), RetryPolicy::default());
        /// assert_eq!(model.model_name(), "gpt-4.1");
        /// ```
        pub fn connection_pool(
            mut self,
            pool: $crate::agents::providers::openai::ConnectionPool,
            policy: $crate::agents::providers::openai::RetryPolicy,
        ) -> Self {
            self.transport = Some($crate::agents::providers::openai::client::Transport::Pool(
                $crate::agents::providers::openai::retry::RetryService::new(pool, policy),
            ));
            self
        }

        /// The default model name (the request's `settings.model` wins).
        pub fn model_name(&self) -> &str {
            &self.model
        }
    };
}
pub(crate) use openai_model_constructors;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_json_request_is_built_the_same_for_every_attempt() {
        let config = OpenAIConfig::new()
            .with_api_base("http://127.0.0.1:9/v1")
            .with_api_key("sk-test");
        let body = serde_json::json!({"model": "m", "stream": true});
        let factory = json_request(&config, "/responses", &body).unwrap();
        for _ in 0..2 {
            let request = factory.build().await.unwrap();
            assert_eq!(request.method(), reqwest::Method::POST);
            // No stray `?` from an empty query.
            assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v1/responses");
            assert_eq!(request.headers()["content-type"], "application/json");
            assert_eq!(request.headers()["authorization"], "Bearer sk-test");
            let sent = request.body().and_then(|b| b.as_bytes()).unwrap();
            assert_eq!(serde_json::from_slice::<Value>(sent).unwrap(), body);
        }
    }
}
