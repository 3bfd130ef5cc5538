//! A `.widget` template (the ChatKit Studio "Channel Message" card) loaded with
//! `WidgetTemplate::from_file`, hydrated with data, and streamed from `respond` with
//! `copy_text`. Runs offline: `cargo run --example channel_message`.

use std::sync::Arc;

use chatkit_agents::prelude::*;
use chatkit_agents::types::default_generate_id;
use chatkit_agents::widgets::{stream_widget, WidgetTemplate};
use chatkit_agents_workspace::example_support::{create, send};
use futures::StreamExt;
use serde_json::{json, Value};

/// The server: a store and a `respond` that streams the template (widget actions and
/// attachments would need `impl ChatKitServer` instead).
fn channel_server(template: Arc<WidgetTemplate>) -> impl ChatKitServer<Context = ()> {
    respond_with(Arc::new(MemoryStore::new()), move |thread, input, _| {
        let template = template.clone();
        Box::pin(async_stream::try_stream! {
            let text = input.map(|m| m.text()).unwrap_or_default();
            let data = json!({"channel": "#proj-chatkit", "time": "4:48 PM", "user": {"image": "/zj.png", "name": "Zach Johnston"}});
            // Template errors (a missing variable, bad JSON) become the stream's error event.
            let widget = template.build(&data)?;
            let copy_text = format!("#proj-chatkit: {text}");
            let mut events = stream_widget(&thread.snapshot(), widget, Some(copy_text), default_generate_id);
            while let Some(event) = events.next().await {
                yield event?;
            }
        })
    })
}

/// Runs the scripted conversation and returns the events.
pub async fn run() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/widgets/channel_message.widget"
    );
    let template = WidgetTemplate::from_file(path).expect("the template compiles");
    let server = Arc::new(channel_server(Arc::new(template)));
    send(&server, create("Post the weekly update"), ()).await
}

#[tokio::main]
async fn main() {
    run().await;
}
