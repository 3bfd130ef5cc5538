//! Requests: the body of every `POST` to the ChatKit endpoint.

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::actions::Action;
use super::content::{InferenceOptions, UserMessageContent};
use super::json_text::{without_position, JsonText};
use super::lax;
use super::misc::FeedbackKind;
use super::objects_only::ObjectsOnly;
use super::structured_input::StructuredInputSubmission;

/// A parsed request: `{"type": <op>, "params": {...}, "metadata"?: {...}}`.
///
/// Parse one with [`ChatKitRequest::parse`], which says exactly what is wrong with a bad
/// body. Unknown keys are ignored, like the reference does; integers and booleans accept
/// the lax forms pydantic accepts (`"10"`, `10.0`, `"true"`).
///
/// ```
/// use chatkit_agents::types::{ChatKitRequest, RequestOp};
/// let req = ChatKitRequest::parse(br#"{"type":"threads.list","params":{"limit":5}}"#).unwrap();
/// assert!(!req.is_streaming());
/// assert!(matches!(req.op, RequestOp::ThreadsList(ref p) if p.limit == Some(5)));
///
/// let err = ChatKitRequest::parse(br#"{"type":"threads.delete","params":{}}"#).unwrap_err();
/// assert_eq!(err.to_string(), "threads.delete: params: missing field `thread_id`");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ChatKitRequest {
    /// Free-form request metadata (the server does not read it).
    pub metadata: Map<String, Value>,
    /// The operation and its parameters.
    pub op: RequestOp,
}

/// The operation of a request, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestOp {
    /// `threads.create` (streams).
    ThreadsCreate(ThreadCreateParams),
    /// `threads.add_user_message` (streams).
    ThreadsAddUserMessage(ThreadAddUserMessageParams),
    /// `threads.add_client_tool_output` (streams).
    ThreadsAddClientToolOutput(ThreadAddClientToolOutputParams),
    /// `threads.add_structured_input` (streams).
    ThreadsAddStructuredInput(ThreadAddStructuredInputParams),
    /// `threads.retry_after_item` (streams).
    ThreadsRetryAfterItem(ThreadRetryAfterItemParams),
    /// `threads.custom_action` (streams).
    ThreadsCustomAction(ThreadCustomActionParams),
    /// `threads.get_by_id`.
    ThreadsGetById(ThreadGetByIdParams),
    /// `threads.list`.
    ThreadsList(ThreadListParams),
    /// `items.list`.
    ItemsList(ItemsListParams),
    /// `items.feedback`.
    ItemsFeedback(ItemsFeedbackParams),
    /// `attachments.create`.
    AttachmentsCreate(AttachmentCreateParams),
    /// `attachments.delete`.
    AttachmentsDelete(AttachmentDeleteParams),
    /// `threads.update`.
    ThreadsUpdate(ThreadUpdateParams),
    /// `threads.delete`.
    ThreadsDelete(ThreadDeleteParams),
    /// `input.transcribe`.
    InputTranscribe(InputTranscribeParams),
    /// `threads.sync_custom_action` (the action of a widget with `streaming: false`).
    ThreadsSyncCustomAction(ThreadCustomActionParams),
}

/// Applies the same code to the params of every op (they are all `Serialize`).
macro_rules! on_params {
    ($op:expr, $p:ident => $e:expr) => {
        match $op {
            RequestOp::ThreadsCreate($p) => $e,
            RequestOp::ThreadsAddUserMessage($p) => $e,
            RequestOp::ThreadsAddClientToolOutput($p) => $e,
            RequestOp::ThreadsAddStructuredInput($p) => $e,
            RequestOp::ThreadsRetryAfterItem($p) => $e,
            RequestOp::ThreadsCustomAction($p) => $e,
            RequestOp::ThreadsGetById($p) => $e,
            RequestOp::ThreadsList($p) => $e,
            RequestOp::ItemsList($p) => $e,
            RequestOp::ItemsFeedback($p) => $e,
            RequestOp::AttachmentsCreate($p) => $e,
            RequestOp::AttachmentsDelete($p) => $e,
            RequestOp::ThreadsUpdate($p) => $e,
            RequestOp::ThreadsDelete($p) => $e,
            RequestOp::InputTranscribe($p) => $e,
            RequestOp::ThreadsSyncCustomAction($p) => $e,
        }
    };
}

impl RequestOp {
    /// Every request `type`, in the reference's union order.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "threads.create",
        "threads.add_user_message",
        "threads.add_client_tool_output",
        "threads.add_structured_input",
        "threads.retry_after_item",
        "threads.custom_action",
        "threads.get_by_id",
        "threads.list",
        "items.list",
        "items.feedback",
        "attachments.create",
        "attachments.delete",
        "threads.update",
        "threads.delete",
        "input.transcribe",
        "threads.sync_custom_action",
    ];

    /// The request `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            RequestOp::ThreadsCreate(_) => "threads.create",
            RequestOp::ThreadsAddUserMessage(_) => "threads.add_user_message",
            RequestOp::ThreadsAddClientToolOutput(_) => "threads.add_client_tool_output",
            RequestOp::ThreadsAddStructuredInput(_) => "threads.add_structured_input",
            RequestOp::ThreadsRetryAfterItem(_) => "threads.retry_after_item",
            RequestOp::ThreadsCustomAction(_) => "threads.custom_action",
            RequestOp::ThreadsGetById(_) => "threads.get_by_id",
            RequestOp::ThreadsList(_) => "threads.list",
            RequestOp::ItemsList(_) => "items.list",
            RequestOp::ItemsFeedback(_) => "items.feedback",
            RequestOp::AttachmentsCreate(_) => "attachments.create",
            RequestOp::AttachmentsDelete(_) => "attachments.delete",
            RequestOp::ThreadsUpdate(_) => "threads.update",
            RequestOp::ThreadsDelete(_) => "threads.delete",
            RequestOp::InputTranscribe(_) => "input.transcribe",
            RequestOp::ThreadsSyncCustomAction(_) => "threads.sync_custom_action",
        }
    }

    /// The thread the request is about, when its params name one (every op but
    /// `threads.create`, `threads.list`, the attachment ops and `input.transcribe`).
    pub fn thread_id(&self) -> Option<&str> {
        Some(match self {
            RequestOp::ThreadsAddUserMessage(p) => &p.thread_id,
            RequestOp::ThreadsAddClientToolOutput(p) => &p.thread_id,
            RequestOp::ThreadsAddStructuredInput(p) => &p.thread_id,
            RequestOp::ThreadsRetryAfterItem(p) => &p.thread_id,
            RequestOp::ThreadsCustomAction(p) | RequestOp::ThreadsSyncCustomAction(p) => {
                &p.thread_id
            }
            RequestOp::ThreadsGetById(p) => &p.thread_id,
            RequestOp::ItemsList(p) => &p.thread_id,
            RequestOp::ItemsFeedback(p) => &p.thread_id,
            RequestOp::ThreadsUpdate(p) => &p.thread_id,
            RequestOp::ThreadsDelete(p) => &p.thread_id,
            RequestOp::ThreadsCreate(_)
            | RequestOp::ThreadsList(_)
            | RequestOp::AttachmentsCreate(_)
            | RequestOp::AttachmentsDelete(_)
            | RequestOp::InputTranscribe(_) => return None,
        })
    }

    /// Whether the reply is an SSE stream (six ops) rather than one JSON document.
    pub fn is_streaming(&self) -> bool {
        matches!(
            self,
            RequestOp::ThreadsCreate(_)
                | RequestOp::ThreadsAddUserMessage(_)
                | RequestOp::ThreadsAddClientToolOutput(_)
                | RequestOp::ThreadsAddStructuredInput(_)
                | RequestOp::ThreadsRetryAfterItem(_)
                | RequestOp::ThreadsCustomAction(_)
        )
    }

    /// Parses `params` (the JSON text of an object) for the op named `op`, straight
    /// into the op's types: no JSON tree of the whole body is built first.
    fn from_params(op: &str, params: &RawValue) -> Result<Self, RequestParseError> {
        fn p<T: DeserializeOwned>(op: &str, params: &RawValue) -> Result<T, RequestParseError> {
            let invalid = |path: String, message: String| RequestParseError::InvalidParams {
                op: op.to_owned(),
                path: if path == "." {
                    "params".to_owned()
                } else {
                    format!("params.{path}")
                },
                message,
            };
            let mut text = serde_json::Deserializer::from_str(params.get());
            // Objects only: serde would take a list of field values for a struct.
            let error = match serde_path_to_error::deserialize(ObjectsOnly(&mut text)) {
                Ok(params) => return Ok(params),
                Err(error) => error,
            };
            let path = error.path().to_string();
            let message = without_position(error.into_inner());
            if !message.starts_with("duplicate field") {
                return Err(invalid(path, message));
            }
            // A key given twice: the last one wins, as in the reference (and any JSON
            // object parser). The params are read again through a tree, which
            // collapses repeated keys; that costs many times the text, so only small
            // params get it.
            if params.get().len() > MAX_DUPLICATE_KEY_PARAMS_BYTES {
                return Err(invalid(path, format!("{message} (a key may appear twice only in params under {MAX_DUPLICATE_KEY_PARAMS_BYTES} bytes)")));
            }
            let tree: Value = serde_json::from_str(params.get())
                .map_err(|e| invalid(".".to_owned(), without_position(e)))?;
            serde_path_to_error::deserialize(ObjectsOnly(&tree))
                .map_err(|e| invalid(e.path().to_string(), e.into_inner().to_string()))
        }
        Ok(match op {
            "threads.create" => RequestOp::ThreadsCreate(p(op, params)?),
            "threads.add_user_message" => RequestOp::ThreadsAddUserMessage(p(op, params)?),
            "threads.add_client_tool_output" => {
                RequestOp::ThreadsAddClientToolOutput(p(op, params)?)
            }
            "threads.add_structured_input" => RequestOp::ThreadsAddStructuredInput(p(op, params)?),
            "threads.retry_after_item" => RequestOp::ThreadsRetryAfterItem(p(op, params)?),
            "threads.custom_action" => RequestOp::ThreadsCustomAction(p(op, params)?),
            "threads.get_by_id" => RequestOp::ThreadsGetById(p(op, params)?),
            "threads.list" => RequestOp::ThreadsList(p(op, params)?),
            "items.list" => RequestOp::ItemsList(p(op, params)?),
            "items.feedback" => RequestOp::ItemsFeedback(p(op, params)?),
            "attachments.create" => RequestOp::AttachmentsCreate(p(op, params)?),
            "attachments.delete" => RequestOp::AttachmentsDelete(p(op, params)?),
            "threads.update" => RequestOp::ThreadsUpdate(p(op, params)?),
            "threads.delete" => RequestOp::ThreadsDelete(p(op, params)?),
            "input.transcribe" => RequestOp::InputTranscribe(p(op, params)?),
            "threads.sync_custom_action" => RequestOp::ThreadsSyncCustomAction(p(op, params)?),
            other => {
                return Err(RequestParseError::UnknownType {
                    found: other.to_owned(),
                });
            }
        })
    }
}

/// Why a request body was rejected. Each message says what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestParseError {
    /// The body is not one JSON value.
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body is JSON but not an object.
    #[error("request body must be a JSON object, got {found}")]
    NotAnObject {
        /// What it was (`array`, `string`, `null`, ...).
        found: &'static str,
    },
    /// No `type` key.
    #[error("request has no \"type\"; expected one of: {}", RequestOp::TYPE_NAMES.join(", "))]
    MissingType,
    /// `type` is not a known op.
    #[error("unknown request type {found}; expected one of: {}", RequestOp::TYPE_NAMES.join(", "))]
    UnknownType {
        /// The `type` as sent (JSON-encoded if it was not a string).
        found: String,
    },
    /// No `params` key, or it is not an object.
    #[error("{op}: \"params\" must be an object, got {found}")]
    InvalidParamsObject {
        /// The request type.
        op: String,
        /// What it was (`missing`, `null`, ...).
        found: &'static str,
    },
    /// `metadata` is larger than [`MAX_METADATA_BYTES`].
    #[error("{op}: \"metadata\" is {bytes} bytes of JSON; at most {max} are accepted", max = MAX_METADATA_BYTES)]
    MetadataTooLarge {
        /// The request type.
        op: String,
        /// Its size.
        bytes: usize,
    },
    /// `metadata` is present but not an object.
    #[error("{op}: \"metadata\" must be an object, got {found}")]
    InvalidMetadata {
        /// The request type.
        op: String,
        /// What it was.
        found: &'static str,
    },
    /// A parameter is missing or has the wrong shape.
    #[error("{op}: {path}: {message}")]
    InvalidParams {
        /// The request type.
        op: String,
        /// Where the problem is, e.g. `params.input.attachments[0]`.
        path: String,
        /// What was wrong.
        message: String,
    },
}

impl ChatKitRequest {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Self, RequestParseError> {
        // The body is read as text spans, not as a tree: a tree of small objects costs
        // some twenty times its text, so a body at the size limit would cost hundreds
        // of megabytes. Each part is parsed into its own type from its span.
        let body: &RawValue = serde_json::from_slice(body)
            .map_err(|e| RequestParseError::InvalidJson(e.to_string()))?;
        if raw_kind(body) != "an object" {
            return Err(RequestParseError::NotAnObject {
                found: raw_kind(body),
            });
        }
        // Valid JSON, an object: this cannot fail. A repeated key keeps its last value,
        // as a parsed tree would.
        let fields: IndexMap<String, &RawValue> = serde_json::from_str(body.get())
            .map_err(|e| RequestParseError::InvalidJson(e.to_string()))?;
        let op = match fields.get("type") {
            None => return Err(RequestParseError::MissingType),
            Some(raw) if raw_kind(raw) == "a string" => {
                serde_json::from_str::<String>(raw.get())
                    .map_err(|e| RequestParseError::InvalidJson(e.to_string()))?
            }
            Some(other) => {
                return Err(RequestParseError::UnknownType {
                    found: shown(other),
                })
            }
        };
        if !RequestOp::TYPE_NAMES.contains(&op.as_str()) {
            return Err(RequestParseError::UnknownType {
                found: format!("{op:?}"),
            });
        }
        let metadata = match fields.get("metadata") {
            None => Map::new(),
            Some(raw) if raw_kind(raw) == "an object" => {
                if raw.get().len() > MAX_METADATA_BYTES {
                    return Err(RequestParseError::MetadataTooLarge {
                        op,
                        bytes: raw.get().len(),
                    });
                }
                serde_json::from_str(raw.get())
                    .map_err(|e| RequestParseError::InvalidJson(e.to_string()))?
            }
            Some(other) => {
                return Err(RequestParseError::InvalidMetadata {
                    op,
                    found: raw_kind(other),
                })
            }
        };
        let params = match fields.get("params") {
            Some(params) if raw_kind(params) == "an object" => params,
            Some(other) => {
                return Err(RequestParseError::InvalidParamsObject {
                    op,
                    found: raw_kind(other),
                })
            }
            None => {
                return Err(RequestParseError::InvalidParamsObject {
                    op,
                    found: "missing",
                })
            }
        };
        let op = RequestOp::from_params(&op, params)?;
        Ok(ChatKitRequest { metadata, op })
    }

    /// Builds a request from an already parsed JSON value (written out and parsed as
    /// [`parse`](Self::parse) does, with the same errors).
    pub fn from_value(value: Value) -> Result<Self, RequestParseError> {
        let text = serde_json::to_vec(&value)
            .map_err(|e| RequestParseError::InvalidJson(e.to_string()))?;
        Self::parse(&text)
    }

    /// The request `type`.
    pub fn type_name(&self) -> &'static str {
        self.op.type_name()
    }

    /// Whether the reply is an SSE stream.
    pub fn is_streaming(&self) -> bool {
        self.op.is_streaming()
    }
}

impl From<RequestOp> for ChatKitRequest {
    fn from(op: RequestOp) -> Self {
        ChatKitRequest {
            metadata: Map::new(),
            op,
        }
    }
}

impl Serialize for ChatKitRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ChatKitRequest", 3)?;
        st.serialize_field("metadata", &self.metadata)?;
        st.serialize_field("type", self.op.type_name())?;
        on_params!(&self.op, p => st.serialize_field("params", p))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for ChatKitRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through `JsonText`, which reads any deserializer (a `Value` included).
        let text = JsonText::deserialize(d)?;
        ChatKitRequest::parse(text.as_str().as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// The largest params read again when a key appears twice (see `RequestOp::from_params`).
const MAX_DUPLICATE_KEY_PARAMS_BYTES: usize = 1024 * 1024;

/// The most request `metadata` kept, as JSON text: the server does not read it, and a
/// parsed tree costs many times its text.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// What kind of JSON value `raw` is (`an object`, `a string`, ...), from its first byte.
fn raw_kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A value for an error message: compact JSON, cut after 200 characters.
fn shown(raw: &RawValue) -> String {
    let text = match raw.get().len() {
        0..=4096 => serde_json::from_str::<Value>(raw.get())
            .map(|value| value.to_string())
            .unwrap_or_else(|_| raw.get().to_owned()),
        _ => raw.get().to_owned(),
    };
    crate::text::shorten(&text, 200)
}

/// A user message as sent by the composer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessageInput {
    /// Text and entity tags.
    pub content: Vec<UserMessageContent>,
    /// Ids of attachments created with `attachments.create` (required, may be empty).
    pub attachments: Vec<String>,
    /// Text the user quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_text: Option<String>,
    /// Composer choices (required, may be `{}`).
    pub inference_options: InferenceOptions,
}

/// Params of `threads.create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadCreateParams {
    /// The first message.
    pub input: UserMessageInput,
}

/// Params of `threads.add_user_message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadAddUserMessageParams {
    /// The message.
    pub input: UserMessageInput,
    /// The thread.
    pub thread_id: String,
}

/// Params of `threads.add_client_tool_output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadAddClientToolOutputParams {
    /// The thread.
    pub thread_id: String,
    /// The tool's result: any JSON, kept as its text. The key is required; `null` is
    /// allowed (and, unlike the reference, written back as `null` so the request parses
    /// again).
    pub result: JsonText,
}

/// Params of `threads.add_structured_input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadAddStructuredInputParams {
    /// The thread.
    pub thread_id: String,
    /// The structured-input item answered.
    pub item_id: String,
    /// The answers.
    pub input: StructuredInputSubmission,
}

/// Params of `threads.retry_after_item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRetryAfterItemParams {
    /// The thread.
    pub thread_id: String,
    /// The user message to answer again; everything after it is removed.
    pub item_id: String,
}

/// Params of `threads.custom_action` and `threads.sync_custom_action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadCustomActionParams {
    /// The thread.
    pub thread_id: String,
    /// The widget item whose control fired the action, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    /// The action.
    pub action: Action,
}

/// Params of `threads.get_by_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadGetByIdParams {
    /// The thread.
    pub thread_id: String,
}

string_enum! {
    /// Sort order of a listing.
    #[derive(Default)]
    pub enum SortOrder {
        /// Oldest first.
        Asc = "asc",
        /// Newest first (the default).
        #[default]
        Desc = "desc",
    }
}

/// Params of `threads.list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThreadListParams {
    /// Page size (`0` or absent: 20).
    #[serde(
        default,
        deserialize_with = "lax::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<u64>,
    /// Sort order.
    #[serde(default)]
    pub order: SortOrder,
    /// Cursor from the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Params of `items.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsListParams {
    /// The thread.
    pub thread_id: String,
    /// Page size (`0` or absent: 20).
    #[serde(
        default,
        deserialize_with = "lax::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<u64>,
    /// Sort order.
    #[serde(default)]
    pub order: SortOrder,
    /// Cursor from the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Params of `items.feedback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsFeedbackParams {
    /// The thread.
    pub thread_id: String,
    /// The items rated.
    pub item_ids: Vec<String>,
    /// Positive or negative.
    pub kind: FeedbackKind,
}

/// Params of `attachments.create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentCreateParams {
    /// File name.
    pub name: String,
    /// Size in bytes.
    #[serde(deserialize_with = "lax::u64")]
    pub size: u64,
    /// MIME type.
    pub mime_type: String,
}

/// Params of `attachments.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentDeleteParams {
    /// The attachment.
    pub attachment_id: String,
}

/// Params of `threads.update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadUpdateParams {
    /// The thread.
    pub thread_id: String,
    /// The new title.
    pub title: String,
}

/// Params of `threads.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadDeleteParams {
    /// The thread.
    pub thread_id: String,
}

/// Params of `input.transcribe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputTranscribeParams {
    /// The audio, base64 (standard alphabet).
    pub audio_base64: String,
    /// MIME type, e.g. `audio/webm;codecs=opus`.
    pub mime_type: String,
}
