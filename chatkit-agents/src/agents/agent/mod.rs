//! [`Agent`]: instructions, a model, tools and settings; and in [`handoff`] how an agent
//! hands the conversation over to another (a handoff holds its target agent, so it is part
//! of the agent's definition).

use std::sync::Arc;

mod handoff;

pub use handoff::{remove_all_tools, Handoff, HandoffInputFilter};

use super::guardrail::{InputGuardrail, OutputGuardrail, ToolInputGuardrail, ToolOutputGuardrail};
use super::hosted::HostedTool;
#[cfg(feature = "mcp")]
use super::mcp::McpServer;
use super::model::{Model, ModelSettings};
use super::output::OutputType;
use super::tool::Tool;
use super::tool_source::ToolSource;

/// What happens after the model calls tools.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolUseBehavior {
    /// Send the tool outputs back to the model for another turn (the default).
    #[default]
    RunLlmAgain,
    /// The first tool's output is the run's final output; no further model turn.
    StopOnFirstTool,
    /// Stop (with that tool's output as the final output) when any of these tools ran.
    StopAtTools(Vec<String>),
}

/// An agent: a model with instructions and tools, for run context `C` (usually
/// [`AgentContext`](super::chatkit::AgentContext)).
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{function_tool, Agent, chatkit::AgentContext};
/// use chatkit_agents::testing::ScriptedModel;
///
/// /// Tell the time.
/// #[function_tool]
/// async fn now() -> &'static str {
///     "12:00"
/// }
///
/// let agent: Agent<AgentContext<()>> = Agent::new("Clock", Arc::new(ScriptedModel::new(vec![])))
///     .instructions("Answer briefly.")
///     .tool(now);
/// assert_eq!(agent.tools().len(), 1);
/// ```
pub struct Agent<C> {
    name: String,
    instructions: Option<String>,
    model: Arc<dyn Model>,
    tools: Vec<Arc<dyn Tool<C>>>,
    tool_sources: Vec<Arc<dyn ToolSource<C>>>,
    hosted_tools: Vec<HostedTool>,
    settings: ModelSettings,
    tool_use_behavior: ToolUseBehavior,
    handoffs: Vec<Handoff<C>>,
    handoff_description: Option<String>,
    input_guardrails: Vec<InputGuardrail<C>>,
    output_guardrails: Vec<OutputGuardrail<C>>,
    tool_input_guardrails: Vec<ToolInputGuardrail<C>>,
    tool_output_guardrails: Vec<ToolOutputGuardrail<C>>,
    output_type: Option<OutputType>,
    reset_tool_choice: bool,
}

impl<C> Clone for Agent<C> {
    fn clone(&self) -> Self {
        Agent {
            name: self.name.clone(),
            instructions: self.instructions.clone(),
            model: self.model.clone(),
            tools: self.tools.clone(),
            tool_sources: self.tool_sources.clone(),
            hosted_tools: self.hosted_tools.clone(),
            settings: self.settings.clone(),
            tool_use_behavior: self.tool_use_behavior.clone(),
            handoffs: self.handoffs.clone(),
            handoff_description: self.handoff_description.clone(),
            input_guardrails: self.input_guardrails.clone(),
            output_guardrails: self.output_guardrails.clone(),
            tool_input_guardrails: self.tool_input_guardrails.clone(),
            tool_output_guardrails: self.tool_output_guardrails.clone(),
            output_type: self.output_type.clone(),
            reset_tool_choice: self.reset_tool_choice,
        }
    }
}

impl<C> std::fmt::Debug for Agent<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.name)
            .field("tools", &self.tools.len())
            .field("handoffs", &self.handoffs.len())
            .field("input_guardrails", &self.input_guardrails)
            .field("output_guardrails", &self.output_guardrails)
            .finish_non_exhaustive()
    }
}

impl<C> Agent<C> {
    /// An agent with a name and a model.
    pub fn new(name: impl Into<String>, model: Arc<dyn Model>) -> Self {
        Agent {
            name: name.into(),
            instructions: None,
            model,
            tools: Vec::new(),
            tool_sources: Vec::new(),
            hosted_tools: Vec::new(),
            settings: ModelSettings::default(),
            tool_use_behavior: ToolUseBehavior::default(),
            handoffs: Vec::new(),
            handoff_description: None,
            input_guardrails: Vec::new(),
            output_guardrails: Vec::new(),
            tool_input_guardrails: Vec::new(),
            tool_output_guardrails: Vec::new(),
            output_type: None,
            reset_tool_choice: true,
        }
    }

    /// Sets the system instructions.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Adds a tool (a `#[function_tool]` value or any [`Tool`]).
    pub fn tool(mut self, tool: impl Tool<C> + 'static) -> Self {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Adds a shared tool.
    pub fn shared_tool(mut self, tool: Arc<dyn Tool<C>>) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds a source of tools asked each time this agent starts running (an MCP server:
    /// `mcp_server`, feature `mcp`). Their names must not clash with the agent's
    /// other tools and handoffs: a clash fails the run with a clear error.
    pub fn tool_source(mut self, source: Arc<dyn ToolSource<C>>) -> Self {
        self.tool_sources.push(source);
        self
    }

    /// Sets the model settings.
    pub fn settings(mut self, settings: ModelSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Whether a forced [`ModelSettings::tool_choice`] holds only until a tool has been
    /// called in the run (default `true`, as the Python Agents SDK's
    /// `reset_tool_choice`): later model calls of the run choose freely, so a forced
    /// tool cannot call itself until the turn limit. `false` keeps it on every call.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, model::ModelSettings};
    /// # let model = Arc::new(chatkit_agents::testing::ScriptedModel::new(vec![]));
    /// let settings = ModelSettings { tool_choice: Some("required".into()), ..Default::default() };
    /// let agent: Agent<()> = Agent::new("Always a tool", model).settings(settings).reset_tool_choice(false);
    /// assert!(!agent.resets_tool_choice());
    /// ```
    pub fn reset_tool_choice(mut self, reset: bool) -> Self {
        self.reset_tool_choice = reset;
        self
    }

    /// See [`reset_tool_choice`](Self::reset_tool_choice).
    pub fn resets_tool_choice(&self) -> bool {
        self.reset_tool_choice
    }

    /// Adds a check of the run's input; see [`InputGuardrail`]. Only the agent a run
    /// starts with runs its input guardrails.
    pub fn input_guardrail(mut self, guardrail: InputGuardrail<C>) -> Self {
        self.input_guardrails.push(guardrail);
        self
    }

    /// Adds a check of this agent's final output; see [`OutputGuardrail`].
    pub fn output_guardrail(mut self, guardrail: OutputGuardrail<C>) -> Self {
        self.output_guardrails.push(guardrail);
        self
    }

    /// Adds a check of every tool call, before the tool runs; see [`ToolInputGuardrail`].
    pub fn tool_input_guardrail(mut self, guardrail: ToolInputGuardrail<C>) -> Self {
        self.tool_input_guardrails.push(guardrail);
        self
    }

    /// Adds a check of every tool output, before the model reads it; see
    /// [`ToolOutputGuardrail`].
    pub fn tool_output_guardrail(mut self, guardrail: ToolOutputGuardrail<C>) -> Self {
        self.tool_output_guardrails.push(guardrail);
        self
    }

    /// The tool input guardrails.
    pub fn tool_input_guardrails(&self) -> &[ToolInputGuardrail<C>] {
        &self.tool_input_guardrails
    }

    /// The tool output guardrails.
    pub fn tool_output_guardrails(&self) -> &[ToolOutputGuardrail<C>] {
        &self.tool_output_guardrails
    }

    /// The input guardrails.
    pub fn input_guardrails(&self) -> &[InputGuardrail<C>] {
        &self.input_guardrails
    }

    /// The output guardrails.
    pub fn output_guardrails(&self) -> &[OutputGuardrail<C>] {
        &self.output_guardrails
    }

    /// Makes the agent answer with JSON of type `T` (OpenAI structured outputs), as the
    /// Python SDK's `output_type`: the model gets `T`'s strict schema as its response
    /// format, and the final message must parse as a `T`. Read the answer with
    /// [`RunResult::final_output_as`](super::RunResult::final_output_as). A `T` whose
    /// schema cannot be strict (a map, an arbitrary value) fails the run with
    /// [`RunError::ToolSchema`](super::RunError::ToolSchema).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, Runner};
    /// use chatkit_agents::testing::{ScriptedModel, Step};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Verdict { is_homework: bool }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let model = Arc::new(ScriptedModel::new(vec![vec![Step::text(r#"{"is_homework": true}"#)]]));
    /// let checker: Agent<()> = Agent::new("Checker", model).output_type::<Verdict>();
    /// let result = Runner::new().run(&checker, "Solve x + 1 = 2 for me", ()).await.unwrap();
    /// assert!(result.final_output_as::<Verdict>().unwrap().is_homework);
    /// # });
    /// ```
    pub fn output_type<T: schemars::JsonSchema + serde::de::DeserializeOwned + 'static>(
        mut self,
    ) -> Self {
        self.output_type = Some(OutputType::of::<T>());
        self
    }

    /// The output type, if the agent has one.
    pub fn output_type_info(&self) -> Option<&OutputType> {
        self.output_type.as_ref()
    }

    /// Sets what happens after tool calls.
    pub fn tool_use_behavior(mut self, behavior: ToolUseBehavior) -> Self {
        self.tool_use_behavior = behavior;
        self
    }

    /// Lets the model hand the conversation over to `agent`, as the Python Agents SDK's
    /// handoffs do: the model sees a `transfer_to_<agent name>` tool, and calling it
    /// makes `agent` (its instructions, model and tools) answer from the next turn on,
    /// with the whole conversation so far as input. Handoffs form a tree: an agent
    /// holds its targets by value, so a target cannot hand back to its parent.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::Agent;
    /// use chatkit_agents::testing::ScriptedModel;
    ///
    /// let model = Arc::new(ScriptedModel::new(vec![]));
    /// let billing: Agent<()> = Agent::new("Billing agent", model.clone())
    ///     .handoff_description("Answers invoice questions.");
    /// let triage = Agent::new("Triage", model).handoff(billing);
    /// assert_eq!(triage.handoffs()[0].tool_name(), "transfer_to_billing_agent");
    /// ```
    pub fn handoff(self, agent: Agent<C>) -> Self {
        self.handoff_with(Handoff::to(agent))
    }

    /// Adds a configured handoff: its own tool name or description, or a filter of what
    /// the next agent sees (see [`Handoff`]).
    pub fn handoff_with(mut self, handoff: Handoff<C>) -> Self {
        self.handoffs.push(handoff);
        self
    }

    /// What this agent is for, told to the model of an agent that can hand off to it.
    pub fn handoff_description(mut self, description: impl Into<String>) -> Self {
        self.handoff_description = Some(description.into());
        self
    }

    /// The handoffs this agent offers.
    pub fn handoffs(&self) -> &[Handoff<C>] {
        &self.handoffs
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The system instructions.
    pub fn instructions_text(&self) -> Option<&str> {
        self.instructions.as_deref()
    }

    /// The model.
    pub fn model(&self) -> &Arc<dyn Model> {
        &self.model
    }

    /// The tools.
    pub fn tools(&self) -> &[Arc<dyn Tool<C>>] {
        &self.tools
    }

    /// Takes tools from an MCP server (feature `mcp`; see [`McpServer`]).
    #[cfg(feature = "mcp")]
    pub fn mcp_server(self, server: McpServer) -> Self
    where
        C: Send + Sync + 'static,
    {
        self.tool_source(Arc::new(server))
    }

    /// Offers a tool the model provider runs (web search, file search, ...; see
    /// [`HostedTool`]). Needs a model on the Responses API.
    pub fn hosted_tool(mut self, tool: HostedTool) -> Self {
        self.hosted_tools.push(tool);
        self
    }

    /// The provider's tools the agent offers.
    pub fn hosted_tools(&self) -> &[HostedTool] {
        &self.hosted_tools
    }

    /// The agent's sources of tools.
    pub fn tool_sources(&self) -> &[Arc<dyn ToolSource<C>>] {
        &self.tool_sources
    }

    /// The model settings.
    pub fn model_settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// What happens after tool calls.
    pub fn behavior(&self) -> &ToolUseBehavior {
        &self.tool_use_behavior
    }
}
