//! The demo ChatKit server: `cargo run --example demo`, then open http://127.0.0.1:8000.
//!
//! Works offline (a built-in rule-based model still calls the tools and streams text);
//! set `OPENAI_API_KEY` (and optionally `OPENAI_MODEL`, `OPENAI_BASE_URL`) for a real
//! model. `PORT`, `HOST` and `CHATKIT_DB` change where it listens and stores threads.

use chatkit_agents_workspace::demo::{run, DemoConfig};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(error) = run(DemoConfig::from_env()).await {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
}
