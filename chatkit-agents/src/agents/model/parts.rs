//! The parts of a message: [`ContentPart`]s and their [`ModelAnnotation`]s.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A content part of a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ContentPart {
    /// Text with citations.
    OutputText {
        /// Always `"output_text"`.
        #[serde(rename = "type")]
        part_type: OutputTextType,
        /// The text.
        text: String,
        /// Citations.
        annotations: Vec<ModelAnnotation>,
    },
    /// A refusal.
    Refusal {
        /// Always `"refusal"`.
        #[serde(rename = "type")]
        part_type: RefusalType,
        /// The refusal text.
        refusal: String,
    },
    /// Any other part (`reasoning_text`, ...), kept as sent.
    Other(Value),
}

literal_tag! {
    /// `"output_text"`.
    pub struct OutputTextType = "output_text";
}

literal_tag! {
    /// `"refusal"`.
    pub struct RefusalType = "refusal";
}

impl ContentPart {
    /// An `output_text` part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::OutputText {
            part_type: OutputTextType,
            text: text.into(),
            annotations: Vec::new(),
        }
    }

    /// A refusal part.
    pub fn refusal(refusal: impl Into<String>) -> Self {
        ContentPart::Refusal {
            part_type: RefusalType,
            refusal: refusal.into(),
        }
    }

    /// The part's `type`.
    pub fn part_type(&self) -> &str {
        match self {
            ContentPart::OutputText { .. } => "output_text",
            ContentPart::Refusal { .. } => "refusal",
            ContentPart::Other(v) => v.get("type").and_then(Value::as_str).unwrap_or_default(),
        }
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(match value.get("type").and_then(Value::as_str) {
            Some("output_text") => ContentPart::OutputText {
                part_type: OutputTextType,
                text: text("text"),
                annotations: value
                    .get("annotations")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|a| ModelAnnotation::deserialize(a).ok())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            Some("refusal") => ContentPart::Refusal {
                part_type: RefusalType,
                refusal: text("refusal"),
            },
            _ => ContentPart::Other(value),
        })
    }
}

/// A citation in model output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ModelAnnotation {
    /// A web page.
    #[serde(rename = "url_citation")]
    UrlCitation {
        /// The URL.
        #[serde(default)]
        url: String,
        /// Its title.
        #[serde(default)]
        title: String,
        /// Start of the cited text.
        #[serde(default)]
        start_index: usize,
        /// End of the cited text (where ChatKit puts the marker).
        #[serde(default)]
        end_index: usize,
    },
    /// A file.
    #[serde(rename = "file_citation")]
    FileCitation {
        /// The file id.
        #[serde(default)]
        file_id: String,
        /// The file name.
        #[serde(default)]
        filename: String,
        /// Position in the text.
        #[serde(default)]
        index: usize,
    },
    /// A file in a code container.
    #[serde(rename = "container_file_citation")]
    ContainerFileCitation {
        /// The container.
        #[serde(default)]
        container_id: String,
        /// The file id.
        #[serde(default)]
        file_id: String,
        /// The file name.
        #[serde(default)]
        filename: String,
        /// Start of the cited text.
        #[serde(default)]
        start_index: usize,
        /// End of the cited text.
        #[serde(default)]
        end_index: usize,
    },
    /// A file path (not shown by ChatKit).
    #[serde(rename = "file_path")]
    FilePath {
        /// The file id.
        #[serde(default)]
        file_id: String,
        /// Position in the text.
        #[serde(default)]
        index: usize,
    },
    /// Any other annotation (dropped by ChatKit).
    #[serde(other)]
    Other,
}
