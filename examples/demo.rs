//! The demo ChatKit server: `cargo run --example demo`, then open http://127.0.0.1:8000.
//!
//! Works offline (a built-in rule-based model still calls the tools and streams text);
//! set `OPENAI_API_KEY` (and optionally `OPENAI_MODEL`, `OPENAI_BASE_URL`) for a real
//! model. `PORT`, `HOST` and `CHATKIT_DB` change where it listens and stores threads.
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. `http://localhost:4318`) sends its traces and
//! metrics to an OpenTelemetry backend. `CHATKIT_MCP` gives the agent MCP servers' tools
//! (`"npx -y @modelcontextprotocol/server-everything; docs=https://host/mcp"`).
//! SIGTERM or Ctrl-C stop it gracefully: answers in flight finish (up to
//! `CHATKIT_DRAIN_TIMEOUT` seconds, 20 by default) or are saved as cancelled.
//! `CHATKIT_RUNS=detach` lets answers outlive their client (rejoin at
//! `GET /chatkit/runs/events`).

#[tokio::main]
async fn main() {
    if let Err(error) = chatkit_agents_workspace::demo::main_from_env().await {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
}
