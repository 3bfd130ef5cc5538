//! SSE framing: `data: <compact json>\n\n` per event.
//!
//! Text deltas are nearly every frame of a response, so they skip serde's generic
//! machinery: their constant parts are written as byte strings, and their strings and
//! numbers still go through `serde_json`, so the bytes are exactly those of serializing
//! the event (the tests below compare the two on hostile strings).

use bytes::Bytes;

use crate::types::{ThreadItemUpdate, ThreadStreamEvent};

/// One SSE frame for `event`.
pub fn sse_frame(event: &ThreadStreamEvent) -> Bytes {
    let mut frame = Vec::with_capacity(160);
    frame.extend_from_slice(b"data: ");
    if !write_delta(&mut frame, event) {
        // Writing protocol types into a Vec cannot fail: every map key is a string.
        if let Err(error) = serde_json::to_writer(&mut frame, event) {
            tracing::error!(%error, "could not serialize a stream event");
            return Bytes::new();
        }
    }
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

/// Writes a text delta event's JSON, as serde would, or returns false for any other
/// event.
fn write_delta(out: &mut Vec<u8>, event: &ThreadStreamEvent) -> bool {
    let ThreadStreamEvent::ThreadItemUpdated { item_id, update } = event else {
        return false;
    };
    match update {
        ThreadItemUpdate::AssistantMessageContentPartTextDelta {
            content_index,
            delta,
        } => {
            open_update(out, item_id, "assistant_message.content_part.text_delta");
            out.extend_from_slice(br#","content_index":"#);
            write_json(out, content_index);
            out.extend_from_slice(br#","delta":"#);
            write_json(out, delta);
        }
        ThreadItemUpdate::WidgetStreamingTextValueDelta {
            component_id,
            delta,
            done,
        } => {
            open_update(out, item_id, "widget.streaming_text.value_delta");
            out.extend_from_slice(br#","component_id":"#);
            write_json(out, component_id);
            out.extend_from_slice(br#","delta":"#);
            write_json(out, delta);
            out.extend_from_slice(if *done {
                br#","done":true"#
            } else {
                br#","done":false"#
            });
        }
        _ => return false,
    }
    out.extend_from_slice(b"}}");
    true
}

/// `{"type":"thread.item.updated","item_id":<id>,"update":{"type":"<update_type>"`: the
/// event and its update, left open for the update's fields.
fn open_update(out: &mut Vec<u8>, item_id: &str, update_type: &str) {
    out.extend_from_slice(br#"{"type":"thread.item.updated","item_id":"#);
    write_json(out, item_id);
    out.extend_from_slice(br#","update":{"type":""#);
    // Update type names are plain ASCII: nothing to escape.
    out.extend_from_slice(update_type.as_bytes());
    out.push(b'"');
}

/// A string or number, escaped by `serde_json` itself. Writing them into a `Vec`
/// cannot fail.
fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(out, value);
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
