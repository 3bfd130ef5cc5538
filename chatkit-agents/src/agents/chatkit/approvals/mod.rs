//! Approvals in ChatKit: a run interrupted by tool calls that wait for a person becomes
//! approval cards in the thread, and the run resumes when the user has decided, in a
//! later request, possibly on another replica.
//!
//! - When a run streamed by [`stream_agent_response`](super::stream_agent_response)
//!   stops for approvals, its [`RunState`] is saved in the store (scoped to the thread
//!   and user; see [`Store::swap_run_state`]) and a card per call is streamed
//!   ([`ResponseStreamConverter::approval_card`], [`default_approval_card`](super::default_approval_card));
//!   `waiting_run` keeps that state, `approval_card` draws the cards.
//! - The card's buttons send [`APPROVE_ACTION`] or [`REJECT_ACTION`] with the approval
//!   id as their only payload. [`ApprovalHandler::handle`] (which [`AgentServer`](super::AgentServer)
//!   calls for you) records the decision with a compare-and-swap on the stored state, so
//!   a double click, a replayed request or two replicas decide once; the card shows the
//!   decision; once every call of the run is decided, the state is removed (in the same
//!   swap) and the run resumes, streaming the rest of the answer into the thread.
//! - A new run in the thread (the user wrote instead of clicking) abandons the waiting
//!   one: its state is removed and its cards show that they expired.
//!
//! This module is the handler (decide, resume): it uses the response stream and the
//! waiting run, and neither of them uses it.

use std::sync::Arc;

use futures::StreamExt;

use super::approval_card::{ApprovalStatus, APPROVE_ACTION, REJECT_ACTION};
use super::context::AgentContext;
use super::response_stream::{
    stream_agent_response_with, DefaultResponseStreamConverter, ResponseStreamConverter,
};
use super::waiting_run::{redraw_card, PendingRun};
use crate::agents::agent::Agent;
use crate::agents::runner::{ApprovalDecision, RunState, Runner, ToolApproval};
use crate::server::{EventStream, StreamError, ThreadHandle};
use crate::store::Store;
use crate::types::{Action, NoticeEvent, NoticeLevel, ThreadStreamEvent};

/// How many times a decision is retried when another request changed the stored state
/// between its read and its write.
const DECISION_ATTEMPTS: usize = 8;

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
/// use chatkit_agents::agents::{Agent, chatkit::{is_approval_action, AgentContext, ApprovalHandler}};
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
            let converter = &self.converter;
            let card = redraw_card(
                &*self.store,
                &|approval: &ToolApproval, status| converter.approval_card(approval, status),
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
