//! `WidgetSource::template` streams exactly what rebuilding the template per delta and
//! diffing the builds streams (`WidgetSource::states`), for templates that qualify for
//! linear streaming and for every kind that does not.

use std::sync::Arc;

use chatkit_agents::types::{ThreadMetadata, Timestamp};
use chatkit_agents::widgets::{
    stream_widget, DiffError, TemplateError, TemplateInput, WidgetRoot, WidgetSource,
    WidgetStreamError, WidgetTemplate,
};
use futures::StreamExt;
use serde_json::{json, Map, Value};

fn template(source: &str) -> Arc<WidgetTemplate> {
    capped(source, chatkit_agents::widgets::DEFAULT_MAX_OUTPUT_BYTES)
}

fn capped(source: &str, limit: usize) -> Arc<WidgetTemplate> {
    Arc::new(
        WidgetTemplate::new(json!({"version": "1.0", "name": "t", "template": source}))
            .expect("the template compiles")
            .max_output_bytes(limit),
    )
}

/// Events as JSON with `created_at` blanked, or the error.
type Streamed = Vec<Result<Value, WidgetStreamError>>;

async fn collect(source: WidgetSource) -> Streamed {
    let thread = ThreadMetadata::new("thr_1", Timestamp::now());
    stream_widget(&thread, source, Some("copy".into()), |_| "msg_1".into())
        .map(|event| {
            event.map(|event| {
                let mut value = serde_json::to_value(&event).expect("events serialize");
                if let Some(item) = value.get_mut("item").and_then(Value::as_object_mut) {
                    item.insert("created_at".into(), json!("<created_at>"));
                }
                value
            })
        })
        .collect()
        .await
}

/// The rebuild-per-delta form: every input rebuilds the template with all text so far.
/// A failing build ends the states there, with the error after them.
fn rebuilt_states(
    template: &WidgetTemplate,
    data: &Value,
    field: &str,
    inputs: &[TemplateInput],
) -> (Vec<WidgetRoot>, Option<TemplateError>) {
    let mut data: Map<String, Value> = data.as_object().cloned().unwrap_or_default();
    let mut text = data
        .remove(field)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let build = |data: &Map<String, Value>, text: &str| {
        let mut data = data.clone();
        data.insert(field.into(), Value::String(text.into()));
        template.build(Value::Object(data))
    };
    let mut states = Vec::new();
    match build(&data, &text) {
        Ok(state) => states.push(state),
        Err(e) => return (states, Some(e)),
    }
    for input in inputs {
        match input {
            TemplateInput::Text(delta) => text.push_str(delta),
            TemplateInput::Data(new) => {
                data = new.as_object().cloned().unwrap_or_default();
                if let Some(Value::String(new_text)) = data.remove(field) {
                    text = new_text;
                }
            }
        }
        match build(&data, &text) {
            Ok(state) => states.push(state),
            Err(e) => return (states, Some(e)),
        }
    }
    (states, None)
}

/// Streams both ways and checks the events are the same.
async fn same_events(source: &str, data: Value, inputs: Vec<TemplateInput>) -> Streamed {
    let template = template(source);
    let (states, error) = rebuilt_states(&template, &data, "answer", &inputs);
    let mut expected = collect(WidgetSource::states(futures::stream::iter(states))).await;
    if let Some(error) = error {
        // The rebuilds stopped at the failing build; the linear form ends with its error.
        expected.pop();
        expected.push(Err(WidgetStreamError::Template(Arc::new(error))));
    }
    let streamed = collect(WidgetSource::template(
        template,
        data,
        "answer",
        futures::stream::iter(inputs),
    ))
    .await;
    assert_eq!(streamed, expected, "template: {source}");
    streamed
}

fn deltas(parts: &[&str]) -> Vec<TemplateInput> {
    parts.iter().copied().map(TemplateInput::from).collect()
}

fn types(events: &Streamed) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Ok(e) => e["update"]["type"]
                .as_str()
                .or(e["type"].as_str())
                .unwrap_or_default()
                .to_owned(),
            Err(e) => format!("error: {e}"),
        })
        .collect()
}

const CARD: &str = r#"{"type":"Card","children":[{"type":"Title","value":{{ title | tojson }}},{"type":"Markdown","id":"answer","value":{{ answer | tojson }},"streaming":{{ streaming | tojson }}}]}"#;

#[tokio::test]
async fn a_qualifying_template_streams_each_delta_as_its_text_delta() {
    let mut inputs = deltas(&["Hel", "", "lo, <\"wörld\"> 😀", "\n\\ & '"]);
    inputs.push(TemplateInput::Data(
        json!({"title": "Done", "streaming": false}),
    ));
    let events = same_events(CARD, json!({"title": "Reply", "streaming": true}), inputs).await;
    assert_eq!(
        types(&events),
        [
            "thread.item.added",
            "widget.streaming_text.value_delta",
            "widget.streaming_text.value_delta",
            "widget.streaming_text.value_delta",
            "widget.root.updated",
            "thread.item.done"
        ]
    );
    let done = events.last().unwrap().as_ref().unwrap();
    assert_eq!(
        done["item"]["widget"]["children"][1]["value"],
        "Hello, <\"wörld\"> 😀\n\\ & '"
    );
}

#[tokio::test]
async fn text_already_in_the_data_is_where_the_deltas_start() {
    let events = same_events(
        CARD,
        json!({"title": "T", "streaming": true, "answer": "Once"}),
        deltas(&[" upon", " a time"]),
    )
    .await;
    assert_eq!(events[1].as_ref().unwrap()["update"]["delta"], " upon");
}

#[tokio::test]
async fn new_data_mid_stream_is_a_rebuild_then_deltas_go_on() {
    let mut inputs = deltas(&["a", "b"]);
    inputs.push(TemplateInput::Data(
        json!({"title": "Two", "streaming": true}),
    ));
    inputs.extend(deltas(&["c", "d"]));
    inputs.push(TemplateInput::Data(
        json!({"title": "Two", "streaming": true, "answer": "rewritten"}),
    ));
    inputs.extend(deltas(&["!"]));
    let events = same_events(CARD, json!({"title": "One", "streaming": true}), inputs).await;
    assert_eq!(
        types(&events)[1..8],
        [
            "widget.streaming_text.value_delta",
            "widget.streaming_text.value_delta",
            "widget.root.updated",
            "widget.streaming_text.value_delta",
            "widget.streaming_text.value_delta",
            "widget.root.updated",
            "widget.streaming_text.value_delta",
        ]
    );
}

#[tokio::test]
async fn templates_that_use_the_field_otherwise_stream_the_rebuilt_events() {
    let cases = [
        // Printed inside a JSON string, without tojson.
        r#"{"type":"Card","children":[{"type":"Text","id":"a","value":"{{ answer }}"}]}"#,
        // Filtered.
        r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | upper | tojson }}}]}"#,
        // Joined.
        r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ ("> " ~ answer) | tojson }}}]}"#,
        // Its truth decides the structure.
        r#"{"type":"Card","children":[{% if answer %}{"type":"Text","id":"a","value":{{ answer | tojson }}}{% endif %}]}"#,
        // Its length is shown.
        r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | tojson }}},{"type":"Caption","value":{{ answer | length | tojson }}}]}"#,
        // Shown twice.
        r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | tojson }}},{"type":"Text","id":"b","value":{{ answer | tojson }}}]}"#,
        // In a prop that is not a text node's value.
        r#"{"type":"Card","children":[{"type":"Button","label":"Go","onClickAction":{"type":"go","payload":{"text":{{ answer | tojson }}}}}]}"#,
        r#"{"type":"Card","children":[{"type":"Title","id":"a","value":{{ answer | tojson }}}]}"#,
        // Sliced.
        r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer[:4] | tojson }}}]}"#,
    ];
    for source in cases {
        same_events(source, json!({}), deltas(&["ab", "cd", "", "efgh"])).await;
    }
}

#[tokio::test]
async fn a_field_the_widget_does_not_show_gives_no_updates() {
    let events = same_events(
        r#"{"type":"Card","children":[{"type":"Text","value":{{ title | tojson }}}]}"#,
        json!({"title": "Static"}),
        deltas(&["ignored", " text"]),
    )
    .await;
    assert_eq!(types(&events), ["thread.item.added", "thread.item.done"]);
}

#[tokio::test]
async fn a_text_node_without_id_streams_no_deltas_but_ends_with_the_text() {
    let events = same_events(
        r#"{"type":"Card","children":[{"type":"Markdown","value":{{ answer | tojson }}}]}"#,
        json!({}),
        deltas(&["one", " two"]),
    )
    .await;
    assert_eq!(types(&events), ["thread.item.added", "thread.item.done"]);
    let done = events.last().unwrap().as_ref().unwrap();
    assert_eq!(done["item"]["widget"]["children"][0]["value"], "one two");
}

#[tokio::test]
async fn a_single_child_and_nested_rows_are_found() {
    same_events(
        r#"{"type":"Card","children":[{"type":"Transition","children":{"type":"Col","children":[{"type":"Caption","value":"x"},{"type":"Text","id":"t","value":{{ answer | tojson }},"streaming":true}]}}]}"#,
        json!({}),
        deltas(&["deep", " text"]),
    )
    .await;
}

#[tokio::test]
async fn a_shared_id_fails_as_the_diff_does() {
    let events = same_events(
        r#"{"type":"Card","children":[{"type":"Text","id":"x","value":{{ answer | tojson }}},{"type":"Text","id":"x","value":"other"}]}"#,
        json!({}),
        deltas(&["a"]),
    )
    .await;
    assert_eq!(
        events.last().unwrap(),
        &Err(WidgetStreamError::Diff(DiffError::DuplicateId {
            id: "x".into()
        }))
    );
}

/// Streams `inputs` both ways through a template capped at `limit` bytes; returns the
/// linear form's events, which must end with the cap's error.
async fn capped_same_events(limit: usize, inputs: Vec<TemplateInput>) -> Streamed {
    let source = r#"{"type":"Card","children":[{"type":"Markdown","id":"m","value":{{ answer | tojson }}}]}"#;
    let (states, error) = rebuilt_states(&capped(source, limit), &json!({}), "answer", &inputs);
    let error = error.expect("the rebuilds reach the cap");
    assert!(matches!(error, TemplateError::OutputTooLarge { .. }));
    let mut expected = collect(WidgetSource::states(futures::stream::iter(states))).await;
    expected.pop();
    expected.push(Err(WidgetStreamError::Template(Arc::new(error))));
    let streamed = collect(WidgetSource::template(
        capped(source, limit),
        json!({}),
        "answer",
        futures::stream::iter(inputs),
    ))
    .await;
    assert_eq!(streamed, expected);
    streamed
}

#[tokio::test]
async fn the_output_cap_stops_the_stream_at_the_same_delta() {
    let empty = r#"{"type":"Card","children":[{"type":"Markdown","id":"m","value":""}]}"#.len();
    let events = capped_same_events(empty + 55, deltas(&["0123456789"; 12])).await;
    assert_eq!(events.len(), 1 + 5 + 1, "added, five deltas, the error");
    // Escaped characters count as what tojson writes: "<" is six bytes.
    let events = capped_same_events(empty + 6 * 15, deltas(&["<<<<<"; 4])).await;
    assert_eq!(events.len(), 1 + 3 + 1, "added, three deltas, the error");
}

#[tokio::test]
async fn bad_data_and_failing_builds_are_errors() {
    let events = collect(WidgetSource::template(
        template(CARD),
        json!({"title": "T", "streaming": true, "answer": 5}),
        "answer",
        futures::stream::empty(),
    ))
    .await;
    assert_eq!(
        types(&events),
        ["error: the streamed field \"answer\" must be a string, got a number"]
    );
    let events = collect(WidgetSource::template(
        template(CARD),
        json!(["not", "an", "object"]),
        "answer",
        futures::stream::empty(),
    ))
    .await;
    assert!(
        types(&events)[0].contains("data must be an object"),
        "{events:?}"
    );
    // A rebuild that fails (the new data lacks `title`) ends the stream with its error.
    let events = collect(WidgetSource::template(
        template(CARD),
        json!({"title": "T", "streaming": true}),
        "answer",
        futures::stream::iter(vec![
            TemplateInput::from("x"),
            TemplateInput::Data(json!({"streaming": false})),
            TemplateInput::from("never"),
        ]),
    ))
    .await;
    assert_eq!(
        types(&events),
        [
            "thread.item.added",
            "widget.streaming_text.value_delta",
            "error: widget template t: `title` is undefined (line 1)"
        ]
    );
}

/// Random deltas and data changes on several templates, linear and not: the events are
/// always the rebuilt ones.
#[tokio::test]
async fn random_inputs_stream_the_rebuilt_events() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let sources = [
        CARD,
        r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ answer | tojson }},"streaming":{{ streaming | tojson }}},{"type":"Caption","value":{{ title | tojson }}}]}"#,
        r#"{"type":"ListView","children":[{"type":"ListViewItem","children":[{"type":"Markdown","id":"m","value":{{ answer | tojson }}}]}]}"#,
        r#"{"type":"Card","children":[{"type":"Text","id":"a","value":{{ (title ~ answer) | tojson }}}]}"#,
    ];
    let pieces = [
        "a", "", " word", "\"", "\\", "\n", "<&>'", "é", "😀", "\u{1}", "}]},{",
    ];
    for round in 0..40 {
        let source = sources[round % sources.len()];
        let mut inputs = Vec::new();
        for _ in 0..next(12) {
            inputs.push(if next(6) == 0 {
                let title = pieces[next(pieces.len())];
                let mut data = json!({"title": title, "streaming": next(2) == 0});
                if next(3) == 0 {
                    data["answer"] = json!(pieces[next(pieces.len())]);
                }
                TemplateInput::Data(data)
            } else {
                TemplateInput::from(pieces[next(pieces.len())])
            });
        }
        same_events(source, json!({"title": "T", "streaming": true}), inputs).await;
    }
}
