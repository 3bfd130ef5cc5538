//! The benchmark scenarios of the Python reference, implemented exactly as its peer
//! program defines them (see `BENCHMARKS.md`), so the figures compare side by side.
//!
//! ```sh
//! cargo run --release --example bench                      # every scenario
//! cargo run --release --example bench -- pipeline_text diff_large --runs 5
//! ```
//!
//! Prints one JSON object `{scenario: {"n", "seconds", "per_sec", "peak_rss_mb", ...}}`.
//! Each scenario runs in a fresh process (this program re-runs itself), so `peak_rss_mb`
//! is that scenario's own high-water mark; `--in-process` runs them all here instead.
//!
//! Besides the reference's scenarios, floors measure the unavoidable part of three of
//! them in the same run: `serialize_baseline` (serde framing of the `pipeline_text`
//! events), `prefix_baseline` (the prefix checks of `widget_stream`),
//! `prefix_free_baseline` (those checks plus freeing each state, which `widget_stream`
//! also pays), `render_baseline` (the Jinja rendering of `template_build`) and
//! `diff_baseline` (the pairwise prop walk and the deltas of `diff_large`).
//! `widget_stream_live` streams states built as the stream asks for them, against
//! `live_build_baseline`, the building alone. `http_load` drives the
//! axum endpoint (`--pin-cores` puts server and client on separate CPUs).
//! `benches/python_peer.py` runs the same scenarios on the Python reference.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use chatkit_agents::agents::{
    chatkit::{stream_agent_response, AgentContext},
    model::{ContentPart, MessageItem, ModelEvent, OutputItem},
    RunError, RunEvent, RunStream,
};
use chatkit_agents::runs::{DisconnectPolicy, RedisRunLog, RunLogBackend};
use chatkit_agents::server::{
    process, ChatKitServer, EventStream, ProcessResult, StreamingResult, ThreadHandle,
};
use chatkit_agents::store::{MemoryStore, PostgresStore, PostgresStoreOptions, SqliteStore, Store};
use chatkit_agents::types::*;
use chatkit_agents::widgets::{
    diff_widget, stream_widget, WidgetRoot, WidgetSource, WidgetTemplate,
};
use chatkit_agents_workspace::example_support::peak_rss_mb;
use futures::StreamExt;
use serde_json::{json, Value};

const TEXT_DELTA: &str = "lorem ip";
const WIDGET_CHUNK: &str = "The quick brown fox ";
const SCENARIOS: &[&str] = &[
    "pipeline_text",
    "serialize_baseline",
    "agent_text",
    "widget_stream",
    "prefix_baseline",
    "prefix_free_baseline",
    "widget_stream_live",
    "live_build_baseline",
    "template_build",
    "render_baseline",
    "diff_large",
    "diff_baseline",
];
/// Scenarios that only run when named (they start a server and load it over loopback).
const EXTRA_SCENARIOS: &[&str] = &["http_load"];

// `--features mimalloc` measures the same code with mimalloc as the global allocator
// (many Rust servers use one); every scenario reports which allocator it ran with.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ALLOCATOR: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "system"
};

/// The scenario sizes (the reference's defaults, overridable on the command line).
#[derive(Clone)]
pub(crate) struct Sizes {
    pub(crate) pipeline_n: usize,
    pub(crate) agent_n: usize,
    pub(crate) widget_states: usize,
    pub(crate) widget_chunk: String,
    pub(crate) template_items: usize,
    pub(crate) template_reps: usize,
    pub(crate) diff_children: usize,
    pub(crate) diff_reps: usize,
    pub(crate) runs: usize,
    pub(crate) clients: usize,
    pub(crate) requests_per_client: usize,
    pub(crate) http_deltas: usize,
    /// The store `http_load`'s server keeps its threads in: memory, sqlite or postgres.
    pub(crate) http_store: String,
    /// How `http_load`'s answers run: cancel, detach or redis.
    pub(crate) http_runs: String,
    pub(crate) pin_cores: bool,
    /// Record every span and INFO event (`--trace`), to measure what tracing costs.
    pub(crate) trace: bool,
    /// `--trace`, and the spans and metrics through OpenTelemetry's SDK (`--otel`).
    pub(crate) otel: bool,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            pipeline_n: 20_000,
            agent_n: 20_000,
            widget_states: 2_000,
            widget_chunk: WIDGET_CHUNK.into(),
            template_items: 50,
            template_reps: 5_000,
            diff_children: 500,
            diff_reps: 2_000,
            runs: 3,
            clients: 200,
            requests_per_client: 5,
            http_deltas: 200,
            http_store: "memory".into(),
            http_runs: "cancel".into(),
            pin_cores: false,
            trace: false,
            otel: false,
        }
    }
}

/// One measured scenario: `setup` prepares each run's inputs (untimed), `run` is timed
/// and returns its `check` counters.
fn measure<S>(
    n: usize,
    unit: &str,
    runs: usize,
    mut setup: impl FnMut() -> S,
    mut run: impl FnMut(S) -> Value,
) -> Value {
    let rss_before = peak_rss_mb();
    let mut seconds = Vec::with_capacity(runs);
    let mut check = Value::Null;
    for _ in 0..runs {
        let input = setup();
        let start = Instant::now();
        let this = run(input);
        seconds.push(start.elapsed().as_secs_f64());
        assert!(
            check.is_null() || check == this,
            "check counters differ between runs: {check} vs {this}"
        );
        check = this;
    }
    let mut sorted = seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    json!({
        "n": n, "seconds": median, "per_sec": n as f64 / median, "peak_rss_mb": peak_rss_mb(),
        "unit": unit, "runs_seconds": seconds, "rss_before_runs_mb": rss_before, "check": check,
        "allocator": ALLOCATOR,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

// ---- pipeline_text ------------------------------------------------------------------------

struct BenchServer {
    store: Arc<dyn Store<()>>,
    n: usize,
    /// `http_load --http-runs detach|redis`: answers outlive their client.
    policy: DisconnectPolicy,
    /// `http_load --http-runs redis`: detached runs' events go to Redis too.
    log: Option<Arc<dyn RunLogBackend>>,
}

impl BenchServer {
    fn new(store: Arc<dyn Store<()>>, n: usize) -> Self {
        BenchServer {
            store,
            n,
            policy: DisconnectPolicy::Cancel,
            log: None,
        }
    }
}

impl ChatKitServer for BenchServer {
    type Context = ();
    fn store(&self) -> Arc<dyn Store<()>> {
        self.store.clone()
    }
    fn disconnect_policy(&self, _: &()) -> DisconnectPolicy {
        self.policy.clone()
    }
    fn run_log(&self) -> Option<Arc<dyn RunLogBackend>> {
        self.log.clone()
    }
    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        _: Option<UserMessageItem>,
        _: (),
    ) -> EventStream {
        let n = self.n;
        let id = "msg_bench_assistant";
        let item = move |content| AssistantMessageItem {
            id: id.into(),
            thread_id: thread.id().into(),
            created_at: Timestamp::now(),
            content,
        };
        let added = ThreadStreamEvent::item_added(item(Vec::new()));
        let done_text = TEXT_DELTA.repeat(n);
        let done = ThreadStreamEvent::item_done(item(vec![AssistantMessageContent::new(
            done_text.clone(),
        )]));
        let head = [
            added,
            ThreadStreamEvent::item_updated(
                id,
                ThreadItemUpdate::AssistantMessageContentPartAdded {
                    content_index: 0,
                    content: AssistantMessageContent::new(""),
                },
            ),
        ];
        let deltas = (0..n).map(move |_| {
            ThreadStreamEvent::item_updated(
                id,
                ThreadItemUpdate::AssistantMessageContentPartTextDelta {
                    content_index: 0,
                    delta: TEXT_DELTA.into(),
                },
            )
        });
        let tail = [
            ThreadStreamEvent::item_updated(
                id,
                ThreadItemUpdate::AssistantMessageContentPartDone {
                    content_index: 0,
                    content: AssistantMessageContent::new(done_text),
                },
            ),
            done,
        ];
        futures::stream::iter(head.into_iter().chain(deltas).chain(tail).map(Ok)).boxed()
    }
}

const PIPELINE_BODY: &[u8] = br#"{"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "Benchmark, please."}], "attachments": [], "inference_options": {}}}}"#;

/// `threads.create` on a fresh server whose answer has `n` text deltas.
async fn pipeline_stream(n: usize) -> StreamingResult {
    let server = Arc::new(BenchServer::new(Arc::new(MemoryStore::new()), n));
    match process(&server, PIPELINE_BODY, ()).await {
        Ok(ProcessResult::Streaming(stream)) => stream,
        _ => panic!("expected a stream"),
    }
}

fn pipeline_text(sizes: &Sizes) -> Value {
    let rt = runtime();
    let n = sizes.pipeline_n;
    measure(
        n + 7,
        "SSE events",
        sizes.runs,
        || (),
        |()| {
            rt.block_on(async {
                let mut stream = pipeline_stream(n).await;
                let (mut events, mut bytes) = (0usize, 0usize);
                while let Some(frame) = stream.next().await {
                    events += 1;
                    bytes += frame.len();
                }
                json!({"events": events, "approx_bytes": bytes / 1000})
            })
        },
    )
}

/// The floor under `pipeline_text`: the same events, serialized into frames in a loop.
fn serialize_baseline(sizes: &Sizes) -> Value {
    let rt = runtime();
    let n = sizes.pipeline_n;
    // The events pipeline_text sends, built once (untimed).
    let events: Vec<ThreadStreamEvent> =
        rt.block_on(async { pipeline_stream(n).await.into_events().collect().await });
    measure(
        n + 7,
        "SSE events",
        sizes.runs,
        || (),
        |()| {
            let (mut count, mut bytes) = (0usize, 0usize);
            for event in &events {
                let mut frame = Vec::with_capacity(160);
                frame.extend_from_slice(b"data: ");
                serde_json::to_writer(&mut frame, event).expect("events serialize");
                frame.extend_from_slice(b"\n\n");
                count += 1;
                bytes += std::hint::black_box(frame).len();
            }
            json!({"events": count, "approx_bytes": bytes / 1000})
        },
    )
}

// ---- agent_text ---------------------------------------------------------------------------

fn agent_events(n: usize) -> Vec<ModelEvent> {
    let id = "msg_agent_1";
    let message = |content: Vec<ContentPart>, status: &str| {
        OutputItem::Message(MessageItem {
            id: id.into(),
            content,
            status: Some(status.into()),
            ..Default::default()
        })
    };
    let text = TEXT_DELTA.repeat(n);
    let mut events = vec![
        ModelEvent::OutputItemAdded {
            output_index: 0,
            item: message(Vec::new(), "in_progress"),
        },
        ModelEvent::ContentPartAdded {
            item_id: id.into(),
            output_index: 0,
            content_index: 0,
            part: ContentPart::text(""),
        },
    ];
    events.extend((0..n).map(|_| ModelEvent::OutputTextDelta {
        item_id: id.into(),
        output_index: 0,
        content_index: 0,
        delta: TEXT_DELTA.into(),
    }));
    events.push(ModelEvent::OutputTextDone {
        item_id: id.into(),
        output_index: 0,
        content_index: 0,
        text: text.clone(),
    });
    events.push(ModelEvent::ContentPartDone {
        item_id: id.into(),
        output_index: 0,
        content_index: 0,
        part: ContentPart::text(text.clone()),
    });
    events.push(ModelEvent::OutputItemDone {
        output_index: 0,
        item: message(vec![ContentPart::text(text)], "completed"),
    });
    events
}

fn agent_text(sizes: &Sizes) -> Value {
    let rt = runtime();
    let prebuilt = agent_events(sizes.agent_n);
    let setup = || -> Vec<Result<RunEvent, RunError>> {
        prebuilt
            .iter()
            .cloned()
            .map(|e| Ok(RunEvent::Model(e)))
            .collect()
    };
    measure(
        sizes.agent_n + 4,
        "ChatKit events",
        sizes.runs,
        setup,
        |events| {
            rt.block_on(async {
                let thread = ThreadHandle::new(ThreadMetadata::new("thr_bench", Timestamp::now()));
                let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
                let mut stream = stream_agent_response(
                    &ctx,
                    RunStream::from_events(futures::stream::iter(events)),
                );
                let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
                while let Some(event) = stream.next().await {
                    let event = event.expect("no run error");
                    let kind = match &event {
                        ThreadStreamEvent::ThreadItemUpdated { update, .. } => match update {
                            // The reference peer counts updates by their `type`.
                            ThreadItemUpdate::AssistantMessageContentPartAdded { .. } => {
                                "assistant_message.content_part.added"
                            }
                            ThreadItemUpdate::AssistantMessageContentPartTextDelta { .. } => {
                                "assistant_message.content_part.text_delta"
                            }
                            ThreadItemUpdate::AssistantMessageContentPartDone { .. } => {
                                "assistant_message.content_part.done"
                            }
                            _ => "other_update",
                        },
                        other => other.type_name(),
                    };
                    *kinds.entry(kind.to_owned()).or_default() += 1;
                }
                serde_json::to_value(kinds).unwrap_or_default()
            })
        },
    )
}

// ---- widget_stream ------------------------------------------------------------------------

fn widget_states(sizes: &Sizes) -> Vec<WidgetRoot> {
    (0..sizes.widget_states)
        .map(|i| widget_state(&sizes.widget_chunk, i))
        .collect()
}

/// [`measure`] for the widget-state scenarios: `n` is the number of states.
fn measure_states<S>(
    sizes: &Sizes,
    setup: impl FnMut() -> S,
    run: impl FnMut(S) -> Value,
) -> Value {
    measure(sizes.widget_states, "widget states", sizes.runs, setup, run)
}

/// Streams `source` as `widget_stream` does and counts its events and text deltas.
async fn stream_and_count(thread: &ThreadMetadata, source: WidgetSource) -> Value {
    let mut events = stream_widget(thread, source, None, |_| "msg_widget".into());
    let (mut count, mut deltas) = (0usize, 0usize);
    while let Some(event) = events.next().await {
        if let Ok(ThreadStreamEvent::ThreadItemUpdated {
            update: ThreadItemUpdate::WidgetStreamingTextValueDelta { .. },
            ..
        }) = &event
        {
            deltas += 1;
        }
        event.expect("no diff error");
        count += 1;
    }
    json!({"events": count, "deltas": deltas})
}

fn widget_stream(sizes: &Sizes) -> Value {
    let rt = runtime();
    let states = widget_states(sizes);
    let thread = ThreadMetadata::new("thr_bench", Timestamp::now());
    // Each run consumes its own copy of the prebuilt states (copied before the timer).
    measure_states(
        sizes,
        || states.clone(),
        |states| {
            rt.block_on(stream_and_count(
                &thread,
                WidgetSource::states(futures::stream::iter(states)),
            ))
        },
    )
}

/// State `i` of `widget_stream`, built from JSON as a server would build it per delta.
fn widget_state(chunk: &str, i: usize) -> WidgetRoot {
    WidgetRoot::from_value(json!({"type": "Card", "children": [{"type": "Markdown", "id": "m", "value": chunk.repeat(i), "streaming": true}]})).expect("a valid root")
}

/// `widget_stream` with each state built when the stream asks for it (`json!` and
/// `WidgetRoot::from_value`), as a server that builds its widget per delta does, instead
/// of all of them before the timer. Compare with `live_build_baseline`, the building
/// alone: the difference is what streaming adds, frees included, when states are freed
/// soon after they are made.
fn widget_stream_live(sizes: &Sizes) -> Value {
    let rt = runtime();
    let thread = ThreadMetadata::new("thr_bench", Timestamp::now());
    measure_states(
        sizes,
        || (),
        |()| {
            let chunk = sizes.widget_chunk.clone();
            let states =
                futures::stream::iter(0..sizes.widget_states).map(move |i| widget_state(&chunk, i));
            rt.block_on(stream_and_count(&thread, WidgetSource::states(states)))
        },
    )
}

/// The floor under `widget_stream_live`: building its states one after the other,
/// each dropped before the next.
fn live_build_baseline(sizes: &Sizes) -> Value {
    measure_states(
        sizes,
        || (),
        |()| {
            let built = (0..sizes.widget_states)
                .filter(|&i| {
                    std::hint::black_box(widget_state(&sizes.widget_chunk, i))
                        .get("children")
                        .is_some()
                })
                .count();
            json!({"built": built})
        },
    )
}

/// The floor under `widget_stream`: the prefix check alone. Each state's Markdown value is
/// compared with the previous one's, in a fresh copy of the prebuilt states made before
/// the timer, as `widget_stream` gets (so both read memory equally warm); `widget_stream`
/// cannot do less than this.
fn prefix_baseline(sizes: &Sizes) -> Value {
    let states = widget_states(sizes);
    let markdown = |root: &WidgetRoot| -> String {
        let text = root.get("children").and_then(|c| c[0]["value"].as_str());
        text.expect("each state has the Markdown value").to_owned()
    };
    // Each run's copy is kept until all runs are done: freeing is not part of the floor.
    let mut used = Vec::new();
    measure_states(
        sizes,
        || states.iter().map(markdown).collect::<Vec<String>>(),
        |texts| {
            let appended = texts
                .windows(2)
                .filter(|pair| std::hint::black_box(&pair[1]).starts_with(pair[0].as_str()))
                .count();
            used.push(texts);
            json!({"events": appended + 2, "deltas": appended})
        },
    )
}

/// `prefix_baseline` plus what owning the states costs: the same prefix checks on the
/// same prebuilt trees (copied before the timer, as `widget_stream` gets them), each
/// state dropped once the next one has been compared with it. `stream_widget` takes
/// its states by value, so it pays these frees too; what `widget_stream` spends above
/// this floor is the diff, the events and the stream itself.
fn prefix_free_baseline(sizes: &Sizes) -> Value {
    let states = widget_states(sizes);
    fn markdown(root: &WidgetRoot) -> &str {
        let text = root.get("children").and_then(|c| c[0]["value"].as_str());
        text.expect("each state has the Markdown value")
    }
    measure_states(
        sizes,
        || states.clone(),
        |states| {
            let mut appended = 0;
            let mut previous: Option<WidgetRoot> = None;
            for state in states {
                if let Some(previous) = previous.take() {
                    let grew =
                        std::hint::black_box(markdown(&state)).starts_with(markdown(&previous));
                    appended += usize::from(grew);
                }
                previous = Some(state);
            }
            drop(previous);
            json!({"events": appended + 2, "deltas": appended})
        },
    )
}

// ---- template_build -----------------------------------------------------------------------

fn template_data(items: usize) -> Value {
    let statuses = ["open", "in progress", "blocked", "done"];
    let items: Vec<Value> = (0..items)
        .map(|i| json!({"id": format!("item-{i}"), "title": format!("Item number {i} <&> \"quoted\""), "status": statuses[i % 4], "qty": i % 7, "price": i as f64 * 1.25, "done": i % 4 == 3}))
        .collect();
    json!({"title": "Benchmark list", "items": items})
}

fn bench_template() -> WidgetTemplate {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/bench/bench_list.widget"
    );
    WidgetTemplate::from_file(path).expect("the benchmark template compiles")
}

fn template_build(sizes: &Sizes) -> Value {
    let template = bench_template();
    let data = template_data(sizes.template_items);
    measure(
        sizes.template_reps,
        "builds",
        sizes.runs,
        || (),
        |()| {
            let mut last = None;
            for _ in 0..sizes.template_reps {
                last = Some(std::hint::black_box(
                    template.build(&data).expect("the template builds"),
                ));
            }
            let last = last.expect("at least one build");
            let children = last
                .get("children")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            json!({"children": children, "last_output_chars": serde_json::to_string(&last).map_or(0, |s| s.chars().count())})
        },
    )
}

/// The floor under `template_build` for a minijinja-based build: rendering the text
/// alone, without parsing it into a widget.
fn render_baseline(sizes: &Sizes) -> Value {
    let template = bench_template();
    let data = template_data(sizes.template_items);
    measure(
        sizes.template_reps,
        "renders",
        sizes.runs,
        || (),
        |()| {
            let mut chars = 0;
            for _ in 0..sizes.template_reps {
                let text = template.render(&data).expect("the template renders");
                chars = std::hint::black_box(text).chars().count();
            }
            json!({"rendered_chars": chars})
        },
    )
}

// ---- diff_large ---------------------------------------------------------------------------

fn diff_trees(children: usize) -> (WidgetRoot, WidgetRoot) {
    let child = |i: usize, appended: bool| {
        let value = format!(
            "Line {i}: initial text{}",
            if appended { " + appended words" } else { "" }
        );
        if i.is_multiple_of(10) {
            json!({"type": "Text", "id": format!("t{i}"), "value": value, "streaming": true})
        } else {
            json!({"type": "Text", "value": format!("Line {i}: initial text")})
        }
    };
    let root = |appended: bool| {
        WidgetRoot::from_value(json!({"type": "Card", "children": (0..children).map(|i| child(i, appended)).collect::<Vec<_>>()})).expect("a valid root")
    };
    (root(false), root(true))
}

fn diff_large(sizes: &Sizes) -> Value {
    let (before, after) = diff_trees(sizes.diff_children);
    measure_diffs(sizes, || diff_widget(&before, &after).expect("unique ids"))
}

/// Runs `diff` `diff_reps` times a run; the check counts the last diff's updates and
/// whether they are all streaming-text deltas.
fn measure_diffs(sizes: &Sizes, mut diff: impl FnMut() -> Vec<ThreadItemUpdate>) -> Value {
    measure(
        sizes.diff_reps,
        "diffs",
        sizes.runs,
        || (),
        |()| {
            let mut updates = Vec::new();
            for _ in 0..sizes.diff_reps {
                updates = std::hint::black_box(diff());
            }
            let all_deltas = updates.iter().all(|u| {
                matches!(
                    u,
                    ThreadItemUpdate::WidgetStreamingTextValueDelta { done: false, .. }
                )
            });
            json!({"updates": updates.len(), "kind": if all_deltas { "widget.streaming_text.value_delta" } else { "mixed" }})
        },
    )
}

/// The floor under `diff_large`: the cheapest walk that compares the same props of the
/// same two trees and builds the same 50 deltas. Children are zipped pairwise and each
/// prop compared by key and value (`==`, in order, no lookup); a `value` that differs
/// must extend the old one, and its node's `id` (read only then) names the delta. It
/// skips what `diff_widget` must also do: Python's number equality, key orders that
/// differ, the node types, the `streaming` flag's truthiness and the check that no two
/// streaming texts share an id.
fn diff_baseline(sizes: &Sizes) -> Value {
    fn children(root: &WidgetRoot) -> &[Value] {
        let children = root.get("children").and_then(Value::as_array);
        children.expect("children")
    }
    // The same trees `diff_large` walks.
    let (before_root, after_root) = diff_trees(sizes.diff_children);
    let (before, after) = (children(&before_root), children(&after_root));
    let walk = |before: &[Value], after: &[Value]| -> Option<Vec<ThreadItemUpdate>> {
        let mut updates = Vec::new();
        for (old, new) in before.iter().zip(after) {
            let (Value::Object(old), Value::Object(new)) = (old, new) else {
                return None;
            };
            if old.len() != new.len() {
                return None;
            }
            for ((old_key, old_value), (new_key, new_value)) in old.iter().zip(new) {
                if old_key != new_key {
                    return None;
                }
                if old_value == new_value {
                    continue;
                }
                let (Value::String(old_text), Value::String(new_text), "value") =
                    (old_value, new_value, old_key.as_str())
                else {
                    return None;
                };
                let delta = new_text.strip_prefix(old_text.as_str())?;
                let id = new.get("id").and_then(Value::as_str)?;
                updates.push(ThreadItemUpdate::WidgetStreamingTextValueDelta {
                    component_id: id.to_owned(),
                    delta: delta.to_owned(),
                    done: false,
                });
            }
        }
        Some(updates)
    };
    measure_diffs(sizes, || walk(before, after).expect("appends only"))
}

// ---- http_load ----------------------------------------------------------------------------

/// The server side of `http_load`, run in its own process so its peak RSS is its own:
/// prints its port, then serves until killed.
fn serve_http(deltas: usize, store: &str, runs: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    rt.block_on(async {
        let store = open_http_store(store, std::os::unix::process::parent_id()).await;
        serve_endpoint_with(deltas, store, runs, |port| println!("{port}")).await
    });
}

/// The SQLite file and PostgreSQL schema of the `http_load` run of benchmark `owner`.
fn http_store_names(owner: u32) -> (std::path::PathBuf, String) {
    (
        std::env::temp_dir().join(format!("chatkit-http-{owner}.sqlite")),
        format!("ck_http_{owner}"),
    )
}

fn postgres_url() -> String {
    std::env::var("CHATKIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh store of `kind` for the `http_load` server of benchmark `owner`.
async fn open_http_store(kind: &str, owner: u32) -> Arc<dyn Store<()>> {
    let (file, schema) = http_store_names(owner);
    match kind {
        "memory" => Arc::new(MemoryStore::new()),
        "sqlite" => {
            let _ = std::fs::remove_file(&file);
            Arc::new(SqliteStore::open(&file).await.expect("SQLite opens"))
        }
        "postgres" => {
            let options = PostgresStoreOptions::default()
                .schema(schema)
                .max_connections(10);
            Arc::new(
                PostgresStore::connect_with(&postgres_url(), options)
                    .await
                    .expect("PostgreSQL is reachable (CHATKIT_TEST_POSTGRES)"),
            )
        }
        other => panic!("unknown --http-store {other:?}: memory, sqlite or postgres"),
    }
}

/// Removes what `open_http_store` made for benchmark `owner`.
fn remove_http_store(kind: &str, owner: u32) {
    let (file, schema) = http_store_names(owner);
    match kind {
        "sqlite" => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        "postgres" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a Tokio runtime");
            rt.block_on(async {
                if let Ok(store) = PostgresStore::connect_with(
                    &postgres_url(),
                    PostgresStoreOptions::default().migrate(false),
                )
                .await
                {
                    let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                        .execute(store.pool())
                        .await;
                }
            });
        }
        _ => {}
    }
}

/// Serves the `http_load` endpoint on `store`, on a free local port (announced to
/// `bound`) until the process ends: each `threads.create` streams `deltas` text deltas,
/// run as `runs` says: `cancel` (the default policy),
/// `detach` (detached runs, in-process logs) or `redis` (detached, their events also in
/// Redis at `CHATKIT_TEST_REDIS`, 127.0.0.1:6379 by default).
pub(crate) async fn serve_endpoint_with(
    deltas: usize,
    store: Arc<dyn Store<()>>,
    runs: &str,
    bound: impl FnOnce(u16),
) {
    let mut server = BenchServer::new(store, deltas);
    match runs {
        "cancel" => {}
        "detach" => server.policy = DisconnectPolicy::detach(),
        "redis" => {
            let url = std::env::var("CHATKIT_TEST_REDIS")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let log = RedisRunLog::connect(&url)
                .await
                .expect("Redis is reachable");
            server.policy = DisconnectPolicy::detach();
            server.log = Some(Arc::new(log));
        }
        other => panic!("unknown --http-runs {other:?}: cancel, detach or redis"),
    }
    let server = Arc::new(server);
    let app = chatkit_agents::http::ChatKitEndpoint::new(server, |_| Ok(())).router();
    let server = chatkit_agents::http::Server::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    bound(server.local_addr().expect("an address").port());
    server.serve(app).await.expect("the server runs");
}

/// User + system CPU time of a process (`self` or a pid), from `/proc/<pid>/stat`, in
/// seconds (at the usual 100 clock ticks per second).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// C concurrent clients, each creating threads whose responses stream `http_deltas`
/// deltas; bounded by the request count and a 120 s deadline.
fn http_load(sizes: &Sizes) -> Value {
    use std::io::BufRead;
    let exe = std::env::current_exe().expect("the benchmark's own path");
    // With --pin-cores the server runs on CPU 0 and this client on CPU 1 (via `taskset`),
    // so the client's work does not delay the server's first events.
    let mut server = if sizes.pin_cores {
        let mut taskset = Command::new("taskset");
        taskset.args(["-c", "0"]).arg(&exe);
        let pinned = Command::new("taskset")
            .args(["-a", "-c", "-p", "1", &std::process::id().to_string()])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(pinned, "--pin-cores needs `taskset` and at least two CPUs");
        taskset
    } else {
        Command::new(&exe)
    };
    let mut child = server
        .args(["--http-store", &sizes.http_store])
        .args(["--http-runs", &sizes.http_runs])
        .args(["--serve-http", &sizes.http_deltas.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the server process starts");
    let mut port = String::new();
    let stdout = child.stdout.take().expect("the server's stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut port)
        .expect("the server prints its port");
    let url = format!("http://127.0.0.1:{}/chatkit", port.trim());
    let mut report = drive_load(&url, sizes);
    let server_rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0);
    let server_cpu = cpu_seconds(&child.id().to_string());
    let _ = child.kill();
    let _ = child.wait();
    remove_http_store(&sizes.http_store, std::process::id());
    report["store"] = json!(sizes.http_store);
    report["runs"] = json!(sizes.http_runs);
    report["peak_rss_mb"] = json!(server_rss);
    report["server_cpu_seconds"] = json!(server_cpu);
    report
}

/// The client side of `http_load`: `sizes.clients` concurrent clients, each creating
/// `sizes.requests_per_client` threads at `url` and reading every stream to the end.
pub(crate) fn drive_load(url: &str, sizes: &Sizes) -> Value {
    let url = url.to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let (clients, per_client) = (sizes.clients, sizes.requests_per_client);
    let started = Instant::now();
    let results = rt.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(clients)
            .build()
            .expect("an HTTP client");
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        let tasks = (0..clients).map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                for _ in 0..per_client {
                    if Instant::now() > deadline {
                        break;
                    }
                    let start = Instant::now();
                    let Ok(response) = client.post(&url).body(PIPELINE_BODY).send().await else {
                        samples.push(Err(()));
                        continue;
                    };
                    let mut body = response.bytes_stream();
                    let (mut first, mut events) = (None, 0usize);
                    let mut failed = false;
                    while let Some(chunk) = body.next().await {
                        match chunk {
                            Ok(chunk) => {
                                first.get_or_insert_with(|| start.elapsed().as_secs_f64());
                                events += memchr::memmem::find_iter(&chunk, b"data: ").count();
                            }
                            Err(_) => failed = true,
                        }
                    }
                    samples.push(if failed {
                        Err(())
                    } else {
                        Ok((first.unwrap_or(0.0), start.elapsed().as_secs_f64(), events))
                    });
                }
                samples
            })
        });
        let mut all = Vec::new();
        for task in futures::future::join_all(tasks).await {
            all.extend(task.unwrap_or_default());
        }
        all
    });
    let seconds = started.elapsed().as_secs_f64();
    let ok: Vec<_> = results.iter().filter_map(|r| r.ok()).collect();
    let errors = results.len() - ok.len();
    let events: usize = ok.iter().map(|s| s.2).sum();
    let mut first: Vec<f64> = ok.iter().map(|s| s.0 * 1000.0).collect();
    let mut last: Vec<f64> = ok.iter().map(|s| s.1 * 1000.0).collect();
    first.sort_by(f64::total_cmp);
    last.sort_by(f64::total_cmp);
    json!({
        "n": ok.len(), "seconds": seconds, "per_sec": ok.len() as f64 / seconds, "unit": "requests",
        "events_per_sec": events as f64 / seconds, "errors": errors, "clients": clients,
        "first_event_ms": {"p50": percentile(&first, 0.5), "p99": percentile(&first, 0.99)},
        "last_event_ms": {"p50": percentile(&last, 0.5), "p99": percentile(&last, 0.99)},
        "client_peak_rss_mb": peak_rss_mb(), "pinned_cores": sizes.pin_cores,
        "client_cpu_seconds": cpu_seconds("self"),
        "check": {"events_per_request": if ok.is_empty() { 0 } else { events / ok.len() }},
    })
}

// ---- driver -------------------------------------------------------------------------------

/// Runs one scenario in this process and returns its figures.
pub(crate) fn run_scenario(name: &str, sizes: &Sizes) -> Value {
    match name {
        "pipeline_text" => pipeline_text(sizes),
        "serialize_baseline" => serialize_baseline(sizes),
        "agent_text" => agent_text(sizes),
        "widget_stream" => widget_stream(sizes),
        "prefix_baseline" => prefix_baseline(sizes),
        "prefix_free_baseline" => prefix_free_baseline(sizes),
        "widget_stream_live" => widget_stream_live(sizes),
        "live_build_baseline" => live_build_baseline(sizes),
        "template_build" => template_build(sizes),
        "render_baseline" => render_baseline(sizes),
        "diff_large" => diff_large(sizes),
        "diff_baseline" => diff_baseline(sizes),
        "http_load" => http_load(sizes),
        other => {
            json!({"error": format!("unknown scenario {other:?}; known: {}", SCENARIOS.join(", "))})
        }
    }
}

const USAGE: &str = "usage: cargo run --release --example bench -- [SCENARIO ...] [OPTIONS]

Runs the benchmark scenarios (all but http_load when none is named) and prints one JSON
object {scenario: figures}. Build with --release: a debug build is many times slower.

options:
  --scenarios a,b,c          scenarios to run (same as naming them)
  --runs N                   measured runs per scenario (default 3)
  --in-process               run every scenario in this process (default: one process each)
  --pin-cores                pin the benchmark (and the HTTP server) to their own cores
  --pipeline-n N  --agent-n N  --widget-states N  --widget-chunk LEN
  --template-items N  --template-reps N  --diff-children N  --diff-reps N
  --clients N  --requests-per-client N  --http-deltas N
  --http-store memory|sqlite|postgres   where http_load's server keeps threads
  --http-runs cancel|detach|redis       how http_load's answers run (detached runs,
                                        their events also in Redis with redis)
  --trace                    install a subscriber that records every span and formats
                             every INFO event (to a sink): what tracing costs
  --otel                     --trace, and every span and metric through the
                             OpenTelemetry SDK (batched, then discarded): what an
                             OTLP export costs the request path
                             the scenario sizes (defaults: the reference's)
  -h, --help                 this text";

/// A subscriber as an application with traces has one: every span and INFO event is
/// recorded (the registry keeps the spans and their fields) and formatted, into a sink so
/// that no I/O is measured.
fn install_recording_subscriber() {
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
    );
    tracing::subscriber::set_global_default(subscriber).expect("no subscriber set before");
}

/// `install_recording_subscriber`, plus what the `otel` feature's export does on the
/// request path: the spans become OpenTelemetry spans (batched to an exporter that drops
/// them, so no encoding or I/O is measured) and the metrics are aggregated by an SDK
/// meter provider.
fn install_otel_subscriber() {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::{Layer, SubscriberExt};

    #[derive(Debug)]
    struct Discard;
    impl opentelemetry_sdk::trace::SpanExporter for Discard {
        async fn export(
            &self,
            _batch: Vec<opentelemetry_sdk::trace::SpanData>,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            Ok(())
        }
    }

    impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for Discard {
        async fn export(
            &self,
            _metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            Ok(())
        }
        fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(
            &self,
            _timeout: std::time::Duration,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            Ok(())
        }
        fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
            opentelemetry_sdk::metrics::Temporality::Cumulative
        }
    }

    let meters = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_periodic_exporter(Discard)
        .build();
    opentelemetry::global::set_meter_provider(meters);
    let tracers = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(Discard)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::sink)
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
        )
        .with(tracing_opentelemetry::layer().with_tracer(tracers.tracer("bench")));
    tracing::subscriber::set_global_default(subscriber).expect("no subscriber set before");
    // The provider lives as long as the process.
    std::mem::forget(tracers);
}

/// Exits with `message` and the usage (status 2: a wrong command line).
fn usage_error(message: &str) -> ! {
    eprintln!("bench: {message}\n\n{USAGE}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes = Sizes::default();
    let mut scenarios: Vec<String> = Vec::new();
    let mut in_process = false;
    let mut child = false;
    let mut forwarded: Vec<String> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut number = |target: &mut usize| {
            let value = iter
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage_error(&format!("{arg} needs a number")));
            *target = value;
            forwarded.extend([arg.clone(), value.to_string()]);
        };
        match arg.as_str() {
            "--pipeline-n" => number(&mut sizes.pipeline_n),
            "--agent-n" => number(&mut sizes.agent_n),
            "--widget-states" => number(&mut sizes.widget_states),
            "--template-items" => number(&mut sizes.template_items),
            "--template-reps" => number(&mut sizes.template_reps),
            "--diff-children" => number(&mut sizes.diff_children),
            "--diff-reps" => number(&mut sizes.diff_reps),
            "--runs" => number(&mut sizes.runs),
            "--clients" => number(&mut sizes.clients),
            "--requests-per-client" => number(&mut sizes.requests_per_client),
            "--http-deltas" => number(&mut sizes.http_deltas),
            "--serve-http" => {
                let deltas = iter
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--serve-http needs the delta count");
                serve_http(deltas, &sizes.http_store, &sizes.http_runs);
                return;
            }
            "--widget-chunk" => {
                let length: usize = iter
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage_error("--widget-chunk needs a length"));
                sizes.widget_chunk = WIDGET_CHUNK.chars().cycle().take(length).collect();
                forwarded.extend([arg.clone(), length.to_string()]);
            }
            "--http-runs" => {
                let runs = iter
                    .next()
                    .unwrap_or_else(|| usage_error("--http-runs needs cancel, detach or redis"));
                sizes.http_runs = runs.clone();
                forwarded.extend([arg.clone(), runs.clone()]);
            }
            "--http-store" => {
                let store = iter.next().unwrap_or_else(|| {
                    usage_error("--http-store needs memory, sqlite or postgres")
                });
                sizes.http_store = store.clone();
                forwarded.extend([arg.clone(), store.clone()]);
            }
            "--scenarios" => scenarios.extend(
                iter.next()
                    .unwrap_or_else(|| usage_error("--scenarios needs a list"))
                    .split(',')
                    .map(str::to_owned),
            ),
            "--in-process" => in_process = true,
            "--pin-cores" => {
                sizes.pin_cores = true;
                forwarded.push(arg.clone());
            }
            "--trace" => {
                sizes.trace = true;
                forwarded.push(arg.clone());
            }
            "--otel" => {
                sizes.otel = true;
                forwarded.push(arg.clone());
            }
            "--child" => child = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            flag if flag.starts_with('-') => usage_error(&format!("unknown option {flag:?}")),
            name => scenarios.push(name.to_owned()),
        }
    }
    if scenarios.is_empty() {
        scenarios = SCENARIOS.iter().map(|s| (*s).to_owned()).collect();
    }
    let known = |name: &str| SCENARIOS.contains(&name) || EXTRA_SCENARIOS.contains(&name);
    if let Some(unknown) = scenarios.iter().find(|name| !known(name)) {
        usage_error(&format!(
            "unknown scenario {unknown:?}; known: {} (and, when named, {})",
            SCENARIOS.join(", "),
            EXTRA_SCENARIOS.join(", ")
        ));
    }
    if sizes.otel {
        install_otel_subscriber();
    } else if sizes.trace {
        install_recording_subscriber();
    }
    if cfg!(debug_assertions) && !child {
        eprintln!("bench: this is a debug build; figures are only meaningful with --release");
    }
    let mut results = serde_json::Map::new();
    for name in &scenarios {
        if !child {
            eprintln!("bench: running {name}...");
        }
        let result = if child || in_process {
            run_scenario(name, &sizes)
        } else {
            let exe = std::env::current_exe().expect("the benchmark's own path");
            let output = Command::new(exe)
                .arg("--child")
                .arg(name)
                .args(&forwarded)
                .output()
                .expect("the scenario process runs");
            serde_json::from_slice::<Value>(&output.stdout)
                .ok()
                .and_then(|mut v| v.get_mut(name.as_str()).map(Value::take))
                .unwrap_or_else(
                    || json!({"error": String::from_utf8_lossy(&output.stderr).trim().to_owned()}),
                )
        };
        results.insert(name.clone(), result);
    }
    println!("{}", Value::Object(results));
}
