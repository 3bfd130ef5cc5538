//! Malformed documents never panic: every golden record, truncated at many points and
//! with every value swapped for values of other JSON types, is either rejected with an
//! error or accepted; and whatever is accepted is written back in a form that parses to
//! the same thing again.

mod support;

use chatkit_agents::types::ChatKitRequest;
use serde_json::{json, Value};
use support::{golden_lines, round_trip};

/// Every value position in `value`, as a path of object keys and list indexes.
fn positions(value: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(path.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(Value::String(k.clone()));
                positions(v, path, out);
                path.pop();
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                path.push(Value::from(i));
                positions(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn replaced(value: &Value, path: &[Value], with: &Value) -> Value {
    let mut copy = value.clone();
    let mut node = &mut copy;
    for step in path {
        node = match step {
            Value::String(k) => &mut node[k.as_str()],
            Value::Number(i) => &mut node[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        };
    }
    *node = with.clone();
    copy
}

fn check(kind: &str, text: &str) {
    if let Ok(out) = round_trip(kind, text) {
        let again = round_trip(kind, &out)
            .unwrap_or_else(|e| panic!("{kind}: {text}\n wrote {out}\n which fails to parse: {e}"));
        assert_eq!(again, out, "{kind}: not stable for {text}");
    }
}

fn records() -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = golden_lines("wire.jsonl")
        .into_iter()
        .map(|r| (r["kind"].as_str().unwrap().to_owned(), r["json"].clone()))
        .collect();
    for file in ["invalid-requests.jsonl", "lenient-requests.jsonl"] {
        for r in golden_lines(file) {
            if let Ok(body) = serde_json::from_str::<Value>(r["body"].as_str().unwrap()) {
                all.push(("ChatKitRequest".to_owned(), body));
            }
        }
    }
    all
}

#[test]
fn truncated_documents_are_rejected_without_panicking() {
    for (kind, value) in records() {
        let text = value.to_string();
        let step = (text.len() / 150).max(1);
        for cut in (0..text.len())
            .step_by(step)
            .filter(|&c| text.is_char_boundary(c))
        {
            assert!(
                round_trip(&kind, &text[..cut]).is_err(),
                "{kind}: accepted truncated {}",
                &text[..cut]
            );
        }
    }
}

#[test]
fn type_confused_documents_never_panic() {
    let swaps = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!([]),
        json!({}),
        json!([{}]),
    ];
    let mut checked = 0usize;
    for (kind, value) in records() {
        let mut paths = Vec::new();
        positions(&value, &mut Vec::new(), &mut paths);
        for path in &paths {
            for with in &swaps {
                check(&kind, &replaced(&value, path, with).to_string());
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "only {checked} variants checked");
}

#[test]
fn non_utf8_and_odd_bodies_are_rejected() {
    for body in [
        &b"\xff\xfe"[..],
        b"{\"type\":\"threads.list\",\"params\":{\"after\":\"\xff\"}}",
        b"{",
        b"1e999",
        b"\"\\ud800\"",
    ] {
        assert!(ChatKitRequest::parse(body).is_err());
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(
        ChatKitRequest::parse(deep.as_bytes()).is_err(),
        "deep nesting must be an error, not a stack overflow"
    );
}
