//! The demo server as a binary of its own, for the tests that run it as a real process
//! (stopped with signals, restarted on the same database). `cargo run --example demo`
//! is the same program.

#[tokio::main]
async fn main() {
    if let Err(error) = chatkit_agents_workspace::demo::main_from_env().await {
        eprintln!("demo failed: {error}");
        std::process::exit(1);
    }
}
