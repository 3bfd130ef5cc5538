//! [`Agent`]: instructions, a model, tools and settings.

use std::sync::Arc;

use super::model::{Model, ModelSettings};
use super::tool::Tool;

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
/// [`AgentContext`](super::AgentContext)).
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{function_tool, Agent, AgentContext};
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
    settings: ModelSettings,
    tool_use_behavior: ToolUseBehavior,
}

impl<C> Clone for Agent<C> {
    fn clone(&self) -> Self {
        Agent {
            name: self.name.clone(),
            instructions: self.instructions.clone(),
            model: self.model.clone(),
            tools: self.tools.clone(),
            settings: self.settings.clone(),
            tool_use_behavior: self.tool_use_behavior.clone(),
        }
    }
}

impl<C> std::fmt::Debug for Agent<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.name)
            .field("tools", &self.tools.len())
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
            settings: ModelSettings::default(),
            tool_use_behavior: ToolUseBehavior::default(),
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

    /// Sets the model settings.
    pub fn settings(mut self, settings: ModelSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Sets what happens after tool calls.
    pub fn tool_use_behavior(mut self, behavior: ToolUseBehavior) -> Self {
        self.tool_use_behavior = behavior;
        self
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

    /// The model settings.
    pub fn model_settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// What happens after tool calls.
    pub fn behavior(&self) -> &ToolUseBehavior {
        &self.tool_use_behavior
    }
}
