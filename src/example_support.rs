//! Helpers the examples share: send a request body to a server in-process and print
//! (and return) what comes back, as a ChatKit client would see it.

use std::sync::Arc;

use chatkit_agents::server::{process, ChatKitServer, ProcessResult};
use futures::StreamExt;
use serde_json::Value;

/// Sends `body` and returns the SSE events (or the JSON reply as one value), printing
/// each one compactly.
pub async fn send<S: ChatKitServer>(
    server: &Arc<S>,
    body: Value,
    context: S::Context,
) -> Vec<Value> {
    println!("\n>>> {}", body["type"].as_str().unwrap_or("?"));
    match process(server, body.to_string().as_bytes(), context).await {
        Ok(ProcessResult::Streaming(stream)) => {
            let frames: Vec<_> = stream.collect().await;
            frames
                .iter()
                .map(|frame| {
                    let text = String::from_utf8_lossy(frame);
                    let json = text
                        .trim()
                        .strip_prefix("data: ")
                        .unwrap_or(&text)
                        .to_owned();
                    println!("{}", shorten(&json));
                    serde_json::from_str(&json).unwrap_or(Value::Null)
                })
                .collect()
        }
        Ok(ProcessResult::Json(json)) => {
            let text = String::from_utf8_lossy(&json);
            println!("{}", shorten(&text));
            vec![serde_json::from_slice(&json).unwrap_or(Value::Null)]
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
    serde_json::json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}}})
}

/// The thread id of a `threads.create` stream.
pub fn thread_id(events: &[Value]) -> String {
    events
        .first()
        .and_then(|e| e["thread"]["id"].as_str())
        .unwrap_or_default()
        .to_owned()
}
