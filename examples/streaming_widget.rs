//! Tools whose widget text grows from a nested agent run's text deltas, three ways:
//!
//! - `draft_letter`: typed builders, `accumulate_text` + `stream_widget`;
//! - `letter_card` with `rebuild_per_delta: true`: the reference's pattern, a `.widget`
//!   template rebuilt with the text so far on every delta, each build diffed against the
//!   previous one (`WidgetSource::states`); the cost of a delta grows with the text;
//! - `letter_card` with `rebuild_per_delta: false`: the same template built once, its
//!   `letter` field streamed (`WidgetSource::template`); the same events, at a cost per
//!   delta that does not grow.
//!
//! Offline: `cargo run --example streaming_widget`.

use std::sync::{Arc, LazyLock};

use chatkit_agents::agents::{text_deltas, RunStream};
use chatkit_agents::prelude::*;
use chatkit_agents::testing::{ScriptedModel, Step};
use chatkit_agents::widgets::{
    self as w, accumulate_text, TemplateInput, WidgetRoot, WidgetSource, WidgetTemplate,
};
use chatkit_agents_workspace::example_support::{create, send};
use futures::StreamExt;
use serde_json::{json, Value};

/// A second agent writes the letter; its text deltas drive the widget.
fn write_letter(ctx: &ToolContext<AgentContext<()>>, to: &str) -> RunStream {
    let writer_model = ScriptedModel::new(vec![vec![Step::text(format!(
        "Dear {to},\n\nYou have been accepted at **Hogwarts**."
    ))]]);
    let writer: Agent<AgentContext<()>> = Agent::new("Writer", Arc::new(writer_model));
    Runner::new().run_streamed(&writer, format!("Write to {to}"), ctx.context().clone())
}

/// Draft a letter; the letter appears in a card as it is written.
///
/// # Arguments
///
/// * `to` - The recipient.
#[function_tool]
async fn draft_letter(
    ctx: &ToolContext<AgentContext<()>>,
    to: String,
) -> Result<String, ToolError> {
    let states = accumulate_text(
        text_deltas(write_letter(ctx, &to)),
        w::Markdown::new("").id("letter").streaming(true),
    )
    .map(|markdown| -> WidgetRoot {
        w::Card::new()
            .child(w::Caption::new("Draft"))
            .child(markdown)
            .into()
    });
    ctx.stream_widget(WidgetSource::states(states), None)
        .await?;
    Ok("The letter is drafted.".into())
}

/// The letter card as a `.widget` template (what ChatKit Studio exports); `letter` is
/// the streamed text, written only with `tojson`.
static LETTER: LazyLock<Arc<WidgetTemplate>> = LazyLock::new(|| {
    Arc::new(
        WidgetTemplate::new(json!({
            "version": "1.0",
            "name": "letter",
            "template": r#"{"type":"Card","children":[
                {"type":"Caption","value":{{ ("Letter to " ~ to) | tojson }}},
                {"type":"Markdown","id":"letter","value":{{ letter | tojson }},"streaming":{{ streaming | tojson }}}]}"#,
        }))
        .expect("the letter template compiles"),
    )
});

/// Draft a letter in the letter card.
///
/// # Arguments
///
/// * `to` - The recipient.
/// * `rebuild_per_delta` - Rebuild the card on every delta instead of streaming its text.
#[function_tool]
async fn letter_card(
    ctx: &ToolContext<AgentContext<()>>,
    to: String,
    rebuild_per_delta: bool,
) -> Result<String, ToolError> {
    let deltas = text_deltas(write_letter(ctx, &to));
    if rebuild_per_delta {
        // Every delta renders, parses and diffs the whole card.
        let recipient = to.clone();
        let states = async_stream::stream! {
            let mut letter = String::new();
            let build = |letter: &str, streaming: bool| {
                LETTER.build(json!({"to": recipient, "letter": letter, "streaming": streaming}))
            };
            let mut deltas = deltas;
            yield build(&letter, true);
            while let Some(delta) = deltas.next().await {
                letter.push_str(&delta);
                yield build(&letter, true);
            }
            yield build(&letter, false);
        }
        .take_while(|built| futures::future::ready(built.is_ok()))
        .filter_map(|built| futures::future::ready(built.ok()));
        ctx.stream_widget(WidgetSource::states(states), None)
            .await?;
    } else {
        // Built once; each delta is sent as it is. The last input turns streaming off.
        let end = TemplateInput::Data(json!({"to": to, "streaming": false}));
        let inputs = deltas
            .map(TemplateInput::Text)
            .chain(futures::stream::once(async { end }));
        let data = json!({"to": to, "streaming": true});
        ctx.stream_widget(
            WidgetSource::template(LETTER.clone(), data, "letter", inputs),
            None,
        )
        .await?;
    }
    Ok("The letter is drafted.".into())
}

/// Runs the scripted conversation (builders, then the template both ways) and returns
/// the events.
pub async fn run() -> Vec<Value> {
    let model = ScriptedModel::new(vec![
        vec![Step::tool_call("draft_letter", json!({"to": "Harry"}))],
        vec![Step::tool_call(
            "letter_card",
            json!({"to": "Hermione", "rebuild_per_delta": true}),
        )],
        vec![Step::tool_call(
            "letter_card",
            json!({"to": "Hermione", "rebuild_per_delta": false}),
        )],
        vec![Step::text("Sent.")],
    ]);
    let agent = Agent::new("Owl post", Arc::new(model))
        .tool(draft_letter)
        .tool(letter_card);
    let server = Arc::new(AgentServer::new(Arc::new(MemoryStore::new()), agent));
    send(&server, create("Write the letters"), ()).await
}

#[tokio::main]
async fn main() {
    run().await;
}
