//! The demo's `ChatKitServer`: an agent with widget tools, and action handlers.

use std::sync::Arc;

use chatkit_agents::agents::{
    chatkit::{is_approval_action, AgentServer},
    Agent, HostedTool, McpServer, ToolUseBehavior,
};
use chatkit_agents::async_trait;
use chatkit_agents::runs::{DisconnectPolicy, RunLeases, RunLogBackend};
use chatkit_agents::server::{
    ChatKitServer, EventStream, ProcessError, StreamError, ThreadHandle, UserLimits,
};
use chatkit_agents::store::{AttachmentStore, Store};
use chatkit_agents::types::*;

use super::state::{self, Refused};
use super::tools::{delete_task, draft_note, get_local_time, get_weather, research, show_tasks};
use super::widgets::{task_list, weather_card};
use super::RequestContext;
use super::{DemoAttachments, DemoOptions};

/// The demo server.
pub struct DemoServer {
    store: Arc<dyn Store<RequestContext>>,
    /// Answers messages; this server adds titles and the widget actions around it.
    agent: Arc<AgentServer<RequestContext>>,
    /// How its answers run, and its attachments.
    runs: DemoOptions,
}

impl DemoServer {
    /// A server on `store` whose agent uses `model`, with the tools of `mcp_servers` and the
    /// model's `hosted_tools` besides its own; its answers run, and files are kept, as
    /// `options` says.
    pub fn new(
        store: Arc<dyn Store<RequestContext>>,
        model: Arc<dyn chatkit_agents::agents::model::Model>,
        mcp_servers: Vec<McpServer>,
        hosted_tools: Vec<HostedTool>,
        options: DemoOptions,
    ) -> Self {
        let agent = Agent::new("Demo", model)
            .instructions("You are the chatkit-agents demo assistant. Use the tools to show the weather, the task list, to delete a task (the user approves it), to draft notes, to research a topic (it takes a while), or to ask the user's browser for its local time. Answer briefly.")
            .tool(get_weather)
            .tool(show_tasks)
            .tool(delete_task)
            .tool(draft_note)
            .tool(research)
            .tool(get_local_time)
            // The browser answers this one: the run stops there and goes on when the
            // client sends the tool's output.
            .tool_use_behavior(ToolUseBehavior::StopAtTools(vec!["get_local_time".into()]));
        let agent = mcp_servers
            .into_iter()
            .fold(agent, |agent, server| agent.mcp_server(server));
        let agent = hosted_tools
            .into_iter()
            .fold(agent, |agent, tool| agent.hosted_tool(tool));
        // Threads show their token totals (the devtools page reads them).
        let mut agent = AgentServer::new(store.clone(), agent)
            .thread_usage(true)
            // The composer's tools (the page's `composer.tools`, the devtools' options).
            .composer_tool("research", "research")
            .composer_tool("note", "draft_note")
            .composer_tool("weather", "get_weather");
        if let Some(DemoAttachments { store, .. }) = &options.attachments {
            agent = agent.attachments(store.clone());
        }
        if let Some(limits) = &options.limits {
            agent = agent.user_limits(limits.clone(), |request: &RequestContext| {
                Some(request.user_id.clone())
            });
        }
        if let Some(titles) = &options.titles {
            agent = agent.titles(titles.clone());
        }
        DemoServer {
            store,
            agent: Arc::new(agent),
            runs: options,
        }
    }
}

fn widget_item(sender: Option<WidgetItem>, action: &str) -> Result<WidgetItem, StreamError> {
    sender.ok_or_else(|| {
        StreamError::custom(
            format!("The {action} action needs the widget it came from."),
            false,
        )
    })
}

/// A refused action as the error event the user reads.
fn refused(Refused(message): Refused) -> StreamError {
    StreamError::custom(message, false)
}

#[async_trait]
impl ChatKitServer for DemoServer {
    type Context = RequestContext;

    fn store(&self) -> Arc<dyn Store<RequestContext>> {
        self.store.clone()
    }

    fn disconnect_policy(&self, _: &RequestContext) -> DisconnectPolicy {
        self.runs.policy.clone()
    }

    fn run_leases(&self) -> Option<RunLeases> {
        Some(self.runs.leases.clone())
    }

    fn run_log(&self) -> Option<Arc<dyn RunLogBackend>> {
        self.runs.log.clone()
    }

    fn attachment_store(&self) -> Option<Arc<dyn AttachmentStore<RequestContext>>> {
        self.runs.attachments.as_ref().map(|a| a.store.clone())
    }

    /// The demo's users are made-up ids from a header: fine to show on traces.
    fn telemetry_user(&self, context: &RequestContext) -> Option<String> {
        Some(context.user_id.clone())
    }

    fn limits(&self, context: &RequestContext) -> Option<UserLimits> {
        self.agent.limits(context)
    }

    fn usage_in_thread_metadata(&self) -> bool {
        self.agent.usage_in_thread_metadata()
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        context: RequestContext,
    ) -> EventStream {
        // With a title model, the agent server titles new threads; else the first words.
        if let (None, Some(message), None) = (thread.title(), &input, &self.runs.titles) {
            let text: String = message
                .content
                .iter()
                .filter_map(|c| match c {
                    UserMessageContent::Text(t) => Some(t.text.as_str()),
                    _ => None,
                })
                .collect();
            let title: String = text.trim().chars().take(40).collect();
            if !title.is_empty() {
                thread.set_title(title);
            }
        }
        self.agent.clone().respond(thread, input, context)
    }

    fn action(
        self: Arc<Self>,
        thread: ThreadHandle,
        action: Action,
        sender: Option<WidgetItem>,
        context: RequestContext,
    ) -> EventStream {
        if is_approval_action(&action) {
            // Approve / Reject on an approval card: the agent server decides and resumes.
            return self.agent.clone().action(thread, action, sender, context);
        }
        Box::pin(async_stream::try_stream! {
            match action.action_type.as_str() {
                "weather.refresh" => {
                    let (city, refreshes) = state::refresh_weather(&thread, &action).map_err(refused)?;
                    let mut item = widget_item(sender, "refresh")?;
                    item.widget = weather_card(&city, refreshes);
                    yield ThreadStreamEvent::item_replaced(item);
                }
                "tasks.toggle" => {
                    let mut tasks = state::tasks(&thread.snapshot());
                    let task = state::change_task(&mut tasks, &action, |task| task.done = !task.done).map_err(refused)?;
                    let mut item = widget_item(sender, "toggle")?;
                    let (title, done) = (task.title, task.done);
                    state::set_tasks(&thread, &tasks);
                    item.widget = task_list(&tasks);
                    yield ThreadStreamEvent::item_replaced(item);
                    // Tell the model what happened, without showing it to the user.
                    yield ThreadStreamEvent::item_done(HiddenContextItem {
                        id: default_generate_id(StoreItemType::Message),
                        thread_id: thread.id().to_owned(),
                        created_at: Timestamp::now(),
                        content: format!("The user marked the task \"{title}\" as {}.", if done { "done" } else { "not done" }).into(),
                    });
                    yield ThreadStreamEvent::item_done(AssistantMessageItem {
                        id: default_generate_id(StoreItemType::Message),
                        thread_id: thread.id().to_owned(),
                        created_at: Timestamp::now(),
                        content: vec![AssistantMessageContent::new(if done { format!("Nice, \"{title}\" is done.") } else { format!("\"{title}\" is open again.") })],
                    });
                    if done && tasks.iter().all(|t| t.done) {
                        yield ThreadStreamEvent::client_effect("celebrate", serde_json::Map::new());
                    }
                }
                "tasks.add" => {
                    let mut tasks = state::tasks(&thread.snapshot());
                    let task = state::add_task(&mut tasks, &action).map_err(refused)?;
                    let mut item = widget_item(sender, "add")?;
                    state::set_tasks(&thread, &tasks);
                    item.widget = task_list(&tasks);
                    yield ThreadStreamEvent::item_replaced(item);
                    yield ThreadStreamEvent::item_done(AssistantMessageItem {
                        id: default_generate_id(StoreItemType::Message),
                        thread_id: thread.id().to_owned(),
                        created_at: Timestamp::now(),
                        content: vec![AssistantMessageContent::new(format!("Added \"{}\".", task.title))],
                    });
                }
                other => Err(StreamError::custom(format!("The action \"{other}\" is not handled here."), false))?,
            }
        })
    }

    async fn sync_action(
        &self,
        thread: ThreadMetadata,
        action: Action,
        sender: Option<WidgetItem>,
        context: &RequestContext,
    ) -> Result<SyncCustomActionResponse, ProcessError> {
        match action.action_type.as_str() {
            "tasks.star" => {
                let mut item = sender.ok_or_else(|| {
                    ProcessError::BadRequest("tasks.star needs its widget".into())
                })?;
                let mut thread = thread;
                let mut tasks = state::tasks(&thread);
                state::change_task(&mut tasks, &action, |task| task.starred = !task.starred)
                    .map_err(|Refused(message)| ProcessError::BadRequest(message))?;
                item.widget = task_list(&tasks);
                // The reference persists nothing for sync actions; save the new state
                // ourselves (an error if the thread was deleted meanwhile).
                state::put_tasks(&mut thread, &tasks);
                self.store.update_thread(&thread, context).await?;
                self.store
                    .save_item(
                        &item.thread_id.clone(),
                        &ThreadItem::Widget(item.clone()),
                        context,
                    )
                    .await?;
                Ok(SyncCustomActionResponse {
                    updated_item: Some(item.into()),
                })
            }
            other => Err(ProcessError::BadRequest(format!(
                "unknown sync action {other:?}"
            ))),
        }
    }
}
