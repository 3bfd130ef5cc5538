//! Message content: user text and entity tags, assistant text with annotations, and the
//! sources annotations point at.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::icons::IconName;
use super::lax;

/// One part of a user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum UserMessageContent {
    /// Plain text.
    #[serde(rename = "input_text")]
    Text(UserMessageTextContent),
    /// An @-mention of an entity.
    #[serde(rename = "input_tag")]
    Tag(UserMessageTagContent),
}

/// Plain text typed by the user (`input_text`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessageTextContent {
    /// The text.
    pub text: String,
}

/// An entity tag (`input_tag`): an @-mention the user picked from the composer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessageTagContent {
    /// The entity id.
    pub id: String,
    /// The text shown for the tag.
    pub text: String,
    /// Free-form data about the entity (required, may be empty).
    pub data: Map<String, Value>,
    /// The group the entity was listed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Whether the tag is clickable in the transcript.
    #[serde(default, deserialize_with = "lax::bool")]
    pub interactive: bool,
}

impl UserMessageContent {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        UserMessageContent::Text(UserMessageTextContent { text: text.into() })
    }
}

literal_tag! {
    /// The `type` of an assistant content part: always `"output_text"`.
    pub struct OutputTextTag = "output_text";
}

literal_tag! {
    /// The `type` of an annotation: always `"annotation"`.
    pub struct AnnotationTag = "annotation";
}

/// One part of an assistant message (`output_text`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AssistantMessageContent {
    /// Citations attached to the text.
    #[serde(default)]
    pub annotations: Vec<Annotation>,
    /// The text.
    pub text: String,
    /// Always `"output_text"`.
    #[serde(rename = "type", default)]
    pub content_type: OutputTextTag,
}

impl AssistantMessageContent {
    /// A text part without annotations.
    pub fn new(text: impl Into<String>) -> Self {
        AssistantMessageContent {
            annotations: Vec::new(),
            text: text.into(),
            content_type: OutputTextTag,
        }
    }

    /// A text part with annotations.
    pub fn with_annotations(text: impl Into<String>, annotations: Vec<Annotation>) -> Self {
        AssistantMessageContent {
            annotations,
            text: text.into(),
            content_type: OutputTextTag,
        }
    }
}

/// A citation on assistant text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Always `"annotation"`.
    #[serde(rename = "type", default)]
    pub annotation_type: AnnotationTag,
    /// What is cited.
    pub source: Source,
    /// Character position of the footnote marker in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

impl Annotation {
    /// An annotation citing `source`, with an optional marker position.
    pub fn new(source: impl Into<Source>, index: Option<u64>) -> Self {
        Annotation {
            annotation_type: AnnotationTag,
            source: source.into(),
            index,
        }
    }
}

/// What an annotation cites, discriminated on `type`.
///
/// Each source struct carries its own `type` (after the base fields, where the
/// reference writes it), because tasks hold bare `UrlSource`/`FileSource` lists that
/// are still written with their `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Source {
    /// A file.
    #[serde(rename = "file")]
    File(FileSource),
    /// A web page.
    #[serde(rename = "url")]
    Url(UrlSource),
    /// An entity of your application.
    #[serde(rename = "entity")]
    Entity(EntitySource),
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Source::File(v) => v.serialize(s),
            Source::Url(v) => v.serialize(s),
            Source::Entity(v) => v.serialize(s),
        }
    }
}

impl From<FileSource> for Source {
    fn from(v: FileSource) -> Self {
        Source::File(v)
    }
}
impl From<UrlSource> for Source {
    fn from(v: UrlSource) -> Self {
        Source::Url(v)
    }
}
impl From<EntitySource> for Source {
    fn from(v: EntitySource) -> Self {
        Source::Entity(v)
    }
}

literal_tag! {
    /// The `type` of a [`FileSource`]: always `"file"`.
    pub struct FileSourceTag = "file";
}
literal_tag! {
    /// The `type` of a [`UrlSource`]: always `"url"`.
    pub struct UrlSourceTag = "url";
}
literal_tag! {
    /// The `type` of an [`EntitySource`]: always `"entity"`.
    pub struct EntitySourceTag = "entity";
}

/// A cited file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSource {
    /// Title shown for the source.
    pub title: String,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A free-form timestamp string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Group the source is listed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Always `"file"`.
    #[serde(rename = "type", default)]
    pub source_type: FileSourceTag,
    /// The file name.
    pub filename: String,
}

/// A cited web page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrlSource {
    /// Title shown for the source.
    pub title: String,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A free-form timestamp string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Group the source is listed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Always `"url"`.
    #[serde(rename = "type", default)]
    pub source_type: UrlSourceTag,
    /// The URL.
    pub url: String,
    /// Attribution text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
}

/// A cited entity of your application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitySource {
    /// Title shown for the source.
    pub title: String,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A free-form timestamp string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Group the source is listed under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Always `"entity"`.
    #[serde(rename = "type", default)]
    pub source_type: EntitySourceTag,
    /// The entity id.
    pub id: String,
    /// Icon shown with the entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<IconName>,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Label shown inline in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_label: Option<String>,
    /// Whether the entity is clickable.
    #[serde(default)]
    pub interactive: bool,
    /// Free-form data about the entity.
    #[serde(default)]
    pub data: Map<String, Value>,
    /// Deprecated and ignored by clients; kept so it round-trips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<EntityPreview>,
}

string_enum! {
    /// The deprecated `preview` mode of an entity source.
    pub enum EntityPreview {
        /// Load the preview lazily.
        Lazy = "lazy",
    }
}

impl UrlSource {
    /// A URL source with a title.
    pub fn new(title: impl Into<String>, url: impl Into<String>) -> Self {
        UrlSource {
            title: title.into(),
            description: None,
            timestamp: None,
            group: None,
            source_type: UrlSourceTag,
            url: url.into(),
            attribution: None,
        }
    }
}

impl FileSource {
    /// A file source with a title.
    pub fn new(title: impl Into<String>, filename: impl Into<String>) -> Self {
        FileSource {
            title: title.into(),
            description: None,
            timestamp: None,
            group: None,
            source_type: FileSourceTag,
            filename: filename.into(),
        }
    }
}

/// Options the user picked in the composer for this message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InferenceOptions {
    /// The tool the user asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// The model the user asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A composer tool choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolChoice {
    /// The tool's id, as configured in the client's composer.
    pub id: String,
}
