//! `ConnectionPool` against a real HTTP/2 server (h2c, hyper's limit of 200 concurrent
//! streams a connection): 250 answers stream at once — the server holds every answer
//! until all 250 have arrived, so a client on one connection would wait for ever — over
//! as many connections as the pool's share of streams asks (3 at 100 a connection), and
//! a second round reuses those connections.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::routing::post;
use axum::Router;
use chatkit_agents::agents::providers::openai::{
    ConnectionPool, OpenAIResponsesModel, RetryPolicy,
};
use chatkit_agents::agents::{Agent, Runner};
use tokio::sync::Barrier;

const ANSWERS: usize = 250;

struct Shared {
    frames: String,
    barrier: Barrier,
    peers: Mutex<HashSet<SocketAddr>>,
    http2: Mutex<usize>,
}

async fn respond(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::http::Request<Body>,
) -> axum::response::Response {
    shared.peers.lock().unwrap().insert(peer);
    if request.version() == axum::http::Version::HTTP_2 {
        *shared.http2.lock().unwrap() += 1;
    }
    // Every answer waits until all are in flight.
    shared.barrier.wait().await;
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(shared.frames.clone()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_past_one_connections_streams_open_more_connections() {
    let frames = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/openai-sse/01_text_logprobs_gpt-4o-mini.sse"
    ))
    .unwrap();
    let shared = Arc::new(Shared {
        frames,
        barrier: Barrier::new(ANSWERS),
        peers: Mutex::default(),
        http2: Mutex::default(),
    });
    let app = Router::new()
        .route("/v1/responses", post(respond))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    let pool = ConnectionPool::h2c().streams_per_connection(100);
    let model = OpenAIResponsesModel::with_base_url("gpt-4o-mini", &url, "sk-test")
        .connection_pool(pool.clone(), RetryPolicy::none());
    let agent = Agent::new("Pooled", Arc::new(model));
    // Twice: the second round reuses the first round's connections.
    for round in 1..=2 {
        let answers: Vec<_> = (0..ANSWERS)
            .map(|_| {
                let agent = agent.clone();
                tokio::spawn(async move {
                    Runner::new()
                        .run(&agent, "Capital of Minas Gerais?", ())
                        .await
                })
            })
            .collect();
        let all = tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(answers))
            .await
            .expect("every answer streams at once (one connection would stop at 200)");
        for answer in all {
            let result = answer.unwrap().expect("an answer");
            assert!(
                result.final_output.contains("Belo Horizonte"),
                "{}",
                result.final_output
            );
        }
        assert_eq!(
            *shared.http2.lock().unwrap(),
            ANSWERS * round,
            "HTTP/2 all along"
        );
        assert_eq!(
            shared.peers.lock().unwrap().len(),
            3,
            "100 streams a connection, round {round}"
        );
        assert_eq!(pool.clients(), [0, 0, 0], "nothing left in flight");
    }
}
