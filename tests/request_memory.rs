//! What one request may cost in memory: a body at the endpoint's limit whose payload is
//! many small objects (the shape that costs the most per byte once parsed) grows the
//! server's heap by at most ten times the body, for every request type that carries a
//! client-controlled payload. Measured with a counting allocator (this binary's own
//! global allocator), on the demo app in this process; the client's side (the body it
//! holds, the response it reads) is measured before and left out.

use std::sync::Arc;

use chatkit_agents::store::MemoryStore;
use chatkit_agents_workspace::demo::{app, OfflineModel};
use peak_alloc::PeakAlloc;
use serde_json::{json, Value};

/// The system allocator, counting the bytes live now and the most live since reset.
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// A request body of about `bytes` bytes whose action payload is small objects.
fn hostile_body(kind: &str, thread_id: &str, widget: &str, bytes: usize) -> String {
    // Actions the demo handles, so that the whole path runs (the payload is refused).
    let action = match kind {
        "threads.sync_custom_action" => "tasks.star",
        _ => "tasks.toggle",
    };
    let items = many_small_objects(bytes);
    json!({"type": kind, "params": {"thread_id": thread_id, "item_id": widget, "action": {"type": action, "payload": {"items": items}}}})
        .to_string()
}

/// About `bytes` of JSON text as a list of small objects.
fn many_small_objects(bytes: usize) -> Vec<Value> {
    let one = json!({"id": 12345, "name": "item", "ok": true});
    let count = bytes / (one.to_string().len() + 1);
    (0..count).map(|_| one.clone()).collect()
}

/// The heap the server grew by, at its peak, while answering `body`.
async fn peak_growth(client: &reqwest::Client, url: &str, body: String) -> (usize, u16) {
    let baseline = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.bytes().await.unwrap();
    // The client side: the request's copy inside reqwest/hyper is at most the body
    // again; the response is small. Both are counted as server growth here, so the
    // bound holds with room to spare only if the server itself stays well inside it.
    let grown = HEAP.peak_usage().saturating_sub(baseline);
    if status != 200 {
        eprintln!("{}", String::from_utf8_lossy(&text[..text.len().min(300)]));
    }
    drop(text);
    (grown, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_at_the_limit_costs_at_most_ten_times_its_size() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let demo = app(Arc::new(MemoryStore::new()), Arc::new(OfflineModel));
    tokio::spawn(async move { axum::serve(listener, demo).await });
    let url = format!("http://{address}/chatkit");
    let client = reqwest::Client::new();
    let created = client
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"Show my tasks"}],"attachments":[],"inference_options":{}}}}"#)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Vec<Value> = created
        .split_terminator("\n\n")
        .map(|frame| serde_json::from_str(frame.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    let thread_id = events[0]["thread"]["id"].as_str().unwrap().to_owned();
    // The task list: the widget the actions come from.
    let widget = events
        .iter()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "widget")
        .map(|e| e["item"]["id"].as_str().unwrap().to_owned())
        .unwrap();

    let limit = chatkit_agents::http::DEFAULT_BODY_LIMIT - 1024;
    let mut bodies: Vec<(&str, String)> = ["threads.custom_action", "threads.sync_custom_action"]
        .into_iter()
        .map(|kind| (kind, hostile_body(kind, &thread_id, &widget, limit)))
        .collect();
    // The other requests with client JSON of any shape: a client tool's result, and the
    // request metadata (refused past 64 KiB, before it is parsed).
    let items = many_small_objects(limit);
    bodies.push((
        "threads.add_client_tool_output",
        json!({"type": "threads.add_client_tool_output", "params": {"thread_id": thread_id, "result": {"items": items}}}).to_string(),
    ));
    bodies.push((
        "metadata",
        json!({"type": "threads.list", "params": {}, "metadata": {"items": items}}).to_string(),
    ));
    for (kind, body) in bodies {
        let size = body.len();
        let (grown, status) = peak_growth(&client, &url, body).await;
        eprintln!(
            "{kind}: body {:.1} MiB, peak heap growth {:.1} MiB ({:.1}x), status {status}",
            size as f64 / 1048576.0,
            grown as f64 / 1048576.0,
            grown as f64 / size as f64
        );
        assert!(
            grown <= 10 * size,
            "{kind}: {grown} bytes for a {size}-byte body"
        );
    }
}
