//! A run started by server code, with no request attached: a webhook says a long build
//! finished, and the server has its agent tell the thread. The run goes through the
//! same pipeline as an answer (its items saved), and any client of the thread joins it
//! from its first event (`GET /chatkit/runs/events?after=<run id>.0` over HTTP; here in
//! process). Runs offline with a scripted model: `cargo run --example follow_up`.

use std::sync::Arc;

use chatkit_agents::prelude::*;
use chatkit_agents::runs::RunRetention;
use chatkit_agents::server::start_run;
use chatkit_agents::store::SortOrder;
use chatkit_agents::testing::{resume, ScriptedModel, Step};
use chatkit_agents_workspace::example_support::{create, send, thread_id};
use serde_json::Value;

/// The user asks for a build; later a webhook reports it done and the agent follows up.
/// Returns the follow-up's events (as a client joining the run reads them) and the
/// thread's items afterwards.
pub async fn run() -> (Vec<Value>, Vec<ThreadItem>) {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::text(
            "Started the build; I will tell you when it is done.",
        )],
        vec![Step::text("The build finished: all 412 tests passed.")],
    ]));
    let agent: Agent<AgentContext<()>> =
        Agent::new("Builder", model).instructions("Report on builds when they finish.");
    let store = Arc::new(MemoryStore::new());
    let server = Arc::new(AgentServer::new(store.clone(), agent.clone()));
    let first = send(&server, create("Build the release, please"), ()).await;
    let thread = thread_id(&first);

    // Later, the CI webhook arrives: no request, no client. The server starts a run
    // into the thread; the agent sees the thread's history plus the webhook's note.
    let run = start_run(
        &server,
        &thread,
        (),
        RunRetention::default(),
        move |handle| {
            let context = AgentContext::new(handle, store.clone(), ());
            let input = "[webhook] build #1729 finished: 412 passed, 0 failed";
            let run = Runner::new().run_streamed(&agent, input, context.clone());
            stream_agent_response(&context, run)
        },
    )
    .await
    .expect("the thread exists");

    // A client (a reloaded page, a notification service) joins from the start.
    let frames = resume(&server, &format!("{run}.0"), ())
        .await
        .expect("the run is known");
    let events = frames.into_iter().map(|frame| frame.event).collect();
    let items = server
        .store()
        .load_thread_items(&thread, None, 50, SortOrder::Asc, &())
        .await
        .expect("the thread's items")
        .data;
    (events, items)
}

#[tokio::main]
async fn main() {
    let (events, items) = run().await;
    for event in &events {
        println!("{event}");
    }
    println!("{} items in the thread", items.len());
}
