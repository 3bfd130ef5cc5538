//! [`AgentTool`]: an agent offered to another agent as a tool, as the Python SDK's
//! `Agent.as_tool`: the orchestrating agent keeps the conversation and calls the other
//! one with an input of its choosing, reading its final output as the tool's output.

use futures::future::BoxFuture;
use futures::FutureExt;
use serde::Deserialize;

use super::agent::Agent;
use super::runner::Runner;
use super::schema::{parameters_schema, ToolSchemaError};
use super::tool::{Tool, ToolContext, ToolDefinition, ToolFailure};

// The arguments of an agent tool: the input for the agent. (A doc comment here would
// become the schema's description.)
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AgentToolArgs {
    input: String,
}

/// An agent as a tool ([`Agent::as_tool`]). Each call runs the agent to the end on the
/// model's `input`, with the caller's run context (so its tools can stream into the same
/// ChatKit thread), and returns its final output. A failed run is a tool failure the
/// model reads as such.
pub struct AgentTool<C> {
    agent: Agent<C>,
    runner: Runner<C>,
    definition: Result<ToolDefinition, ToolSchemaError>,
}

impl<C: Clone + Send + Sync + 'static> Agent<C> {
    /// This agent as a tool named `name`, described to the model as `description`, with
    /// one string parameter, `input` (the Python SDK's `agent.as_tool(tool_name,
    /// tool_description)`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, Tool};
    /// use chatkit_agents::testing::ScriptedModel;
    ///
    /// let model = Arc::new(ScriptedModel::new(vec![]));
    /// let spanish: Agent<()> = Agent::new("Spanish", model.clone()).instructions("Translate to Spanish.");
    /// let tool = spanish.as_tool("translate_to_spanish", "Translate the user's message to Spanish.");
    /// assert_eq!(tool.definition().unwrap().parameters["required"], serde_json::json!(["input"]));
    /// let orchestrator = Agent::new("Orchestrator", model).tool(tool);
    /// ```
    pub fn as_tool(&self, name: impl Into<String>, description: impl Into<String>) -> AgentTool<C> {
        let name = name.into();
        let definition =
            parameters_schema::<AgentToolArgs>(&name, true).map(|parameters| ToolDefinition {
                name,
                description: description.into(),
                parameters,
                strict: true,
            });
        AgentTool {
            agent: self.clone(),
            runner: Runner::new(),
            definition,
        }
    }
}

impl<C: Clone + Send + Sync + 'static> AgentTool<C> {
    /// Runs the agent with `runner` (turn limit, hooks) instead of a default one.
    pub fn runner(mut self, runner: Runner<C>) -> Self {
        self.runner = runner;
        self
    }
}

impl<C: Clone + Send + Sync + 'static> Tool<C> for AgentTool<C> {
    fn definition(&self) -> Result<&ToolDefinition, ToolSchemaError> {
        self.definition.as_ref().map_err(Clone::clone)
    }

    fn invoke<'a>(
        &'a self,
        ctx: &'a ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<String, ToolFailure>> {
        async move {
            let tool = ctx.tool_name().to_owned();
            let args: AgentToolArgs =
                serde_json::from_str(arguments).map_err(|e| ToolFailure::InvalidArguments {
                    tool: tool.clone(),
                    message: e.to_string(),
                })?;
            let result = self
                .runner
                .run(&self.agent, args.input, ctx.context().clone())
                .await
                .map_err(|e| ToolFailure::Failed {
                    tool,
                    message: e.to_string(),
                })?;
            Ok(result.final_output)
        }
        .boxed()
    }
}
