//! The OpenAI providers (feature `openai`): [`OpenAIResponsesModel`] on the Responses
//! API and [`OpenAIChatCompletionsModel`] on Chat Completions, over one client builder
//! (`client.rs`) and one retry policy ([`RetryPolicy`]).

mod chat_completions;
mod client;
mod pool;
mod responses;
mod retry;

/// The async-openai crate whose client [`OpenAIResponsesModel::from_client`] takes (the
/// same version as this crate's).
pub use async_openai;
pub use chat_completions::OpenAIChatCompletionsModel;
pub use pool::{ConnectionPool, DEFAULT_STREAMS_PER_CONNECTION};
/// The HTTP client the models send with, for [`OpenAIResponsesModel::http_client`] (the
/// same version as this crate's).
pub use reqwest;
pub use responses::OpenAIResponsesModel;
pub use retry::RetryPolicy;
