//! The demo ChatKit server: `cargo run --example demo`, then open http://127.0.0.1:8000.
//!
//! Works offline (a built-in rule-based model still calls the tools and streams text);
//! set `OPENAI_API_KEY` (and optionally `OPENAI_MODEL`, `OPENAI_BASE_URL`) for a real
//! model. `PORT`, `HOST` and `CHATKIT_DB` change where it listens and stores threads.
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. `http://localhost:4318`) sends its traces and
//! metrics to an OpenTelemetry backend. `CHATKIT_MCP` gives the agent MCP servers' tools
//! (`"npx -y @modelcontextprotocol/server-everything; docs=https://host/mcp"`).

use chatkit_agents_workspace::demo::{init_telemetry, run, DemoConfig};

#[tokio::main]
async fn main() {
    let otel = match init_telemetry() {
        Ok(otel) => otel,
        Err(error) => {
            eprintln!("demo failed: {error}");
            std::process::exit(1);
        }
    };
    let config = match DemoConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("demo failed: {error}");
            std::process::exit(1);
        }
    };
    if let Err(error) = run(config).await {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
    if let Some(otel) = otel {
        // Send what is buffered; it waits for the receiver, so off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || otel.shutdown()).await;
    }
}
