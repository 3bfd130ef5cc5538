//! Attachments as model input, for [`AgentServer`](super::AgentServer) with an
//! attachment store: images become `input_image` parts, PDFs `input_file` parts, text
//! files `input_text`; a file the model cannot take becomes a note in the message
//! saying so, never a silent drop. The Responses and Chat Completions models both take
//! these parts (the latter as `image_url` and `file` parts).

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::store::{essence, is_text, AttachmentError, AttachmentStore};
use crate::types::Attachment;

/// How image bytes reach the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ImageDelivery {
    /// A `data:` URL with the bytes (works wherever the model runs; the default).
    #[default]
    DataUrl,
    /// The attachment's `preview_url`, which the model provider fetches itself: use it
    /// only when that URL is reachable from the provider (a public endpoint).
    PreviewUrl,
}

/// How [`AgentServer`](super::AgentServer) hands attachments to the model, with caps on
/// what is sent inline.
///
/// ```
/// use chatkit_agents::agents::chatkit::{AttachmentInput, ImageDelivery};
/// let input = AttachmentInput::default()
///     .max_image_bytes(5 << 20)
///     .image_detail("low")
///     .images(ImageDelivery::DataUrl);
/// # let _ = input;
/// ```
#[derive(Debug, Clone)]
pub struct AttachmentInput {
    images: ImageDelivery,
    image_detail: String,
    max_image_bytes: u64,
    max_file_bytes: u64,
    max_text_bytes: u64,
}

impl Default for AttachmentInput {
    /// Images as data URLs up to 20 MiB with `detail: "auto"`, PDFs up to 32 MiB (the
    /// Responses API's limits), text files up to 256 KiB inline.
    fn default() -> Self {
        AttachmentInput {
            images: ImageDelivery::DataUrl,
            image_detail: "auto".into(),
            max_image_bytes: 20 << 20,
            max_file_bytes: 32 << 20,
            max_text_bytes: 256 << 10,
        }
    }
}

impl AttachmentInput {
    /// How images reach the model.
    pub fn images(mut self, delivery: ImageDelivery) -> Self {
        self.images = delivery;
        self
    }

    /// The `detail` of image parts (`auto`, `low`, `high`).
    pub fn image_detail(mut self, detail: impl Into<String>) -> Self {
        self.image_detail = detail.into();
        self
    }

    /// The largest image sent inline.
    pub fn max_image_bytes(mut self, bytes: u64) -> Self {
        self.max_image_bytes = bytes;
        self
    }

    /// The largest PDF sent inline.
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// The largest text file sent as text.
    pub fn max_text_bytes(mut self, bytes: u64) -> Self {
        self.max_text_bytes = bytes;
        self
    }
}

/// Attachment parts for one request: the store, the request's context, the options.
pub(crate) struct AttachmentParts<C> {
    pub(crate) store: Arc<dyn AttachmentStore<C>>,
    pub(crate) context: C,
    pub(crate) input: AttachmentInput,
}

impl<C: Send + Sync> AttachmentParts<C> {
    /// The model input parts for `attachment` (an image comes after a line naming it,
    /// as an image part carries no name), or a note saying why there are none.
    pub(crate) async fn parts(&self, attachment: &Attachment) -> Vec<Value> {
        match self.try_part(attachment).await {
            Ok(part) if part["type"] == "input_image" => vec![
                json!({"type": "input_text", "text": format!("Image attached: {:?} ({})", attachment.name(), essence(attachment.mime_type()))}),
                part,
            ],
            Ok(part) => vec![part],
            Err(reason) => {
                tracing::warn!(attachment_id = attachment.id(), %reason, "attachment not given to the model");
                vec![note(attachment, &reason)]
            }
        }
    }

    async fn try_part(&self, attachment: &Attachment) -> Result<Value, String> {
        let mime = essence(attachment.mime_type());
        let name = attachment.name();
        let is_image = mime.starts_with("image/");
        if let (true, ImageDelivery::PreviewUrl, Attachment::Image(image)) =
            (is_image, self.input.images, attachment)
        {
            return Ok(
                json!({"type": "input_image", "image_url": image.preview_url, "detail": self.input.image_detail}),
            );
        }
        let max = if is_image {
            self.input.max_image_bytes
        } else if mime == "application/pdf" {
            self.input.max_file_bytes
        } else if is_text(&mime) {
            self.input.max_text_bytes
        } else {
            return Err(format!(
                "the model takes images, PDF and text files, not {mime}"
            ));
        };
        let bytes = self
            .store
            .read_attachment(attachment, &self.context)
            .await
            .map_err(|e| e.to_string())?
            .into_bytes(max)
            .await
            .map_err(|e| match e {
                AttachmentError::TooLarge { limit, .. } => {
                    format!("it is larger than the {limit} bytes sent to the model")
                }
                other => other.to_string(),
            })?;
        if is_text(&mime) {
            let text = String::from_utf8_lossy(&bytes);
            return Ok(json!({
                "type": "input_text",
                "text": format!("<attachment name={name:?} type={mime:?}>\n{text}\n</attachment>"),
            }));
        }
        let data = format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        );
        Ok(if is_image {
            json!({"type": "input_image", "image_url": data, "detail": self.input.image_detail})
        } else {
            json!({"type": "input_file", "filename": name, "file_data": data})
        })
    }
}

/// What the model reads instead of an attachment it cannot have.
pub(crate) fn note(attachment: &Attachment, reason: &str) -> Value {
    json!({
        "type": "input_text",
        "text": format!(
            "[The user attached {:?} ({}), but it could not be given to you: {reason}.]",
            attachment.name(),
            attachment.mime_type()
        ),
    })
}
