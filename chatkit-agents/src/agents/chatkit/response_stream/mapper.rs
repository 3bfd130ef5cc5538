//! [`EventMapper`]: the state of one `stream_agent_response` and the mapping of each
//! run event and queued event into ChatKit events, one method per event family.
//!
//! The mapping is the reference's: assistant messages keep the model's item ids;
//! citations become annotations with compact per-part indexes; reasoning summaries
//! become the thoughts of a `reasoning` workflow, which ends (with a duration summary,
//! collapsed) when another item arrives; generated images become `generated_image`
//! items with progress.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexSet;

use super::to_thread_events::{convert_annotation, convert_part, ResponseStreamConverter};
use crate::agents::chatkit::context::{end_with_duration, AgentContext};
use crate::agents::model::{
    ContentPart, FunctionCall, ModelEvent, OutputItem, ResponseInfo, Usage,
};
use crate::agents::tool::ToolOrigin;
use crate::store::TokenUsage;
use crate::types::{
    AssistantMessageContent, AssistantMessageItem, ClientToolCallItem, ClientToolCallStatus,
    GeneratedImage, GeneratedImageItem, Source, StoreItemType, Task, ThoughtTask, ThreadItem,
    ThreadItemUpdate, ThreadStreamEvent, Timestamp, Workflow, WorkflowItem, WorkflowType,
};

/// The reasoning summary being streamed into a thought.
struct Thought {
    item_id: String,
    summary_index: usize,
    task_index: usize,
}

/// One response stream's mapping state. Everything a tool or hook can change (the
/// active workflow, a client tool call) stays on the [`AgentContext`]; the rest is here.
pub(super) struct EventMapper<C> {
    ctx: AgentContext<C>,
    converter: Arc<dyn ResponseStreamConverter>,
    /// Every item this stream showed, for taking them back after a tripwire.
    produced: IndexSet<String>,
    /// The last tool call: its call id and item id, for a client tool call.
    tool_call: Option<(String, Option<String>)>,
    thought: Option<Thought>,
    annotation_counts: HashMap<(String, usize), usize>,
    generated_image: Option<GeneratedImageItem>,
    /// The task index of each tool call shown as a task (hosted calls by item id,
    /// calls of tools from elsewhere by call id).
    tool_tasks: HashMap<String, usize>,
    /// Where the tools of the calls started and not yet answered come from.
    origins: HashMap<String, ToolOrigin>,
    /// The calls that failed and whose output has not come yet.
    failed_calls: HashSet<String>,
    /// The last workflow that ended, as the client has it: when the answer that ended
    /// it cites pages or files, they become the sources of its search tasks.
    ended_workflow: Option<WorkflowItem>,
}

impl<C: Send + Sync + 'static> EventMapper<C> {
    pub(super) fn new(ctx: AgentContext<C>, converter: Arc<dyn ResponseStreamConverter>) -> Self {
        EventMapper {
            ctx,
            converter,
            produced: IndexSet::new(),
            tool_call: None,
            thought: None,
            annotation_counts: HashMap::new(),
            generated_image: None,
            tool_tasks: HashMap::new(),
            origins: HashMap::new(),
            failed_calls: HashSet::new(),
            ended_workflow: None,
        }
    }

    /// The ids of every item shown so far, to remove after a tripwire.
    pub(super) fn produced(&self) -> impl Iterator<Item = &String> {
        self.produced.iter()
    }

    /// Ends the active workflow with a duration summary, unless it is `keep`.
    fn end_workflow_unless(&mut self, keep: Option<&str>, out: &mut Vec<ThreadStreamEvent>) {
        let ended = self.ctx.with_workflow(|active| match active {
            Some(workflow) if Some(workflow.id.as_str()) != keep => active.take(),
            _ => None,
        });
        if let Some(workflow) = ended {
            let event = end_with_duration(workflow);
            if let ThreadStreamEvent::ThreadItemDone { item } = &event {
                if let ThreadItem::Workflow(workflow) = item.as_ref() {
                    self.ended_workflow = Some(workflow.clone());
                }
            }
            out.push(event);
        }
    }

    /// The answer's citations as sources of the search tasks of the workflow it ended:
    /// pages cited go to its last web search, files to its last file search, each
    /// unless that task lists it already. The workflow is then replaced (and saved).
    fn cite_sources(&mut self, answer: &AssistantMessageItem, out: &mut Vec<ThreadStreamEvent>) {
        let Some(workflow) = self.ended_workflow.as_mut() else {
            return;
        };
        let tasks = &mut workflow.workflow.tasks;
        let last_of = |tasks: &[Task], web: bool| {
            tasks.iter().rposition(|task| match task {
                Task::WebSearch(_) => web,
                Task::File(_) => !web,
                _ => false,
            })
        };
        let (web, file) = (last_of(tasks, true), last_of(tasks, false));
        let mut changed = false;
        let cited = answer
            .content
            .iter()
            .flat_map(|part| &part.annotations)
            .map(|annotation| &annotation.source);
        for source in cited {
            match (source, web, file) {
                (Source::Url(url), Some(index), _) => {
                    if let Task::WebSearch(search) = &mut tasks[index] {
                        if !search.sources.iter().any(|known| known.url == url.url) {
                            search.sources.push(url.clone());
                            changed = true;
                        }
                    }
                }
                (Source::File(file), _, Some(index)) => {
                    if let Task::File(search) = &mut tasks[index] {
                        if !search
                            .sources
                            .iter()
                            .any(|known| known.filename == file.filename)
                        {
                            search.sources.push(file.clone());
                            changed = true;
                        }
                    }
                }
                _ => {}
            }
        }
        if changed {
            out.push(ThreadStreamEvent::item_replaced(workflow.clone()));
        }
    }

    /// An event a tool or hook queued. An item from elsewhere ends the active workflow
    /// first (client tool calls and hidden context do not). A queued snapshot of a
    /// workflow a tool has since updated or ended must not replace the live state or
    /// revive it.
    pub(super) fn queued(&mut self, event: ThreadStreamEvent, out: &mut Vec<ThreadStreamEvent>) {
        if let ThreadStreamEvent::ThreadItemAdded { item }
        | ThreadStreamEvent::ThreadItemDone { item } = &event
        {
            let item: &ThreadItem = item;
            if !matches!(
                item,
                ThreadItem::ClientToolCall(_) | ThreadItem::HiddenContext(_)
            ) {
                self.end_workflow_unless(Some(item.id()), out);
            }
            match (&event, item) {
                (ThreadStreamEvent::ThreadItemAdded { .. }, ThreadItem::Workflow(workflow)) => {
                    self.ctx.adopt_streamed_workflow(workflow);
                }
                (ThreadStreamEvent::ThreadItemDone { .. }, ThreadItem::Workflow(workflow)) => {
                    self.ctx.workflow_done_streamed(&workflow.id);
                }
                _ => {}
            }
            self.produced.insert(item.id().to_owned());
        }
        out.push(event);
    }

    /// The model called a tool: remembered for a client tool call, and shown as progress
    /// if the converter says so.
    pub(super) fn tool_called(&mut self, call: &FunctionCall, out: &mut Vec<ThreadStreamEvent>) {
        self.tool_call = Some((call.call_id.clone(), call.id.clone()));
        if let Some(id) = &call.id {
            self.produced.insert(id.clone());
        }
        if let Some(text) = self.converter.tool_call_progress(call) {
            out.push(ThreadStreamEvent::progress(text));
        }
    }

    /// A model event that needs no waiting (text and reasoning deltas, most of a
    /// response's events), handled at once; any other is given back for
    /// [`model_event`](Self::model_event).
    pub(super) fn model_event_now(
        &mut self,
        event: ModelEvent,
        out: &mut Vec<ThreadStreamEvent>,
    ) -> Option<ModelEvent> {
        match event {
            ModelEvent::OutputTextDelta {
                item_id,
                content_index,
                delta,
                ..
            } => {
                let update = ThreadItemUpdate::AssistantMessageContentPartTextDelta {
                    content_index,
                    delta,
                };
                out.push(ThreadStreamEvent::item_updated(item_id, update));
            }
            ModelEvent::ReasoningSummaryTextDelta {
                item_id,
                summary_index,
                delta,
                ..
            } => self.reasoning_delta(&item_id, summary_index, delta, out),
            event => return Some(event),
        }
        None
    }

    /// A model event.
    pub(super) async fn model_event(
        &mut self,
        event: ModelEvent,
        out: &mut Vec<ThreadStreamEvent>,
    ) {
        let Some(event) = self.model_event_now(event, out) else {
            return;
        };
        match event {
            ModelEvent::OutputItemAdded { item, .. } => self.item_added(item, out).await,
            ModelEvent::OutputItemDone { item, .. } => self.item_done(item, out).await,
            ModelEvent::ReasoningSummaryTextDone {
                item_id,
                summary_index,
                text,
                ..
            } => self.reasoning_done(&item_id, summary_index, text, out),
            ModelEvent::ImageGenerationPartialImage {
                item_id,
                partial_image_index,
                partial_image_b64,
                ..
            } => {
                self.partial_image(item_id, partial_image_index, &partial_image_b64, out)
                    .await
            }
            event => self.message_content(event, out).await,
        }
    }

    /// Content parts, text deltas and annotations of an assistant message.
    async fn message_content(&mut self, event: ModelEvent, out: &mut Vec<ThreadStreamEvent>) {
        let (item_id, update) = match event {
            ModelEvent::ContentPartAdded {
                item_id,
                content_index,
                part,
                ..
            } if part.part_type() != "reasoning_text" => {
                let Some(content) = convert_part(&*self.converter, &part).await else {
                    return;
                };
                let update = ThreadItemUpdate::AssistantMessageContentPartAdded {
                    content_index,
                    content,
                };
                (item_id, update)
            }
            ModelEvent::OutputTextDone {
                item_id,
                content_index,
                text,
                ..
            } => {
                let update = ThreadItemUpdate::AssistantMessageContentPartDone {
                    content_index,
                    content: AssistantMessageContent::new(text),
                };
                (item_id, update)
            }
            ModelEvent::OutputTextAnnotationAdded {
                item_id,
                content_index,
                annotation,
                ..
            } => {
                let Some(annotation) = convert_annotation(&*self.converter, &annotation).await
                else {
                    return;
                };
                let counter = self
                    .annotation_counts
                    .entry((item_id.clone(), content_index))
                    .or_insert(0);
                let annotation_index = *counter;
                *counter += 1;
                let update =
                    ThreadItemUpdate::annotation_added(content_index, annotation_index, annotation);
                (item_id, update)
            }
            ModelEvent::Completed { response } | ModelEvent::Incomplete { response } => {
                self.count_usage(&response);
                return;
            }
            _ => return,
        };
        out.push(ThreadStreamEvent::item_updated(item_id, update));
    }

    /// A finished response's tokens, counted on the thread for the pipeline to save (and
    /// to count against the user's limit). A response without a model name is counted
    /// under `"unknown"`.
    fn count_usage(&self, response: &ResponseInfo) {
        if let Some(usage) = &response.usage {
            let model = response.model.as_deref().unwrap_or("unknown");
            self.ctx.thread().add_usage(model, token_usage(usage));
        }
    }

    async fn item_added(&mut self, item: OutputItem, out: &mut Vec<ThreadStreamEvent>) {
        match item {
            OutputItem::Reasoning(_) => {
                let workflow = self.ctx.with_workflow(|active| {
                    if active.is_some() {
                        return None;
                    }
                    let workflow = WorkflowItem {
                        id: self.ctx.generate_id(StoreItemType::Workflow),
                        thread_id: self.ctx.thread().id().to_owned(),
                        created_at: Timestamp::now(),
                        workflow: Workflow::new(WorkflowType::Reasoning),
                    };
                    *active = Some(workflow.clone());
                    Some(workflow)
                });
                if let Some(workflow) = workflow {
                    self.produced.insert(workflow.id.clone());
                    out.push(ThreadStreamEvent::item_added(workflow));
                }
            }
            OutputItem::Message(message) => {
                self.end_workflow_unless(None, out);
                self.produced.insert(message.id.clone());
                let item = self.message_item(&message.id, &message.content).await;
                out.push(ThreadStreamEvent::item_added(item));
            }
            OutputItem::ImageGeneration(_) => {
                let image = GeneratedImageItem {
                    id: self.ctx.generate_id(StoreItemType::Message),
                    thread_id: self.ctx.thread().id().to_owned(),
                    created_at: Timestamp::now(),
                    image: None,
                };
                self.generated_image = Some(image.clone());
                self.produced.insert(image.id.clone());
                out.push(ThreadStreamEvent::item_added(image));
            }
            OutputItem::Other(item) => self.hosted_tool(&item, out),
            _ => {}
        }
    }

    /// A hosted tool call as it starts or ends: its task (see [`Self::show_task`]).
    fn hosted_tool(&mut self, item: &serde_json::Value, out: &mut Vec<ThreadStreamEvent>) {
        let Some(id) = item["id"].as_str() else {
            return;
        };
        if let Some(task) = self.converter.hosted_tool_task(item) {
            self.show_task(id, task, out);
        }
    }

    /// A call of a tool from elsewhere (an MCP server) starts: its task, loading.
    pub(super) fn tool_started(
        &mut self,
        call: &FunctionCall,
        origin: &ToolOrigin,
        out: &mut Vec<ThreadStreamEvent>,
    ) {
        self.origins.insert(call.call_id.clone(), origin.clone());
        if let Some(task) = self.converter.tool_task(call, origin, None) {
            self.show_task(&call.call_id, task, out);
        }
    }

    /// A tool call failed: its output, next, shows as a failed task.
    pub(super) fn tool_failed(&mut self, call: &FunctionCall) {
        self.failed_calls.insert(call.call_id.clone());
    }

    /// A tool's output: the task of a call from elsewhere completes with it; a failed
    /// call (from elsewhere or not) shows as a failed task.
    pub(super) fn tool_output(
        &mut self,
        call: &FunctionCall,
        output: &str,
        out: &mut Vec<ThreadStreamEvent>,
    ) {
        let origin = self.origins.remove(&call.call_id);
        let task = if self.failed_calls.remove(&call.call_id) {
            self.converter
                .failed_tool_task(call, origin.as_ref(), output)
        } else {
            origin.and_then(|origin| self.converter.tool_task(call, &origin, Some(output)))
        };
        if let Some(task) = task {
            self.show_task(&call.call_id, task, out);
        }
    }

    /// `task` (of the call `key`) in the active workflow, one being started if none
    /// is: added the first time, updated after.
    fn show_task(&mut self, key: &str, task: Task, out: &mut Vec<ThreadStreamEvent>) {
        let known = self.tool_tasks.get(key).copied();
        let (started, update, index) = self.ctx.with_workflow(|active| {
            let started = match active {
                Some(_) => None,
                None => {
                    let workflow = WorkflowItem {
                        id: self.ctx.generate_id(StoreItemType::Workflow),
                        thread_id: self.ctx.thread().id().to_owned(),
                        created_at: Timestamp::now(),
                        workflow: Workflow::new(WorkflowType::Custom),
                    };
                    *active = Some(workflow.clone());
                    Some(workflow)
                }
            };
            let Some(workflow) = active.as_mut() else {
                return (started, None, None);
            };
            let tasks = &mut workflow.workflow.tasks;
            let (update, index) = match known.filter(|&index| index < tasks.len()) {
                Some(index) => {
                    tasks[index] = task.clone();
                    (ThreadItemUpdate::task_updated(index, task), index)
                }
                None => {
                    tasks.push(task.clone());
                    (
                        ThreadItemUpdate::task_added(tasks.len() - 1, task),
                        tasks.len() - 1,
                    )
                }
            };
            let event = ThreadStreamEvent::item_updated(&workflow.id, update);
            (started, Some(event), Some(index))
        });
        if let Some(workflow) = started {
            self.produced.insert(workflow.id.clone());
            out.push(ThreadStreamEvent::item_added(workflow));
        }
        if let Some(index) = index {
            self.tool_tasks.insert(key.to_owned(), index);
        }
        out.extend(update);
    }

    async fn item_done(&mut self, item: OutputItem, out: &mut Vec<ThreadStreamEvent>) {
        match item {
            OutputItem::Message(message) => {
                self.produced.insert(message.id.clone());
                let item = self.message_item(&message.id, &message.content).await;
                self.cite_sources(&item, out);
                out.push(ThreadStreamEvent::item_done(item));
            }
            OutputItem::ImageGeneration(image) => {
                let Some(result) = image.result.as_deref() else {
                    return;
                };
                if let Some(mut image_item) = self.generated_image.take() {
                    let url = self
                        .converter
                        .base64_image_to_url(&image.id, result, None)
                        .await;
                    image_item.image = Some(GeneratedImage { id: image.id, url });
                    out.push(ThreadStreamEvent::item_done(image_item));
                }
            }
            OutputItem::Other(item) => self.hosted_tool(&item, out),
            _ => {}
        }
    }

    async fn partial_image(
        &mut self,
        item_id: String,
        index: u32,
        base64: &str,
        out: &mut Vec<ThreadStreamEvent>,
    ) {
        let Some(image_item) = self.generated_image.as_mut() else {
            return;
        };
        let url = self
            .converter
            .base64_image_to_url(&item_id, base64, Some(index))
            .await;
        let progress = self.converter.partial_image_index_to_progress(index);
        let image = GeneratedImage { id: item_id, url };
        image_item.image = Some(image.clone());
        out.push(ThreadStreamEvent::item_updated(
            &image_item.id,
            ThreadItemUpdate::GeneratedImageUpdated {
                image,
                progress: Some(progress),
            },
        ));
    }

    /// A reasoning summary delta: the first starts a thought in a reasoning workflow
    /// that has none; later ones of the same summary extend it.
    fn reasoning_delta(
        &mut self,
        item_id: &str,
        summary_index: usize,
        delta: String,
        out: &mut Vec<ThreadStreamEvent>,
    ) {
        let thought = &mut self.thought;
        let event = self.ctx.with_workflow(|active| {
            let workflow = active.as_mut()?;
            let tasks = &mut workflow.workflow.tasks;
            let update =
                if workflow.workflow.workflow_type == WorkflowType::Reasoning && tasks.is_empty() {
                    let task = thought_task(delta);
                    tasks.push(task.clone());
                    *thought = Some(Thought {
                        item_id: item_id.to_owned(),
                        summary_index,
                        task_index: 0,
                    });
                    ThreadItemUpdate::task_added(0, task)
                } else {
                    let index = tracked_thought(thought, item_id, summary_index, tasks.len())?;
                    if let Task::Thought(thought) = &mut tasks[index] {
                        thought.content.push_str(&delta);
                    }
                    ThreadItemUpdate::task_updated(index, tasks[index].clone())
                };
            Some(ThreadStreamEvent::item_updated(&workflow.id, update))
        });
        out.extend(event);
    }

    /// A reasoning summary's final text: it replaces the thought streamed for it, or
    /// becomes a new thought.
    fn reasoning_done(
        &mut self,
        item_id: &str,
        summary_index: usize,
        text: String,
        out: &mut Vec<ThreadStreamEvent>,
    ) {
        let thought = &mut self.thought;
        let event = self.ctx.with_workflow(|active| {
            let workflow = active.as_mut()?;
            let tasks = &mut workflow.workflow.tasks;
            let update = match tracked_thought(thought, item_id, summary_index, tasks.len()) {
                Some(index) => {
                    *thought = None;
                    if let Task::Thought(thought) = &mut tasks[index] {
                        thought.content = text;
                    }
                    ThreadItemUpdate::task_updated(index, tasks[index].clone())
                }
                None => {
                    let task = thought_task(text);
                    tasks.push(task.clone());
                    ThreadItemUpdate::task_added(tasks.len() - 1, task)
                }
            };
            Some(ThreadStreamEvent::item_updated(&workflow.id, update))
        });
        out.extend(event);
    }

    async fn message_item(&self, id: &str, parts: &[ContentPart]) -> AssistantMessageItem {
        let mut content = Vec::with_capacity(parts.len());
        for part in parts {
            if let Some(part) = convert_part(&*self.converter, part).await {
                content.push(part);
            }
        }
        AssistantMessageItem {
            id: id.to_owned(),
            thread_id: self.ctx.thread().id().to_owned(),
            created_at: Timestamp::now(),
            content,
        }
    }

    /// The pending `client_tool_call` item a tool asked for, if any: sent last.
    pub(super) fn client_tool_call(&self) -> Option<ThreadStreamEvent> {
        let call = self.ctx.take_client_tool_call()?;
        let (call_id, item_id) = self.tool_call.clone().unzip();
        let id = item_id
            .flatten()
            .unwrap_or_else(|| self.ctx.generate_id(StoreItemType::ToolCall));
        let call_id = call_id.unwrap_or_else(|| self.ctx.generate_id(StoreItemType::ToolCall));
        Some(ThreadStreamEvent::item_done(ClientToolCallItem {
            id,
            thread_id: self.ctx.thread().id().to_owned(),
            created_at: Timestamp::now(),
            status: ClientToolCallStatus::Pending,
            call_id,
            name: call.name,
            arguments: call.arguments,
            output: None,
        }))
    }
}

/// The task index of the thought streaming summary `summary_index` of `item_id`, if
/// the workflow (with `tasks` tasks) still has it.
fn tracked_thought(
    thought: &Option<Thought>,
    item_id: &str,
    summary_index: usize,
    tasks: usize,
) -> Option<usize> {
    thought
        .as_ref()
        .filter(|t| t.item_id == item_id && t.summary_index == summary_index)
        .map(|t| t.task_index)
        .filter(|&index| index < tasks)
}

fn thought_task(content: String) -> Task {
    Task::Thought(ThoughtTask {
        content,
        ..Default::default()
    })
}

/// A response's usage as stores keep it: one request.
pub(in crate::agents::chatkit) fn token_usage(usage: &Usage) -> TokenUsage {
    TokenUsage {
        requests: 1,
        input_tokens: usage.input_tokens,
        cached_input_tokens: usage.input_tokens_details.cached_tokens,
        output_tokens: usage.output_tokens,
        reasoning_tokens: usage.output_tokens_details.reasoning_tokens,
    }
}
