//! A wiremock server that replays model responses in order, one per request, to a real
//! async-openai client.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The responses, in order: status 200 bodies are served as an event stream, other
/// statuses as a JSON error body.
struct Replay(Vec<(u16, String)>, AtomicUsize);

impl Respond for Replay {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.1.fetch_add(1, Ordering::SeqCst);
        match self.0.get(n) {
            Some((200, body)) => {
                ResponseTemplate::new(200).set_body_raw(body.clone(), "text/event-stream")
            }
            Some((status, body)) => {
                ResponseTemplate::new(*status).set_body_raw(body.clone(), "application/json")
            }
            None => ResponseTemplate::new(500).set_body_string("no more responses to replay"),
        }
    }
}

/// A server answering `POST <endpoint>` (`/responses`, `/chat/completions`) with
/// `responses` in order.
pub async fn replay(endpoint: &str, responses: Vec<(u16, String)>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(endpoint))
        .respond_with(Replay(responses, AtomicUsize::new(0)))
        .mount(&server)
        .await;
    server
}

/// The JSON bodies the server received, in order.
pub async fn request_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}
