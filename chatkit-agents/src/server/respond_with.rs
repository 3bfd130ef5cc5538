//! [`respond_with`]: a [`ChatKitServer`] made of a store and a `respond` function, for
//! servers that only answer messages.

use std::sync::Arc;

use super::{ChatKitServer, EventStream, ThreadHandle};
use crate::store::Store;
use crate::types::UserMessageItem;

/// A server that answers every message with `respond` and keeps threads in `store`;
/// everything else is [`ChatKitServer`]'s default (no widget actions, attachments or
/// transcription). When you need those, implement the trait: this adapter is exactly
/// its two required methods.
///
/// ```
/// use std::sync::Arc;
/// use chatkit_agents::server::respond_with;
/// use chatkit_agents::store::MemoryStore;
/// use chatkit_agents::testing::{requests, send};
/// use chatkit_agents::types::{AssistantMessageContent, AssistantMessageItem, ThreadStreamEvent, Timestamp};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = Arc::new(respond_with(Arc::new(MemoryStore::new()), |thread, input, _ctx: ()| {
///     let text = input.map(|message| message.text()).unwrap_or_default();
///     Box::pin(async_stream::try_stream! {
///         yield ThreadStreamEvent::item_done(AssistantMessageItem {
///             id: "msg_echo".into(),
///             thread_id: thread.id().to_owned(),
///             created_at: Timestamp::now(),
///             content: vec![AssistantMessageContent::new(format!("You said: {text}"))],
///         });
///     })
/// }));
/// let reply = send(&server, &requests::create_thread("hi"), ()).await.unwrap();
/// assert_eq!(reply.events().last().unwrap()["item"]["content"][0]["text"], "You said: hi");
/// # });
/// ```
pub fn respond_with<C, F>(store: Arc<dyn Store<C>>, respond: F) -> RespondWith<C, F>
where
    C: Clone + Send + Sync + 'static,
    F: Fn(ThreadHandle, Option<UserMessageItem>, C) -> EventStream + Send + Sync + 'static,
{
    RespondWith { store, respond }
}

/// The server [`respond_with`] makes.
pub struct RespondWith<C, F> {
    store: Arc<dyn Store<C>>,
    respond: F,
}

impl<C, F> std::fmt::Debug for RespondWith<C, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RespondWith").finish_non_exhaustive()
    }
}

impl<C, F> ChatKitServer for RespondWith<C, F>
where
    C: Clone + Send + Sync + 'static,
    F: Fn(ThreadHandle, Option<UserMessageItem>, C) -> EventStream + Send + Sync + 'static,
{
    type Context = C;

    fn store(&self) -> Arc<dyn Store<C>> {
        self.store.clone()
    }

    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        input: Option<UserMessageItem>,
        context: C,
    ) -> EventStream {
        (self.respond)(thread, input, context)
    }
}
