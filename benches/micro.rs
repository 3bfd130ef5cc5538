//! Micro-benchmarks of the hot paths, so regressions show in `cargo bench`:
//! `diff_widget`, `WidgetTemplate::build`, and SSE serialization of stream events.

use chatkit_agents::server::sse_frame;
use chatkit_agents::types::{ThreadItemUpdate, ThreadStreamEvent};
use chatkit_agents::widgets::{diff_widget, WidgetRoot, WidgetTemplate};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;

fn card(children: usize, appended: bool) -> WidgetRoot {
    let child = |i: usize| {
        let value = format!(
            "Line {i}: initial text{}",
            if appended && i.is_multiple_of(10) {
                " + appended words"
            } else {
                ""
            }
        );
        if i.is_multiple_of(10) {
            json!({"type": "Text", "id": format!("t{i}"), "value": value, "streaming": true})
        } else {
            json!({"type": "Text", "value": value})
        }
    };
    WidgetRoot::from_value(
        json!({"type": "Card", "children": (0..children).map(child).collect::<Vec<_>>()}),
    )
    .expect("a valid root")
}

fn diff(c: &mut Criterion) {
    let (before, after) = (card(500, false), card(500, true));
    let mut group = c.benchmark_group("diff_widget");
    group.throughput(Throughput::Elements(1));
    group.bench_function("500 children, 50 appends", |b| {
        b.iter(|| diff_widget(&before, &after).expect("unique ids"))
    });
    let grown = card(500, false);
    group.bench_function("500 children, no change", |b| {
        b.iter(|| diff_widget(&before, &grown).expect("unique ids"))
    });
    group.finish();
}

fn template(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/bench/bench_list.widget"
    );
    let template = WidgetTemplate::from_file(path).expect("the template compiles");
    let data: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/bench/bench_list_data.json"
        ))
        .expect("the data file"),
    )
    .expect("JSON data");
    let mut group = c.benchmark_group("template");
    group.bench_function("render 50 items", |b| {
        b.iter(|| template.render(&data).expect("renders"))
    });
    group.bench_function("build 50 items", |b| {
        b.iter(|| template.build(&data).expect("builds"))
    });
    group.finish();
}

fn serialization(c: &mut Criterion) {
    let delta = ThreadStreamEvent::item_updated(
        "msg_bench_assistant",
        ThreadItemUpdate::AssistantMessageContentPartTextDelta {
            content_index: 0,
            delta: "lorem ip".into(),
        },
    );
    let mut group = c.benchmark_group("sse_frame");
    group.throughput(Throughput::Elements(1));
    group.bench_function("text delta", |b| b.iter(|| sse_frame(&delta)));
    group.finish();
}

criterion_group!(benches, diff, template, serialization);
criterion_main!(benches);
