//! Does a file's first bytes match its declared type? The type comes from the client;
//! a "PNG" that is really HTML must not be stored as an image (its preview would be
//! served as one) nor handed to a model as one.

#[cfg(feature = "object-store")]
use super::AttachmentError;

#[cfg(feature = "object-store")]
/// How many leading bytes [`check_content`] looks at.
pub(crate) const SNIFF_LEN: usize = 512;

#[cfg(feature = "object-store")]
/// Checks `head` (the first [`SNIFF_LEN`] bytes, or all of a smaller file) against
/// `mime_type` (an essence: `image/png`). Images and PDF must carry their signature;
/// text types must be UTF-8 without NUL (a multi-byte character cut by the end of
/// `head` is fine); other types are the app's to allow and pass unchecked.
pub(crate) fn check_content(mime_type: &str, head: &[u8]) -> Result<(), AttachmentError> {
    let ok = match mime_type {
        "image/png" => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/gif" => head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a"),
        "image/webp" => head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP",
        "application/pdf" => head.starts_with(b"%PDF-"),
        mime if is_text(mime) => text_prefix(head),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(AttachmentError::ContentMismatch {
            mime_type: mime_type.to_owned(),
        })
    }
}

/// Types handed to models as text.
pub(crate) fn is_text(mime_type: &str) -> bool {
    mime_type.starts_with("text/")
        || matches!(
            mime_type,
            "application/json" | "application/xml" | "application/x-yaml" | "application/yaml"
        )
}

#[cfg(feature = "object-store")]
/// UTF-8 without NUL, allowing a character cut at the end.
fn text_prefix(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // `error_len() == None`: the input ended inside a character.
        Err(error) => error.error_len().is_none() && head.len() - error.valid_up_to() < 4,
    }
}

#[cfg(all(test, feature = "object-store"))]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_text_are_checked() {
        check_content("image/png", b"\x89PNG\r\n\x1a\n....").unwrap();
        assert!(check_content("image/png", b"<html><script>").is_err());
        check_content("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]).unwrap();
        check_content("image/gif", b"GIF89a..").unwrap();
        check_content("image/webp", b"RIFF\0\0\0\0WEBPVP8 ").unwrap();
        assert!(check_content("image/webp", b"RIFF\0\0\0\0WAVE").is_err());
        check_content("application/pdf", b"%PDF-1.7").unwrap();
        assert!(check_content("application/pdf", b"PK\x03\x04").is_err());
        check_content("text/plain", "héllo".as_bytes()).unwrap();
        // A character cut by the end of the sniffed prefix.
        check_content("text/plain", &"é".as_bytes()[..1]).unwrap();
        assert!(check_content("text/plain", b"a\0b").is_err());
        assert!(check_content("text/csv", &[0xFF, 0xFE, b'a', b'b']).is_err());
        check_content("application/zip", b"anything").unwrap();
    }
}
