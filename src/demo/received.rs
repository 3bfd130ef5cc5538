//! What the offline model says about the files of a message: name, type and size, the
//! first line of a text file, the dimensions of an image. It reads the model input the
//! agent server built from the attachments (`input_image`, `input_file`, and text
//! parts), so the demo shows what a real model would have received.

use base64::Engine as _;
use serde_json::Value;

/// One line per attachment in `content` (the parts of a user message after its text),
/// or `None` when the message has none.
pub(super) fn describe(content: &[Value]) -> Option<String> {
    let mut lines = Vec::new();
    let mut image_name: Option<String> = None;
    for part in content.iter().skip(1) {
        let text = part["text"].as_str().unwrap_or_default();
        match part["type"].as_str() {
            Some("input_text") if text.starts_with("Image attached: ") => {
                image_name = text
                    .trim_start_matches("Image attached: ")
                    .rsplit_once(" (")
                    .map(|(name, _)| name.trim_matches('"').to_owned());
            }
            Some("input_text") if text.starts_with("<attachment ") => lines.push(text_file(text)),
            Some("input_text") if text.starts_with("[The user attached") => {
                lines.push(text.trim_matches(['[', ']']).to_owned());
            }
            Some("input_image") => {
                let name = image_name.take().unwrap_or_else(|| "an image".into());
                lines.push(image(&name, part["image_url"].as_str().unwrap_or_default()));
            }
            Some("input_file") => {
                let name = part["filename"].as_str().unwrap_or("a file");
                let (mime, bytes) = data_url(part["file_data"].as_str().unwrap_or_default());
                lines.push(format!("{name:?} ({mime}, {} bytes)", bytes.len()));
            }
            _ => {}
        }
    }
    (!lines.is_empty()).then(|| {
        let list: Vec<String> = lines.iter().map(|l| format!("- {l}")).collect();
        format!("I received {} file(s):\n{}", lines.len(), list.join("\n"))
    })
}

/// `<attachment name="notes.txt" type="text/plain">\n…\n</attachment>`.
fn text_file(text: &str) -> String {
    let (header, body) = text.split_once('\n').unwrap_or((text, ""));
    let body = body.strip_suffix("\n</attachment>").unwrap_or(body);
    let field = |key: &str| {
        header
            .split_once(&format!("{key}=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or("?", |(value, _)| value)
    };
    let first = body.lines().next().unwrap_or_default();
    format!(
        "\"{}\" ({}, {} bytes), first line: {first:?}",
        field("name"),
        field("type"),
        body.len()
    )
}

fn image(name: &str, url: &str) -> String {
    if !url.starts_with("data:") {
        return format!("{name:?} (at {url})");
    }
    let (mime, bytes) = data_url(url);
    match dimensions(&bytes) {
        Some((w, h)) => format!("{name:?} ({mime}, {} bytes, {w}×{h} pixels)", bytes.len()),
        None => format!("{name:?} ({mime}, {} bytes)", bytes.len()),
    }
}

/// `data:<mime>;base64,<bytes>`.
fn data_url(url: &str) -> (String, Vec<u8>) {
    let Some((head, data)) = url.strip_prefix("data:").and_then(|u| u.split_once(',')) else {
        return ("?".into(), Vec::new());
    };
    let mime = head.trim_end_matches(";base64").to_owned();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap_or_default();
    (mime, bytes)
}

/// Width and height of a PNG, GIF, JPEG or WebP image, from its header.
pub(super) fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let be16 = |at: usize| {
        Some(u32::from(u16::from_be_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let le16 = |at: usize| {
        Some(u32::from(u16::from_le_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let be32 = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let le24 = |at: usize| {
        let b = bytes.get(at..at + 3)?;
        Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
    };
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    if bytes.starts_with(b"GIF8") {
        return Some((le16(6)?, le16(8)?));
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return match bytes.get(12..16)? {
            b"VP8 " => Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF)),
            b"VP8L" => {
                let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
                Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
            }
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            _ => None,
        };
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        // Walk the JPEG segments to the first start-of-frame marker.
        let mut at = 2;
        while at + 9 < bytes.len() {
            if bytes[at] != 0xFF {
                return None;
            }
            let marker = bytes[at + 1];
            let length = be16(at + 2)? as usize;
            let start_of_frame =
                matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
            if start_of_frame {
                return Some((be16(at + 7)?, be16(at + 5)?));
            }
            at += 2 + length;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn image_headers_give_their_dimensions() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(dimensions(&png), Some((640, 480)));
        assert_eq!(dimensions(b"GIF89a\x10\x00\x20\x00"), Some((16, 32)));
        // SOI, an APP0 segment of 4 bytes, then SOF0 with height 2, width 3.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 2, 0, 3, 1, 0, 0,
        ];
        assert_eq!(dimensions(&jpeg), Some((3, 2)));
        assert_eq!(dimensions(b"not an image"), None);
        assert_eq!(dimensions(&[0xFF, 0xD8, 0xFF]), None);
    }

    #[test]
    fn the_files_of_a_message_are_listed() {
        let png = {
            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            png.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1]);
            base64::engine::general_purpose::STANDARD.encode(png)
        };
        let content = [
            json!({"type": "input_text", "text": "what are these?"}),
            json!({"type": "input_text", "text": "Image attached: \"dot.png\" (image/png)"}),
            json!({"type": "input_image", "image_url": format!("data:image/png;base64,{png}"), "detail": "auto"}),
            json!({"type": "input_text", "text": "<attachment name=\"notes.txt\" type=\"text/plain\">\nhello\nworld\n</attachment>"}),
            json!({"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}),
        ];
        let text = describe(&content).unwrap();
        assert!(
            text.contains("\"dot.png\" (image/png, 24 bytes, 2×1 pixels)"),
            "{text}"
        );
        assert!(
            text.contains("\"notes.txt\" (text/plain, 11 bytes), first line: \"hello\""),
            "{text}"
        );
        assert!(
            text.contains("\"a.pdf\" (application/pdf, 5 bytes)"),
            "{text}"
        );
        assert_eq!(describe(&content[..1]), None);
    }
}
