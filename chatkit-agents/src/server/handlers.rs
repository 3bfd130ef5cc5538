//! One function per request type, as the reference's `ChatKitServer._process_*`.
//!
//! Streaming requests do their reads and checks before returning the stream, so an
//! unknown thread or a request that does not apply is a [`ProcessError`] with an HTTP
//! status instead of a stream that aborts. Writes happen when the stream is consumed,
//! in the reference's order.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::active_runs::{begin_run, show_active_run};
use super::attachments;
use super::pipeline::{process_events, thread_response};
use super::result::Events;
use super::{
    ChatKitServer, EventStream, ProcessError, ProcessResult, StreamingResult, ThreadHandle,
};
use crate::runs::Lease;
use crate::store::Store;
use crate::types::*;

/// Page size of the listings when the client sends none (or 0), as the reference.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 20;

fn page_size(limit: Option<u64>) -> usize {
    match limit {
        None | Some(0) => DEFAULT_PAGE_SIZE,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    }
}

fn json(value: &impl Serialize) -> Result<ProcessResult, ProcessError> {
    serde_json::to_vec(value)
        .map(|body| ProcessResult::Json(Bytes::from(body)))
        .map_err(|e| ProcessError::Internal(format!("could not serialize the response: {e}")))
}

fn empty_object() -> Result<ProcessResult, ProcessError> {
    Ok(ProcessResult::Json(Bytes::from_static(b"{}")))
}

/// The run a streaming request starts: its id (its lease's, and a detached run's event
/// ids) and whether it goes on without its client.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) id: String,
    pub(crate) detached: bool,
}

/// A streamed answer on `thread_id` (which a detached run is filed under).
fn streaming(thread_id: &str, run: Run, events: Events) -> Result<ProcessResult, ProcessError> {
    Ok(ProcessResult::Streaming(
        StreamingResult::new(events).of_thread(thread_id, run.id),
    ))
}

/// Claims `thread` for `run`, or the response that says why it cannot start.
async fn claim<S: ChatKitServer>(
    server: &Arc<S>,
    thread: &ThreadMetadata,
    run: &Run,
    ctx: &S::Context,
) -> Result<Option<Lease<S::Context>>, Events> {
    begin_run(server, thread, &run.id, run.detached, ctx)
        .await
        .map_err(|not_started| stream::iter([not_started.event()]).boxed())
}

pub(crate) async fn handle<S: ChatKitServer>(
    server: &Arc<S>,
    request: ChatKitRequest,
    run: Run,
    ctx: S::Context,
) -> Result<ProcessResult, ProcessError> {
    let store = server.store();
    match request.op {
        RequestOp::ThreadsGetById(p) => {
            let mut thread = store.load_thread(&p.thread_id, &ctx).await?;
            show_active_run(server, &mut thread, &ctx).await;
            let items = store
                .load_thread_items(&p.thread_id, None, DEFAULT_PAGE_SIZE, SortOrder::Asc, &ctx)
                .await?;
            json(&thread_response(
                &thread,
                items,
                server.usage_in_thread_metadata(),
            ))
        }
        RequestOp::ThreadsList(p) => {
            let page = store
                .load_threads(page_size(p.limit), p.after.as_deref(), p.order, &ctx)
                .await?;
            json(&Page {
                data: page
                    .data
                    .iter()
                    .map(|t| thread_response(t, Page::default(), server.usage_in_thread_metadata()))
                    .collect::<Vec<_>>(),
                has_more: page.has_more,
                after: page.after,
            })
        }
        RequestOp::ItemsList(p) => {
            let mut page = store
                .load_thread_items(
                    &p.thread_id,
                    p.after.as_deref(),
                    page_size(p.limit),
                    p.order,
                    &ctx,
                )
                .await?;
            page.data.retain(|item| !item.is_hidden());
            json(&page)
        }
        RequestOp::ItemsFeedback(p) => {
            server
                .add_feedback(&p.thread_id, &p.item_ids, p.kind, &ctx)
                .await?;
            empty_object()
        }
        RequestOp::AttachmentsCreate(p) => json(&attachments::create(server, &p, &ctx).await?),
        RequestOp::AttachmentsDelete(p) => {
            attachments::delete(server, &p.attachment_id, &ctx).await?;
            empty_object()
        }
        RequestOp::InputTranscribe(p) => {
            let audio = AudioInput {
                data: decode_base64(&p.audio_base64)?,
                mime_type: p.mime_type,
            };
            json(&server.transcribe(audio, &ctx).await?)
        }
        RequestOp::ThreadsUpdate(p) => {
            let mut thread = store.load_thread(&p.thread_id, &ctx).await?;
            thread.title = Some(p.title);
            store.update_thread(&thread, &ctx).await?;
            json(&thread_response(
                &thread,
                Page::default(),
                server.usage_in_thread_metadata(),
            ))
        }
        RequestOp::ThreadsDelete(p) => {
            attachments::delete_thread(server, &p.thread_id, &ctx).await?;
            empty_object()
        }
        RequestOp::ThreadsSyncCustomAction(p) => {
            let thread = store.load_thread(&p.thread_id, &ctx).await?;
            let sender = match &p.item_id {
                None => None,
                Some(item_id) => match store.load_item(&p.thread_id, item_id, &ctx).await? {
                    ThreadItem::Widget(widget) => Some(widget),
                    _ => {
                        return Err(ProcessError::BadRequest(
                            "threads.sync_custom_action requires a widget sender item".into(),
                        ))
                    }
                },
            };
            json(&server.sync_action(thread, p.action, sender, &ctx).await?)
        }
        RequestOp::ThreadsCreate(p) => create(server, p, run, ctx).await,
        RequestOp::ThreadsAddUserMessage(p) => add_user_message(server, p, run, ctx).await,
        RequestOp::ThreadsAddClientToolOutput(p) => {
            add_client_tool_output(server, p, run, ctx).await
        }
        RequestOp::ThreadsAddStructuredInput(p) => add_structured_input(server, p, run, ctx).await,
        RequestOp::ThreadsRetryAfterItem(p) => retry_after_item(server, p, run, ctx).await,
        RequestOp::ThreadsCustomAction(p) => custom_action(server, p, run, ctx).await,
    }
}

/// Python's non-strict `b64decode`: characters outside the alphabet are skipped;
/// missing padding is tolerated.
fn decode_base64(text: &str) -> Result<Vec<u8>, ProcessError> {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(cleaned.trim_end_matches('='))
        .map_err(|e| ProcessError::BadRequest(format!("audio_base64 is not valid base64: {e}")))
}

/// Builds the user message for `input` (attachments already loaded).
fn user_message<C: Send + Sync>(
    store: &dyn Store<C>,
    thread: &ThreadMetadata,
    input: UserMessageInput,
    attachments: Vec<Attachment>,
    ctx: &C,
) -> UserMessageItem {
    UserMessageItem {
        id: store.generate_item_id(StoreItemType::Message, thread, ctx),
        thread_id: thread.id.clone(),
        created_at: Timestamp::now(),
        content: input.content,
        attachments,
        quoted_text: input.quoted_text,
        inference_options: input.inference_options,
    }
}

/// `respond` on `thread`, called by the pipeline once it has taken the thread's snapshot
/// (so that changes `respond` makes before returning its stream are announced too).
fn responder<S: ChatKitServer>(
    server: &Arc<S>,
    thread: &ThreadHandle,
    input: Option<UserMessageItem>,
    ctx: &S::Context,
) -> impl FnOnce() -> EventStream + Send + 'static {
    let (server, thread, ctx) = (server.clone(), thread.clone(), ctx.clone());
    move || server.respond(thread, input, ctx)
}

/// The events of a stream that failed at a store write before the pipeline started.
fn store_failure(error: crate::store::StoreError) -> Box<ThreadStreamEvent> {
    tracing::error!(%error, "store failed before the response started");
    Box::new(ThreadStreamEvent::Error(ErrorEvent::stream_error(true)))
}

async fn create<S: ChatKitServer>(
    server: &Arc<S>,
    p: ThreadCreateParams,
    run: Run,
    ctx: S::Context,
) -> Result<ProcessResult, ProcessError> {
    let store = server.store();
    let thread = ThreadMetadata::new(store.generate_thread_id(&ctx), Timestamp::now());
    // Attachments are checked before anything is saved: a bad id is a 404, not an
    // empty thread left behind.
    let attachments =
        attachments::for_message(server, &p.input.attachments, &thread.id, &ctx).await?;
    let message = user_message(&*store, &thread, p.input, attachments, &ctx);
    let server = server.clone();
    let thread_id = thread.id.clone();
    let claimed = run.clone();
    // `once(..).flatten()` rather than a generator that re-yields: every event of the
    // response then passes through one less layer. The future is boxed so that its
    // memory goes once it is done, not at the end of the answer.
    let events = stream::once(Box::pin(async move {
        if let Err(e) = store.save_thread(&thread, &ctx).await {
            return stream::iter([store_failure(e)]).boxed();
        }
        let created =
            ThreadStreamEvent::thread_created(thread_response(&thread, Page::default(), false));
        let lease = match claim(&server, &thread, &claimed, &ctx).await {
            Ok(lease) => lease,
            Err(refused) => return stream::iter([Box::new(created)]).chain(refused).boxed(),
        };
        stream::iter([Box::new(created)])
            .chain(new_user_message(
                server,
                store,
                (ThreadHandle::new(thread), lease),
                message,
                ctx,
            ))
            .boxed()
    }))
    .flatten();
    streaming(&thread_id, run, events.boxed())
}

async fn add_user_message<S: ChatKitServer>(
    server: &Arc<S>,
    p: ThreadAddUserMessageParams,
    run: Run,
    ctx: S::Context,
) -> Result<ProcessResult, ProcessError> {
    let store = server.store();
    let thread = store.load_thread(&p.thread_id, &ctx).await?;
    let attachments =
        attachments::for_message(server, &p.input.attachments, &thread.id, &ctx).await?;
    let message = user_message(&*store, &thread, p.input, attachments, &ctx);
    let lease = match claim(server, &thread, &run, &ctx).await {
        Ok(lease) => lease,
        Err(refused) => return streaming(&p.thread_id, run, refused),
    };
    streaming(
        &p.thread_id,
        run,
        new_user_message(
            server.clone(),
            store,
            (ThreadHandle::new(thread), lease),
            message,
            ctx,
        ),
    )
}

/// The shared "new user message" path: save attachments and the message, announce it,
/// then respond.
fn new_user_message<S: ChatKitServer>(
    server: Arc<S>,
    store: Arc<dyn Store<S::Context>>,
    (thread, lease): (ThreadHandle, Option<Lease<S::Context>>),
    message: UserMessageItem,
    ctx: S::Context,
) -> Events {
    // Boxed: its memory goes once the message is saved (see `create`).
    stream::once(Box::pin(async move {
        for attachment in &message.attachments {
            if let Err(e) = store.save_attachment(attachment, &ctx).await {
                return stream::iter([store_failure(e)]).boxed();
            }
        }
        let item = ThreadItem::UserMessage(message.clone());
        if let Err(e) = store.add_thread_item(thread.id(), &item, &ctx).await {
            return stream::iter([store_failure(e)]).boxed();
        }
        let respond = responder(&server, &thread, Some(message), &ctx);
        stream::iter([Box::new(ThreadStreamEvent::item_done(item))])
            .chain(process_events(server, thread, ctx, lease, respond))
            .boxed()
    }))
    .flatten()
    .boxed()
}

async fn add_client_tool_output<S: ChatKitServer>(
    server: &Arc<S>,
    p: ThreadAddClientToolOutputParams,
    run: Run,
    ctx: S::Context,
) -> Result<ProcessResult, ProcessError> {
    let store = server.store();
    let thread = store.load_thread(&p.thread_id, &ctx).await?;
    let newest = store
        .load_thread_items(&thread.id, None, 1, SortOrder::Desc, &ctx)
        .await?;
    let mut call = match newest.data.into_iter().next() {
        Some(ThreadItem::ClientToolCall(call)) if call.status == ClientToolCallStatus::Pending => {
            call
        }
        _ => {
            return Err(ProcessError::BadRequest(format!(
                "Last thread item in {} was not a pending ClientToolCallItem",
                thread.id
            )))
        }
    };
    call.output = Some(p.result);
    call.status = ClientToolCallStatus::Completed;
    let lease = match claim(server, &thread, &run, &ctx).await {
        Ok(lease) => lease,
        Err(refused) => return streaming(&p.thread_id, run, refused),
    };
    let server = server.clone();
    let thread_id = thread.id.clone();
    streaming(
        &thread_id,
        run,
        async_stream::stream! {
            if let Err(e) = store.save_item(&thread.id, &ThreadItem::ClientToolCall(call), &ctx).await {
                yield store_failure(e);
                return;
            }
            // Other calls still pending will never get output: drop them.
            match store.load_thread_items(&thread.id, None, DEFAULT_PAGE_SIZE, SortOrder::Desc, &ctx).await {
                Err(e) => {
                    yield store_failure(e);
                    return;
                }
                Ok(recent) => {
                    for item in recent.data {
                        if let ThreadItem::ClientToolCall(stale) = &item {
                            if stale.status == ClientToolCallStatus::Pending {
                                tracing::warn!(thread_id = %thread.id, item_id = %stale.id, "client tool call was not completed; removing it");
                                if let Err(e) = store.delete_thread_item(&thread.id, &stale.id, &ctx).await {
                                    yield store_failure(e);
                                    return;
                                }
                            }
                        }
                    }
                }
            }
            let handle = ThreadHandle::new(thread);
            let respond = responder(&server, &handle, None, &ctx);
            let mut events = process_events(server, handle, ctx, lease, respond);
            while let Some(event) = events.next().await {
                yield event;
            }
        }
        .boxed(),
    )
}

/// Applies a submission to a structured-input item, as the reference does: skipped or
/// empty answers become `{values: [], skipped: true}`, single-choice answers keep their
/// first value, unknown question ids are ignored (with a warning).
fn answer_structured_input(
    mut item: StructuredInputItem,
    submission: StructuredInputSubmission,
) -> StructuredInputItem {
    for id in submission.answers.keys() {
        let known = item.inputs.iter().any(|input| match input {
            StructuredInput::MultipleChoice(q) => &q.id == id,
            StructuredInput::Freeform(q) => &q.id == id,
        });
        if !known {
            tracing::warn!(item_id = %item.id, question_id = %id, "answer for an unknown question ignored");
        }
    }
    let skipped_all = submission.status == StructuredInputSubmissionStatus::Skipped;
    for input in &mut item.inputs {
        let (id, answer, single) = match input {
            StructuredInput::MultipleChoice(q) => (q.id.clone(), &mut q.answer, !q.multiple),
            StructuredInput::Freeform(q) => (q.id.clone(), &mut q.answer, false),
        };
        let given = submission
            .answers
            .get(&id)
            .filter(|a| !skipped_all && !a.skipped && !a.values.is_empty());
        *answer = Some(match given {
            None => StructuredInputAnswer {
                values: Vec::new(),
                skipped: true,
            },
            Some(a) => {
                let values = if single {
                    a.values.iter().take(1).cloned().collect()
                } else {
                    a.values.clone()
                };
                StructuredInputAnswer {
                    values,
                    skipped: false,
                }
            }
        });
    }
    item.status = match submission.status {
        StructuredInputSubmissionStatus::Answered => StructuredInputStatus::Answered,
        StructuredInputSubmissionStatus::Skipped => StructuredInputStatus::Skipped,
    };
    item
}

async fn add_structured_input<S: ChatKitServer>(
    server: &Arc<S>,
    p: ThreadAddStructuredInputParams,
    run: Run,
    ctx: S::Context,
) -> Result<ProcessResult, ProcessError> {
    let store = server.store();
    let thread = store.load_thread(&p.thread_id, &ctx).await?;
    let item = match store.load_item(&thread.id, &p.item_id, &ctx).await? {
        ThreadItem::StructuredInput(item) => item,
        _ => {
            return Err(ProcessError::BadRequest(format!(
                "Item {} is not a StructuredInputItem",
                p.item_id
            )))
        }
    };
    if item.status != StructuredInputStatus::Pending {
        return Err(ProcessError::BadRequest(format!(
            "Structured input item {} is not pending",
            p.item_id
        )));
    }
    let updated = answer_structured_input(item, p.input);
    let lease = match claim(server, &thread, &run, &ctx).await {
        Ok(lease) => lease,
        Err(refused) => return streaming(&p.thread_id, run, refused),
    };
    let handle = ThreadHandle::new(thread);
    let respond = responder(server, &handle, None, &ctx);
    let events = move || -> EventStream {
        stream::once(async move { Ok(ThreadStreamEvent::item_replaced(updated)) })
            .chain(respond())
            .boxed()
    };
    let thread_id = handle.id().to_owned();
    streaming(
        &thread_id,
        run,
        process_events(server.clone(), handle, ctx, lease, events),
    )
}

async fn retry_after_item<S: ChatKitServer>(
    server: &Arc<S>,
    p: ThreadRetryAfterItemParams,
    run: Run,
    ctx: S::Context,
) -> Result<ProcessResult, ProcessError> {
    let store = server.store();
    let thread = store.load_thread(&p.thread_id, &ctx).await?;
    // Newest first, collecting everything newer than the retried item.
    let mut newer = Vec::new();
    let mut after: Option<String> = None;
    let message = loop {
        let page = store
            .load_thread_items(
                &thread.id,
                after.as_deref(),
                DEFAULT_PAGE_SIZE,
                SortOrder::Desc,
                &ctx,
            )
            .await?;
        let mut found = None;
        for item in page.data {
            if item.id() == p.item_id {
                found = Some(item);
                break;
            }
            newer.push(item);
        }
        match found {
            Some(ThreadItem::UserMessage(message)) => break message,
            Some(_) => {
                return Err(ProcessError::BadRequest(format!(
                    "Item {} is not a user message",
                    p.item_id
                )))
            }
            None if page.has_more && page.after.is_some() => after = page.after,
            // The reference streams nothing at all here; a 404 says why.
            None => {
                return Err(ProcessError::NotFound {
                    kind: crate::store::RecordKind::Item,
                    id: p.item_id,
                });
            }
        }
    };
    let lease = match claim(server, &thread, &run, &ctx).await {
        Ok(lease) => lease,
        Err(refused) => return streaming(&p.thread_id, run, refused),
    };
    let server = server.clone();
    let thread_id = thread.id.clone();
    streaming(
        &thread_id,
        run,
        async_stream::stream! {
            for item in &newer {
                if let Err(e) = store.delete_thread_item(&thread.id, item.id(), &ctx).await {
                    yield store_failure(e);
                    return;
                }
            }
            let handle = ThreadHandle::new(thread);
            let respond = responder(&server, &handle, Some(message), &ctx);
            let mut events = process_events(server, handle, ctx, lease, respond);
            while let Some(event) = events.next().await {
                yield event;
            }
        }
        .boxed(),
    )
}

async fn custom_action<S: ChatKitServer>(
    server: &Arc<S>,
    p: ThreadCustomActionParams,
    run: Run,
    ctx: S::Context,
) -> Result<ProcessResult, ProcessError> {
    let store = server.store();
    let thread = store.load_thread(&p.thread_id, &ctx).await?;
    let sender = match &p.item_id {
        None => None,
        Some(item_id) => match store.load_item(&thread.id, item_id, &ctx).await? {
            ThreadItem::Widget(widget) => Some(widget),
            _ => {
                // The reference answers an action from a non-widget item with one
                // non-retryable error event and nothing else.
                tracing::warn!(item_id = %item_id, "custom action sent for an item that is not a widget");
                let error = ThreadStreamEvent::Error(ErrorEvent::stream_error(false));
                return streaming(&thread.id, run, stream::iter([Box::new(error)]).boxed());
            }
        },
    };
    let lease = match claim(server, &thread, &run, &ctx).await {
        Ok(lease) => lease,
        Err(refused) => return streaming(&p.thread_id, run, refused),
    };
    let handle = ThreadHandle::new(thread);
    let (action_server, action_thread, action_ctx) = (server.clone(), handle.clone(), ctx.clone());
    let events = move || action_server.action(action_thread, p.action, sender, action_ctx);
    let thread_id = handle.id().to_owned();
    streaming(
        &thread_id,
        run,
        process_events(server.clone(), handle, ctx, lease, events),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decoding_is_as_lenient_as_python() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("a G\nk=").unwrap(), b"hi");
        assert_eq!(decode_base64("%%%").unwrap(), b"");
        assert!(decode_base64("a").is_err());
    }

    #[test]
    fn page_size_defaults_like_the_reference() {
        assert_eq!(page_size(None), 20);
        assert_eq!(page_size(Some(0)), 20);
        assert_eq!(page_size(Some(5)), 5);
    }
}
