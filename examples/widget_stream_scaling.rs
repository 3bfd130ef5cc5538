//! Measures how `stream_widget` scales with the number of states of a growing Markdown
//! (20 characters appended per state). States are built before timing, so the figures
//! are the streaming and diffing cost alone. Linear scaling shows as a flat per-state
//! cost; the only cost that grows with the text is the unavoidable prefix `memcmp`.
//!
//! ```sh
//! cargo run --release --example widget_stream_scaling
//! ```

use std::time::Instant;

use chatkit_agents::types::{default_generate_id, ThreadMetadata, Timestamp};
use chatkit_agents::widgets::{self as w, stream_widget, WidgetRoot, WidgetSource};
use futures::StreamExt;

fn states(n: usize) -> Vec<WidgetRoot> {
    let mut text = String::new();
    (0..n)
        .map(|_| {
            text.push_str("0123456789abcdefghij");
            w::Card::new()
                .child(w::Markdown::new(text.clone()).id("m").streaming(true))
                .into()
        })
        .collect()
}

fn main() {
    let thread = ThreadMetadata::new("thr_1", Timestamp::now());
    for n in [500, 1_000, 2_000, 4_000] {
        let states = states(n);
        let start = Instant::now();
        let events = futures::executor::block_on(
            stream_widget(
                &thread,
                WidgetSource::states(futures::stream::iter(states)),
                None,
                default_generate_id,
            )
            .count(),
        );
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{{\"states\": {n}, \"events\": {events}, \"seconds\": {seconds:.6}, \"micros_per_state\": {:.3}}}",
            seconds * 1e6 / n as f64
        );
    }
}
