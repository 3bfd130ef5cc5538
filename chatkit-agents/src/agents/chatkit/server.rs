//! [`AgentServer`]: a ready-made [`ChatKitServer`] that answers every message with an
//! agent, the reference's documented `respond` pattern.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;

use super::approvals::{is_approval_action, ApprovalHandler};
use super::attachments::{AttachmentInput, AttachmentParts};
use super::context::AgentContext;
use super::history::convert_history;
use super::response_stream::{
    stream_agent_response_with, DefaultResponseStreamConverter, ResponseStreamConverter,
};
use super::titles::ThreadTitles;
use super::to_model_input::{DefaultThreadItemConverter, ThreadItemConverter};
use crate::agents::agent::Agent;
use crate::agents::runner::{RunError, Runner};
use crate::server::{ChatKitServer, EventStream, Limits, StreamError, ThreadHandle, UserLimits};
use crate::store::{AttachmentStore, Store};
use crate::types::{Action, SortOrder, UserMessageItem, WidgetItem};

/// A ChatKit server that answers with `agent`: it loads the thread's recent items,
/// converts them to model input (with the default [`ThreadItemConverter`] unless you
/// give one; an item the converter cannot handle is logged and converted without its
/// tags and attachments, or left out, rather than failing this and every later turn),
/// runs the agent, and streams the run with [`stream_agent_response`](super::stream_agent_response).
/// Tools that need approval work as they are: the run's cards' actions are handled
/// here ([`ApprovalHandler`]). Your widgets' actions go to the handlers you name with
/// [`on_action`](Self::on_action); an action nobody handles ends its stream with a
/// non-retryable error the user reads. With an [`attachments`](Self::attachments)
/// store, users' files reach the model ([`AttachmentInput`]). Implement
/// [`ChatKitServer`] yourself for custom routing.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Agent, chatkit::AgentServer};
/// use chatkit_agents::store::MemoryStore;
/// use chatkit_agents::testing::{ScriptedModel, Step};
///
/// let agent = Agent::new("Echo", Arc::new(ScriptedModel::new(vec![vec![Step::text("Hi!")]])));
/// let server: AgentServer<()> = AgentServer::new(Arc::new(MemoryStore::new()), agent);
/// ```
pub struct AgentServer<C> {
    store: Arc<dyn Store<C>>,
    /// Shared by the runs that answer with it (none keeps a copy).
    agent: Arc<Agent<AgentContext<C>>>,
    runner: Runner<AgentContext<C>>,
    converter: Arc<dyn ThreadItemConverter>,
    history: usize,
    tripwire_message: Option<String>,
    response_converter: Arc<dyn ResponseStreamConverter>,
    trace_user: Option<Arc<TraceUser<C>>>,
    actions: HashMap<String, Arc<ActionHandler<C>>>,
    attachments: Option<Arc<dyn AttachmentStore<C>>>,
    attachment_input: AttachmentInput,
    titles: Option<ThreadTitles>,
    limits: Option<(Limits, Arc<LimitUser<C>>)>,
    usage_in_metadata: bool,
    /// Composer tool ids → the agent's tool each forces.
    composer_tools: HashMap<String, String>,
    /// The models a user may pick in the composer.
    composer_models: Vec<String>,
}

/// Names the user a request's limits are counted for (see [`AgentServer::user_limits`]).
type LimitUser<C> = dyn Fn(&C) -> Option<String> + Send + Sync;

/// Names the user of a request on its span (see [`AgentServer::trace_user`]).
type TraceUser<C> = dyn Fn(&C) -> Option<String> + Send + Sync;

/// Handles one type of widget action (see [`AgentServer::on_action`]).
type ActionHandler<C> = dyn Fn(ActionRequest<C>) -> EventStream + Send + Sync;

/// A widget action for a handler of [`AgentServer::on_action`]: what
/// [`ChatKitServer::action`] receives.
#[derive(Debug)]
#[non_exhaustive]
pub struct ActionRequest<C> {
    /// The thread; title, status and metadata changes are saved and announced.
    pub thread: ThreadHandle,
    /// The action (its `type` chose the handler; `payload` is untrusted input).
    pub action: Action,
    /// The widget item the action came from, if the client named one.
    pub sender: Option<WidgetItem>,
    /// The request context.
    pub context: C,
}

impl<C: Clone + Send + Sync + 'static> AgentServer<C> {
    /// A server on `store` answering with `agent`, reading the last 20 items.
    pub fn new(store: Arc<dyn Store<C>>, agent: Agent<AgentContext<C>>) -> Self {
        AgentServer {
            store,
            agent: Arc::new(agent),
            runner: Runner::new(),
            converter: Arc::new(DefaultThreadItemConverter),
            history: 20,
            tripwire_message: None,
            response_converter: Arc::new(DefaultResponseStreamConverter::default()),
            trace_user: None,
            actions: HashMap::new(),
            attachments: None,
            attachment_input: AttachmentInput::default(),
            titles: None,
            limits: None,
            usage_in_metadata: false,
            composer_tools: HashMap::new(),
            composer_models: Vec::new(),
        }
    }

    /// A tool the user can pick in the client's composer (`composer.tools` in the
    /// ChatKit options, each with an `id`): a message sent with the tool `id` chosen
    /// makes the model call the agent's tool `tool` first (`tool_choice`; later calls of
    /// the run choose freely, see [`Agent::reset_tool_choice`]). An id not registered
    /// here is ignored (the client is not trusted to name tools).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, chatkit::AgentServer};
    /// use chatkit_agents::store::MemoryStore;
    /// # let agent = Agent::new("Helper", Arc::new(chatkit_agents::testing::ScriptedModel::new(vec![])));
    /// // ChatKit options: composer: { tools: [{ id: "research", label: "Research", icon: "search" }] }
    /// let server: AgentServer<()> = AgentServer::new(Arc::new(MemoryStore::new()), agent)
    ///     .composer_tool("research", "research");
    /// # let _ = server;
    /// ```
    pub fn composer_tool(mut self, id: impl Into<String>, tool: impl Into<String>) -> Self {
        self.composer_tools.insert(id.into(), tool.into());
        self
    }

    /// The models a user may pick in the client's composer (`composer.models`): a
    /// message sent with one of them answers with it; any other name is ignored (the
    /// client is not trusted to choose what a request costs).
    pub fn composer_models<S: Into<String>>(mut self, models: impl IntoIterator<Item = S>) -> Self {
        self.composer_models = models.into_iter().map(Into::into).collect();
        self
    }

    /// The agent for a message: with the composer's tool and model applied when this
    /// server offers them.
    fn agent_for(&self, input: Option<&UserMessageItem>) -> Arc<Agent<AgentContext<C>>> {
        let Some(options) = input.map(|message| &message.inference_options) else {
            return self.agent.clone();
        };
        let tool = options
            .tool_choice
            .as_ref()
            .and_then(|choice| self.composer_tools.get(&choice.id));
        let model = options
            .model
            .as_ref()
            .filter(|model| self.composer_models.contains(model));
        if tool.is_none() && model.is_none() {
            return self.agent.clone();
        }
        let mut settings = self.agent.model_settings().clone();
        if let Some(tool) = tool {
            settings.tool_choice = Some(tool.clone());
        }
        if let Some(model) = model {
            settings.model = Some(model.clone());
        }
        Arc::new(Agent::clone(&self.agent).settings(settings))
    }

    /// Titles each new thread from its first message with a small model call beside the
    /// answer (see [`ThreadTitles`]); without it, threads keep no title unless your code
    /// sets one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, chatkit::{AgentServer, ThreadTitles}};
    /// use chatkit_agents::store::MemoryStore;
    /// use chatkit_agents::testing::{ScriptedModel, Step};
    /// let agent = Agent::new("Helper", Arc::new(ScriptedModel::new(vec![vec![Step::text("Sure.")]])));
    /// let small = Arc::new(ScriptedModel::new(vec![vec![Step::text("Packing for Lisbon")]]));
    /// let server: AgentServer<()> = AgentServer::new(Arc::new(MemoryStore::new()), agent)
    ///     .titles(ThreadTitles::new(small));
    /// # let _ = server;
    /// ```
    pub fn titles(mut self, titles: ThreadTitles) -> Self {
        self.titles = Some(titles);
        self
    }

    /// Holds users to `limits` (see [`ChatKitServer::limits`]); `user` names the user of
    /// a request (`None`: that request is not limited).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use chatkit_agents::agents::{Agent, chatkit::AgentServer};
    /// use chatkit_agents::server::Limits;
    /// use chatkit_agents::store::{MemoryStore, StoreContext};
    /// # #[derive(Clone)] struct Request(String);
    /// # impl StoreContext for Request { fn user_id(&self) -> Option<&str> { Some(&self.0) } }
    /// # let agent = Agent::new("Helper", Arc::new(chatkit_agents::testing::ScriptedModel::new(vec![])));
    /// let limits = Limits::in_memory().concurrent_streams(2).tokens(500_000, Duration::from_secs(86_400));
    /// let server = AgentServer::new(Arc::new(MemoryStore::new()), agent)
    ///     .user_limits(limits, |request: &Request| request.user_id().map(str::to_owned));
    /// # let _ = server;
    /// ```
    pub fn user_limits(
        mut self,
        limits: Limits,
        user: impl Fn(&C) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.limits = Some((limits, Arc::new(user)));
        self
    }

    /// Keeps each thread's token totals in its metadata and shows them to its owner
    /// (see [`ChatKitServer::usage_in_thread_metadata`]).
    pub fn thread_usage(mut self, show: bool) -> Self {
        self.usage_in_metadata = show;
        self
    }

    /// Takes attachments: `attachments.create` and `attachments.delete`, the upload
    /// routes of `http::ChatKitEndpoint` (feature `object-store`), and users'
    /// files in the model input as [`attachment_input`](Self::attachment_input) says
    /// (unless your converter's `attachment_to_message_content` handles them).
    ///
    /// ```no_run
    /// # #[cfg(feature = "object-store")] {
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, chatkit::AgentServer};
    /// use chatkit_agents::store::{MemoryStore, ObjectAttachmentStore};
    /// # let agent = Agent::new("Echo", Arc::new(chatkit_agents::testing::ScriptedModel::new(vec![])));
    /// let files = ObjectAttachmentStore::local("./data/attachments", "http://localhost:8000/chatkit")
    ///     .unwrap()
    ///     .build();
    /// let server: AgentServer<()> =
    ///     AgentServer::new(Arc::new(MemoryStore::new()), agent).attachments(Arc::new(files));
    /// # }
    /// ```
    pub fn attachments(mut self, store: Arc<dyn AttachmentStore<C>>) -> Self {
        self.attachments = Some(store);
        self
    }

    /// How attachments reach the model (default [`AttachmentInput::default`]).
    pub fn attachment_input(mut self, input: AttachmentInput) -> Self {
        self.attachment_input = input;
        self
    }

    /// Handles widget actions of type `action_type` with `handler`, whose events stream
    /// through the pipeline as [`ChatKitServer::action`]'s do (items are saved, thread
    /// changes announced, a `StreamError` ends the stream with its error event). A
    /// second handler for the same type replaces the first; approval cards' actions are
    /// always the server's own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use chatkit_agents::agents::{Agent, chatkit::AgentServer};
    /// use chatkit_agents::server::StreamError;
    /// use chatkit_agents::store::MemoryStore;
    /// use chatkit_agents::testing::ScriptedModel;
    /// use chatkit_agents::types::{AssistantMessageContent, AssistantMessageItem, ThreadStreamEvent, Timestamp};
    ///
    /// # let agent = Agent::new("Shop", Arc::new(ScriptedModel::new(vec![])));
    /// let server: AgentServer<()> = AgentServer::new(Arc::new(MemoryStore::new()), agent)
    ///     .on_action("order.cancel", |request| {
    ///         Box::pin(chatkit_agents::async_stream::try_stream! {
    ///             // The payload is the client's: parse it into what you expect.
    ///             #[derive(serde::Deserialize)]
    ///             struct Cancel { order_id: String }
    ///             let order = request.action.parse_payload::<Cancel>()
    ///                 .map_err(|_| StreamError::custom("Which order?", false))?
    ///                 .order_id;
    ///             yield ThreadStreamEvent::item_done(AssistantMessageItem {
    ///                 id: format!("msg_cancel_{order}"),
    ///                 thread_id: request.thread.id().to_owned(),
    ///                 created_at: Timestamp::now(),
    ///                 content: vec![AssistantMessageContent::new(format!("Order {order} is cancelled."))],
    ///             });
    ///         })
    ///     });
    /// ```
    pub fn on_action(
        mut self,
        action_type: impl Into<String>,
        handler: impl Fn(ActionRequest<C>) -> EventStream + Send + Sync + 'static,
    ) -> Self {
        self.actions.insert(action_type.into(), Arc::new(handler));
        self
    }

    /// Names each request's user on its span (`user.id`, see
    /// [`ChatKitServer::telemetry_user`]); by default no user is recorded.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chatkit_agents::agents::{Agent, chatkit::AgentServer};
    /// # use chatkit_agents::store::{MemoryStore, StoreContext};
    /// # use chatkit_agents::testing::ScriptedModel;
    /// #[derive(Clone)]
    /// struct Request { user: String }
    /// impl StoreContext for Request {
    ///     fn user_id(&self) -> Option<&str> { Some(&self.user) }
    /// }
    /// # let agent = Agent::new("Helper", Arc::new(ScriptedModel::new(vec![])));
    /// let server = AgentServer::new(Arc::new(MemoryStore::new()), agent)
    ///     .trace_user(|request: &Request| request.user_id().map(str::to_owned));
    /// ```
    pub fn trace_user(
        mut self,
        user: impl Fn(&C) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.trace_user = Some(Arc::new(user));
        self
    }

    /// Uses `runner` (turn limit, hooks, error formatter).
    pub fn runner(mut self, runner: Runner<AgentContext<C>>) -> Self {
        self.runner = runner;
        self
    }

    /// Converts thread items with `converter` (e.g. to resolve `@mentions`).
    pub fn converter(mut self, converter: impl ThreadItemConverter + 'static) -> Self {
        self.converter = Arc::new(converter);
        self
    }

    /// How many of the thread's newest items the agent reads.
    pub fn history(mut self, items: usize) -> Self {
        self.history = items;
        self
    }

    /// Streams runs with `converter` (image URLs, citations, tool progress lines; see
    /// [`ResponseStreamConverter`]).
    pub fn response_converter(mut self, converter: impl ResponseStreamConverter + 'static) -> Self {
        self.response_converter = Arc::new(converter);
        self
    }

    /// What the user reads when a guardrail or a hook trips the run: the stream then
    /// ends with this message (`code: "custom"`, no retry) after the run's items were
    /// taken back. Without it the stream ends with the generic error that allows a
    /// retry, as the reference's does when `respond` does not catch the tripwire.
    pub fn tripwire_message(mut self, message: impl Into<String>) -> Self {
        self.tripwire_message = Some(message.into());
        self
    }
}

impl<C: Clone + Send + Sync + 'static> ChatKitServer for AgentServer<C> {
    type Context = C;

    /// Approval cards' actions: decides and resumes (see [`ApprovalHandler`]). Others go
    /// to their [`on_action`](Self::on_action) handler; an action without one ends the
    /// stream with a non-retryable error that says so.
    fn action(
        self: Arc<Self>,
        thread: ThreadHandle,
        action: Action,
        sender: Option<WidgetItem>,
        context: C,
    ) -> EventStream {
        if !is_approval_action(&action) {
            if let Some(handler) = self.actions.get(&action.action_type) {
                return handler(ActionRequest {
                    thread,
                    action,
                    sender,
                    context,
                });
            }
            let detail = format!(
                "AgentServer has no handler for action {:?} (AgentServer::on_action)",
                action.action_type
            );
            return Box::pin(futures::stream::once(async move {
                Err(StreamError::reported(
                    detail,
                    "This action is not available.",
                    false,
                ))
            }));
        }
        ApprovalHandler::new(self.store.clone(), Agent::clone(&self.agent))
            .runner(self.runner.clone())
            .response_converter(self.response_converter.clone())
            .handle(thread, action, context)
    }

    fn store(&self) -> Arc<dyn Store<C>> {
        self.store.clone()
    }

    fn attachment_store(&self) -> Option<Arc<dyn AttachmentStore<C>>> {
        self.attachments.clone()
    }

    fn telemetry_user(&self, context: &C) -> Option<String> {
        self.trace_user.as_ref().and_then(|user| user(context))
    }

    fn limits(&self, context: &C) -> Option<UserLimits> {
        let (limits, user) = self.limits.as_ref()?;
        user(context).map(|user| limits.for_user(user))
    }

    fn usage_in_thread_metadata(&self) -> bool {
        self.usage_in_metadata
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        context: C,
    ) -> EventStream {
        // Shared with the run: nothing of it stays in this stream's state.
        let agent = self.agent_for(input.as_ref());
        // A new thread's title is written beside the answer.
        let title = match (&self.titles, &input) {
            (Some(titles), Some(message)) if thread.title().is_none() => {
                let text = message.text();
                (!text.trim().is_empty()).then(|| titles.start(thread.clone(), text))
            }
            _ => None,
        };
        Box::pin(async_stream::try_stream! {
            // The history is read, converted and let go before the answer starts.
            let input = Box::pin(async {
                let recent = self.store.load_thread_items(thread.id(), None, self.history, SortOrder::Desc, &context).await?;
                let mut items = recent.data;
                items.reverse();
                let attachments = self.attachments.clone().map(|store| AttachmentParts {
                    store,
                    context: context.clone(),
                    input: self.attachment_input.clone(),
                });
                Ok::<_, StreamError>(convert_history(&*self.converter, &items, thread.id(), attachments.as_ref()).await)
            })
            .await?;
            let agent_context = AgentContext::new(thread, self.store.clone(), context);
            let run = self.runner.run_streamed_shared(agent, input, agent_context.clone());
            let mut events = stream_agent_response_with(&agent_context, run, self.response_converter.clone());
            while let Some(event) = events.next().await {
                match event {
                    Ok(event) => yield event,
                    Err(error) => {
                        let tripped = error.downcast_ref::<RunError>().is_some_and(RunError::is_tripwire);
                        match &self.tripwire_message {
                            Some(message) if tripped => Err(StreamError::custom(message.clone(), false))?,
                            _ => Err(error)?,
                        }
                    }
                }
            }
            if let Some(title) = title {
                Box::pin(title.finish()).await;
            }
        })
    }
}
