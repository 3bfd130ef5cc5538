//! Approvals in ChatKit: a run interrupted by tool calls that wait for a person becomes
//! approval cards in the thread, and the run resumes when the user has decided, in a
//! later request, possibly on another replica.
//!
//! - When a run streamed by [`stream_agent_response`](super::stream_agent_response)
//!   stops for approvals, its [`RunState`] is saved in the store (scoped to the thread
//!   and user; see [`Store::swap_run_state`]) and a card per call is streamed
//!   ([`ResponseStreamConverter::approval_card`], [`default_approval_card`]).
//! - The card's buttons send [`APPROVE_ACTION`] or [`REJECT_ACTION`] with the approval
//!   id as their only payload. [`ApprovalHandler::handle`] (which [`AgentServer`](super::AgentServer)
//!   calls for you) records the decision with a compare-and-swap on the stored state, so
//!   a double click, a replayed request or two replicas decide once; the card shows the
//!   decision; once every call of the run is decided, the state is removed (in the same
//!   swap) and the run resumes, streaming the rest of the answer into the thread.
//! - A new run in the thread (the user wrote instead of clicking) abandons the waiting
//!   one: its state is removed and its cards show that they expired.

mod card;
mod record;

use std::sync::Arc;

use futures::StreamExt;

pub use card::default_approval_card;
use record::{Card, PendingRun};

use super::context::AgentContext;
use super::response_stream::{
    stream_agent_response_with, DefaultResponseStreamConverter, ResponseStreamConverter,
};
use crate::agents::agent::Agent;
use crate::agents::runner::{ApprovalDecision, RunState, Runner, ToolApproval};
use crate::server::{EventStream, StreamError, ThreadHandle};
use crate::store::{SavedRunState, Store, StoreError};
use crate::types::{
    Action, NoticeEvent, NoticeLevel, StoreItemType, ThreadItem, ThreadStreamEvent, Timestamp,
    WidgetItem,
};

/// The action type of an approval card's Approve button (payload `{"approval_id"}`).
pub const APPROVE_ACTION: &str = "chatkit_agents.approve";
/// The action type of an approval card's Reject button (payload `{"approval_id"}`).
pub const REJECT_ACTION: &str = "chatkit_agents.reject";

/// How many times a decision is retried when another request changed the stored state
/// between its read and its write.
const DECISION_ATTEMPTS: usize = 8;

/// What an approval card shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApprovalStatus {
    /// Waiting for the user: the card has its buttons.
    Pending,
    /// The user approved the call.
    Approved,
    /// The user rejected the call.
    Rejected,
    /// The run was abandoned (the user wrote a new message instead).
    Expired,
}

/// Whether `action` is an approval card's (for a [`ChatKitServer::action`](crate::server::ChatKitServer::action)
/// of your own that hands these to [`ApprovalHandler::handle`]).
pub fn is_approval_action(action: &Action) -> bool {
    action.action_type == APPROVE_ACTION || action.action_type == REJECT_ACTION
}

/// Decides approvals and resumes the runs they belong to: what
/// [`AgentServer`](super::AgentServer) does with approval actions, for a
/// [`ChatKitServer`](crate::server::ChatKitServer) of your own.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::agents::{is_approval_action, Agent, AgentContext, ApprovalHandler};
/// use chatkit_agents::server::{ChatKitServer, EventStream, ThreadHandle};
/// use chatkit_agents::store::{MemoryStore, Store};
/// use chatkit_agents::testing::ScriptedModel;
/// use chatkit_agents::types::{Action, UserMessageItem, WidgetItem};
///
/// struct Support {
///     store: Arc<MemoryStore>,
///     approvals: ApprovalHandler<()>,
/// }
///
/// impl ChatKitServer for Support {
///     type Context = ();
///     fn store(&self) -> Arc<dyn Store<()>> {
///         self.store.clone()
///     }
///     fn respond(self: Arc<Self>, _thread: ThreadHandle, _input: Option<UserMessageItem>, _ctx: ()) -> EventStream {
///         // ... stream_agent_response(...) ...
/// #       Box::pin(futures::stream::empty())
///     }
///     fn action(self: Arc<Self>, thread: ThreadHandle, action: Action, _sender: Option<WidgetItem>, ctx: ()) -> EventStream {
///         if is_approval_action(&action) {
///             return self.approvals.handle(thread, action, ctx);
///         }
///         // ... your own actions ...
/// #       Box::pin(futures::stream::empty())
///     }
/// }
///
/// let store = Arc::new(MemoryStore::new());
/// let agent: Agent<AgentContext<()>> = Agent::new("Support", Arc::new(ScriptedModel::new(vec![])));
/// let server = Support { approvals: ApprovalHandler::new(store.clone(), agent), store };
/// # let _ = server;
/// ```
pub struct ApprovalHandler<C> {
    store: Arc<dyn Store<C>>,
    agent: Agent<AgentContext<C>>,
    runner: Runner<AgentContext<C>>,
    converter: Arc<dyn ResponseStreamConverter>,
}

impl<C> Clone for ApprovalHandler<C> {
    fn clone(&self) -> Self {
        ApprovalHandler {
            store: self.store.clone(),
            agent: self.agent.clone(),
            runner: self.runner.clone(),
            converter: self.converter.clone(),
        }
    }
}

/// What a decision came to.
enum Decision {
    /// No run waits in this thread (any more).
    NothingPending,
    /// The call was decided before.
    Earlier { approved: bool },
    /// Recorded; other calls of the run still wait.
    Recorded { card: Option<ThreadStreamEvent> },
    /// Recorded, and the run is complete: it resumes from `state`.
    Resume {
        card: Option<ThreadStreamEvent>,
        state: Box<RunState>,
    },
}

impl<C: Clone + Send + Sync + 'static> ApprovalHandler<C> {
    /// Resumes runs of `agent` (the agent runs start with) on `store`, with a default
    /// runner and the default converter.
    pub fn new(store: Arc<dyn Store<C>>, agent: Agent<AgentContext<C>>) -> Self {
        ApprovalHandler {
            store,
            agent,
            runner: Runner::new(),
            converter: Arc::new(DefaultResponseStreamConverter::default()),
        }
    }

    /// Resumes with `runner` (use the one the runs started with).
    pub fn runner(mut self, runner: Runner<AgentContext<C>>) -> Self {
        self.runner = runner;
        self
    }

    /// Streams the resumed run, and draws cards, with `converter`.
    pub fn response_converter(mut self, converter: Arc<dyn ResponseStreamConverter>) -> Self {
        self.converter = converter;
        self
    }

    /// Handles an approval card's action in `thread`: records the decision, shows it on
    /// the card and, once the run's every call is decided, resumes the run and streams
    /// the rest of the answer. A decision taken before (double click, replayed request,
    /// another replica) or a run no longer waiting gets a notice and changes nothing; an
    /// approval id this thread's waiting run does not have is refused with an error.
    pub fn handle(&self, thread: ThreadHandle, action: Action, context: C) -> EventStream {
        let this = self.clone();
        Box::pin(async_stream::try_stream! {
            let (approve, approval_id) = parse_decision(&action)?;
            match this.decide(&thread, &approval_id, approve, &context).await? {
                Decision::NothingPending => yield notice("This request is no longer waiting for approval."),
                Decision::Earlier { approved } => {
                    let decided = if approved { "approved" } else { "rejected" };
                    yield notice(&format!("This request was already {decided}."));
                }
                Decision::Recorded { card } => {
                    if let Some(card) = card {
                        yield card;
                    }
                }
                Decision::Resume { card, state } => {
                    if let Some(card) = card {
                        yield card;
                    }
                    let agent_context = AgentContext::new(thread, this.store.clone(), context);
                    let run = this.runner.resume_streamed(&this.agent, *state, agent_context.clone());
                    let mut events = stream_agent_response_with(&agent_context, run, this.converter.clone());
                    while let Some(event) = events.next().await {
                        yield event?;
                    }
                }
            }
        })
    }

    /// Records the decision on the stored state by compare-and-swap, retrying when
    /// another request got there between the read and the write.
    async fn decide(
        &self,
        thread: &ThreadHandle,
        approval_id: &str,
        approve: bool,
        context: &C,
    ) -> Result<Decision, StreamError> {
        for _ in 0..DECISION_ATTEMPTS {
            let Some(saved) = self.store.load_run_state(thread.id(), context).await? else {
                return Ok(Decision::NothingPending);
            };
            let mut pending = PendingRun::read(&saved, thread.id())?;
            let Some(approval) = pending.approval(approval_id) else {
                return Err(StreamError::custom(
                    "This approval does not belong to this conversation.",
                    false,
                ));
            };
            if let Some(decision) = &approval.decision {
                let approved = *decision == ApprovalDecision::Approved;
                return Ok(Decision::Earlier { approved });
            }
            let (decided, status) = if approve {
                (pending.state.approve(approval_id), ApprovalStatus::Approved)
            } else {
                (
                    pending.state.reject(approval_id, None),
                    ApprovalStatus::Rejected,
                )
            };
            decided.map_err(|e| StreamError::custom(e.to_string(), false))?;
            let complete = pending.state.is_decided();
            let data = (!complete).then(|| pending.to_json());
            if !self
                .store
                .swap_run_state(thread.id(), Some(saved.revision), data.as_deref(), context)
                .await?
            {
                continue;
            }
            let card = redraw_card(
                &*self.store,
                &*self.converter,
                thread,
                &pending,
                approval_id,
                status,
                context,
            )
            .await?;
            return Ok(if complete {
                Decision::Resume {
                    card,
                    state: Box::new(pending.state),
                }
            } else {
                Decision::Recorded { card }
            });
        }
        Err(StreamError::custom(
            "This request is being decided elsewhere; try again.",
            true,
        ))
    }
}

/// The card of `approval_id` of `pending`, redrawn in `status` (as a
/// `thread.item.replaced`), if the thread still has it.
async fn redraw_card<C: Send + Sync>(
    store: &dyn Store<C>,
    converter: &dyn ResponseStreamConverter,
    thread: &ThreadHandle,
    pending: &PendingRun,
    approval_id: &str,
    status: ApprovalStatus,
    context: &C,
) -> Result<Option<ThreadStreamEvent>, StoreError> {
    let (Some(item_id), Some(approval)) = (
        pending.card_item(approval_id),
        pending.approval(approval_id),
    ) else {
        return Ok(None);
    };
    match store.load_item(thread.id(), item_id, context).await {
        Ok(ThreadItem::Widget(mut item)) => {
            item.widget = converter.approval_card(approval, status);
            Ok(Some(ThreadStreamEvent::item_replaced(item)))
        }
        // The client went away before the card was saved, or it was deleted.
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The decision and approval id of an approval action; anything else is refused.
fn parse_decision(action: &Action) -> Result<(bool, String), StreamError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Payload {
        approval_id: String,
    }
    let approve = match action.action_type.as_str() {
        APPROVE_ACTION => true,
        REJECT_ACTION => false,
        other => {
            return Err(StreamError::custom(
                format!("{other:?} is not an approval action"),
                false,
            ))
        }
    };
    let payload: Payload = action
        .parse_payload()
        .map_err(|e| StreamError::custom(format!("Invalid approval: {e}"), false))?;
    let id = payload.approval_id;
    let well_formed = id.len() <= 100
        && id.starts_with("apr_")
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(StreamError::custom(
            "Invalid approval: approval_id is not an approval id",
            false,
        ));
    }
    Ok((approve, id))
}

fn notice(message: &str) -> ThreadStreamEvent {
    NoticeEvent {
        level: NoticeLevel::Info,
        message: message.to_owned(),
        title: None,
    }
    .into()
}

/// Before a new run in the thread: abandons the run waiting for approvals there, if
/// any. Its state is removed and its cards are redrawn as expired.
pub(crate) async fn abandon_waiting_run<C: Send + Sync + 'static>(
    ctx: &AgentContext<C>,
    converter: &dyn ResponseStreamConverter,
) -> Result<Vec<ThreadStreamEvent>, StoreError> {
    let store = ctx.store();
    let thread = ctx.thread();
    let saved: SavedRunState = match store
        .load_run_state(thread.id(), ctx.request_context())
        .await
    {
        Ok(Some(saved)) => saved,
        // A store that keeps no run states, or a thread not (yet) in the store, has none.
        Ok(None) | Err(StoreError::Unsupported(_) | StoreError::NotFound { .. }) => {
            return Ok(Vec::new())
        }
        Err(error) => return Err(error),
    };
    if !store
        .swap_run_state(
            thread.id(),
            Some(saved.revision),
            None,
            ctx.request_context(),
        )
        .await?
    {
        // Another request decided or abandoned it meanwhile.
        return Ok(Vec::new());
    }
    let Ok(pending) = PendingRun::read(&saved, thread.id()) else {
        tracing::warn!(thread_id = thread.id(), "removed an unreadable run state");
        return Ok(Vec::new());
    };
    let mut events = Vec::new();
    for approval in pending.state.pending() {
        let redrawn = redraw_card(
            &**store,
            converter,
            thread,
            &pending,
            &approval.id,
            ApprovalStatus::Expired,
            ctx.request_context(),
        )
        .await?;
        events.extend(redrawn);
    }
    Ok(events)
}

/// After a run stopped for approvals: saves its state and returns a card per waiting
/// call, to be streamed (and so saved) as `thread.item.done`.
pub(crate) async fn save_interruption<C: Send + Sync + 'static>(
    ctx: &AgentContext<C>,
    state: RunState,
    converter: &dyn ResponseStreamConverter,
) -> Result<Vec<ThreadStreamEvent>, StreamError> {
    let thread_id = ctx.thread().id().to_owned();
    let items: Vec<(ToolApproval, WidgetItem)> = state
        .pending()
        .into_iter()
        .map(|approval| {
            let item = WidgetItem {
                id: ctx.generate_id(StoreItemType::Message),
                thread_id: thread_id.clone(),
                created_at: Timestamp::now(),
                widget: converter.approval_card(approval, ApprovalStatus::Pending),
                copy_text: None,
            };
            (approval.clone(), item)
        })
        .collect();
    let cards = items
        .iter()
        .map(|(approval, item)| Card {
            approval_id: approval.id.clone(),
            item_id: item.id.clone(),
        })
        .collect();
    let record = PendingRun::new(state, cards);
    let store = ctx.store();
    // The thread's earlier waiting run was abandoned when this one started; one that
    // appeared since (a concurrent run) is replaced by the newer.
    let current = store
        .load_run_state(&thread_id, ctx.request_context())
        .await?;
    let saved = store
        .swap_run_state(
            &thread_id,
            current.map(|saved| saved.revision),
            Some(&record.to_json()),
            ctx.request_context(),
        )
        .await?;
    if !saved {
        return Err(StreamError::custom(
            "Another request changed this conversation's pending approvals; send the message again.",
            true,
        ));
    }
    Ok(items
        .into_iter()
        .map(|(_, item)| ThreadStreamEvent::item_done(item))
        .collect())
}
