//! [`ResponseStreamConverter`]: the overridable part of the mapping (images to URLs,
//! image progress, citations to annotations, tool-call progress).

use async_trait::async_trait;

use crate::agents::chatkit::approval_card::{default_approval_card, ApprovalStatus};
use crate::text::shorten;

/// The most of a tool's output a task shows.
const MAX_TASK_CHARS: usize = 1000;
use crate::agents::model::{ContentPart, FunctionCall, ModelAnnotation};
use crate::agents::runner::ToolApproval;
use crate::agents::tool::ToolOrigin;
use crate::types::{
    Annotation, AssistantMessageContent, BuiltinIcon, CustomTask, FileSource, NoticeEvent,
    NoticeLevel, Task, TaskStatusIndicator, UrlSource,
};
use crate::widgets::WidgetRoot;

/// Overridable conversions used by [`stream_agent_response_with`](super::stream_agent_response_with) (the reference's
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

    /// The task showing a call of one of the provider's hosted tools (`item` is the
    /// output item as it starts, then as it ends), in the response's workflow. Default:
    /// [`default_hosted_tool_task`](super::default_hosted_tool_task). Return `None` for
    /// the kinds you do not want shown (`item["type"]`: `web_search_call`,
    /// `file_search_call`, `code_interpreter_call`, `mcp_call`).
    fn hosted_tool_task(&self, item: &serde_json::Value) -> Option<Task> {
        super::hosted::default_hosted_tool_task(item)
    }

    /// The task showing a call of a tool from elsewhere (an MCP server's; see
    /// [`Tool::origin`](crate::agents::Tool::origin)) as it starts (`output` is `None`)
    /// and once it has its output. Default: a task titled `"{source}: {title}"`, loading,
    /// then complete with the output (its first 1,000 characters). Return `None` to show
    /// nothing.
    fn tool_task(
        &self,
        _call: &FunctionCall,
        origin: &ToolOrigin,
        output: Option<&str>,
    ) -> Option<Task> {
        let title = origin.title.as_deref().unwrap_or("tool");
        Some(Task::Custom(CustomTask {
            status_indicator: match output {
                None => TaskStatusIndicator::Loading,
                Some(_) => TaskStatusIndicator::Complete,
            },
            title: Some(format!("{}: {title}", origin.source)),
            icon: None,
            content: output.map(|text| shorten(text, MAX_TASK_CHARS)),
        }))
    }

    /// The task showing a tool call that failed (its arguments did not parse, it
    /// returned an error, timed out or panicked; `origin` is where a tool from elsewhere
    /// comes from, `None` for the agent's own), replacing its loading task if it had one.
    /// `output` is the failure as the model reads it. ChatKit's tasks have no failed
    /// state, so the default says it with the title (`"{source}: {title} failed"`, or
    /// `"{tool} failed"`), the `info` icon, no status indicator (no check mark), and the
    /// output (its first 1,000 characters) as the body. Return `None` to show nothing.
    fn failed_tool_task(
        &self,
        call: &FunctionCall,
        origin: Option<&ToolOrigin>,
        output: &str,
    ) -> Option<Task> {
        let title = match origin {
            Some(origin) => format!(
                "{}: {} failed",
                origin.source,
                origin.title.as_deref().unwrap_or("tool")
            ),
            None => format!("{} failed", call.name),
        };
        Some(Task::Custom(CustomTask {
            status_indicator: TaskStatusIndicator::None,
            title: Some(title),
            icon: Some(BuiltinIcon::Info.into()),
            content: Some(shorten(output, MAX_TASK_CHARS)),
        }))
    }

    /// The notice shown when a source of the agent's tools that is not required (an MCP
    /// server) could not give them and the agent answers without them. Default: a
    /// warning that names the source (its configured name) and nothing of the failure.
    /// Return `None` to show nothing (the server log has the cause either way).
    fn tool_source_notice(&self, source: &str) -> Option<NoticeEvent> {
        Some(NoticeEvent {
            level: NoticeLevel::Warning,
            message: format!(
                "The tools of {source} are unavailable right now; the assistant answers without them."
            ),
            title: None,
        })
    }

    /// The card of a tool call waiting for approval, in `status` (pending, or as
    /// decided). Buttons of your own must send [`APPROVE_ACTION`](crate::agents::chatkit::APPROVE_ACTION)
    /// and [`REJECT_ACTION`](crate::agents::chatkit::REJECT_ACTION) with the payload
    /// `{"approval_id": approval.id}`. Default: [`default_approval_card`].
    fn approval_card(&self, approval: &ToolApproval, status: ApprovalStatus) -> WidgetRoot {
        default_approval_card(approval, status)
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

/// A message content part as ChatKit content (`None` for parts ChatKit does not show).
pub(super) async fn convert_part(
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

/// A model citation as a ChatKit annotation, through `converter`.
pub(super) async fn convert_annotation(
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
