//! Workflows (a collapsible list of tasks) and tasks.

use serde::{Deserialize, Serialize};

use super::content::{FileSource, UrlSource};
use super::icons::IconName;

string_enum! {
    /// The kind of workflow.
    pub enum WorkflowType {
        /// A workflow your server drives.
        Custom = "custom",
        /// The model's reasoning, shown as thoughts.
        Reasoning = "reasoning",
    }
}

/// A list of tasks shown as one collapsible item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// The kind of workflow.
    #[serde(rename = "type")]
    pub workflow_type: WorkflowType,
    /// The tasks, in order.
    pub tasks: Vec<Task>,
    /// Shown when the workflow is collapsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<WorkflowSummary>,
    /// Whether the workflow starts expanded.
    #[serde(default)]
    pub expanded: bool,
}

impl Workflow {
    /// An empty, collapsed workflow.
    pub fn new(workflow_type: WorkflowType) -> Self {
        Workflow {
            workflow_type,
            tasks: Vec::new(),
            summary: None,
            expanded: false,
        }
    }
}

/// The collapsed view of a workflow. It has no `type`: an object with `title` is a
/// [`WorkflowSummary::Custom`], one with only `duration` a [`WorkflowSummary::Duration`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a workflow summary: {\"title\": ...} or {\"duration\": <seconds>}"
)]
pub enum WorkflowSummary {
    /// A title with an optional icon.
    Custom {
        /// The title.
        title: String,
        /// An icon.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        icon: Option<IconName>,
    },
    /// "Thought for N seconds".
    Duration {
        /// Seconds.
        duration: u64,
    },
}

string_enum! {
    /// The indicator shown beside a task.
    #[derive(Default)]
    pub enum TaskStatusIndicator {
        /// Nothing (the default).
        #[default]
        None = "none",
        /// A spinner.
        Loading = "loading",
        /// A check mark.
        Complete = "complete",
    }
}

tagged_union! {
    /// A task inside a workflow or a standalone task item. `type` is written after
    /// `status_indicator`.
    pub enum Task, tag after "status_indicator" {
        /// A task of your own.
        Custom(CustomTask) = "custom",
        /// A web search with its queries and sources.
        WebSearch(SearchTask) = "web_search",
        /// A thought (reasoning text).
        Thought(ThoughtTask) = "thought",
        /// Files that were consulted.
        File(FileTask) = "file",
        /// An image being made.
        Image(ImageTask) = "image",
    }
}

/// A task of your own.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CustomTask {
    /// The indicator.
    #[serde(default)]
    pub status_indicator: TaskStatusIndicator,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<IconName>,
    /// Body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A web search.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SearchTask {
    /// The indicator.
    #[serde(default)]
    pub status_indicator: TaskStatusIndicator,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The query shown in the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_query: Option<String>,
    /// Queries run.
    #[serde(default)]
    pub queries: Vec<String>,
    /// Pages found.
    #[serde(default)]
    pub sources: Vec<UrlSource>,
}

/// A thought.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ThoughtTask {
    /// The indicator.
    #[serde(default)]
    pub status_indicator: TaskStatusIndicator,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The thought's text.
    pub content: String,
}

/// Files consulted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FileTask {
    /// The indicator.
    #[serde(default)]
    pub status_indicator: TaskStatusIndicator,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The files.
    #[serde(default)]
    pub sources: Vec<FileSource>,
}

/// An image being made.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImageTask {
    /// The indicator.
    #[serde(default)]
    pub status_indicator: TaskStatusIndicator,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}
