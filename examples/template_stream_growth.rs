//! How the seeds' streaming pattern grows with the answer: a nested agent run's text
//! deltas drive a `.widget` template (`examples/bench/answer_card.widget`, an answer
//! card with a header, the streamed Markdown, sources and buttons), streamed with
//! `stream_widget` through the server into SSE frames. Two forms:
//!
//! - `rebuild`: the template rebuilt with the text so far on every delta, each build
//!   diffed against the previous one (`WidgetSource::states`), as the reference does;
//! - `linear`: the template built once and its `answer` field streamed
//!   (`WidgetSource::template`).
//!
//! For answers of 1k, 10k and 100k characters (deltas of `--delta-chars`, 8 by default,
//! about two tokens), each form and size runs in a fresh process and reports the whole
//! request's time, the time per delta (over the whole request, and between the first and
//! the last text delta frame) and the peak RSS.
//!
//! ```sh
//! cargo run --release --example template_stream_growth
//! cargo run --release --example template_stream_growth -- --sizes 1000,10000 --forms linear
//! cargo run --release --example template_stream_growth -- --text mixed
//! ```
//!
//! `benches/python_peer.py --scenarios template_stream_growth` runs the reference's
//! rebuild-per-delta form the same way.

use std::process::Command;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use chatkit_agents::agents::{text_deltas, Agent, Runner};
use chatkit_agents::server::{
    process, ChatKitServer, EventStream, ProcessResult, StreamError, ThreadHandle,
};
use chatkit_agents::store::{MemoryStore, Store};
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents::types::{default_generate_id, UserMessageItem};
use chatkit_agents::widgets::{
    stream_widget, TemplateInput, WidgetRoot, WidgetSource, WidgetTemplate,
};
use chatkit_agents_workspace::example_support::peak_rss_mb;
use futures::StreamExt;
use serde_json::{json, Value};

/// The answer's text, repeated: `--text plain` (the default) needs no escapes; `--text
/// mixed` has quotes, an apostrophe, an accent and HTML, as real answers do, which
/// `tojson` escapes (`\"`, `\u0027`, `\u00e9`, `\u003c`, ...) and every rebuild reads back.
fn text(kind: &str) -> &'static str {
    match kind {
        "plain" => "Streaming answers grow one delta at a time; ",
        "mixed" => "Don't stream \"quoted\" café answers <b>&</b>; ",
        other => panic!("--text plain|mixed, not {other:?}"),
    }
}

static CARD: LazyLock<Arc<WidgetTemplate>> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/bench/answer_card.widget"
    );
    Arc::new(WidgetTemplate::from_file(path).expect("the answer card compiles"))
});

/// The card's data besides the answer.
fn card_data(streaming: bool) -> Value {
    let sources: Vec<Value> = (1..=5)
        .map(|i| json!({"title": format!("Source number {i}: a document the answer cites")}))
        .collect();
    json!({"title": "Answer", "streaming": streaming, "sources": sources, "id": "ans_1"})
}

/// The answer's deltas: `chars` characters of `text` in pieces of `delta_chars`.
fn answer_deltas(text: &str, chars: usize, delta_chars: usize) -> Vec<String> {
    let text: String = text.chars().cycle().take(chars).collect();
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(delta_chars.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

struct GrowthServer {
    store: Arc<dyn Store<()>>,
    linear: bool,
    deltas: Vec<String>,
}

impl ChatKitServer for GrowthServer {
    type Context = ();
    fn store(&self) -> Arc<dyn Store<()>> {
        self.store.clone()
    }
    fn respond(
        self: Arc<Self>,
        thread: ThreadHandle,
        _: Option<UserMessageItem>,
        _: (),
    ) -> EventStream {
        // The nested run whose deltas drive the widget.
        let writer: Agent<()> = Agent::new(
            "Writer",
            Arc::new(ScriptedModel::new(vec![vec![Step::TextDeltas(
                self.deltas.clone(),
            )]])),
        );
        let deltas = text_deltas(Runner::new().run_streamed(&writer, "Answer", ()));
        let source = if self.linear {
            let end = TemplateInput::Data(card_data(false));
            WidgetSource::template(
                CARD.clone(),
                card_data(true),
                "answer",
                deltas
                    .map(TemplateInput::Text)
                    .chain(futures::stream::once(async { end })),
            )
        } else {
            WidgetSource::states(rebuilt_states(deltas))
        };
        stream_widget(&thread.snapshot(), source, None, default_generate_id)
            .map(|event| event.map_err(StreamError::from))
            .boxed()
    }
}

/// The reference's pattern: a full build per delta, and one with streaming off.
fn rebuilt_states(
    mut deltas: futures::stream::BoxStream<'static, String>,
) -> impl futures::Stream<Item = WidgetRoot> + Send + 'static {
    async_stream::stream! {
        let build = |answer: &str, streaming: bool| {
            let mut data = card_data(streaming);
            data["answer"] = Value::from(answer);
            CARD.build(data).expect("the answer card builds")
        };
        let mut answer = String::new();
        yield build(&answer, true);
        while let Some(delta) = deltas.next().await {
            answer.push_str(&delta);
            yield build(&answer, true);
        }
        yield build(&answer, false);
    }
}

const BODY: &[u8] = br#"{"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "Answer, please."}], "attachments": [], "inference_options": {}}}}"#;

/// One request in this process: the whole stream consumed, frames counted.
fn measure(linear: bool, text_kind: &str, chars: usize, delta_chars: usize) -> Value {
    let deltas = answer_deltas(text(text_kind), chars, delta_chars);
    let n = deltas.len();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    LazyLock::force(&CARD);
    let rss_before = peak_rss_mb();
    let server = Arc::new(GrowthServer {
        store: Arc::new(MemoryStore::new()),
        linear,
        deltas,
    });
    let start = Instant::now();
    let (frames, bytes, text_deltas, delta_span) = runtime.block_on(async {
        let Ok(ProcessResult::Streaming(mut stream)) = process(&server, BODY, ()).await else {
            panic!("threads.create streams");
        };
        let (mut frames, mut bytes, mut deltas) = (0usize, 0usize, 0usize);
        let delta = memchr::memmem::Finder::new(b"widget.streaming_text.value_delta");
        let (mut first, mut last) = (None, start);
        while let Some(frame) = stream.next().await {
            frames += 1;
            bytes += frame.len();
            if delta.find(&frame).is_some() {
                deltas += 1;
                last = Instant::now();
                first.get_or_insert(last);
            }
        }
        let span = first.map_or(0.0, |first| (last - first).as_secs_f64());
        (frames, bytes, deltas, span)
    });
    let seconds = start.elapsed().as_secs_f64();
    // Both forms send one text delta per model delta (and end with a root update).
    assert_eq!(text_deltas, n, "one text delta frame per delta");
    json!({
        "form": if linear { "linear" } else { "rebuild" },
        "text": text_kind,
        "answer_chars": chars,
        "deltas": n,
        "seconds": seconds,
        "us_per_delta": seconds * 1e6 / n.max(1) as f64,
        // From the first text delta frame to the last: the streaming alone, without the
        // request's fixed costs.
        "us_per_delta_streaming": delta_span * 1e6 / n.saturating_sub(1).max(1) as f64,
        "frames": frames,
        "text_delta_frames": text_deltas,
        "sse_mb": bytes as f64 / 1e6,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
    })
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let delta_chars: usize =
        arg(&args, "--delta-chars").map_or(8, |v| v.parse().expect("a number"));
    let text_kind = arg(&args, "--text").unwrap_or_else(|| "plain".into());
    if let Some(one) = arg(&args, "--one") {
        let (form, chars) = one.split_once(':').expect("--one form:chars");
        let chars = chars.parse().expect("a number of characters");
        println!(
            "{}",
            measure(form == "linear", &text_kind, chars, delta_chars)
        );
        return;
    }
    let sizes = arg(&args, "--sizes").unwrap_or_else(|| "1000,10000,100000".into());
    let forms = arg(&args, "--forms").unwrap_or_else(|| "rebuild,linear".into());
    let exe = std::env::current_exe().expect("this program's path");
    for chars in sizes.split(',') {
        for form in forms.split(',') {
            let output = Command::new(&exe)
                .args(["--one", &format!("{form}:{chars}")])
                .args(["--delta-chars", &delta_chars.to_string()])
                .args(["--text", &text_kind])
                .output()
                .expect("the measurement runs");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            print!("{}", String::from_utf8_lossy(&output.stdout));
        }
    }
}
