//! What a model call sends: [`ModelRequest`] and the agent's [`ModelSettings`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::agents::tool::ToolDefinition;

/// Model settings sent with every request of an agent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelSettings {
    /// The model name (`gpt-4.1-mini`, ...). Adapters use their default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// `auto`, `required`, `none`, or a tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<String>,
    /// Whether the model may call several tools at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Reasoning options (`{"effort": "low", "summary": "auto"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Value>,
    /// Whether the provider keeps the response (`store`). With `false`, ask for
    /// `reasoning.encrypted_content` in [`include`](Self::include) so that reasoning
    /// items can be sent back in the next turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Extra output the Responses API should include (`include`, e.g.
    /// `reasoning.encrypted_content`, `file_search_call.results`); the Python SDK's
    /// `response_include`. Chat Completions has no such field: a request with it is an
    /// error there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Chat Completions only: whether to ask for usage in the stream
    /// (`stream_options.include_usage`, on unless `Some(false)`). Turn it off for
    /// servers that reject the option; the run then reports no token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Any other request fields, sent as given.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

/// One model call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelRequest {
    /// The system instructions.
    pub instructions: Option<String>,
    /// The input items, in the Responses API's JSON form (messages, function calls,
    /// function call outputs, reasoning items...).
    pub input: Vec<Value>,
    /// The tools offered.
    pub tools: Vec<ToolDefinition>,
    /// The provider's own tools offered (Responses API only).
    pub hosted_tools: Vec<crate::agents::hosted::HostedTool>,
    /// Settings.
    pub settings: ModelSettings,
    /// The previous response, for servers that keep state.
    pub previous_response_id: Option<String>,
    /// The JSON schema the answer must follow (an agent with an output type).
    pub output_schema: Option<crate::agents::output::OutputSchema>,
}
