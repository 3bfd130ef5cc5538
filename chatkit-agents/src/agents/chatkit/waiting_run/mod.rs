//! A thread's run waiting for approvals, as the store keeps it: saved when a streamed
//! run stops for approvals, abandoned when a new run starts in the thread, and its cards
//! redrawn as decisions come. Used by the response stream (save, abandon) and by the
//! approval handler (decide, resume); it knows neither.

mod record;

use crate::agents::runner::{RunState, ToolApproval};
use crate::server::{StreamError, ThreadHandle};
use crate::store::{SavedRunState, Store, StoreError};
use crate::types::{StoreItemType, ThreadItem, ThreadStreamEvent, Timestamp, WidgetItem};
use crate::widgets::WidgetRoot;

use super::approval_card::ApprovalStatus;
use super::context::AgentContext;
pub(super) use record::{Card, PendingRun};

/// Draws the card of an approval in a state (the response converter's `approval_card`).
pub(super) type DrawCard<'a> = &'a (dyn Fn(&ToolApproval, ApprovalStatus) -> WidgetRoot + Sync);

/// The card of `approval_id` of `pending`, redrawn in `status` (as a
/// `thread.item.replaced`), if the thread still has it.
pub(super) async fn redraw_card<C: Send + Sync>(
    store: &dyn Store<C>,
    draw: DrawCard<'_>,
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
            item.widget = draw(approval, status);
            Ok(Some(ThreadStreamEvent::item_replaced(item)))
        }
        // The client went away before the card was saved, or it was deleted.
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Before a new run in the thread: abandons the run waiting for approvals there, if
/// any. Its state is removed and its cards are redrawn as expired.
pub(crate) async fn abandon_waiting_run<C: Send + Sync + 'static>(
    ctx: &AgentContext<C>,
    draw: DrawCard<'_>,
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
            draw,
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
    draw: DrawCard<'_>,
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
                widget: draw(approval, ApprovalStatus::Pending),
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
