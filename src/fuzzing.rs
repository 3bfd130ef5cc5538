//! The properties the fuzz targets (`fuzz/`, cargo-fuzz) and the randomized test
//! (`tests/fuzz_properties.rs`) check, one function per input kind. Each takes
//! arbitrary bytes, must never panic on its own, and panics (a finding) only when a
//! property fails:
//!
//! - [`request_parsing`]: a request body is rejected with an error or parsed; what is
//!   parsed serializes to JSON that parses to the same request.
//! - [`template_build`]: a `.widget` template and its data build, or fail with a typed
//!   error that is not a caught engine panic, within a small fuel budget; a widget
//!   built serializes and parses back to itself.
//! - [`widget_parsing`]: widget JSON is rejected or parsed, and round-trips.
//! - [`widget_diff`]: diffing two widgets does not panic; a widget diffed with itself
//!   gives no update; every streamed delta names a component that exists; widgets that
//!   keep their canonical text (built from JSON text, as templates are) serialize,
//!   compare and diff exactly as the same widgets parsed into trees.
//! - [`sse_framing`]: an event's SSE frame is `data: <json>\n\n` with exactly the bytes
//!   serde writes for it, on one line.
//!
//! Each returns whether the input got past parsing, so a run can check that it did
//! exercise the code behind it.

use chatkit_agents::server::sse_frame;
use chatkit_agents::types::{ChatKitRequest, ThreadItemUpdate, ThreadStreamEvent};
use chatkit_agents::widgets::{diff_widget, DiffError, TemplateError, WidgetRoot, WidgetTemplate};
use serde_json::{json, Value};

/// The fuel of a fuzzed template build: small, so hostile templates end quickly.
pub const FUZZ_FUEL: u64 = 200_000;

/// Request bodies: parse, and round-trip what parses.
pub fn request_parsing(data: &[u8]) -> bool {
    let Ok(request) = ChatKitRequest::parse(data) else {
        return false;
    };
    let written = serde_json::to_vec(&request).expect("a parsed request serializes");
    let again = ChatKitRequest::parse(&written)
        .unwrap_or_else(|e| panic!("a written request does not parse again: {e}"));
    assert_eq!(again, request, "a request changed in a round trip");
    true
}

/// Template source and data, split at the first NUL byte (the data is JSON, or none).
pub fn template_build(data: &[u8]) -> bool {
    let (source, data) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let source = String::from_utf8_lossy(source);
    let data: Value = serde_json::from_slice(data).unwrap_or_else(|_| json!({}));
    let Ok(template) =
        WidgetTemplate::new(json!({"version": "1.0", "name": "fuzz", "template": source}))
    else {
        return false;
    };
    let template = template.fuel(Some(FUZZ_FUEL)).max_output_bytes(1 << 20);
    match template.build(&data) {
        Ok(widget) => {
            let text = serde_json::to_string(&widget).expect("a widget serializes");
            // The canonical text is the tree's serialization.
            assert_eq!(
                text,
                serde_json::to_string(&widget.to_value()).expect("a tree serializes"),
                "a built widget's text is not its tree's"
            );
            let again: WidgetRoot = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("a built widget does not parse again: {e}: {text}"));
            assert_eq!(again, widget, "a built widget changed in a round trip");
            true
        }
        Err(TemplateError::Render { message, .. })
            if message.starts_with("the template engine failed") =>
        {
            panic!("the template engine panicked on {source:?}: {message}")
        }
        Err(_) => true,
    }
}

/// Widget JSON: parse, and round-trip what parses.
pub fn widget_parsing(data: &[u8]) -> bool {
    let Ok(widget) = serde_json::from_slice::<WidgetRoot>(data) else {
        return false;
    };
    let text = serde_json::to_string(&widget).expect("a widget serializes");
    let again: WidgetRoot = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a widget does not parse again: {e}: {text}"));
    assert_eq!(again, widget, "a widget changed in a round trip");
    true
}

/// Two widgets' JSON, split at the first NUL byte.
pub fn widget_diff(data: &[u8]) -> bool {
    let at = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let parse = |bytes: &[u8]| serde_json::from_slice::<WidgetRoot>(bytes).ok();
    let (Some(before), Some(after)) = (
        parse(&data[..at]),
        parse(data.get(at + 1..).unwrap_or_default()),
    ) else {
        return false;
    };
    // The same widgets as template builds keep their canonical text; every answer about
    // them must be the trees'.
    let as_text = |bytes: &[u8]| -> Option<WidgetRoot> {
        let text = std::str::from_utf8(bytes).ok()?;
        let source = format!("{{% raw %}}{text}{{% endraw %}}");
        WidgetTemplate::new(json!({"version": "1.0", "name": "fuzz", "template": source}))
            .ok()?
            .build(json!({}))
            .ok()
    };
    if let (Some(text_before), Some(text_after)) = (
        as_text(&data[..at]),
        as_text(data.get(at + 1..).unwrap_or_default()),
    ) {
        assert_eq!(text_before, before, "a text widget differs from its tree");
        assert_eq!(
            serde_json::to_string(&text_after).expect("a widget serializes"),
            serde_json::to_string(&after).expect("a widget serializes"),
            "a text widget serializes unlike its tree"
        );
        assert_eq!(
            diff_widget(&text_before, &text_after),
            diff_widget(&before, &after),
            "the text diff differs from the tree diff"
        );
    }
    match diff_widget(&before, &before) {
        Ok(updates) => assert!(
            updates.is_empty(),
            "a widget differs from itself: {updates:?}"
        ),
        Err(DiffError::DuplicateId { .. }) => {}
    }
    if let Ok(updates) = diff_widget(&before, &after) {
        let after_text = serde_json::to_string(&after).expect("a widget serializes");
        for update in updates {
            if let ThreadItemUpdate::WidgetStreamingTextValueDelta { component_id, .. } = &update {
                assert!(
                    after_text.contains(&format!("\"id\":{}", json!(component_id))),
                    "a delta for {component_id}, which the new widget does not have"
                );
            }
        }
    }
    true
}

/// A stream event's JSON: frame what parses, and compare with serde's bytes.
pub fn sse_framing(data: &[u8]) -> bool {
    let Ok(event) = serde_json::from_slice::<ThreadStreamEvent>(data) else {
        return false;
    };
    let frame = sse_frame(&event);
    let expected = serde_json::to_vec(&event).expect("an event serializes");
    let payload = frame
        .strip_prefix(b"data: ")
        .and_then(|rest| rest.strip_suffix(b"\n\n"))
        .unwrap_or_else(|| {
            panic!(
                "not an SSE data frame: {:?}",
                String::from_utf8_lossy(&frame)
            )
        });
    assert!(!payload.contains(&b'\n'), "a frame spans lines");
    assert_eq!(
        String::from_utf8_lossy(payload),
        String::from_utf8_lossy(&expected),
        "the frame's JSON differs from serde's"
    );
    true
}
