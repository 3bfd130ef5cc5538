//! [`stream_agent_response`]: a run's events, merged with what tools and hooks queued on
//! the [`AgentContext`], as ChatKit events, as the Python SDK's `stream_agent_response`
//! does. The merge loop is here; the mapping of each event is in `mapper.rs`, the
//! overridable conversions in `to_thread_events.rs`.

mod hosted;
mod mapper;
mod to_thread_events;

use std::sync::Arc;

use futures::stream::StreamExt;

pub use hosted::default_hosted_tool_task;
pub use to_thread_events::{DefaultResponseStreamConverter, ResponseStreamConverter};

use super::context::AgentContext;
use super::waiting_run::{abandon_waiting_run, save_interruption};
use crate::agents::runner::{RunError, RunEvent, RunStream, ToolApproval};
use crate::server::{EventStream, StreamError};
use crate::types::{SortOrder, ThreadItem, ThreadStreamEvent};
pub(in crate::agents::chatkit) use mapper::token_usage;
use mapper::EventMapper;

/// Streams a run as ChatKit events with the default conversions (see
/// [`stream_agent_response_with`] for the mapping). The usual `respond`: make an
/// [`AgentContext`] for the thread, run the agent on it, and return this stream; or
/// wrap it in `try_stream!` to add events of your own before or after the run.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::prelude::*;
/// use chatkit_agents::testing::{ScriptedModel, Step};
/// use chatkit_agents::types::{ThreadStreamEvent, UserMessageItem};
/// use futures::StreamExt;
///
/// struct Helpdesk {
///     store: Arc<MemoryStore>,
///     agent: Agent<AgentContext<()>>,
/// }
///
/// impl ChatKitServer for Helpdesk {
///     type Context = ();
///     fn store(&self) -> Arc<dyn Store<()>> {
///         self.store.clone()
///     }
///     fn respond(self: Arc<Self>, thread: ThreadHandle, input: Option<UserMessageItem>, ctx: ()) -> EventStream {
///         Box::pin(chatkit_agents::async_stream::try_stream! {
///             yield ThreadStreamEvent::progress("Looking into it…");
///             let context = AgentContext::new(thread, self.store.clone(), ctx);
///             let text = input.map(|message| message.text()).unwrap_or_default();
///             let run = Runner::new().run_streamed(&self.agent, text, context.clone());
///             let mut events = stream_agent_response(&context, run);
///             while let Some(event) = events.next().await {
///                 // `?` ends this stream with the run's error (a message the user reads).
///                 yield event?;
///             }
///         })
///     }
/// }
///
/// let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("Try turning it off and on.")]]));
/// let server = Helpdesk { store: Arc::new(MemoryStore::new()), agent: Agent::new("Helpdesk", model) };
/// # let _ = server;
/// ```
pub fn stream_agent_response<C: Send + Sync + 'static>(
    context: &AgentContext<C>,
    run: RunStream,
) -> EventStream {
    stream_agent_response_with(
        context,
        run,
        Arc::new(DefaultResponseStreamConverter::default()),
    )
}

/// Streams a run as ChatKit events (the reference's `stream_agent_response`):
///
/// - assistant messages become `thread.item.added`, content part and text delta
///   updates, and `thread.item.done` (the model's item ids are kept);
/// - citations become annotations, with compact per-part indexes;
/// - reasoning becomes a `reasoning` workflow of thoughts, ended (with a duration
///   summary, collapsed) when a message or another item arrives;
/// - generated images become `generated_image` items with progress;
/// - events queued on `context` (widgets, workflows, progress...) are merged in as they
///   come, and drained when the run ends;
/// - an open workflow is saved for the next turn, and a requested client tool call is
///   sent last as a pending `client_tool_call` item;
/// - a run that stops for approvals leaves its state in the store and a card per
///   waiting call in the thread (see [`ApprovalHandler`](super::ApprovalHandler)); a
///   new run abandons one still waiting (its cards show they expired);
/// - a hook's or a guardrail's tripwire removes every item the run produced, then fails
///   the stream;
///   other run errors fail it after the queued events are out, with a message the user
///   can read and `allow_retry` only when the failure is transient (see
///   [`RunError::user_error`]; the pipeline logs the error itself).
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{Agent, Runner, chatkit::{stream_agent_response, AgentContext}};
/// use chatkit_agents::server::ThreadHandle;
/// use chatkit_agents::store::MemoryStore;
/// use chatkit_agents::testing::{ScriptedModel, Step};
/// use chatkit_agents::types::{ThreadMetadata, Timestamp};
/// use futures::StreamExt;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::new(vec![vec![Step::text("Hello!")]]));
/// let agent = Agent::new("Greeter", model);
/// let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
/// let context = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
/// let run = Runner::new().run_streamed(&agent, "hi", context.clone());
/// let events: Vec<_> = stream_agent_response(&context, run).collect().await;
/// let kinds: Vec<&str> = events.iter().map(|e| e.as_ref().unwrap().type_name()).collect();
/// assert_eq!(kinds.first(), Some(&"thread.item.added"));
/// assert_eq!(kinds.last(), Some(&"thread.item.done"));
/// # });
/// ```
pub fn stream_agent_response_with<C: Send + Sync + 'static>(
    context: &AgentContext<C>,
    run: RunStream,
    converter: Arc<dyn ResponseStreamConverter>,
) -> EventStream {
    let ctx = context.clone();
    async_stream::try_stream! {
        let Some(mut queue) = ctx.take_events() else {
            Err(StreamError::internal("stream_agent_response: this AgentContext's events are already being streamed"))?;
            return;
        };
        // A new run supersedes one still waiting for approvals in this thread.
        let draw = |approval: &ToolApproval, status| converter.approval_card(approval, status);
        // The rare steps are boxed: inline, each would keep its room in this stream's
        // state for as long as the run waits on its model.
        for event in Box::pin(abandon_waiting_run(&ctx, &draw)).await? {
            yield event;
        }
        Box::pin(resume_workflow(&ctx)).await?;
        let outcome = run.outcome();
        let mut mapper = EventMapper::new(ctx.clone(), converter.clone());
        let mut run = run;
        let mut out = Vec::new();
        loop {
            let next = tokio::select! {
                biased;
                Some(event) = queue.recv() => Next::Queued(event),
                event = run.next() => Next::Run(event),
            };
            match next {
                Next::Queued(event) => mapper.queued(event, &mut out),
                Next::Run(None) => break,
                Next::Run(Some(Ok(RunEvent::ToolCalled(call)))) => mapper.tool_called(&call, &mut out),
                Next::Run(Some(Ok(RunEvent::ToolStarted { call, origin }))) => mapper.tool_started(&call, &origin, &mut out),
                Next::Run(Some(Ok(RunEvent::ToolFailed { call, .. }))) => mapper.tool_failed(&call),
                Next::Run(Some(Ok(RunEvent::ToolSourceUnavailable { source, .. }))) => {
                    out.extend(converter.tool_source_notice(&source).map(ThreadStreamEvent::Notice));
                }
                Next::Run(Some(Ok(RunEvent::ToolOutput { call, output }))) => mapper.tool_output(&call, &output, &mut out),
                // Deltas at once; the rest boxed, so that their room is not kept in
                // this stream's state while the model thinks.
                Next::Run(Some(Ok(RunEvent::Model(event)))) => {
                    if let Some(event) = mapper.model_event_now(event, &mut out) {
                        Box::pin(mapper.model_event(event, &mut out)).await;
                    }
                }
                Next::Run(Some(Ok(_))) => {}
                Next::Run(Some(Err(error))) if error.is_tripwire() => {
                    for id in mapper.produced() {
                        yield ThreadStreamEvent::item_removed(id.clone());
                    }
                    while queue.try_recv().is_some() {}
                    Err(StreamError::from(error))?;
                }
                Next::Run(Some(Err(error))) => {
                    while let Some(event) = queue.try_recv() {
                        yield event;
                    }
                    Err(run_failed(error))?;
                }
            }
            for event in out.drain(..) {
                yield event;
            }
        }
        drop(run);
        // What tools queued after the model's last event, as queued.
        while let Some(event) = queue.try_recv() {
            yield event;
        }
        // Saved without an event, so the next turn can resume it.
        Box::pin(save_active_workflow(&ctx)).await?;
        if let Some(event) = mapper.client_tool_call() {
            yield event;
        }
        let interrupted = Box::pin(async {
            match outcome.interruption() {
                Some(state) => save_interruption(&ctx, state, &draw).await,
                None => Ok(Vec::new()),
            }
        });
        for event in interrupted.await? {
            yield event;
        }
    }
    .boxed()
}

/// The stream error a failed run ends with: the run error (logged with its causes by
/// the pipeline) told to the user in words of [`RunError::user_error`]; a tripwire keeps
/// the reference's generic retryable error.
fn run_failed(error: RunError) -> StreamError {
    match error.user_error() {
        Some((message, allow_retry)) => StreamError::reported(error, message, allow_retry),
        None => StreamError::from(error),
    }
}

/// What the merge loop got next: a queued event or a run event.
enum Next {
    Queued(ThreadStreamEvent),
    Run(Option<Result<RunEvent, RunError>>),
}

/// Resumes the thread's open workflow: the newest item, or the one before a pending
/// client tool call.
/// Saves the workflow still active when the run ends (without an event), so that the
/// next turn can resume it.
async fn save_active_workflow<C: Send + Sync + 'static>(
    ctx: &AgentContext<C>,
) -> Result<(), crate::store::StoreError> {
    if let Some(workflow) = ctx.workflow_item() {
        ctx.store()
            .add_thread_item(ctx.thread().id(), &workflow.into(), ctx.request_context())
            .await?;
    }
    Ok(())
}

async fn resume_workflow<C: Send + Sync + 'static>(
    ctx: &AgentContext<C>,
) -> Result<(), crate::store::StoreError> {
    let recent = ctx
        .store()
        .load_thread_items(
            ctx.thread().id(),
            None,
            2,
            SortOrder::Desc,
            ctx.request_context(),
        )
        .await?;
    let workflow = match recent.data.as_slice() {
        [ThreadItem::Workflow(workflow), ..] => Some(workflow.clone()),
        [ThreadItem::ClientToolCall(_), ThreadItem::Workflow(workflow), ..] => {
            Some(workflow.clone())
        }
        _ => None,
    };
    if workflow.is_some() {
        ctx.set_workflow_item(workflow);
    }
    Ok(())
}
