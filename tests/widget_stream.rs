//! `stream_widget` and `accumulate_text` reproduce the reference's widget streams.

use chatkit_agents::types::{
    default_generate_id, StoreItemType, ThreadMetadata, ThreadStreamEvent, Timestamp,
};
use chatkit_agents::widgets::{
    self as w, accumulate_text, stream_widget, WidgetRoot, WidgetSource, WidgetStreamError,
};
use futures::StreamExt;
use serde_json::Value;

fn thread() -> ThreadMetadata {
    ThreadMetadata::new("thr_00000001", Timestamp::now())
}

/// Replaces every `created_at` with a placeholder, so runs at different times compare.
fn normalize(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k == "created_at" {
                        *v = Value::from("<created_at>");
                    } else {
                        walk(v);
                    }
                }
            }
            Value::Array(list) => list.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

fn golden_frames(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/golden/streams/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| normalize(serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap()))
        .collect()
}

fn summary_card(md: &str, status: &str, streaming: bool) -> WidgetRoot {
    w::Card::new()
        .child(w::Title::new("Summary"))
        .child(w::Markdown::new(md).id("md").streaming(streaming))
        .child(w::Text::new(status).id("status").streaming(streaming))
        .into()
}

#[tokio::test]
async fn reproduces_the_reference_markdown_stream_byte_for_byte() {
    let states = vec![
        summary_card("", "Working", true),
        summary_card("Hel", "Working", true),
        summary_card("Hello **wor", "Working", true),
        summary_card("Hello **wor", "Working...", true),
        summary_card("Hello **world**", "Working...", true),
        summary_card("Hello **world**", "Working...", false),
    ];
    let events: Vec<ThreadStreamEvent> = stream_widget(
        &thread(),
        WidgetSource::states(futures::stream::iter(states)),
        Some("Hello **world**".into()),
        |kind| {
            assert_eq!(kind, StoreItemType::Message);
            "msg_00000003".into()
        },
    )
    .map(Result::unwrap)
    .collect()
    .await;

    // The reference stream's first three frames come from the server (thread.created,
    // the user message, stream_options); the rest is stream_widget's.
    let golden = &golden_frames("stream_widget_markdown.sse")[3..];
    let ours: Vec<Value> = events
        .iter()
        .map(|e| normalize(serde_json::to_value(e).unwrap()))
        .collect();
    assert_eq!(ours, golden);
    for (ours, golden) in ours.iter().zip(golden) {
        assert_eq!(
            serde_json::to_string(ours).unwrap(),
            serde_json::to_string(golden).unwrap()
        );
    }
}

#[tokio::test]
async fn added_and_done_share_id_created_at_and_copy_text() {
    let states = futures::stream::iter(["a", "ab"])
        .map(|t| -> WidgetRoot { w::Card::new().child(w::Text::new(t).id("t")).into() });
    let events: Vec<_> = stream_widget(
        &thread(),
        WidgetSource::states(states),
        Some("c".into()),
        default_generate_id,
    )
    .map(Result::unwrap)
    .collect()
    .await;
    let (
        ThreadStreamEvent::ThreadItemAdded { item: added },
        ThreadStreamEvent::ThreadItemDone { item: done },
    ) = (&events[0], &events[events.len() - 1])
    else {
        panic!("{events:?}")
    };
    assert_eq!(added.id(), done.id());
    assert!(added.id().starts_with("msg_"));
    assert_eq!(added.created_at(), done.created_at());
    assert_eq!(added.thread_id(), "thr_00000001");
    let done_json = serde_json::to_value(done).unwrap();
    assert_eq!(done_json["copy_text"], "c");
    assert_eq!(done_json["widget"]["children"][0]["value"], "ab");
}

#[tokio::test]
async fn a_finished_widget_is_one_done_event() {
    let card: WidgetRoot = w::Card::new().child(w::Text::new("x")).into();
    let events: Vec<_> = stream_widget(&thread(), card.clone(), None, default_generate_id)
        .collect()
        .await;
    assert_eq!(events.len(), 1);
    let Ok(ThreadStreamEvent::ThreadItemDone { item }) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        serde_json::to_value(item).unwrap()["widget"],
        serde_json::to_value(&card).unwrap()
    );
    assert!(serde_json::to_value(item)
        .unwrap()
        .get("copy_text")
        .is_none());
}

#[tokio::test]
async fn an_empty_stream_is_a_clear_error() {
    let events: Vec<_> = stream_widget(
        &thread(),
        WidgetSource::states(futures::stream::empty()),
        None,
        default_generate_id,
    )
    .collect()
    .await;
    assert_eq!(events, vec![Err(WidgetStreamError::Empty)]);
}

#[tokio::test]
async fn an_ambiguous_state_ends_the_stream_with_the_diff_error() {
    let card = |a: &str| -> WidgetRoot {
        w::Card::new()
            .child(w::Text::new(a).id("d"))
            .child(w::Text::new("b").id("d"))
            .into()
    };
    let events: Vec<_> = stream_widget(
        &thread(),
        WidgetSource::states(futures::stream::iter([card("a"), card("ab"), card("abc")])),
        None,
        default_generate_id,
    )
    .collect()
    .await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[1], Err(WidgetStreamError::Diff(_))));
}

#[tokio::test]
async fn accumulated_text_streams_as_deltas() {
    let deltas = futures::stream::iter(["Hello, ", "world", "!"]);
    let states = accumulate_text(deltas, w::Markdown::new("").id("m").streaming(true))
        .map(|md| -> WidgetRoot { w::Card::new().child(md).into() });
    let events: Vec<_> = stream_widget(
        &thread(),
        WidgetSource::states(states),
        None,
        default_generate_id,
    )
    .map(|e| serde_json::to_value(e.unwrap()).unwrap())
    .collect()
    .await;
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{}{}",
                e["type"].as_str().unwrap(),
                e["update"]["type"]
                    .as_str()
                    .map(|t| format!(":{t}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "thread.item.added",
            "thread.item.updated:widget.streaming_text.value_delta",
            "thread.item.updated:widget.streaming_text.value_delta",
            "thread.item.updated:widget.streaming_text.value_delta",
            // The final state turns streaming off: a root replacement, as in the reference.
            "thread.item.updated:widget.root.updated",
            "thread.item.done",
        ]
    );
    assert_eq!(events[2]["update"]["delta"], "world");
    assert_eq!(
        events[5]["item"]["widget"]["children"][0]["value"],
        "Hello, world!"
    );
}
