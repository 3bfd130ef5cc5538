//! Prints a sample of this crate's own output as golden-style records
//! (`{"kind","name","json"}` per line), for checking against the Python reference:
//!
//! ```sh
//! cargo run --example wire_samples | ../shared/reference/tools/chatkit-oracle validate auto -
//! ```

use chatkit_agents::types::*;
use chatkit_agents::widgets::{self as w, WidgetRoot};
use serde::Serialize;
use serde_json::json;

fn record(kind: &str, name: &str, value: &impl Serialize) {
    let json = serde_json::to_value(value).expect("wire types always serialize");
    println!("{}", json!({"kind": kind, "name": name, "json": json}));
}

fn main() {
    let now = Timestamp::now();
    let widget: WidgetRoot = w::Card::new()
        .child(w::Title::new("Weather").size(w::TitleSize::Lg))
        .child(w::Markdown::new("Sunny, **21°C**").id("m").streaming(true))
        .child(
            w::Row::new()
                .gap(2)
                .padding(w::Spacing {
                    x: Some(4.into()),
                    ..Default::default()
                })
                .child(w::Icon::new(BuiltinIcon::Star).size(w::IconSize::Sm))
                .child(
                    w::Button::new()
                        .label("Refresh")
                        .on_click_action(ActionConfig::new("refresh")),
                ),
        )
        .status(w::WidgetStatus::icon(
            "Live",
            IconName::Lucide("cloud".into()),
        ))
        .into();
    record("WidgetRoot", "typed_card", &widget);

    let item = WidgetItem {
        id: "msg_1".into(),
        thread_id: "thr_1".into(),
        created_at: now,
        widget: widget.clone(),
        copy_text: Some("Sunny".into()),
    };
    record(
        "ThreadStreamEvent",
        "widget_done_now",
        &ThreadStreamEvent::item_done(item),
    );

    let thread = Thread {
        meta: ThreadMetadata {
            title: Some("Hi".into()),
            ..ThreadMetadata::new("thr_1", now)
        },
        items: Page::default(),
    };
    record(
        "ThreadStreamEvent",
        "thread_created",
        &ThreadStreamEvent::thread_created(thread),
    );

    let message = AssistantMessageItem {
        id: "msg_2".into(),
        thread_id: "thr_1".into(),
        created_at: now,
        content: vec![AssistantMessageContent::with_annotations(
            "See [1]",
            vec![Annotation::new(
                UrlSource::new("Docs", "https://example.com/docs"),
                Some(4),
            )],
        )],
    };
    record(
        "ThreadItem",
        "assistant_with_citation",
        &ThreadItem::from(message),
    );

    let task = Task::WebSearch(SearchTask {
        status_indicator: TaskStatusIndicator::Loading,
        title: Some("Searching".into()),
        queries: vec!["rust".into()],
        sources: vec![UrlSource::new("Rust", "https://rust-lang.org")],
        ..Default::default()
    });
    record(
        "ThreadStreamEvent",
        "task_added",
        &ThreadStreamEvent::item_updated("wf_1", ThreadItemUpdate::task_added(0, task)),
    );
    record(
        "ThreadStreamEvent",
        "error_custom",
        &ThreadStreamEvent::from(ErrorEvent::custom("Nope", false)),
    );
    record(
        "ThreadStreamEvent",
        "stream_error",
        &ThreadStreamEvent::from(ErrorEvent::stream_error(true)),
    );
    record(
        "ThreadStreamEvent",
        "delta",
        &ThreadStreamEvent::item_updated(
            "msg_1",
            ThreadItemUpdate::WidgetStreamingTextValueDelta {
                component_id: "m".into(),
                delta: "!".into(),
                done: false,
            },
        ),
    );
    record(
        "SyncCustomActionResponse",
        "empty",
        &SyncCustomActionResponse::default(),
    );
}
