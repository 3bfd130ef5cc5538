//! SSE framing: `data: <compact json>\n\n` per event.
//!
//! Text deltas are nearly every frame of a response, so they skip serde's generic
//! machinery: the frame is sized exactly before it is written (no reallocation, and the
//! buffer becomes the `Bytes` as it is), its constant parts are byte strings, and its
//! strings are copied as they are unless they need escaping, in which case `serde_json`
//! escapes them. The bytes are exactly those of serializing the event (the tests below
//! compare the two on hostile strings).

use bytes::Bytes;

use crate::types::{ThreadItemUpdate, ThreadStreamEvent};

const DATA: &[u8] = b"data: ";
const END: &[u8] = b"\n\n";

/// One SSE frame for `event`.
pub fn sse_frame(event: &ThreadStreamEvent) -> Bytes {
    if let Some(frame) = delta_frame(event) {
        return frame;
    }
    let mut frame = Vec::with_capacity(256);
    frame.extend_from_slice(DATA);
    // Writing protocol types into a Vec cannot fail: every map key is a string.
    if let Err(error) = serde_json::to_writer(&mut frame, event) {
        tracing::error!(%error, "could not serialize a stream event");
        return Bytes::new();
    }
    frame.extend_from_slice(END);
    Bytes::from(frame)
}

/// The frame of a text delta event, written as serde would, or `None` for any other
/// event.
fn delta_frame(event: &ThreadStreamEvent) -> Option<Bytes> {
    let ThreadStreamEvent::ThreadItemUpdated { item_id, update } = event else {
        return None;
    };
    let frame = match update {
        ThreadItemUpdate::AssistantMessageContentPartTextDelta {
            content_index,
            delta,
        } => {
            const UPDATE: &str = "assistant_message.content_part.text_delta";
            const INDEX: &[u8] = br#","content_index":"#;
            const DELTA: &[u8] = br#","delta":"#;
            let item_id = JsonString::new(item_id);
            let delta = JsonString::new(delta);
            let mut digits = itoa::Buffer::new();
            let index = digits.format(*content_index).as_bytes();
            let len = update_len(&item_id, UPDATE)
                + INDEX.len()
                + index.len()
                + DELTA.len()
                + delta.len
                + CLOSE.len();
            exactly(len, |out| {
                open_update(out, &item_id, UPDATE);
                out.extend_from_slice(INDEX);
                out.extend_from_slice(index);
                out.extend_from_slice(DELTA);
                delta.write(out);
                out.extend_from_slice(CLOSE);
            })
        }
        ThreadItemUpdate::WidgetStreamingTextValueDelta {
            component_id,
            delta,
            done,
        } => {
            const UPDATE: &str = "widget.streaming_text.value_delta";
            const COMPONENT: &[u8] = br#","component_id":"#;
            const DELTA: &[u8] = br#","delta":"#;
            let done: &[u8] = if *done {
                br#","done":true"#
            } else {
                br#","done":false"#
            };
            let item_id = JsonString::new(item_id);
            let component_id = JsonString::new(component_id);
            let delta = JsonString::new(delta);
            let len = update_len(&item_id, UPDATE)
                + COMPONENT.len()
                + component_id.len
                + DELTA.len()
                + delta.len
                + done.len()
                + CLOSE.len();
            exactly(len, |out| {
                open_update(out, &item_id, UPDATE);
                out.extend_from_slice(COMPONENT);
                component_id.write(out);
                out.extend_from_slice(DELTA);
                delta.write(out);
                out.extend_from_slice(done);
                out.extend_from_slice(CLOSE);
            })
        }
        _ => return None,
    };
    Some(frame)
}

/// Closes the update and the event.
const CLOSE: &[u8] = b"}}";
const OPEN_EVENT: &[u8] = br#"{"type":"thread.item.updated","item_id":"#;
const OPEN_UPDATE: &[u8] = br#","update":{"type":""#;

/// The length of what [`open_update`] writes.
fn update_len(item_id: &JsonString<'_>, update_type: &str) -> usize {
    OPEN_EVENT.len() + item_id.len + OPEN_UPDATE.len() + update_type.len() + 1
}

/// `{"type":"thread.item.updated","item_id":<id>,"update":{"type":"<update_type>"`: the
/// event and its update, left open for the update's fields.
fn open_update(out: &mut Vec<u8>, item_id: &JsonString<'_>, update_type: &str) {
    out.extend_from_slice(OPEN_EVENT);
    item_id.write(out);
    out.extend_from_slice(OPEN_UPDATE);
    // Update type names are plain ASCII: nothing to escape.
    out.extend_from_slice(update_type.as_bytes());
    out.push(b'"');
}

/// A frame of `len` bytes of JSON between `data: ` and the blank line. The buffer is
/// allocated at its final size, so it becomes the `Bytes` without another allocation.
fn exactly(len: usize, write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut frame = Vec::with_capacity(DATA.len() + len + END.len());
    frame.extend_from_slice(DATA);
    write(&mut frame);
    frame.extend_from_slice(END);
    debug_assert_eq!(frame.len(), frame.capacity(), "frame length miscounted");
    Bytes::from(frame)
}

/// A string and the length of its JSON form, quotes included, as `serde_json` writes it:
/// `"` and `\\` and the control characters with a short escape take two bytes, other
/// control characters six (`\u001f`), everything else (non-ASCII included) is copied.
struct JsonString<'a> {
    text: &'a str,
    len: usize,
}

impl<'a> JsonString<'a> {
    fn new(text: &'a str) -> Self {
        // Nearly every string needs no escape; this check runs over whole words.
        if !text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            return JsonString {
                text,
                len: text.len() + 2,
            };
        }
        let escapes: usize = text
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
                0..=0x1f => 5,
                _ => 0,
            })
            .sum();
        JsonString {
            text,
            len: text.len() + 2 + escapes,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        if self.len == self.text.len() + 2 {
            out.push(b'"');
            out.extend_from_slice(self.text.as_bytes());
            out.push(b'"');
        } else {
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(out, self.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via_serde(event: &ThreadStreamEvent) -> Vec<u8> {
        let mut frame = b"data: ".to_vec();
        serde_json::to_writer(&mut frame, event).unwrap();
        frame.extend_from_slice(b"\n\n");
        frame
    }

    const HOSTILE: &[&str] = &[
        "",
        "lorem ip",
        "\"quoted\" \\ back\\slash /",
        "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}",
        "é ü 中文 🦀 \u{2028}\u{2029} \u{fffd}",
        "</script><script>alert(1)</script> &amp;",
        "data: fake\n\nframe",
    ];

    #[test]
    fn text_deltas_are_the_bytes_serde_writes() {
        for delta in HOSTILE {
            for item_id in ["msg_1", "id \"with\" quotes\n"] {
                for content_index in [0, 7, usize::MAX] {
                    let event = ThreadStreamEvent::item_updated(
                        item_id,
                        ThreadItemUpdate::AssistantMessageContentPartTextDelta {
                            content_index,
                            delta: (*delta).into(),
                        },
                    );
                    assert_eq!(sse_frame(&event), via_serde(&event), "{delta:?}");
                }
            }
        }
    }

    #[test]
    fn widget_value_deltas_are_the_bytes_serde_writes() {
        for delta in HOSTILE {
            for done in [false, true] {
                let event = ThreadStreamEvent::item_updated(
                    "msg_1",
                    ThreadItemUpdate::WidgetStreamingTextValueDelta {
                        component_id: format!("md{delta}"),
                        delta: (*delta).into(),
                        done,
                    },
                );
                assert_eq!(sse_frame(&event), via_serde(&event), "{delta:?}");
            }
        }
    }

    #[test]
    fn every_control_character_is_escaped_and_counted_as_serde_does() {
        // The frame is sized before it is written; a miscount trips the debug assertion.
        let every: String = (0u8..=0x7f).map(char::from).collect();
        for text in [every.as_str(), "\u{1}", "\"", "\\\\"] {
            let event = ThreadStreamEvent::item_updated(
                text,
                ThreadItemUpdate::WidgetStreamingTextValueDelta {
                    component_id: text.into(),
                    delta: text.into(),
                    done: true,
                },
            );
            assert_eq!(sse_frame(&event), via_serde(&event), "{text:?}");
        }
    }

    #[test]
    fn other_events_go_through_serde() {
        let event = ThreadStreamEvent::item_updated(
            "msg_1",
            ThreadItemUpdate::AssistantMessageContentPartDone {
                content_index: 0,
                content: crate::types::AssistantMessageContent::new("done"),
            },
        );
        assert_eq!(sse_frame(&event), via_serde(&event));
    }
}
