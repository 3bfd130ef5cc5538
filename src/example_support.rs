//! Helpers the examples share: send a request body to a server in-process and print
//! (and return) what comes back, as a ChatKit client would see it.

use std::sync::Arc;

use chatkit_agents::server::ChatKitServer;
use chatkit_agents::testing::{self, Reply};
use serde_json::Value;

/// Sends `body` and returns the SSE events (or the JSON reply as one value), printing
/// each one compactly.
pub async fn send<S: ChatKitServer>(
    server: &Arc<S>,
    body: Value,
    context: S::Context,
) -> Vec<Value> {
    println!("\n>>> {}", body["type"].as_str().unwrap_or("?"));
    match testing::send(server, &body, context).await {
        Ok(Reply::Events(events)) => {
            events
                .iter()
                .for_each(|e| println!("{}", shorten(&e.to_string())));
            events
        }
        Ok(Reply::Json(json)) => {
            println!("{}", shorten(&json.to_string()));
            vec![json]
        }
        Err(error) => {
            println!("error {}: {error}", error.status());
            Vec::new()
        }
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// The body of `threads.create` with one text message.
pub fn create(text: &str) -> Value {
    testing::requests::create_thread(text)
}

/// The thread id of a `threads.create` stream.
pub fn thread_id(events: &[Value]) -> String {
    events
        .first()
        .and_then(|e| e["thread"]["id"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The peak resident set size of this process, in MiB (`VmHWM`; 0 where `/proc` has
/// none), for the benchmark programs.
pub fn peak_rss_mb() -> f64 {
    rss_mib("self").1
}

/// A process's resident memory now and at its peak (`VmRSS`, `VmHWM`), in MiB; `pid`
/// is a process id or `self` (0 where `/proc` has none).
pub fn rss_mib(pid: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
