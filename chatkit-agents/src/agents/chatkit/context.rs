//! [`AgentContext`]: what tools and hooks use to reach the thread, the store, the
//! request context, and the ChatKit event stream while a run is going.

use crate::locks::lock;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;

use futures::task::AtomicWaker;

use crate::server::ThreadHandle;
use crate::store::Store;
use crate::types::{
    StoreItemType, Task, ThreadItemUpdate, ThreadStreamEvent, Timestamp, Workflow, WorkflowItem,
    WorkflowSummary, WorkflowType,
};
use crate::widgets::{stream_widget, WidgetSource, WidgetStreamError};

/// A tool the client runs: set it with [`AgentContext::set_client_tool_call`] from a
/// server tool, and the run's stream ends with a pending `client_tool_call` item.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientToolCall {
    /// The client tool's name.
    pub name: String,
    /// Its arguments.
    pub arguments: Map<String, Value>,
}

/// A workflow operation that needs a workflow when none is active.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentContextError {
    /// `update_workflow_task` without an active workflow.
    #[error("Workflow is not set")]
    NoWorkflow,
    /// `update_workflow_task` with an index past the workflow's tasks.
    #[error("workflow has {len} tasks; there is no task {index}")]
    NoSuchTask {
        /// The index given.
        index: usize,
        /// How many tasks there are.
        len: usize,
    },
}

#[derive(Default)]
struct State {
    workflow_item: Option<WorkflowItem>,
    /// Workflows ended in this run: their queued snapshots must not make them active
    /// again when `stream_agent_response` reads them later.
    ended_workflows: Vec<String>,
    client_tool_call: Option<ClientToolCall>,
}

struct Inner<C> {
    thread: ThreadHandle,
    store: Arc<dyn Store<C>>,
    request_context: C,
    queue: Arc<Queue>,
    receiver: Mutex<Option<QueuedEvents>>,
    state: Mutex<State>,
}

/// The run context of a ChatKit agent run (the reference's `AgentContext`).
///
/// Tools receive it inside their [`ToolContext`](crate::agents::ToolContext). Everything they
/// queue here ([`stream`](Self::stream), [`stream_widget`](Self::stream_widget), the
/// workflow helpers) is merged into the ChatKit stream by `stream_agent_response`, in
/// order, as snapshots taken when queued. Cheap to clone; clones share the queue and
/// state, so concurrent tools can use it at once.
///
/// A tool showing its progress as a workflow:
///
/// ```
/// use chatkit_agents::agents::{function_tool, ToolContext, chatkit::AgentContext};
/// use chatkit_agents::types::{CustomTask, Task, Workflow, WorkflowSummary, WorkflowType};
///
/// /// Search the archive.
/// #[function_tool]
/// async fn search(ctx: &ToolContext<AgentContext<()>>, query: String) -> String {
///     ctx.start_workflow(Workflow::new(WorkflowType::Custom));
///     ctx.add_workflow_task(Task::Custom(CustomTask { title: Some(format!("Searching for {query}")), ..Default::default() }));
///     // ... the search ...
///     ctx.end_workflow(Some(WorkflowSummary::Custom { title: "Searched".into(), icon: None }), false);
///     "3 results".to_owned()
/// }
/// ```
///
/// # Application state in tools
///
/// Tools reach your application's state (a database pool, API clients, settings)
/// through the request context `C`: make it a type of yours that holds an `Arc` of the
/// state next to what the request says (the user), build it in the endpoint's
/// extractor, and read it with [`request_context`](Self::request_context). Each request
/// then carries the same state by one pointer copy; tests give tools a state of their
/// own without globals, and the user the state acts for is right beside it. (A tool
/// written as a struct implementing [`Tool`](crate::agents::Tool) can also hold state it
/// was built with.)
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{function_tool, ToolContext, ToolError, chatkit::AgentContext};
/// use chatkit_agents::http::{ChatKitEndpoint, Rejection};
/// use chatkit_agents::store::StoreContext;
///
/// /// What every request shares: built once at start.
/// struct AppState {
///     orders: std::collections::HashMap<String, String>, // a pool or a client, in real life
/// }
///
/// /// The request context: who asks, and the app's state.
/// #[derive(Clone)]
/// struct Request {
///     user: String,
///     app: Arc<AppState>,
/// }
///
/// impl StoreContext for Request {
///     fn user_id(&self) -> Option<&str> {
///         Some(&self.user)
///     }
/// }
///
/// /// The status of one of the user's orders.
/// #[function_tool]
/// async fn order_status(ctx: &ToolContext<AgentContext<Request>>, order_id: String) -> Result<String, ToolError> {
///     let request = ctx.request_context();
///     request.app.orders.get(&order_id).cloned()
///         .ok_or_else(|| ToolError::new(format!("{} has no order {order_id}", request.user)))
/// }
///
/// # fn endpoint<S: chatkit_agents::server::ChatKitServer<Context = Request>>(server: Arc<S>) {
/// let state = Arc::new(AppState { orders: Default::default() });
/// let endpoint = ChatKitEndpoint::new(server, move |parts| {
///     let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok())
///         .ok_or_else(|| Rejection::unauthorized("who are you?"))?;
///     Ok(Request { user: user.to_owned(), app: state.clone() })
/// });
/// # let _ = endpoint;
/// # }
/// ```
pub struct AgentContext<C> {
    inner: Arc<Inner<C>>,
}

impl<C> Clone for AgentContext<C> {
    fn clone(&self) -> Self {
        AgentContext {
            inner: self.inner.clone(),
        }
    }
}

impl<C> std::fmt::Debug for AgentContext<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentContext")
            .field("thread", &self.inner.thread.id())
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static> AgentContext<C> {
    /// A context for a run answering in `thread`.
    pub fn new(thread: ThreadHandle, store: Arc<dyn Store<C>>, request_context: C) -> Self {
        let queue = Arc::new(Queue::default());
        AgentContext {
            inner: Arc::new(Inner {
                thread,
                store,
                request_context,
                receiver: Mutex::new(Some(QueuedEvents(queue.clone()))),
                queue,
                state: Mutex::default(),
            }),
        }
    }

    /// The thread being answered.
    pub fn thread(&self) -> &ThreadHandle {
        &self.inner.thread
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store<C>> {
        &self.inner.store
    }

    /// Your request context (user, locale, ...).
    pub fn request_context(&self) -> &C {
        &self.inner.request_context
    }

    /// A new id from the store's generators (`thread` ids, or item ids in this thread).
    pub fn generate_id(&self, kind: StoreItemType) -> String {
        match kind {
            StoreItemType::Thread => self
                .inner
                .store
                .generate_thread_id(&self.inner.request_context),
            kind => self.inner.store.generate_item_id(
                kind,
                &self.inner.thread.snapshot(),
                &self.inner.request_context,
            ),
        }
    }

    /// Queues any ChatKit event (a progress update, a client effect, an item...).
    pub fn stream(&self, event: impl Into<ThreadStreamEvent>) {
        if !self.inner.queue.push(event.into()) {
            tracing::debug!(
                thread_id = self.inner.thread.id(),
                "event queued after the response ended; dropped"
            );
        }
    }

    /// Streams a widget into the thread (see [`crate::widgets::stream_widget`]): a
    /// finished root, or a stream of states that this call consumes.
    pub async fn stream_widget(
        &self,
        widget: impl Into<WidgetSource>,
        copy_text: Option<String>,
    ) -> Result<(), WidgetStreamError> {
        let thread = self.inner.thread.snapshot();
        let ids = self.clone();
        let mut events = stream_widget(&thread, widget, copy_text, move |kind| {
            ids.generate_id(kind)
        });
        while let Some(event) = events.next().await {
            self.stream(event?);
        }
        Ok(())
    }

    /// Starts a workflow. A custom workflow without tasks is announced with its first
    /// task; a reasoning workflow (or one with tasks) at once.
    pub fn start_workflow(&self, workflow: Workflow) {
        let announce =
            workflow.workflow_type == WorkflowType::Reasoning || !workflow.tasks.is_empty();
        let item = WorkflowItem {
            id: self.generate_id(StoreItemType::Workflow),
            thread_id: self.inner.thread.id().to_owned(),
            created_at: Timestamp::now(),
            workflow,
        };
        lock(&self.inner.state).workflow_item = Some(item.clone());
        if announce {
            self.stream(ThreadStreamEvent::item_added(item));
        }
    }

    /// Adds a task to the active workflow (starting a custom one if none is active).
    pub fn add_workflow_task(&self, task: Task) {
        if lock(&self.inner.state).workflow_item.is_none() {
            self.start_workflow(Workflow::new(WorkflowType::Custom));
        }
        let event = {
            let mut state = lock(&self.inner.state);
            let Some(item) = state.workflow_item.as_mut() else {
                return;
            };
            item.workflow.tasks.push(task.clone());
            let index = item.workflow.tasks.len() - 1;
            if item.workflow.workflow_type != WorkflowType::Reasoning && index == 0 {
                ThreadStreamEvent::item_added(item.clone())
            } else {
                ThreadStreamEvent::item_updated(&item.id, ThreadItemUpdate::task_added(index, task))
            }
        };
        self.stream(event);
    }

    /// Replaces task `task_index` of the active workflow.
    pub fn update_workflow_task(
        &self,
        task: Task,
        task_index: usize,
    ) -> Result<(), AgentContextError> {
        let event =
            {
                let mut state = lock(&self.inner.state);
                let item = state
                    .workflow_item
                    .as_mut()
                    .ok_or(AgentContextError::NoWorkflow)?;
                let len = item.workflow.tasks.len();
                let slot = item.workflow.tasks.get_mut(task_index).ok_or(
                    AgentContextError::NoSuchTask {
                        index: task_index,
                        len,
                    },
                )?;
                *slot = task.clone();
                ThreadStreamEvent::item_updated(
                    &item.id,
                    ThreadItemUpdate::task_updated(task_index, task),
                )
            };
        self.stream(event);
        Ok(())
    }

    /// Ends the active workflow (if any): sets the summary (by default, how long it ran),
    /// whether it shows expanded, and queues its `thread.item.done`.
    pub fn end_workflow(&self, summary: Option<WorkflowSummary>, expanded: bool) {
        let Some(mut item) = lock(&self.inner.state).workflow_item.clone() else {
            return;
        };
        self.workflow_done_streamed(&item.id);
        if summary.is_some() {
            item.workflow.summary = summary;
        }
        summarize_duration(&mut item);
        item.workflow.expanded = expanded;
        self.stream(ThreadStreamEvent::item_done(item));
    }

    /// Makes a workflow seen in the event stream the active one, unless it is already
    /// active (the live one is newer than any queued snapshot of it) or was ended in
    /// this run.
    pub(crate) fn adopt_streamed_workflow(&self, item: &WorkflowItem) {
        let mut state = lock(&self.inner.state);
        let active = state
            .workflow_item
            .as_ref()
            .is_some_and(|w| w.id == item.id);
        if !active && !state.ended_workflows.contains(&item.id) {
            state.workflow_item = Some(item.clone());
        }
    }

    /// Forgets the active workflow if `id` is it and records it as ended (by
    /// [`end_workflow`](Self::end_workflow), or by a `thread.item.done` streamed otherwise).
    pub(crate) fn workflow_done_streamed(&self, id: &str) {
        let mut state = lock(&self.inner.state);
        if state.workflow_item.as_ref().is_some_and(|w| w.id == id) {
            state.workflow_item = None;
        }
        if !state.ended_workflows.iter().any(|ended| ended == id) {
            state.ended_workflows.push(id.to_owned());
        }
    }

    /// The active workflow, if any.
    pub fn workflow_item(&self) -> Option<WorkflowItem> {
        lock(&self.inner.state).workflow_item.clone()
    }

    /// Replaces the active workflow (used when resuming one from the store).
    pub fn set_workflow_item(&self, item: Option<WorkflowItem>) {
        lock(&self.inner.state).workflow_item = item;
    }

    /// Runs `f` on the active workflow in place (the response stream updates it per
    /// reasoning delta without copying it).
    pub(crate) fn with_workflow<R>(&self, f: impl FnOnce(&mut Option<WorkflowItem>) -> R) -> R {
        f(&mut lock(&self.inner.state).workflow_item)
    }

    /// Asks the client to run a tool once the model's turn ends.
    pub fn set_client_tool_call(&self, call: ClientToolCall) {
        lock(&self.inner.state).client_tool_call = Some(call);
    }

    /// The client tool call requested by a tool, if any.
    pub fn client_tool_call(&self) -> Option<ClientToolCall> {
        lock(&self.inner.state).client_tool_call.clone()
    }

    /// Takes the requested client tool call, leaving none.
    pub fn take_client_tool_call(&self) -> Option<ClientToolCall> {
        lock(&self.inner.state).client_tool_call.take()
    }

    /// Takes the receiving end of the event queue (once): `stream_agent_response` does
    /// this to merge queued events into the ChatKit stream. `None` if already taken.
    pub fn take_events(&self) -> Option<QueuedEvents> {
        lock(&self.inner.receiver).take()
    }
}

/// The events queued on an [`AgentContext`], in the order they were queued: what
/// [`AgentContext::take_events`] hands to the one reader that merges them into the
/// ChatKit stream.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::chatkit::AgentContext;
/// use chatkit_agents::server::ThreadHandle;
/// use chatkit_agents::store::MemoryStore;
/// use chatkit_agents::types::{ThreadMetadata, ThreadStreamEvent, Timestamp};
///
/// let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
/// let context = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
/// let mut events = context.take_events().unwrap();
/// context.stream(ThreadStreamEvent::progress("Looking it up"));
/// assert_eq!(events.try_recv().map(|e| e.type_name()), Some("progress_update"));
/// assert!(events.try_recv().is_none());
/// ```
pub struct QueuedEvents(Arc<Queue>);

/// The queue of a context's events: a deque and the reader's waker, which take memory
/// only for what is queued. (A Tokio channel allocates 32 slots when it is made, and a
/// run holds its queue for as long as it waits on the model: 0.8 KiB an answer.) The
/// reader is polled once per event of the run, mostly to find the queue empty: that
/// is one atomic load.
#[derive(Default)]
struct Queue {
    events: Mutex<VecDeque<ThreadStreamEvent>>,
    /// How many events are queued, read without the lock.
    len: AtomicUsize,
    reader: AtomicWaker,
    /// Every clone of the context is gone: nothing more will be queued.
    closed: AtomicBool,
    /// The reader is gone: what is queued now is dropped.
    unread: AtomicBool,
}

impl Queue {
    /// Queues `event`; `false` when nobody will read it.
    fn push(&self, event: ThreadStreamEvent) -> bool {
        if self.unread.load(Ordering::Acquire) {
            return false;
        }
        let mut events = lock(&self.events);
        events.push_back(event);
        self.len.store(events.len(), Ordering::Release);
        drop(events);
        self.reader.wake();
        true
    }

    fn pop(&self) -> Option<ThreadStreamEvent> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut events = lock(&self.events);
        let event = events.pop_front();
        self.len.store(events.len(), Ordering::Release);
        event
    }
}

impl<C> Drop for Inner<C> {
    fn drop(&mut self) {
        self.queue.closed.store(true, Ordering::Release);
        self.queue.reader.wake();
    }
}

impl QueuedEvents {
    /// The next queued event, waiting for one; `None` once every clone of the context
    /// is gone and the queue is empty. Cancel-safe (for `tokio::select!`).
    pub async fn recv(&mut self) -> Option<ThreadStreamEvent> {
        std::future::poll_fn(|cx| {
            if let Some(event) = self.0.pop() {
                return Poll::Ready(Some(event));
            }
            // Registered before the queue is looked at again, so that an event queued
            // in between wakes this reader.
            self.0.reader.register(cx.waker());
            if let Some(event) = self.0.pop() {
                return Poll::Ready(Some(event));
            }
            if self.0.closed.load(Ordering::Acquire) {
                return Poll::Ready(self.0.pop());
            }
            Poll::Pending
        })
        .await
    }

    /// The next event already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<ThreadStreamEvent> {
        self.0.pop()
    }
}

impl Drop for QueuedEvents {
    fn drop(&mut self) {
        self.0.unread.store(true, Ordering::Release);
        lock(&self.0.events).clear();
        self.0.len.store(0, Ordering::Release);
    }
}

impl std::fmt::Debug for QueuedEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedEvents")
            .field("queued", &lock(&self.0.events).len())
            .finish()
    }
}

/// Gives a workflow without a summary one that says how long it ran.
fn summarize_duration(item: &mut WorkflowItem) {
    if item.workflow.summary.is_none() {
        let elapsed = Timestamp::now().to_utc() - item.created_at.to_utc();
        item.workflow.summary = Some(WorkflowSummary::Duration {
            duration: u64::try_from(elapsed.num_seconds()).unwrap_or(0),
        });
    }
}

/// The `thread.item.done` of a workflow that ends because something else arrived: a
/// duration summary if it has none, collapsed.
pub(crate) fn end_with_duration(mut item: WorkflowItem) -> ThreadStreamEvent {
    summarize_duration(&mut item);
    item.workflow.expanded = false;
    ThreadStreamEvent::item_done(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use crate::types::{CustomTask, ThoughtTask, ThreadMetadata};
    use crate::widgets::{self as w, WidgetRoot};

    #[tokio::test]
    async fn the_queue_wakes_its_reader_and_ends_with_the_last_context() {
        let (ctx, mut events) = context();
        let writer = ctx.clone();
        let waiting = tokio::spawn(async move {
            let first = events.recv().await.map(|e| e.type_name());
            (first, events)
        });
        tokio::task::yield_now().await;
        writer.stream(ThreadStreamEvent::progress("one"));
        let (first, mut events) = waiting.await.unwrap();
        assert_eq!(first, Some("progress_update"));
        writer.stream(ThreadStreamEvent::progress("two"));
        drop((ctx, writer));
        // What was queued is still read, then the queue ends.
        assert_eq!(
            events.recv().await.map(|e| e.type_name()),
            Some("progress_update")
        );
        assert!(events.recv().await.is_none());
    }

    #[test]
    fn events_queued_after_the_reader_left_are_dropped() {
        let (ctx, events) = context();
        ctx.stream(ThreadStreamEvent::progress("read by nobody"));
        drop(events);
        ctx.stream(ThreadStreamEvent::progress("dropped"));
        assert!(lock(&ctx.inner.queue.events).is_empty());
    }

    fn context() -> (AgentContext<()>, QueuedEvents) {
        let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
        let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
        let events = ctx.take_events().unwrap();
        assert!(ctx.take_events().is_none(), "the queue is taken once");
        (ctx, events)
    }

    fn drain(events: &mut QueuedEvents) -> Vec<String> {
        std::iter::from_fn(|| events.try_recv())
            .map(|e| match &e {
                ThreadStreamEvent::ThreadItemUpdated { update, .. } => serde_json::to_value(update)
                    .unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                other => other.type_name().to_owned(),
            })
            .collect()
    }

    fn task(title: &str) -> Task {
        Task::Custom(CustomTask {
            title: Some(title.into()),
            ..Default::default()
        })
    }

    #[test]
    fn a_custom_workflow_is_announced_with_its_first_task() {
        let (ctx, mut events) = context();
        ctx.start_workflow(Workflow::new(WorkflowType::Custom));
        assert!(drain(&mut events).is_empty());
        ctx.add_workflow_task(task("a"));
        ctx.add_workflow_task(task("b"));
        ctx.update_workflow_task(task("b2"), 1).unwrap();
        ctx.end_workflow(None, true);
        assert_eq!(
            drain(&mut events),
            [
                "thread.item.added",
                "workflow.task.added",
                "workflow.task.updated",
                "thread.item.done"
            ]
        );
        assert!(ctx.workflow_item().is_none());
    }

    #[test]
    fn add_task_starts_a_workflow_and_end_sets_a_duration() {
        let (ctx, mut events) = context();
        ctx.add_workflow_task(task("a"));
        let item = ctx.workflow_item().unwrap();
        assert!(item.id.starts_with("wf_"));
        ctx.end_workflow(None, false);
        let all: Vec<_> = std::iter::from_fn(|| events.try_recv()).collect();
        let ThreadStreamEvent::ThreadItemDone { item } = &all[1] else {
            panic!("{all:?}")
        };
        let crate::types::ThreadItem::Workflow(done) = &**item else {
            panic!("{item:?}")
        };
        assert_eq!(
            done.workflow.summary,
            Some(WorkflowSummary::Duration { duration: 0 })
        );
    }

    #[test]
    fn reasoning_workflows_are_announced_at_once() {
        let (ctx, mut events) = context();
        ctx.start_workflow(Workflow::new(WorkflowType::Reasoning));
        ctx.add_workflow_task(Task::Thought(ThoughtTask {
            content: "hm".into(),
            ..Default::default()
        }));
        assert_eq!(
            drain(&mut events),
            ["thread.item.added", "workflow.task.added"]
        );
    }

    #[test]
    fn updating_without_a_workflow_is_an_error() {
        let (ctx, _) = context();
        assert_eq!(
            ctx.update_workflow_task(task("a"), 0),
            Err(AgentContextError::NoWorkflow)
        );
        ctx.add_workflow_task(task("a"));
        assert_eq!(
            ctx.update_workflow_task(task("a"), 3),
            Err(AgentContextError::NoSuchTask { index: 3, len: 1 })
        );
        ctx.end_workflow(None, false);
        ctx.end_workflow(None, false); // nothing active: nothing happens
    }

    #[test]
    fn events_are_snapshots() {
        let (ctx, mut events) = context();
        ctx.add_workflow_task(task("a"));
        ctx.add_workflow_task(task("b"));
        let ThreadStreamEvent::ThreadItemAdded { item } = events.try_recv().unwrap() else {
            panic!()
        };
        let crate::types::ThreadItem::Workflow(first) = *item else {
            panic!()
        };
        assert_eq!(
            first.workflow.tasks.len(),
            1,
            "later tasks do not leak into the queued event"
        );
    }

    #[tokio::test]
    async fn stream_widget_queues_the_widget_events() {
        let (ctx, mut events) = context();
        let card: WidgetRoot = w::Card::new().child(w::Text::new("hi")).into();
        ctx.stream_widget(card, Some("hi".into())).await.unwrap();
        let ThreadStreamEvent::ThreadItemDone { item } = events.try_recv().unwrap() else {
            panic!()
        };
        assert!(item.id().starts_with("msg_"));
        assert_eq!(item.thread_id(), "thr_1");
        drop(events);
        ctx.stream(ThreadStreamEvent::progress("after the end")); // dropped quietly
    }
}
