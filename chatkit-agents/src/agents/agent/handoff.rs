//! [`Handoff`]: how an agent offers to hand the conversation over to another.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::Agent;
use crate::agents::schema::{parameters_schema, ToolSchemaError};
use crate::agents::tool::ToolDefinition;

/// Rewrites the conversation (Responses input items) a handoff passes to the next agent.
pub type HandoffInputFilter = Arc<dyn Fn(Vec<Value>) -> Vec<Value> + Send + Sync>;

/// A handoff to an agent, as [`Agent::handoff_with`] offers it: the target, and
/// optionally the tool's name and description, a filter of the conversation the target
/// sees, and a callback, with or without an input the model passes (the Python SDK's
/// `handoff(agent, tool_name_override=..., tool_description_override=...,
/// input_filter=..., on_handoff=..., input_type=...)`).
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{remove_all_tools, Agent, Handoff};
/// use chatkit_agents::testing::ScriptedModel;
///
/// let model = Arc::new(ScriptedModel::new(vec![]));
/// let refunds: Agent<()> = Agent::new("Refunds", model.clone());
/// let triage = Agent::new("Triage", model).handoff_with(
///     Handoff::to(refunds)
///         .tool_name_override("escalate_refund")
///         .tool_description_override("For refund requests over $100.")
///         .input_filter(remove_all_tools),
/// );
/// assert_eq!(triage.handoffs()[0].definition().unwrap().name, "escalate_refund");
/// ```
pub struct Handoff<C> {
    agent: Arc<Agent<C>>,
    tool_name: Option<String>,
    tool_description: Option<String>,
    input_filter: Option<HandoffInputFilter>,
    input_schema: Option<Result<Value, ToolSchemaError>>,
    on_handoff: Option<OnHandoff<C>>,
}

/// A handoff's callback: gets the run context and the model's arguments, and fails with
/// a message when the arguments do not parse.
type OnHandoff<C> = Arc<dyn Fn(C, String) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

impl<C> Clone for Handoff<C> {
    fn clone(&self) -> Self {
        Handoff {
            agent: self.agent.clone(),
            tool_name: self.tool_name.clone(),
            tool_description: self.tool_description.clone(),
            input_filter: self.input_filter.clone(),
            input_schema: self.input_schema.clone(),
            on_handoff: self.on_handoff.clone(),
        }
    }
}

impl<C> std::fmt::Debug for Handoff<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff")
            .field("agent", &self.agent.name())
            .field("tool_name", &self.tool_name())
            .field("input_filter", &self.input_filter.is_some())
            .field("on_handoff", &self.on_handoff.is_some())
            .finish()
    }
}

impl<C> Handoff<C> {
    /// A handoff to `agent` with the default tool ([`Agent::handoff_definition`]) and the
    /// whole conversation passed on.
    pub fn to(agent: Agent<C>) -> Self {
        Handoff {
            agent: Arc::new(agent),
            tool_name: None,
            tool_description: None,
            input_filter: None,
            input_schema: None,
            on_handoff: None,
        }
    }

    /// Names the handoff tool (default `transfer_to_<agent name>`).
    pub fn tool_name_override(mut self, name: impl Into<String>) -> Self {
        self.tool_name = Some(name.into());
        self
    }

    /// Describes the handoff tool to the model (default: the Python SDK's "Handoff to the
    /// ... agent" sentence with the agent's handoff description).
    pub fn tool_description_override(mut self, description: impl Into<String>) -> Self {
        self.tool_description = Some(description.into());
        self
    }

    /// Rewrites the conversation the target agent gets (e.g. [`remove_all_tools`]). It
    /// receives every input item so far, the handoff call and its output included.
    pub fn input_filter(
        mut self,
        filter: impl Fn(Vec<Value>) -> Vec<Value> + Send + Sync + 'static,
    ) -> Self {
        self.input_filter = Some(Arc::new(filter));
        self
    }

    /// Calls `callback` with the run context when the handoff happens (before the
    /// runner's `on_handoff` hook), as the Python SDK's `on_handoff`.
    pub fn on_handoff<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn(C) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.input_schema = None;
        self.on_handoff = Some(Arc::new(move |context, _arguments| {
            callback(context).map(Ok).boxed()
        }));
        self
    }

    /// Lets the model pass a `T` when it hands off (the handoff tool's parameters become
    /// `T`'s strict schema) and calls `callback` with it, as the Python SDK's
    /// `on_handoff` with an `input_type`. Arguments that do not parse as a `T` end the
    /// run with [`RunError::InvalidHandoffInput`](crate::agents::RunError::InvalidHandoffInput).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, Handoff};
    /// use chatkit_agents::testing::ScriptedModel;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Escalation { reason: String }
    ///
    /// let model = Arc::new(ScriptedModel::new(vec![]));
    /// let human: Agent<()> = Agent::new("Human desk", model.clone());
    /// let handoff = Handoff::to(human).on_handoff_with_input(|_ctx: (), input: Escalation| async move {
    ///     println!("escalated: {}", input.reason);
    /// });
    /// assert_eq!(handoff.definition().unwrap().parameters["required"], serde_json::json!(["reason"]));
    /// ```
    pub fn on_handoff_with_input<T, F, Fut>(mut self, callback: F) -> Self
    where
        T: JsonSchema + DeserializeOwned + Send + 'static,
        F: Fn(C, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let tool = self.tool_name();
        self.input_schema = Some(parameters_schema::<T>(&tool, true));
        self.on_handoff = Some(Arc::new(
            move |context, arguments| match serde_json::from_str::<T>(&arguments) {
                Ok(input) => callback(context, input).map(Ok).boxed(),
                Err(error) => futures::future::ready(Err(error.to_string())).boxed(),
            },
        ));
        self
    }

    /// Runs the handoff's callback, if any, with the model's `arguments`.
    pub(crate) async fn invoke(&self, context: C, arguments: &str) -> Result<(), String> {
        match &self.on_handoff {
            Some(callback) => callback(context, arguments.to_owned()).await,
            None => Ok(()),
        }
    }

    /// The agent handed off to.
    pub fn agent(&self) -> &Arc<Agent<C>> {
        &self.agent
    }

    /// The handoff tool's name.
    pub fn tool_name(&self) -> String {
        self.tool_name
            .clone()
            .unwrap_or_else(|| self.agent.handoff_tool_name())
    }

    /// The handoff tool as the model sees it, or why its input type cannot be a strict
    /// schema.
    pub fn definition(&self) -> Result<ToolDefinition, ToolSchemaError> {
        let mut definition = self.agent.handoff_definition();
        if let Some(name) = &self.tool_name {
            definition.name = name.clone();
        }
        if let Some(description) = &self.tool_description {
            definition.description = description.clone();
        }
        if let Some(schema) = &self.input_schema {
            definition.parameters = schema.clone()?;
        }
        Ok(definition)
    }

    /// Whether the handoff rewrites the conversation.
    pub fn has_input_filter(&self) -> bool {
        self.input_filter.is_some()
    }

    /// The conversation the target agent starts from.
    pub fn filter_input(&self, input: Vec<Value>) -> Vec<Value> {
        match &self.input_filter {
            Some(filter) => filter(input),
            None => input,
        }
    }
}

/// The default handoff tool of an agent: what an agent that hands off to it offers.
impl<C> Agent<C> {
    /// The name of the tool that hands off to this agent: `transfer_to_` and the name in
    /// the Python SDK's function style (characters other than ASCII letters, digits and
    /// `_` become `_`, then lowercase).
    pub fn handoff_tool_name(&self) -> String {
        let style: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("transfer_to_{}", style.to_ascii_lowercase())
    }

    /// What the model reads as the handoff tool's output once this agent took over, in
    /// the Python SDK's words (a Python dict's `str`, not JSON).
    pub fn handoff_transfer_message(&self) -> String {
        format!("{{'assistant': '{}'}}", self.name)
    }

    /// The tool that hands off to this agent, as the Python SDK describes it.
    pub fn handoff_definition(&self) -> ToolDefinition {
        ToolDefinition {
            name: self.handoff_tool_name(),
            description: format!(
                "Handoff to the {} agent to handle the request. {}",
                self.name,
                self.handoff_description.as_deref().unwrap_or("")
            ),
            // The Python SDK's strict form of an empty schema, key order included.
            parameters: json!({
                "additionalProperties": false,
                "type": "object",
                "properties": {},
                "required": []
            }),
            strict: true,
        }
    }
}

/// A [`Handoff::input_filter`] that drops every tool call and tool output from the
/// conversation (function calls, hosted tool calls and their outputs, the handoff call
/// included), as the Python SDK's `handoff_filters.remove_all_tools`.
pub fn remove_all_tools(input: Vec<Value>) -> Vec<Value> {
    const TOOL_ITEMS: &[&str] = &[
        "function_call",
        "function_call_output",
        "computer_call",
        "computer_call_output",
        "file_search_call",
        "web_search_call",
    ];
    input
        .into_iter()
        .filter(|item| {
            !item
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|kind| TOOL_ITEMS.contains(&kind))
        })
        .collect()
}
