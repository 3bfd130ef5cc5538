//! The benchmark program's scenarios, run small: each must do the work its definition
//! counts (the `check` counters the Python reference's peer prints for the same sizes),
//! so a figure in BENCHMARKS.md can never come from a scenario that skipped its work.

#![allow(dead_code, unreachable_pub)]

#[path = "../examples/bench.rs"]
mod bench;

use bench::{run_scenario, Sizes};
use serde_json::{json, Value};

fn small() -> Sizes {
    Sizes {
        pipeline_n: 300,
        agent_n: 250,
        widget_states: 40,
        template_reps: 2,
        diff_reps: 3,
        runs: 2,
        ..Sizes::default()
    }
}

/// Runs a scenario and checks the figures every scenario reports.
fn run(name: &str, sizes: &Sizes) -> Value {
    let result = run_scenario(name, sizes);
    assert!(result.get("error").is_none(), "{name}: {result}");
    let per_sec = result["per_sec"].as_f64().unwrap_or_default();
    assert!(per_sec > 0.0 && per_sec.is_finite(), "{name}: {result}");
    assert_eq!(
        result["runs_seconds"].as_array().map(Vec::len),
        Some(sizes.runs),
        "{name}"
    );
    assert!(result["peak_rss_mb"].as_f64().unwrap_or_default() > 0.0);
    result
}

#[test]
fn pipeline_text_streams_every_event_as_serde_would_frame_it() {
    let sizes = small();
    let pipeline = run("pipeline_text", &sizes);
    assert_eq!(pipeline["n"], 307);
    assert_eq!(pipeline["check"]["events"], 307);
    let baseline = run("serialize_baseline", &sizes);
    // The same events, and the same bytes (to the kilobyte) as plain serde framing.
    assert_eq!(baseline["check"], pipeline["check"]);
}

#[test]
fn agent_text_maps_every_model_event() {
    let result = run("agent_text", &small());
    assert_eq!(result["n"], 254);
    assert_eq!(
        result["check"],
        json!({
            "thread.item.added": 1,
            "assistant_message.content_part.added": 1,
            "assistant_message.content_part.text_delta": 250,
            "assistant_message.content_part.done": 1,
            "thread.item.done": 1,
        })
    );
}

#[test]
fn widget_stream_sends_one_delta_per_state() {
    let sizes = small();
    let expected = json!({"events": 41, "deltas": 39});
    assert_eq!(run("widget_stream", &sizes)["check"], expected);
    assert_eq!(run("prefix_baseline", &sizes)["check"], expected);
    assert_eq!(run("prefix_free_baseline", &sizes)["check"], expected);
    assert_eq!(run("widget_stream_live", &sizes)["check"], expected);
    assert_eq!(
        run("live_build_baseline", &sizes)["check"],
        json!({"built": 40})
    );
}

#[test]
fn template_build_builds_the_reference_output() {
    let sizes = small();
    // The reference's figures for its 50-item default data.
    assert_eq!(
        run("template_build", &sizes)["check"],
        json!({"children": 50, "last_output_chars": 22608})
    );
    assert_eq!(
        run("render_baseline", &sizes)["check"],
        json!({"rendered_chars": 23358})
    );
}

#[test]
fn diff_large_finds_every_append() {
    let expected = json!({"updates": 50, "kind": "widget.streaming_text.value_delta"});
    assert_eq!(run("diff_large", &small())["check"], expected);
    assert_eq!(run("diff_baseline", &small())["check"], expected);
}

#[test]
fn unknown_scenarios_are_named() {
    let result = run_scenario("pipeline", &small());
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown scenario \"pipeline\"")),
        "{result}"
    );
}

#[test]
fn http_load_reads_every_stream_to_the_end() {
    let sizes = Sizes {
        clients: 6,
        requests_per_client: 2,
        http_deltas: 20,
        ..small()
    };
    // The endpoint in this process, on its own runtime (the benchmark runs it in a child
    // process so that its memory is measured alone).
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let store = std::sync::Arc::new(chatkit_agents::store::MemoryStore::new());
        rt.block_on(bench::serve_endpoint_with(
            20,
            store,
            "cancel",
            move |port| {
                let _ = port_tx.send(port);
            },
        ));
    });
    let port = port_rx.recv().expect("the endpoint starts");
    let report = bench::drive_load(&format!("http://127.0.0.1:{port}/chatkit"), &sizes);
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["n"], 12, "{report}");
    // stream_options, thread.created, the user message, the assistant message's 24
    // events: added, part added, 20 deltas, part done, done.
    assert_eq!(report["check"]["events_per_request"], 27, "{report}");
    let first = report["first_event_ms"]["p99"].as_f64().unwrap_or_default();
    let last = report["last_event_ms"]["p99"].as_f64().unwrap_or_default();
    assert!(first > 0.0 && first <= last, "{report}");
}
