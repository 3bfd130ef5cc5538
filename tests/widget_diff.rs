//! `diff_widget` against the reference's `widget-diff.jsonl`: every case gives the
//! reference's updates, a root replacement where the reference crashes, and the
//! documented fixes where the reference silently loses text.

mod support;

use chatkit_agents::types::ThreadItemUpdate;
use chatkit_agents::widgets::{diff_widget, DiffError, WidgetRoot};
use serde_json::{json, Value};
use support::golden_lines;

fn root(value: &Value) -> WidgetRoot {
    serde_json::from_value(value.clone()).unwrap()
}

fn root_replacement(after: &Value) -> Value {
    let widget: WidgetRoot = root(after);
    json!([{"type": "widget.root.updated", "widget": widget}])
}

#[test]
fn every_reference_case_matches() {
    let cases = golden_lines("widget-diff.jsonl");
    assert_eq!(cases.len(), 78);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let result = diff_widget(&root(&case["before"]), &root(&case["after"]));
        let expected = match name {
            // Fixed: text under a Transition streams (the reference never finds it).
            "transition_single_child_append" => {
                assert_eq!(
                    case["updates"],
                    json!([]),
                    "{name}: the reference drops this append"
                );
                let updates = result.unwrap();
                assert!(
                    matches!(
                        &updates[..],
                        [ThreadItemUpdate::WidgetStreamingTextValueDelta { .. }]
                    ),
                    "{name}: {updates:?}"
                );
                continue;
            }
            // Fixed: an append to a node whose id is not unique is an error, not a lost update.
            "duplicate_ids_first_appends" | "duplicate_ids_second_appends" => {
                assert!(
                    matches!(result, Err(DiffError::DuplicateId { ref id }) if id == "d"),
                    "{name}: {result:?}"
                );
                continue;
            }
            // The reference crashes (AttributeError) on a prop present on one side only of
            // a dynamic component; we replace the root.
            _ if case.get("error").is_some() => root_replacement(&case["after"]),
            _ => case["updates"].clone(),
        };
        let updates = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            serde_json::to_value(&updates).unwrap(),
            expected,
            "{name}: {}",
            case["note"]
        );
        // Template-built (dynamic) widgets: where the reference crashes, we still replace.
        if let Some(dynamic) = case.get("dynamic") {
            if dynamic.get("error").is_some() {
                assert_eq!(
                    serde_json::to_value(&updates).unwrap(),
                    root_replacement(&case["after"]),
                    "{name} (dynamic)"
                );
            }
        }
    }
}

#[test]
fn transition_child_delta_is_addressed_by_its_id() {
    let before = json!({"type": "Card", "children": [{"type": "Transition", "children": {"id": "t", "type": "Text", "value": "Hel", "streaming": true}}]});
    let after = json!({"type": "Card", "children": [{"type": "Transition", "children": {"id": "t", "type": "Text", "value": "Hello", "streaming": true}}]});
    assert_eq!(
        serde_json::to_value(diff_widget(&root(&before), &root(&after)).unwrap()).unwrap(),
        json!([{"type": "widget.streaming_text.value_delta", "component_id": "t", "delta": "lo", "done": false}])
    );
}

#[test]
fn duplicate_ids_are_fine_while_nothing_streams_to_them() {
    let tree = json!({"type": "Card", "children": [
        {"id": "d", "type": "Text", "value": "x"},
        {"id": "d", "type": "Text", "value": "y"},
        {"id": "u", "type": "Text", "value": "a", "streaming": true}
    ]});
    let mut grown = tree.clone();
    grown["children"][2]["value"] = json!("ab");
    assert_eq!(diff_widget(&root(&tree), &root(&tree)).unwrap(), vec![]);
    assert_eq!(diff_widget(&root(&tree), &root(&grown)).unwrap().len(), 1);
    let err = diff_widget(&root(&tree), &{
        let mut g = tree.clone();
        g["children"][0]["value"] = json!("xz");
        root(&g)
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "widget id \"d\" is used by more than one Text/Markdown node; streaming text needs unique ids");
}

#[test]
fn numbers_compare_like_python() {
    let before = json!({"type": "Card", "children": [], "padding": 2});
    let after = json!({"type": "Card", "children": [], "padding": 2.0});
    assert_eq!(diff_widget(&root(&before), &root(&after)).unwrap(), vec![]);
}
