//! The async-openai client both OpenAI providers build on: configuration from the
//! environment or a base URL, this crate's `User-Agent`, the [`RetryPolicy`] transport,
//! and the reading of streamed frames and errors into the runtime's [`ModelError`].

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::Client;
use futures::stream::{Stream, StreamExt};
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
/// `User-Agent` and the default [`RetryPolicy`]. Without a key it warns once per model
/// built: the operator learns it at start, not from the first user's failed answer.
pub(crate) fn env_client() -> Client<OpenAIConfig> {
    if let Err(missing) = api_key_from_env() {
        tracing::warn!("{missing}");
    }
    with_retries(
        Client::with_config(identify(OpenAIConfig::default())),
        RetryPolicy::default(),
    )
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

/// A client for the server at `base_url`, with this crate's `User-Agent` and the
/// default [`RetryPolicy`].
pub(crate) fn client_for(
    base_url: impl Into<String>,
    api_key: impl Into<String>,
) -> Client<OpenAIConfig> {
    let config = OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(api_key);
    with_retries(
        Client::with_config(identify(config)),
        RetryPolicy::default(),
    )
}

/// `client` sending its requests under `policy` (instead of async-openai's retries),
/// over a [`ConnectionPool`] of its own.
pub(crate) fn with_retries(
    client: Client<OpenAIConfig>,
    policy: RetryPolicy,
) -> Client<OpenAIConfig> {
    with_pool(client, ConnectionPool::new(), policy)
}

/// `client` sending its requests through `pool` under `policy`.
pub(crate) fn with_pool(
    client: Client<OpenAIConfig>,
    pool: ConnectionPool,
    policy: RetryPolicy,
) -> Client<OpenAIConfig> {
    client.with_http_service(RetryService::new(pool, policy))
}

/// `client` sending its requests with `http` under `policy`.
pub(crate) fn with_transport(
    client: Client<OpenAIConfig>,
    http: reqwest::Client,
    policy: RetryPolicy,
) -> Client<OpenAIConfig> {
    let transport = ReqwestService::new(http);
    client.with_http_service(RetryService::new(transport, policy))
}

/// The frames of a streamed response as JSON: a frame that is not JSON is skipped with a
/// warning (one odd frame never stops a run); any other error becomes a [`ModelError`],
/// after which the caller stops reading.
pub(crate) fn lenient_frames(
    frames: impl Stream<Item = Result<Value, OpenAIError>>,
) -> impl Stream<Item = Result<Value, ModelError>> {
    frames.filter_map(|frame| {
        futures::future::ready(match frame {
            Ok(value) => Some(Ok(value)),
            Err(OpenAIError::JSONDeserialize(error, content)) => {
                let shown: String = content.chars().take(200).collect();
                tracing::warn!(%error, frame = %shown, "skipping a stream frame that is not JSON");
                None
            }
            Err(error) => Some(Err(model_error(error))),
        })
    })
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
            Self::from_client(
                $crate::agents::providers::openai::client::env_client(),
                model,
            )
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
            let client = $crate::agents::providers::openai::client::client_for(base_url, api_key);
            Self::from_client(client, model)
        }

        /// The model `model` on a configured async-openai client.
        pub fn from_client(
            client: async_openai::Client<async_openai::config::OpenAIConfig>,
            model: impl Into<String>,
        ) -> Self {
            Self {
                client,
                model: model.into(),
            }
        }

        /// Sends requests under `policy` (the default:
        /// [`RetryPolicy::default`]($crate::agents::providers::openai::RetryPolicy::default)). This
        /// replaces the client's transport, so call it on models made by
        /// [`new`](Self::new) or [`with_base_url`](Self::with_base_url); a client passed
        /// to [`from_client`](Self::from_client) keeps its own until you call this.
        pub fn retry_policy(
            mut self,
            policy: $crate::agents::providers::openai::RetryPolicy,
        ) -> Self {
            self.client =
                $crate::agents::providers::openai::client::with_retries(self.client, policy);
            self
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
            self.client = $crate::agents::providers::openai::client::with_transport(
                self.client,
                http,
                policy,
            );
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
            self.client =
                $crate::agents::providers::openai::client::with_pool(self.client, pool, policy);
            self
        }

        /// The default model name (the request's `settings.model` wins).
        pub fn model_name(&self) -> &str {
            &self.model
        }
    };
}
pub(crate) use openai_model_constructors;
