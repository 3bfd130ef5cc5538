//! [`stream_agent_response`]: a run's events, merged with what tools and hooks queued on
//! the [`AgentContext`], as ChatKit events (spec 8.2).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::StreamExt;
use indexmap::IndexSet;

use super::context::AgentContext;
use crate::agents::model::{ContentPart, FunctionCall, ModelAnnotation, ModelEvent, OutputItem};
use crate::agents::runner::{RunError, RunEvent, RunStream};
use crate::server::{EventStream, StreamError};
use crate::types::{
    Annotation, AssistantMessageContent, AssistantMessageItem, ClientToolCallItem,
    ClientToolCallStatus, FileSource, GeneratedImage, GeneratedImageItem, SortOrder, StoreItemType,
    Task, ThoughtTask, ThreadItem, ThreadItemUpdate, ThreadStreamEvent, Timestamp, UrlSource,
    Workflow, WorkflowItem, WorkflowSummary, WorkflowType,
};

/// Overridable conversions used by [`stream_agent_response_with`] (the reference's
/// `ResponseStreamConverter`): images to URLs, image progress, citations to annotations.
#[async_trait]
pub trait ResponseStreamConverter: Send + Sync {
    /// A URL for a generated image. Default: a `data:image/png;base64,` URL. Override to
    /// upload the image and return a link.
    async fn base64_image_to_url(
        &self,
        _image_id: &str,
        base64_image: &str,
        _partial_image_index: Option<u32>,
    ) -> String {
        format!("data:image/png;base64,{base64_image}")
    }

    /// Progress (0 to 1) shown for partial image `index`. Default: 0.
    fn partial_image_index_to_progress(&self, _index: u32) -> f64 {
        0.0
    }

    /// A file citation. Default: a file source titled with the file name (none without one).
    async fn file_citation_to_annotation(
        &self,
        _file_id: &str,
        filename: &str,
        index: usize,
    ) -> Option<Annotation> {
        (!filename.is_empty())
            .then(|| Annotation::new(FileSource::new(filename, filename), Some(index as u64)))
    }

    /// A citation of a file in a code container. Default: like a file citation, placed at `end_index`.
    async fn container_file_citation_to_annotation(
        &self,
        _file_id: &str,
        filename: &str,
        end_index: usize,
    ) -> Option<Annotation> {
        (!filename.is_empty())
            .then(|| Annotation::new(FileSource::new(filename, filename), Some(end_index as u64)))
    }

    /// A progress line (`progress_update`, not persisted) shown when the model calls a
    /// tool, until the next event replaces it. Default: none, as the reference. For
    /// example `Some(format!("Calling {}…", call.name))`.
    fn tool_call_progress(&self, _call: &FunctionCall) -> Option<String> {
        None
    }

    /// A web citation. Default: a URL source placed at `end_index`.
    async fn url_citation_to_annotation(
        &self,
        url: &str,
        title: &str,
        end_index: usize,
    ) -> Option<Annotation> {
        Some(Annotation::new(
            UrlSource::new(title, url),
            Some(end_index as u64),
        ))
    }
}

/// The default conversions, with the number of partial images requested (for progress).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultResponseStreamConverter {
    /// How many partial images the image tool was asked for.
    pub partial_images: Option<u32>,
}

#[async_trait]
impl ResponseStreamConverter for DefaultResponseStreamConverter {
    fn partial_image_index_to_progress(&self, index: u32) -> f64 {
        match self.partial_images {
            Some(total) if total > 0 => (f64::from(index) / f64::from(total)).min(1.0),
            _ => 0.0,
        }
    }
}

/// Streams a run as ChatKit events with the default conversions. See
/// [`stream_agent_response_with`].
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

/// The workflow's `thread.item.done` when it ends automatically: a duration summary if
/// it has none, collapsed.
fn auto_end_workflow(mut item: WorkflowItem) -> ThreadStreamEvent {
    if item.workflow.summary.is_none() {
        let elapsed = Timestamp::now().to_utc() - item.created_at.to_utc();
        item.workflow.summary = Some(WorkflowSummary::Duration {
            duration: u64::try_from(elapsed.num_seconds()).unwrap_or(0),
        });
    }
    item.workflow.expanded = false;
    ThreadStreamEvent::item_done(item)
}

/// Per-run mapping state.
#[derive(Default)]
struct Mapping {
    produced: IndexSet<String>,
    current_tool_call: Option<String>,
    current_item_id: Option<String>,
    /// The reasoning summary being streamed: (item id, summary index, task index).
    thought: Option<(String, usize, usize)>,
    annotation_counts: HashMap<(String, usize), usize>,
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
/// - a hook's or a guardrail's tripwire removes every item the run produced, then fails
///   the stream;
///   other run errors fail it after the queued events are out.
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
        resume_workflow(&ctx).await?;
        let mut state = Mapping::default();
        let mut run = run;
        enum Next {
            Queued(ThreadStreamEvent),
            Run(Option<Result<RunEvent, RunError>>),
        }
        loop {
            let next = tokio::select! {
                biased;
                Some(event) = queue.recv() => Next::Queued(event),
                event = run.next() => Next::Run(event),
            };
            match next {
                Next::Queued(event) => {
                    if let ThreadStreamEvent::ThreadItemAdded { item } | ThreadStreamEvent::ThreadItemDone { item } = &event {
                        let item: &ThreadItem = item;
                        if let Some(workflow) = ctx.workflow_item() {
                            let skip = matches!(item, ThreadItem::ClientToolCall(_) | ThreadItem::HiddenContext(_));
                            if workflow.id != item.id() && !skip {
                                ctx.set_workflow_item(None);
                                yield auto_end_workflow(workflow);
                            }
                        }
                        // A queued snapshot of a workflow a tool has since updated or
                        // ended must not replace the live state or revive it.
                        match (&event, item) {
                            (ThreadStreamEvent::ThreadItemAdded { .. }, ThreadItem::Workflow(workflow)) => {
                                ctx.adopt_streamed_workflow(workflow);
                            }
                            (ThreadStreamEvent::ThreadItemDone { .. }, ThreadItem::Workflow(workflow)) => {
                                ctx.workflow_done_streamed(&workflow.id);
                            }
                            _ => {}
                        }
                        state.produced.insert(item.id().to_owned());
                    }
                    yield event;
                }
                Next::Run(None) => break,
                Next::Run(Some(Ok(RunEvent::ToolCalled(call)))) => {
                    state.current_tool_call = Some(call.call_id.clone());
                    state.current_item_id = call.id.clone();
                    if let Some(id) = &call.id {
                        state.produced.insert(id.clone());
                    }
                    if let Some(text) = converter.tool_call_progress(&call) {
                        yield ThreadStreamEvent::progress(text);
                    }
                }
                Next::Run(Some(Ok(RunEvent::Model(event)))) => {
                    for out in map_model_event(&ctx, &mut state, &*converter, event).await {
                        yield out;
                    }
                }
                Next::Run(Some(Ok(_))) => {}
                Next::Run(Some(Err(error))) if error.is_tripwire() => {
                    for id in &state.produced {
                        yield ThreadStreamEvent::item_removed(id.clone());
                    }
                    while queue.try_recv().is_ok() {}
                    Err(StreamError::from(error))?;
                }
                Next::Run(Some(Err(error))) => {
                    while let Ok(event) = queue.try_recv() {
                        yield event;
                    }
                    Err(StreamError::from(error))?;
                }
            }
        }
        drop(run);
        // What tools queued after the model's last event, as queued.
        while let Ok(event) = queue.try_recv() {
            yield event;
        }
        if let Some(workflow) = ctx.workflow_item() {
            // Saved without an event, so the next turn can resume it.
            ctx.store().add_thread_item(ctx.thread().id(), &workflow.into(), ctx.request_context()).await?;
        }
        if let Some(call) = ctx.take_client_tool_call() {
            let id = state.current_item_id.clone().unwrap_or_else(|| ctx.generate_id(StoreItemType::ToolCall));
            let call_id = state.current_tool_call.clone().unwrap_or_else(|| ctx.generate_id(StoreItemType::ToolCall));
            yield ThreadStreamEvent::item_done(ClientToolCallItem {
                id,
                thread_id: ctx.thread().id().to_owned(),
                created_at: Timestamp::now(),
                status: ClientToolCallStatus::Pending,
                call_id,
                name: call.name,
                arguments: call.arguments,
                output: None,
            });
        }
    }
    .boxed()
}

/// Resumes the thread's open workflow: the newest item, or the one before a pending
/// client tool call.
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

async fn convert_part(
    converter: &dyn ResponseStreamConverter,
    part: &ContentPart,
) -> Option<AssistantMessageContent> {
    match part {
        ContentPart::OutputText {
            text, annotations, ..
        } => {
            let mut converted = Vec::new();
            for annotation in annotations {
                if let Some(annotation) = convert_annotation(converter, annotation).await {
                    converted.push(annotation);
                }
            }
            Some(AssistantMessageContent::with_annotations(
                text.clone(),
                converted,
            ))
        }
        ContentPart::Refusal { refusal, .. } => Some(AssistantMessageContent::new(refusal.clone())),
        ContentPart::Other(_) => None,
    }
}

async fn convert_annotation(
    converter: &dyn ResponseStreamConverter,
    annotation: &ModelAnnotation,
) -> Option<Annotation> {
    match annotation {
        ModelAnnotation::FileCitation {
            file_id,
            filename,
            index,
        } => {
            converter
                .file_citation_to_annotation(file_id, filename, *index)
                .await
        }
        ModelAnnotation::ContainerFileCitation {
            file_id,
            filename,
            end_index,
            ..
        } => {
            converter
                .container_file_citation_to_annotation(file_id, filename, *end_index)
                .await
        }
        ModelAnnotation::UrlCitation {
            url,
            title,
            end_index,
            ..
        } => {
            converter
                .url_citation_to_annotation(url, title, *end_index)
                .await
        }
        ModelAnnotation::FilePath { .. } | ModelAnnotation::Other => None,
    }
}

async fn message_item<C: Send + Sync + 'static>(
    ctx: &AgentContext<C>,
    converter: &dyn ResponseStreamConverter,
    id: &str,
    parts: &[ContentPart],
) -> AssistantMessageItem {
    let mut content = Vec::with_capacity(parts.len());
    for part in parts {
        if let Some(part) = convert_part(converter, part).await {
            content.push(part);
        }
    }
    AssistantMessageItem {
        id: id.to_owned(),
        thread_id: ctx.thread().id().to_owned(),
        created_at: Timestamp::now(),
        content,
    }
}

/// Maps one model event (the table of spec 8.2).
async fn map_model_event<C: Send + Sync + 'static>(
    ctx: &AgentContext<C>,
    state: &mut Mapping,
    converter: &dyn ResponseStreamConverter,
    event: ModelEvent,
) -> Vec<ThreadStreamEvent> {
    let mut out = Vec::new();
    match event {
        ModelEvent::ContentPartAdded {
            item_id,
            content_index,
            part,
            ..
        } if part.part_type() != "reasoning_text" => {
            if let Some(content) = convert_part(converter, &part).await {
                out.push(ThreadStreamEvent::item_updated(
                    item_id,
                    ThreadItemUpdate::AssistantMessageContentPartAdded {
                        content_index,
                        content,
                    },
                ));
            }
        }
        ModelEvent::OutputTextDelta {
            item_id,
            content_index,
            delta,
            ..
        } => {
            out.push(ThreadStreamEvent::item_updated(
                item_id,
                ThreadItemUpdate::AssistantMessageContentPartTextDelta {
                    content_index,
                    delta,
                },
            ));
        }
        ModelEvent::OutputTextDone {
            item_id,
            content_index,
            text,
            ..
        } => {
            let content = AssistantMessageContent::new(text);
            out.push(ThreadStreamEvent::item_updated(
                item_id,
                ThreadItemUpdate::AssistantMessageContentPartDone {
                    content_index,
                    content,
                },
            ));
        }
        ModelEvent::OutputTextAnnotationAdded {
            item_id,
            content_index,
            annotation,
            ..
        } => {
            if let Some(annotation) = convert_annotation(converter, &annotation).await {
                let counter = state
                    .annotation_counts
                    .entry((item_id.clone(), content_index))
                    .or_insert(0);
                let annotation_index = *counter;
                *counter += 1;
                out.push(ThreadStreamEvent::item_updated(
                    item_id,
                    ThreadItemUpdate::annotation_added(content_index, annotation_index, annotation),
                ));
            }
        }
        ModelEvent::OutputItemAdded { item, .. } => match item {
            OutputItem::Reasoning(_) if ctx.workflow_item().is_none() => {
                let workflow = WorkflowItem {
                    id: ctx.generate_id(StoreItemType::Workflow),
                    thread_id: ctx.thread().id().to_owned(),
                    created_at: Timestamp::now(),
                    workflow: Workflow::new(WorkflowType::Reasoning),
                };
                ctx.set_workflow_item(Some(workflow.clone()));
                state.produced.insert(workflow.id.clone());
                out.push(ThreadStreamEvent::item_added(workflow));
            }
            OutputItem::Message(message) => {
                if let Some(workflow) = ctx.workflow_item() {
                    ctx.set_workflow_item(None);
                    out.push(auto_end_workflow(workflow));
                }
                state.produced.insert(message.id.clone());
                out.push(ThreadStreamEvent::item_added(
                    message_item(ctx, converter, &message.id, &message.content).await,
                ));
            }
            OutputItem::ImageGeneration(_) => {
                let image = GeneratedImageItem {
                    id: ctx.generate_id(StoreItemType::Message),
                    thread_id: ctx.thread().id().to_owned(),
                    created_at: Timestamp::now(),
                    image: None,
                };
                ctx.set_generated_image_item(Some(image.clone()));
                state.produced.insert(image.id.clone());
                out.push(ThreadStreamEvent::item_added(image));
            }
            _ => {}
        },
        ModelEvent::ImageGenerationPartialImage {
            item_id,
            partial_image_index,
            partial_image_b64,
            ..
        } => {
            if let Some(mut image_item) = ctx.generated_image_item() {
                let url = converter
                    .base64_image_to_url(&item_id, &partial_image_b64, Some(partial_image_index))
                    .await;
                let progress = converter.partial_image_index_to_progress(partial_image_index);
                let image = GeneratedImage { id: item_id, url };
                image_item.image = Some(image.clone());
                let id = image_item.id.clone();
                ctx.set_generated_image_item(Some(image_item));
                out.push(ThreadStreamEvent::item_updated(
                    id,
                    ThreadItemUpdate::GeneratedImageUpdated {
                        image,
                        progress: Some(progress),
                    },
                ));
            }
        }
        ModelEvent::ReasoningSummaryTextDelta {
            item_id,
            summary_index,
            delta,
            ..
        } => {
            let Some(mut workflow) = ctx.workflow_item() else {
                return out;
            };
            let tasks = &mut workflow.workflow.tasks;
            if workflow.workflow.workflow_type == WorkflowType::Reasoning && tasks.is_empty() {
                let task = Task::Thought(ThoughtTask {
                    content: delta,
                    ..Default::default()
                });
                tasks.push(task.clone());
                state.thought = Some((item_id, summary_index, 0));
                out.push(ThreadStreamEvent::item_updated(
                    &workflow.id,
                    ThreadItemUpdate::task_added(0, task),
                ));
            } else if let Some((_, _, index)) = state
                .thought
                .as_ref()
                .filter(|(i, s, t)| *i == item_id && *s == summary_index && *t < tasks.len())
            {
                let index = *index;
                if let Task::Thought(thought) = &mut tasks[index] {
                    thought.content.push_str(&delta);
                }
                let task = tasks[index].clone();
                out.push(ThreadStreamEvent::item_updated(
                    &workflow.id,
                    ThreadItemUpdate::task_updated(index, task),
                ));
            } else {
                return out;
            }
            ctx.set_workflow_item(Some(workflow));
        }
        ModelEvent::ReasoningSummaryTextDone {
            item_id,
            summary_index,
            text,
            ..
        } => {
            let Some(mut workflow) = ctx.workflow_item() else {
                return out;
            };
            let tasks = &mut workflow.workflow.tasks;
            let tracked = state
                .thought
                .as_ref()
                .filter(|(i, s, t)| *i == item_id && *s == summary_index && *t < tasks.len())
                .map(|t| t.2);
            if let Some(index) = tracked {
                if let Task::Thought(thought) = &mut tasks[index] {
                    thought.content = text;
                }
                state.thought = None;
                let task = tasks[index].clone();
                out.push(ThreadStreamEvent::item_updated(
                    &workflow.id,
                    ThreadItemUpdate::task_updated(index, task),
                ));
            } else {
                let task = Task::Thought(ThoughtTask {
                    content: text,
                    ..Default::default()
                });
                tasks.push(task.clone());
                let index = tasks.len() - 1;
                out.push(ThreadStreamEvent::item_updated(
                    &workflow.id,
                    ThreadItemUpdate::task_added(index, task),
                ));
            }
            ctx.set_workflow_item(Some(workflow));
        }
        ModelEvent::OutputItemDone { item, .. } => match item {
            OutputItem::Message(message) => {
                state.produced.insert(message.id.clone());
                out.push(ThreadStreamEvent::item_done(
                    message_item(ctx, converter, &message.id, &message.content).await,
                ));
            }
            OutputItem::ImageGeneration(image) => {
                if let (Some(mut image_item), Some(result)) =
                    (ctx.generated_image_item(), image.result.as_deref())
                {
                    let url = converter.base64_image_to_url(&image.id, result, None).await;
                    image_item.image = Some(GeneratedImage {
                        id: image.id.clone(),
                        url,
                    });
                    ctx.set_generated_image_item(None);
                    out.push(ThreadStreamEvent::item_done(image_item));
                }
            }
            _ => {}
        },
        _ => {}
    }
    out
}
