//! Planning a turn: what the model's output asks for, sorted through a name → target
//! map into messages, tool calls and handoffs.

use std::collections::HashMap;
use std::sync::Arc;

use super::message_text;
use super::result::{RunError, RunEvent};
use crate::agents::agent::{Agent, Handoff};
use crate::agents::model::{FunctionCall, MessageItem, OutputItem};
use crate::agents::tool::{Tool, ToolDefinition};
#[cfg(doc)]
use crate::agents::tool_source::ToolSource;

/// What a tool name the model calls stands for.
enum Target<'a, C> {
    /// The agent's tool (or a source's).
    Tool(&'a Arc<dyn Tool<C>>),
    /// A handoff to another agent.
    Handoff(&'a Handoff<C>),
}

/// A tool source's name and the tools it gave.
type SourcedTools<C> = (String, Vec<Arc<dyn Tool<C>>>);

/// The agent that runs, with what it offers the model.
pub(super) struct ActiveAgent<C> {
    /// Shared with whoever started the run (an `AgentServer` answers every message
    /// with one agent): a run holds no copy of it while it waits on the model.
    pub(super) agent: Arc<Agent<C>>,
    /// The tools offered to the model, in order (the agent's, then its sources'). Their
    /// definitions are copied into each model request, not kept here: a run waiting on
    /// its model holds no copy of them.
    offered: Vec<Arc<dyn Tool<C>>>,
    /// A tool per handoff, offered after the tools (in the order of the agent's
    /// handoffs). Names are looked up in these lists, with no map of their own: an agent
    /// has a few tools, and a run holds its `ActiveAgent` while it waits on the model.
    handoff_definitions: Vec<ToolDefinition>,
    /// The sources that could not give their tools (name, why), left out of this run.
    pub(super) unavailable: Vec<(String, String)>,
}

impl<C> ActiveAgent<C> {
    /// `agent` ready to run, with the tools its sources give now, or why one of its
    /// tools cannot be offered to the model.
    /// A source that is not required and fails is left out (see [`ToolSource`]).
    pub(super) async fn start(agent: Arc<Agent<C>>) -> Result<Self, RunError> {
        let mut sourced = Vec::new();
        let mut unavailable = Vec::new();
        for source in agent.tool_sources() {
            match source.tools().await {
                Ok(tools) => sourced.push((source.name().to_owned(), tools)),
                // Logged (in the turn's span) when the run announces it.
                Err(error) if !source.required() => {
                    unavailable.push((source.name().to_owned(), error.message));
                }
                Err(error) => {
                    return Err(RunError::ToolSource {
                        source_name: source.name().to_owned(),
                        message: error.message,
                    })
                }
            }
        }
        let mut active = Self::with_sourced(agent, sourced)?;
        active.unavailable = unavailable;
        Ok(active)
    }

    fn with_sourced(agent: Arc<Agent<C>>, sourced: Vec<SourcedTools<C>>) -> Result<Self, RunError> {
        let mut offered = Vec::with_capacity(agent.tools().len());
        let mut handoff_definitions = Vec::with_capacity(agent.handoffs().len());
        // A source's tool may not take a name the agent's own tools, its handoffs or
        // another source's tools have: the model could not tell them apart.
        let mut taken: HashMap<String, String> = agent
            .tools()
            .iter()
            .filter_map(|tool| tool.definition().ok())
            .map(|d| (d.name.clone(), "a tool of the agent".to_owned()))
            .collect();
        for handoff in agent.handoffs() {
            if let Ok(definition) = handoff.definition() {
                taken.insert(definition.name, "a handoff of the agent".to_owned());
            }
        }
        let mut from_sources = Vec::new();
        for (source, tools) in sourced {
            for tool in tools {
                let name = tool.definition()?.name.clone();
                if let Some(owner) = taken.get(&name) {
                    return Err(RunError::ToolSource {
                        source_name: source,
                        message: format!(
                            "its tool {name} has the name of {owner}; give the source a tool name prefix"
                        ),
                    });
                }
                taken.insert(name, format!("a tool of source {source}"));
                from_sources.push(tool);
            }
        }
        for tool in agent.tools().iter().chain(&from_sources) {
            // Checked here, so that `target` may skip a tool without a definition.
            tool.definition()?;
            offered.push(tool.clone());
        }
        for handoff in agent.handoffs() {
            handoff_definitions.push(handoff.definition()?);
        }
        Ok(ActiveAgent {
            agent,
            offered,
            handoff_definitions,
            unavailable: Vec::new(),
        })
    }

    /// What `name` stands for: a handoff wins over a tool of the same name, the first
    /// handoff over later ones, the first tool over later ones.
    fn target(&self, name: &str) -> Option<Target<'_, C>> {
        if let Some(index) = self.handoff_definitions.iter().position(|d| d.name == name) {
            return self.agent.handoffs().get(index).map(Target::Handoff);
        }
        self.offered
            .iter()
            .find(|tool| tool.definition().is_ok_and(|d| d.name == name))
            .map(Target::Tool)
    }

    /// The tools offered to the model, for one request: the agent's tools, then a tool
    /// per handoff.
    pub(super) fn definitions(&self) -> Vec<ToolDefinition> {
        self.offered
            .iter()
            // Checked when the agent started.
            .filter_map(|tool| tool.definition().ok())
            .chain(&self.handoff_definitions)
            .cloned()
            .collect()
    }

    /// Whether the model can call a tool (not a handoff) of this name.
    pub(super) fn has_tool(&self, name: &str) -> bool {
        matches!(self.target(name), Some(Target::Tool(..)))
    }

    /// Sorts the turn's output items.
    pub(super) fn plan(&self, items: &[OutputItem]) -> TurnPlan<C> {
        let mut plan = TurnPlan {
            messages: Vec::new(),
            last_message: None,
            calls: Vec::new(),
            handoffs: Vec::new(),
            order: Vec::new(),
        };
        for item in items {
            match item {
                OutputItem::Message(message) => {
                    plan.last_message = Some(message_text(message));
                    plan.messages.push(message.clone());
                }
                OutputItem::FunctionCall(call) => match self.target(&call.name) {
                    Some(Target::Handoff(handoff)) => {
                        plan.order.push(RunEvent::HandoffCalled(call.clone()));
                        plan.handoffs.push((call.clone(), handoff.clone()));
                    }
                    target => {
                        plan.order.push(RunEvent::ToolCalled(call.clone()));
                        let tool = match target {
                            Some(Target::Tool(tool)) => tool
                                .definition()
                                .ok()
                                .map(|definition| (tool.clone(), definition.clone())),
                            _ => None,
                        };
                        plan.calls.push(PlannedCall {
                            call: call.clone(),
                            tool,
                        });
                    }
                },
                _ => {}
            }
        }
        plan
    }
}

/// A tool call of the turn, with the tool it names (`None`: the agent has no such tool).
pub(super) struct PlannedCall<C> {
    pub(super) call: FunctionCall,
    tool: Option<(Arc<dyn Tool<C>>, ToolDefinition)>,
}

/// A tool call whose tool exists.
pub(super) struct ResolvedCall<C> {
    pub(super) call: FunctionCall,
    pub(super) tool: Arc<dyn Tool<C>>,
    pub(super) definition: ToolDefinition,
}

/// What one turn's output asks for.
pub(super) struct TurnPlan<C> {
    /// The messages, in output order.
    pub(super) messages: Vec<MessageItem>,
    /// The text of the last message.
    last_message: Option<String>,
    calls: Vec<PlannedCall<C>>,
    /// The handoff calls with their handoffs; only the first one runs.
    pub(super) handoffs: Vec<(FunctionCall, Handoff<C>)>,
    /// `ToolCalled` and `HandoffCalled` events in output order, as the Python SDK
    /// streams run items.
    order: Vec<RunEvent>,
}

impl<C> TurnPlan<C> {
    /// The final output when the model called nothing: the last message's text.
    pub(super) fn final_message(&self) -> Option<String> {
        (self.calls.is_empty() && self.handoffs.is_empty())
            .then(|| self.last_message.clone().unwrap_or_default())
    }

    /// The events announcing the turn's calls, in output order.
    pub(super) fn call_events(&mut self) -> Vec<RunEvent> {
        std::mem::take(&mut self.order)
    }

    /// The tool calls with their tools, or the first call of a tool `agent` does not have.
    pub(super) fn resolve_tools(
        &mut self,
        agent: &Agent<C>,
    ) -> Result<Vec<ResolvedCall<C>>, RunError> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|planned| match planned.tool {
                Some((tool, definition)) => Ok(ResolvedCall {
                    call: planned.call,
                    tool,
                    definition,
                }),
                None => Err(RunError::UnknownTool {
                    name: planned.call.name,
                    agent: agent.name().to_owned(),
                }),
            })
            .collect()
    }
}
