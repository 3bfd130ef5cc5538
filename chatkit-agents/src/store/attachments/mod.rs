//! Attachments: the [`AttachmentStore`] trait (where the bytes live), the limits every
//! upload is held to ([`AttachmentLimits`]), and, with the feature `object-store`,
//! [`ObjectAttachmentStore`] on any `object_store` backend.
//!
//! The rules the server applies on top of any attachment store:
//! - an attachment belongs to the user who created it (its metadata is kept in the
//!   thread [`Store`](super::Store), scoped by [`StoreContext`](super::StoreContext));
//! - a message may use only attachments that are uploaded and not used yet: an
//!   attachment belongs to the one message that first used it (send a file twice and
//!   it is uploaded twice), so deleting a thread can delete its attachments' bytes
//!   without breaking another thread;
//! - `attachments.delete` deletes the owner's attachment, bytes and metadata (a message
//!   that used it keeps its name; the model is told the file is gone), and deleting a
//!   thread deletes the attachments its messages used.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;

use super::StoreError;
use crate::types::{default_generate_id, Attachment, AttachmentCreateParams, StoreItemType};

#[cfg(feature = "object-store")]
mod object;
mod sniff;
#[cfg(feature = "object-store")]
mod token;

#[cfg(feature = "object-store")]
pub use object::{ObjectAttachmentStore, ObjectAttachmentStoreBuilder};
pub(crate) use sniff::is_text;

#[cfg(feature = "object-store")]
/// Image types a browser shows inline: they get an `ImageAttachment` with a preview,
/// served as images; other types are files, served as downloads.
pub(crate) const INLINE_IMAGE_TYPES: [&str; 4] =
    ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Bytes arriving or leaving, a chunk at a time.
pub type ByteStream = BoxStream<'static, Result<Bytes, AttachmentError>>;

/// Why an attachment operation failed; [`status`](Self::status) is the HTTP status the
/// upload routes and the ChatKit endpoint answer with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// The file is larger than its type allows (413).
    #[error("the file is larger than the {limit} bytes allowed for {mime_type}")]
    TooLarge {
        /// The declared (or sniffed) MIME type.
        mime_type: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The type is not accepted (415).
    #[error("files of type {mime_type:?} are not accepted")]
    TypeNotAllowed {
        /// The declared MIME type.
        mime_type: String,
    },
    /// The bytes are not what the declared type says (415): a "PNG" that is HTML, say.
    #[error("the file's content is not {mime_type}")]
    ContentMismatch {
        /// The declared MIME type.
        mime_type: String,
    },
    /// The request is malformed: a broken multipart body, a file name with a path
    /// separator or a control character, a missing `file` field (400).
    #[error("{0}")]
    Invalid(String),
    /// An upload or preview URL whose signature does not verify, or that has expired
    /// (403).
    #[error("{0}")]
    Forbidden(String),
    /// The attachment's bytes were never uploaded (400 when a message uses it).
    #[error("attachment {id} has not been uploaded")]
    NotUploaded {
        /// The attachment id.
        id: String,
    },
    /// The attachment is already used by a message, or already uploaded (409).
    #[error("{0}")]
    Conflict(String),
    /// A message names more attachments than allowed (400).
    #[error("a message may carry at most {limit} attachments, this one has {count}")]
    TooMany {
        /// The limit ([`AttachmentLimits::max_per_message`]).
        limit: usize,
        /// How many the message named.
        count: usize,
    },
    /// The upload did not arrive in time (408).
    #[error("the upload did not complete within {0:?}")]
    TimedOut(Duration),
    /// This attachment store does not offer the operation (501).
    #[error("{0}")]
    Unsupported(String),
    /// The thread store failed, or has no such attachment (404 for a missing one, 500
    /// otherwise).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The storage backend failed (500).
    #[error("attachment storage failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AttachmentError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AttachmentError::TooLarge { .. } => 413,
            AttachmentError::TypeNotAllowed { .. } | AttachmentError::ContentMismatch { .. } => 415,
            AttachmentError::Invalid(_)
            | AttachmentError::NotUploaded { .. }
            | AttachmentError::TooMany { .. } => 400,
            AttachmentError::Forbidden(_) => 403,
            AttachmentError::Conflict(_) => 409,
            AttachmentError::TimedOut(_) => 408,
            AttachmentError::Unsupported(_) => 501,
            AttachmentError::Store(StoreError::NotFound { .. }) => 404,
            AttachmentError::Store(_) | AttachmentError::Backend(_) => 500,
        }
    }

    /// A short machine-readable name for error bodies (`too_large`, `type_not_allowed`…).
    pub fn code(&self) -> &'static str {
        match self {
            AttachmentError::TooLarge { .. } => "too_large",
            AttachmentError::TypeNotAllowed { .. } => "type_not_allowed",
            AttachmentError::ContentMismatch { .. } => "content_mismatch",
            AttachmentError::Invalid(_) => "invalid_upload",
            AttachmentError::Forbidden(_) => "forbidden",
            AttachmentError::NotUploaded { .. } => "not_uploaded",
            AttachmentError::Conflict(_) => "conflict",
            AttachmentError::TooMany { .. } => "too_many_attachments",
            AttachmentError::TimedOut(_) => "upload_timeout",
            AttachmentError::Unsupported(_) => "not_implemented",
            AttachmentError::Store(StoreError::NotFound { .. }) => "not_found",
            AttachmentError::Store(_) | AttachmentError::Backend(_) => "internal_error",
        }
    }

    /// A [`AttachmentError::Backend`] from any error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AttachmentError::Backend(error.into())
    }
}

/// An attachment's bytes, as read back.
pub struct AttachmentContent {
    /// The attachment's MIME type.
    pub mime_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The bytes.
    pub bytes: ByteStream,
}

impl std::fmt::Debug for AttachmentContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentContent")
            .field("mime_type", &self.mime_type)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl AttachmentContent {
    /// All the bytes in memory, refusing more than `max` (for handing a file to a model).
    pub async fn into_bytes(self, max: u64) -> Result<Bytes, AttachmentError> {
        let too_large = || AttachmentError::TooLarge {
            mime_type: self.mime_type.clone(),
            limit: max,
        };
        if self.size > max {
            return Err(too_large());
        }
        let mut bytes = self.bytes;
        let mut out = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        while let Some(chunk) = bytes.next().await {
            out.extend_from_slice(&chunk?);
            if out.len() as u64 > max {
                return Err(too_large());
            }
        }
        Ok(Bytes::from(out))
    }
}

/// A file posted to the direct upload route: its name and type as the client gave them
/// (metadata only: no storage path is ever made from them) and its bytes.
pub struct FileUpload {
    /// The file name.
    pub name: String,
    /// The declared MIME type.
    pub mime_type: String,
    /// The bytes, streamed from the request body.
    pub bytes: ByteStream,
}

impl std::fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileUpload")
            .field("name", &self.name)
            .field("mime_type", &self.mime_type)
            .finish_non_exhaustive()
    }
}

/// What uploads may be: types, sizes per type, how long an upload URL stays valid, and
/// how many attachments one message may carry.
///
/// The default accepts PNG, JPEG, GIF and WebP images (20 MiB, the Responses API's
/// image limit), PDF (32 MiB), and plain text, Markdown, CSV and JSON (4 MiB).
///
/// ```
/// use std::time::Duration;
/// use chatkit_agents::store::AttachmentLimits;
///
/// let limits = AttachmentLimits::default()
///     .allow("image/*", 5 << 20)          // every image type, up to 5 MiB
///     .allow("application/pdf", 50 << 20)
///     .upload_ttl(Duration::from_secs(300));
/// assert_eq!(limits.max_bytes("image/avif"), Some(5 << 20));
/// assert_eq!(limits.max_bytes("image/png"), Some(5 << 20));
/// assert_eq!(limits.max_bytes("application/zip"), None);
/// ```
#[derive(Debug, Clone)]
pub struct AttachmentLimits {
    /// `(pattern, max bytes)`: `type/subtype`, `type/*` or `*/*`.
    rules: Vec<(String, u64)>,
    upload_ttl: Duration,
    max_per_message: usize,
}

const MIB: u64 = 1 << 20;

impl Default for AttachmentLimits {
    fn default() -> Self {
        let rules = [
            ("image/png", 20 * MIB),
            ("image/jpeg", 20 * MIB),
            ("image/gif", 20 * MIB),
            ("image/webp", 20 * MIB),
            ("application/pdf", 32 * MIB),
            ("text/plain", 4 * MIB),
            ("text/markdown", 4 * MIB),
            ("text/csv", 4 * MIB),
            ("application/json", 4 * MIB),
        ];
        AttachmentLimits {
            rules: rules.iter().map(|(p, n)| ((*p).to_owned(), *n)).collect(),
            upload_ttl: Duration::from_secs(15 * 60),
            max_per_message: 10,
        }
    }
}

impl AttachmentLimits {
    /// Accepts nothing until [`allow`](Self::allow)ed.
    pub fn none() -> Self {
        AttachmentLimits {
            rules: Vec::new(),
            ..Self::default()
        }
    }

    /// Accepts `pattern` (`image/png`, `image/*` or `*/*`) up to `max_bytes`. A rule for
    /// a pattern replaces an earlier one; `image/*` also replaces the exact image rules
    /// it covers, so the newest rule for a type wins.
    pub fn allow(mut self, pattern: &str, max_bytes: u64) -> Self {
        let pattern = pattern.trim().to_ascii_lowercase();
        self.rules
            .retain(|(existing, _)| !pattern_matches(&pattern, existing) && *existing != pattern);
        self.rules.push((pattern, max_bytes));
        self
    }

    /// Removes the rule for `pattern` and the rules it covers (`image/*` removes
    /// `image/png`); a wider rule (`*/*`) still applies to those types.
    pub fn deny(mut self, pattern: &str) -> Self {
        let pattern = pattern.trim().to_ascii_lowercase();
        self.rules
            .retain(|(existing, _)| !pattern_matches(&pattern, existing) && *existing != pattern);
        self
    }

    /// How long an upload URL stays valid (default 15 minutes).
    pub fn upload_ttl(mut self, ttl: Duration) -> Self {
        self.upload_ttl = ttl;
        self
    }

    /// How many attachments one message may carry (default 10).
    pub fn max_per_message(mut self, count: usize) -> Self {
        self.max_per_message = count;
        self
    }

    /// The upload URL lifetime.
    pub fn ttl(&self) -> Duration {
        self.upload_ttl
    }

    /// The per-message limit.
    pub fn per_message(&self) -> usize {
        self.max_per_message
    }

    /// The largest size accepted for `mime_type`, `None` when the type is refused. The
    /// most specific rule wins (`image/png` over `image/*` over `*/*`).
    pub fn max_bytes(&self, mime_type: &str) -> Option<u64> {
        let mime = essence(mime_type);
        let mut best: Option<(u8, u64)> = None;
        for (pattern, max) in &self.rules {
            let rank = if *pattern == mime {
                3
            } else if pattern_matches(pattern, &mime) {
                if pattern == "*/*" {
                    1
                } else {
                    2
                }
            } else {
                continue;
            };
            if best.is_none_or(|(r, _)| rank > r) {
                best = Some((rank, *max));
            }
        }
        best.map(|(_, max)| max)
    }

    /// Checks a declared type and (when known) size; returns the type's limit.
    pub fn check(&self, mime_type: &str, size: Option<u64>) -> Result<u64, AttachmentError> {
        let mime = essence(mime_type);
        let limit = self
            .max_bytes(&mime)
            .ok_or_else(|| AttachmentError::TypeNotAllowed {
                mime_type: mime_type.to_owned(),
            })?;
        match size {
            Some(size) if size > limit => Err(AttachmentError::TooLarge {
                mime_type: mime,
                limit,
            }),
            _ => Ok(limit),
        }
    }
}

/// Whether `pattern` (`type/*` or `*/*`) covers `mime` (a pattern covers itself only
/// when it is a wildcard).
fn pattern_matches(pattern: &str, mime: &str) -> bool {
    if pattern == "*/*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(kind) => mime.split('/').next() == Some(kind) && mime != pattern,
        None => false,
    }
}

/// `text/plain; charset=utf-8` → `text/plain`, lowercased.
pub(crate) fn essence(mime_type: &str) -> String {
    mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(feature = "object-store")]
/// Checks a client-given MIME type: `type/subtype` of token characters, at most 127.
pub(crate) fn valid_mime(mime_type: &str) -> Result<String, AttachmentError> {
    let mime = essence(mime_type);
    let token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match mime.split_once('/') {
        Some((kind, sub)) if mime.len() <= 127 && token(kind) && token(sub) => Ok(mime),
        _ => Err(AttachmentError::Invalid(format!(
            "{mime_type:?} is not a MIME type"
        ))),
    }
}

#[cfg(feature = "object-store")]
/// Checks a client-given file name: metadata only, but a name with a path separator,
/// a NUL or another control character is refused rather than stored (it is shown to
/// users and handed to models), as is an empty one or one over 255 bytes.
pub(crate) fn valid_name(name: &str) -> Result<(), AttachmentError> {
    let reason = if name.trim().is_empty() {
        "is empty"
    } else if name.len() > 255 {
        "is longer than 255 bytes"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else if name.contains(['/', '\\']) {
        "contains a path separator"
    } else if name == "." || name == ".." {
        "is a relative path"
    } else {
        return Ok(());
    };
    let shown: String = name.chars().take(64).collect();
    Err(AttachmentError::Invalid(format!(
        "file name {shown:?} {reason}"
    )))
}

#[cfg(feature = "object-store")]
/// Checks an attachment id from a URL: the ids stores make (`atc_…`: letters, digits,
/// `_` and `-`, at most 128), so that no id can name a path of its own.
pub(crate) fn valid_id(id: &str) -> Result<(), AttachmentError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(AttachmentError::Invalid(format!(
            "{:?} is not an attachment id",
            id.chars().take(64).collect::<String>()
        )))
    }
}

/// Where attachment bytes live. The server keeps attachment *metadata* in the thread
/// [`Store`](super::Store); this trait handles the bytes: issuing upload URLs
/// (`attachments.create`, the two-phase strategy), receiving direct uploads, checking
/// an upload before a message uses it, reading bytes back (for the model and for
/// previews), and deleting.
///
/// Only [`create_attachment`](Self::create_attachment) and
/// [`delete_attachment`](Self::delete_attachment) are required (as in the reference);
/// the rest default to "not supported" (501), which suits a store-only app that keeps
/// bytes elsewhere. `ObjectAttachmentStore` (feature `object-store`) implements all
/// of it.
#[async_trait]
pub trait AttachmentStore<C: Send + Sync>: Send + Sync {
    /// Creates an attachment and its upload descriptor (two-phase uploads). The server
    /// then saves its metadata with [`Store::save_attachment`](super::Store::save_attachment).
    async fn create_attachment(
        &self,
        input: &AttachmentCreateParams,
        ctx: &C,
    ) -> Result<Attachment, AttachmentError>;

    /// Deletes the attachment's bytes (its metadata is the server's to delete).
    async fn delete_attachment(&self, attachment_id: &str, ctx: &C) -> Result<(), AttachmentError>;

    /// A new attachment id (`atc_<8 hex>`).
    fn generate_attachment_id(&self, _mime_type: &str, _ctx: &C) -> String {
        default_generate_id(StoreItemType::Attachment)
    }

    /// The limits uploads are held to, and how many attachments a message may carry
    /// (the server checks the latter); `None` leaves both to you.
    fn limits(&self) -> Option<&AttachmentLimits> {
        None
    }

    /// Stores a file posted to the direct upload route and returns its attachment (the
    /// route then saves the metadata, and deletes the bytes if that fails).
    async fn upload_attachment(
        &self,
        _upload: FileUpload,
        _ctx: &C,
    ) -> Result<Attachment, AttachmentError> {
        Err(AttachmentError::Unsupported(
            "this attachment store takes no direct uploads".into(),
        ))
    }

    /// Receives the bytes of a two-phase upload sent to this server's own upload route
    /// (stores that hand out presigned object-storage URLs never see them). `token` is
    /// the route's proof of the upload descriptor; the request carries no user context.
    async fn receive_upload(
        &self,
        _attachment_id: &str,
        _token: &str,
        _bytes: ByteStream,
    ) -> Result<(), AttachmentError> {
        Err(AttachmentError::Unsupported(
            "this attachment store takes no uploads through the server".into(),
        ))
    }

    /// Checks, when a message uses `attachment`, that its bytes are there and are what
    /// its type says. The default trusts the metadata.
    async fn verify_upload(
        &self,
        _attachment: &Attachment,
        _ctx: &C,
    ) -> Result<(), AttachmentError> {
        Ok(())
    }

    /// The attachment's bytes (for the model).
    async fn read_attachment(
        &self,
        _attachment: &Attachment,
        _ctx: &C,
    ) -> Result<AttachmentContent, AttachmentError> {
        Err(AttachmentError::Unsupported(
            "this attachment store cannot read attachments back".into(),
        ))
    }

    /// An image's bytes for its `preview_url`, proven by `token` (browsers load previews
    /// without the endpoint's credentials).
    async fn read_preview(
        &self,
        _attachment_id: &str,
        _token: &str,
    ) -> Result<AttachmentContent, AttachmentError> {
        Err(AttachmentError::Unsupported(
            "this attachment store serves no previews".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_rule_wins_and_newer_wildcards_replace_what_they_cover() {
        let limits = AttachmentLimits::default();
        assert_eq!(limits.max_bytes("image/png"), Some(20 * MIB));
        assert_eq!(limits.max_bytes("Text/Plain; charset=utf-8"), Some(4 * MIB));
        assert_eq!(limits.max_bytes("application/zip"), None);
        let limits = limits.allow("*/*", MIB).allow("image/png", 2 * MIB);
        // `*/*` replaced every rule, then image/png came back with its own size.
        assert_eq!(limits.max_bytes("application/pdf"), Some(MIB));
        assert_eq!(limits.max_bytes("image/png"), Some(2 * MIB));
        let limits = limits.deny("image/*");
        assert_eq!(
            limits.max_bytes("image/png"),
            Some(MIB),
            "*/* still covers it"
        );
        assert!(matches!(
            AttachmentLimits::none().check("image/png", Some(1)),
            Err(AttachmentError::TypeNotAllowed { .. })
        ));
        assert!(matches!(
            AttachmentLimits::default().check("image/png", Some(21 * MIB)),
            Err(AttachmentError::TooLarge { limit, .. }) if limit == 20 * MIB
        ));
    }

    #[test]
    #[cfg(feature = "object-store")]
    fn hostile_names_types_and_ids_are_refused() {
        for name in ["../etc/passwd", "a\0b", "a\\b", "", " ", "..", "x\ny"] {
            assert!(valid_name(name).is_err(), "{name:?}");
        }
        assert!(valid_name(&"a".repeat(256)).is_err());
        valid_name("report (final).pdf").unwrap();
        valid_name("photo …é.png").unwrap();
        for mime in ["image", "image/", "/png", "image/png\r\nx: y", "a b/c"] {
            assert!(valid_mime(mime).is_err(), "{mime:?}");
        }
        assert_eq!(valid_mime("IMAGE/PNG; q=1").unwrap(), "image/png");
        for id in ["", "../x", "atc_1/2", "atc 1", "a\0"] {
            assert!(valid_id(id).is_err(), "{id:?}");
        }
        valid_id("atc_0123abcd").unwrap();
    }

    #[tokio::test]
    async fn content_is_read_whole_up_to_a_cap() {
        let content = |size| AttachmentContent {
            mime_type: "text/plain".into(),
            size,
            bytes: futures::stream::iter([
                Ok(Bytes::from_static(b"abc")),
                Ok(Bytes::from_static(b"def")),
            ])
            .boxed(),
        };
        assert_eq!(content(6).into_bytes(6).await.unwrap(), "abcdef");
        assert!(content(6).into_bytes(5).await.is_err());
        // A size that lies is caught while reading.
        assert!(content(1).into_bytes(4).await.is_err());
    }
}
