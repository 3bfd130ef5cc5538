//! Pages on another origin: real preflight and cross-origin requests against an
//! endpoint configured with `ChatKitEndpoint::cors`, on a loopback port.

use std::sync::Arc;

use chatkit_agents::http::{ChatKitEndpoint, Cors};
use chatkit_agents::server::respond_with;
use chatkit_agents::store::MemoryStore;
use chatkit_agents::types::{
    AssistantMessageContent, AssistantMessageItem, ThreadStreamEvent, Timestamp,
};
use serde_json::json;

mod support;

const APP: &str = "https://app.example.com";

async fn serve(cors: Option<Cors>) -> String {
    let server = Arc::new(respond_with(
        Arc::new(MemoryStore::new()),
        |thread, _, _: ()| {
            let item = AssistantMessageItem {
                id: "msg_cors".into(),
                thread_id: thread.id().to_owned(),
                created_at: Timestamp::now(),
                content: vec![AssistantMessageContent::new("Hello across origins")],
            };
            Box::pin(futures::stream::iter([Ok(ThreadStreamEvent::item_done(
                item,
            ))]))
        },
    ));
    let mut endpoint = ChatKitEndpoint::new(server, |_| Ok(()));
    if let Some(cors) = cors {
        endpoint = endpoint.cors(cors);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = endpoint.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

async fn preflight(url: &str, origin: &str, method: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type,authorization,last-event-id",
        )
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn an_allowed_origin_passes_preflights_and_reads_streams() {
    let base = serve(Some(Cors::allow_origins([APP]).unwrap())).await;
    for (path, method) in [
        ("/chatkit", "POST"),
        ("/chatkit/attachments", "POST"),
        ("/chatkit/runs/events", "GET"),
        ("/chatkit/attachments/atc_1/upload", "PUT"),
    ] {
        let answer = preflight(&format!("{base}{path}"), APP, method).await;
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        assert_eq!(
            header(&answer, "access-control-allow-origin"),
            Some(APP),
            "{path}"
        );
        assert!(
            header(&answer, "access-control-allow-methods")
                .unwrap()
                .contains(method),
            "{path}"
        );
        assert_eq!(
            header(&answer, "access-control-allow-headers"),
            Some("content-type,authorization,last-event-id"),
            "{path}: the page's own headers are allowed"
        );
        assert_eq!(header(&answer, "access-control-max-age"), Some("600"));
        assert_eq!(header(&answer, "access-control-allow-credentials"), None);
    }
    let body = json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": "hi"}], "attachments": [], "inference_options": {}}}});
    let response = reqwest::Client::new()
        .post(format!("{base}/chatkit"))
        .header("origin", APP)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
    assert!(header(&response, "vary")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .contains("origin"));
    assert_eq!(header(&response, "content-type"), Some("text/event-stream"));
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Hello across origins"));
}

#[tokio::test]
async fn another_origin_gets_no_cors_headers() {
    let base = serve(Some(Cors::allow_origins([APP]).unwrap())).await;
    let answer = preflight(&format!("{base}/chatkit"), "https://evil.example", "POST").await;
    // No Access-Control-Allow-Origin: the browser fails the preflight.
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
    let response = reqwest::Client::new()
        .post(format!("{base}/chatkit"))
        .header("origin", "https://evil.example")
        .body(json!({"type": "threads.list", "params": {}}).to_string())
        .send()
        .await
        .unwrap();
    // The server answers (CORS is the browser's to enforce), but without the header
    // that would let the page read it.
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn credentials_are_allowed_only_when_asked_for() {
    let base = serve(Some(Cors::allow_origins([APP]).unwrap().credentials(true))).await;
    let answer = preflight(&format!("{base}/chatkit"), APP, "POST").await;
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&answer, "access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test]
async fn without_cors_the_endpoint_sends_no_cors_headers() {
    let base = serve(None).await;
    let answer = preflight(&format!("{base}/chatkit"), APP, "POST").await;
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
}

/// A page served on another port calls the endpoint from headless Chromium: it reads
/// the stream when its origin is allowed, and the browser refuses it when not.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_calls_the_endpoint_in_a_real_browser() {
    use support::browser::{Cdp, Chromium, Page};
    // The page's server, on a port of its own: another origin.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_origin = format!("http://{}", listener.local_addr().unwrap());
    let allowed = serve(Some(Cors::allow_origins([page_origin.as_str()]).unwrap())).await;
    let refused = serve(Some(Cors::allow_origins([APP]).unwrap())).await;
    let html = format!(
        r#"<!doctype html><script>
        const call = (base) => fetch(base + "/chatkit", {{
          method: "POST",
          headers: {{"content-type": "application/json", "authorization": "Bearer page-token"}},
          body: JSON.stringify({{type: "threads.create", params: {{input: {{content: [{{type: "input_text", text: "hi"}}], attachments: [], inference_options: {{}}}}}}}}),
        }}).then((r) => r.text()).then((t) => "read: " + t.includes("Hello across origins"), (e) => "refused: " + e.message);
        window.allowed = call({allowed:?});
        window.refused = call({refused:?});
        </script>"#
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(html) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (_browser, url) = Chromium::start();
    let page = Page::open(Cdp::connect(&url).await, &format!("{page_origin}/")).await;
    page.wait_for("the page", "window.allowed !== undefined")
        .await;
    assert_eq!(page.eval("window.allowed").await, json!("read: true"));
    let refused = page.eval("window.refused").await;
    assert!(
        refused.as_str().unwrap().starts_with("refused: "),
        "{refused}"
    );
}
