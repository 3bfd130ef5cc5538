//! How to test your own agent without a network: give it a `ScriptedModel`, run it the
//! way your server does, and assert on the ChatKit events and on what the model was sent.
//! (This is the `mock_model_test` example of the README.)

use std::sync::Arc;

use chatkit_agents::prelude::*;
use chatkit_agents::testing::{requests, send, ScriptedModel, Step};
use chatkit_agents::types::Timestamp;
use chatkit_agents::widgets::{self as w, WidgetRoot};
use futures::StreamExt;
use serde_json::json;

/// Your tool: shows a balance card.
#[function_tool]
async fn show_balance(
    ctx: &ToolContext<AgentContext<()>>,
    account: String,
) -> Result<String, ToolError> {
    let card: WidgetRoot = w::Card::new()
        .child(w::Title::new(format!("Account {account}")))
        .child(w::Text::new("42 galleons"))
        .into();
    ctx.stream_widget(card, None).await?;
    Ok(format!("{account}: 42 galleons"))
}

/// Your agent, built the way production builds it, but on any model.
fn banker(model: Arc<ScriptedModel>) -> Agent<AgentContext<()>> {
    Agent::new("Banker", model)
        .instructions("Answer questions about the user's accounts.")
        .tool(show_balance)
}

#[tokio::test]
async fn the_banker_shows_the_balance_card_and_answers() {
    // Turn 1: the model calls the tool. Turn 2: it answers with the tool's output.
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call(
            "show_balance",
            json!({"account": "vault-687"}),
        )],
        vec![Step::text("You have 42 galleons.")],
    ]));
    let thread = ThreadHandle::new(ThreadMetadata::new("thr_test", Timestamp::now()));
    let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
    let run =
        Runner::new().run_streamed(&banker(model.clone()), "How much do I have?", ctx.clone());
    let events: Vec<ThreadStreamEvent> = stream_agent_response(&ctx, run)
        .map(|e| e.unwrap())
        .collect()
        .await;

    // The widget came first, then the streamed answer.
    assert!(
        matches!(&events[0], ThreadStreamEvent::ThreadItemDone { item } if matches!(**item, ThreadItem::Widget(_))),
        "{events:?}"
    );
    let Some(ThreadStreamEvent::ThreadItemDone { item }) = events.last() else {
        panic!("{events:?}")
    };
    let ThreadItem::AssistantMessage(answer) = &**item else {
        panic!("{item:?}")
    };
    assert_eq!(answer.content[0].text, "You have 42 galleons.");

    // The model got the tool's output on its second turn.
    let second = &model.requests()[1];
    let output = second
        .input
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap();
    assert_eq!(output["output"], "vault-687: 42 galleons");
    assert_eq!(second.tools[0].name, "show_balance");
    assert_eq!(
        second.instructions.as_deref(),
        Some("Answer questions about the user's accounts.")
    );
}

// ---- the README's "Testing your server" example, verbatim (tests/readme.rs checks it) ----

/// Greet someone with a card.
#[function_tool]
async fn greet(ctx: &ToolContext<AgentContext<()>>, name: String) -> Result<String, ToolError> {
    let card: WidgetRoot = w::Card::new()
        .child(w::Title::new(format!("Hello, {name}!")))
        .into();
    ctx.stream_widget(card, None).await?;
    Ok(format!("Greeted {name}"))
}

#[tokio::test]
async fn greets() {
    let model = Arc::new(ScriptedModel::new(vec![
        vec![Step::tool_call("greet", serde_json::json!({"name": "Ada"}))],
        vec![Step::text("Done!")],
    ]));
    let agent = Agent::new("Greeter", model.clone()).tool(greet);
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent));

    let reply = send(&server, &requests::create_thread("Greet Ada"), ())
        .await
        .unwrap();
    assert!(reply
        .event_types()
        .contains(&"thread.item.done:widget".to_owned()));
    assert_eq!(model.requests().len(), 2); // what the model was sent, turn by turn
}
