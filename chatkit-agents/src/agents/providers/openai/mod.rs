//! The OpenAI providers (feature `openai`): [`OpenAIResponsesModel`] on the Responses
//! API and [`OpenAIChatCompletionsModel`] on Chat Completions, over one client builder
//! (`client.rs`) and one retry policy ([`RetryPolicy`]).

mod chat_completions;
mod client;
mod responses;
mod retry;

pub use chat_completions::OpenAIChatCompletionsModel;
pub use responses::OpenAIResponsesModel;
pub use retry::RetryPolicy;
