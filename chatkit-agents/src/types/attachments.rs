//! Attachments, and the storage form that keeps their private `metadata`.

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

tagged_union! {
    /// A file or image the user attached. `type` is written after the base fields.
    ///
    /// `metadata` is server-private: it is kept in storage but never sent to clients.
    /// Plain serialization (`serde_json::to_string`, every event and response) leaves it
    /// out; [`to_storage_json`] / [`to_storage_value`] keep it, for stores.
    pub enum Attachment, tag after "metadata" {
        /// Any file.
        File(FileAttachment) = "file",
        /// An image, with a preview.
        Image(ImageAttachment) = "image",
    }
}

macro_rules! attachment_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// Attachment id (`atc_...`).
            pub id: String,
            /// File name.
            pub name: String,
            /// MIME type.
            pub mime_type: String,
            /// Where the client uploads the bytes (two-phase upload).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub upload_descriptor: Option<AttachmentUploadDescriptor>,
            /// The thread the attachment belongs to, once a message uses it.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub thread_id: Option<String>,
            /// Server-private data; never sent to clients.
            #[serde(default, skip_serializing_if = "skip_metadata")]
            pub metadata: Option<Map<String, Value>>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }
    };
}

attachment_struct! {
    /// A file attachment.
    FileAttachment {}
}

attachment_struct! {
    /// An image attachment.
    ImageAttachment {
        /// URL of the preview image.
        preview_url: String,
    }
}

/// Where and how the client uploads an attachment's bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentUploadDescriptor {
    /// Upload URL.
    pub url: String,
    /// HTTP method.
    pub method: UploadMethod,
    /// Headers to send with the upload.
    #[serde(default)]
    pub headers: indexmap::IndexMap<String, String>,
}

string_enum! {
    /// HTTP method of an attachment upload.
    pub enum UploadMethod {
        /// `POST`
        Post = "POST",
        /// `PUT`
        Put = "PUT",
    }
}

macro_rules! on_attachment {
    ($self:expr, $a:ident => $e:expr) => {
        match $self {
            Attachment::File($a) => $e,
            Attachment::Image($a) => $e,
        }
    };
}

impl Attachment {
    /// The attachment id.
    pub fn id(&self) -> &str {
        on_attachment!(self, a => &a.id)
    }
    /// The file name.
    pub fn name(&self) -> &str {
        on_attachment!(self, a => &a.name)
    }
    /// The MIME type.
    pub fn mime_type(&self) -> &str {
        on_attachment!(self, a => &a.mime_type)
    }
    /// The owning thread, if set.
    pub fn thread_id(&self) -> Option<&str> {
        on_attachment!(self, a => a.thread_id.as_deref())
    }
    /// Sets the owning thread.
    pub fn set_thread_id(&mut self, thread_id: impl Into<String>) {
        on_attachment!(self, a => a.thread_id = Some(thread_id.into()))
    }
    /// The server-private metadata.
    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        on_attachment!(self, a => a.metadata.as_ref())
    }
}

thread_local! {
    static KEEP_PRIVATE: Cell<bool> = const { Cell::new(false) };
}

/// True while a storage serialization runs on this thread.
fn skip_metadata(metadata: &Option<Map<String, Value>>) -> bool {
    metadata.is_none() || !KEEP_PRIVATE.with(Cell::get)
}

/// Runs `f` with server-private fields included; restores the previous mode even if `f`
/// panics. Serialization is synchronous, so a thread-local flag is exact.
fn with_private_fields<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            KEEP_PRIVATE.with(|k| k.set(self.0));
        }
    }
    let _restore = Restore(KEEP_PRIVATE.with(|k| k.replace(true)));
    f()
}

/// Serializes `value` for storage: like `serde_json::to_string`, but attachment
/// `metadata` is kept (at any depth, e.g. inside a user message's attachments).
///
/// ```
/// use chatkit_agents::types::{to_storage_json, Attachment};
/// let a: Attachment = serde_json::from_str(
///     r#"{"id":"atc_1","name":"a.txt","mime_type":"text/plain","type":"file","metadata":{"k":1}}"#,
/// ).unwrap();
/// assert!(!serde_json::to_string(&a).unwrap().contains("metadata"));
/// assert!(to_storage_json(&a).unwrap().contains(r#""metadata":{"k":1}"#));
/// ```
pub fn to_storage_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    with_private_fields(|| serde_json::to_string(value))
}

/// [`to_storage_json`] into a [`serde_json::Value`].
pub fn to_storage_value<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Value> {
    with_private_fields(|| serde_json::to_value(value))
}
