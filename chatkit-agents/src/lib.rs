//! # chatkit-agents
//!
//! Serve [OpenAI ChatKit](https://openai.github.io/chatkit-js/) from Rust: the whole
//! wire protocol (byte-compatible with the Python reference server, `openai-chatkit`
//! 1.6.5), widgets and `.widget` templates, a streaming server pipeline with stores and
//! an axum endpoint, and an agent runtime whose tools stream widgets mid-run.
//!
//! ## Quick start
//!
//! A server with one tool that streams a widget:
//!
//! ```no_run
//! use std::sync::Arc;
//! use chatkit_agents::prelude::*;
//! use chatkit_agents::widgets::{self as w, WidgetRoot};
//!
//! /// Greet someone with a card.
//! #[function_tool]
//! async fn greet(ctx: &ToolContext<AgentContext<()>>, name: String) -> Result<String, ToolError> {
//!     let card: WidgetRoot = w::Card::new().child(w::Title::new(format!("Hello, {name}!"))).into();
//!     ctx.stream_widget(card, None).await?;
//!     Ok(format!("Greeted {name}"))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     tracing_subscriber::fmt::init(); // failed streams are logged at ERROR; RUST_LOG=info shows requests
//!     let store = Arc::new(SqliteStore::open("chat.sqlite").await?);
//!     let agent = Agent::new("Greeter", Arc::new(OpenAIResponsesModel::new("gpt-4.1-mini"))).tool(greet);
//!     let server = AgentServer::new(store, agent); // answers each message with the agent
//!     let app = ChatKitEndpoint::new(Arc::new(server), |_| Ok(())).router(); // POST /chatkit
//!     chatkit_agents::http::Server::bind("127.0.0.1:8000").await?.serve(app).await?;
//!     Ok(())
//! }
//! ```
//!
//! The wire types on their own:
//!
//! ```
//! use chatkit_agents::types::{ChatKitRequest, ThreadStreamEvent, WidgetItem, Timestamp};
//! use chatkit_agents::widgets::{self as w, WidgetRoot};
//!
//! // Parse what the ChatKit client sends...
//! let request = ChatKitRequest::parse(
//!     br#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}"#,
//! ).unwrap();
//! assert!(request.is_streaming());
//!
//! // ...and answer with a widget, written as one SSE frame.
//! let widget: WidgetRoot = w::Card::new()
//!     .child(w::Title::new("Hello"))
//!     .child(w::Markdown::new("Streaming **soon**").id("body").streaming(true))
//!     .into();
//! let event = ThreadStreamEvent::item_done(WidgetItem {
//!     id: "msg_1".into(),
//!     thread_id: "thr_1".into(),
//!     created_at: Timestamp::now(),
//!     widget,
//!     copy_text: Some("Hello".into()),
//! });
//! let frame = chatkit_agents::server::sse_frame(&event);
//! assert!(frame.starts_with(br#"data: {"type":"thread.item.done","item":{"id":"msg_1""#));
//! ```
//!
//! ## Modules
//!
//! - [`types`]: the protocol's wire types (requests, items, events, updates, and the
//!   widget tree, [`types::widget`]).
//! - [`widgets`]: typed component builders, `.widget` templates,
//!   [`widgets::diff_widget`] and [`widgets::stream_widget`].
//! - [`server`]: [`server::ChatKitServer`] and [`server::process`], the event pipeline
//!   (with checkpoints of what is still streaming), [`server::resume`] and
//!   [`server::start_run`], per-user [`server::Limits`] and token [`server::usage`].
//! - [`runs`]: answers that outlive their request ([`runs::DisconnectPolicy`]): the seam
//!   between an answer's producer and its delivery, detached runs' logs (in process, or
//!   shared by replicas through a [`runs::RunLogBackend`] such as `RedisRunLog`), and the
//!   leases that keep one run per thread ([`runs::RunLeases`]).
//! - [`store`]: the store traits, [`store::MemoryStore`], [`store::SqliteStore`][sqlite]
//!   (feature `sqlite`) and [`store::PostgresStore`][postgres] (feature `postgres`), one
//!   SQL store written once over both databases.
//! - [`http`][http] (feature `axum`): the ChatKit endpoint as an axum router.
//! - [`agents`]: `#[function_tool]`, [`agents::chatkit::AgentContext`], [`agents::Agent`] (tools,
//!   [`agents::Handoff`]s, input/output/tool guardrails, structured outputs with
//!   [`agents::Agent::output_type`]), [`agents::Runner`] and hooks, models (OpenAI
//!   Responses and Chat Completions, feature `openai`),
//!   [`agents::chatkit::stream_agent_response`], and [`agents::chatkit::AgentServer`], a ready-made server
//!   answering with an agent.
//! - [`testing`][testing] (feature `testing`, for your tests): [`testing::ScriptedModel`][scripted]
//!   and a conformance suite for your own stores.
//! - [`telemetry`]: the spans and metrics the crate emits; [`telemetry::otel`][otel]
//!   (feature `otel`) exports them over OTLP.
//! - [`prelude`]: the names most servers use.
//!
//! The rooms import downward only, in the order `types`, `widgets`, `store`, `runs`,
//! `server`, `agents`, `http`; inside [`agents`], the runtime knows nothing of ChatKit and the
//! `chatkit` bridge joins the two. `tests/layers.rs` keeps it so.
//!
//! ## Features
//!
//! | feature | default | enables | pulls in |
//! |---|---|---|---|
//! | `json-schema` | yes | `WidgetTemplate::build_validated`: template data checked against the `.widget` file's `jsonSchema` | `jsonschema` |
//! | `sqlite` | yes | `store::SqliteStore`, the embedded store | `sqlx` (SQLite, bundled) |
//! | `axum` | yes | `http`: the endpoint as an axum router (with the resume route), and `http::Server` (timeouts, graceful drain on SIGTERM) | `axum`, `hyper`, Tokio's signal handling |
//! | `openai` | yes | `OpenAIResponsesModel`, `OpenAIChatCompletionsModel` | `async-openai`, `reqwest` (rustls) |
//! | `postgres` | no | `store::PostgresStore`: one database for several replicas | `sqlx` (PostgreSQL) |
//! | `postgres-tls` | no | TLS for `PostgresStore` | `sqlx` with rustls |
//! | `mcp` | no | `agents::McpServer`: tools from MCP servers (stdio, Streamable HTTP) | `rmcp`, `reqwest` |
//! | `redis` | no | `runs::RedisRunLog`: detached runs' events in Redis Streams, joinable on any replica; `server::RedisLimitCounters`: per-user limits shared by replicas | `redis` (Tokio) |
//! | `object-store` | no | `store::ObjectAttachmentStore`: attachment bytes on local disk, S3, GCS or Azure with signed upload and preview URLs; the endpoint's upload and preview routes | `object_store`, `multer`, `hmac`, `sha2` |
//! | `devtools` | no | `ChatKitEndpoint::devtools`: a ChatKit client and protocol inspector served next to the endpoint, assets embedded | nothing beyond `axum` |
//! | `otel` | no | `telemetry::otel`: OTLP export of the crate's spans and metrics | `opentelemetry-otlp`, `tracing-opentelemetry` |
//! | `testing` | no | `testing`: `ScriptedModel` and the store conformance suite | nothing |
//!
//! Without default features the crate is the wire types, widgets, templates, the server
//! pipeline, `MemoryStore` and the agent runtime (bring your own [`agents::model::Model`]): 60
//! crates, against 218 for the default set and 269 for all features; a clean debug
//! build of the library took 21 s and 70 s on two cores (2026-12-06).
//!
//! Minimum Rust: 1.94 (the `rust-version` declared), which `sqlx` 0.9 needs for the
//! `sqlite` and `postgres` features; every other feature set needs 1.89 (`uuid`).
//! `tools/msrv-check` derives these from the dependencies' own `rust-version` and fails
//! CI when the declaration is wrong.
//!
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
// On docs.rs, every item behind a feature shows the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Links to feature-gated items resolve in every feature set: to the item when its
// feature is on (docs.rs builds them all), to the feature table otherwise.
#![cfg_attr(feature = "sqlite", doc = "[sqlite]: store::SqliteStore")]
#![cfg_attr(not(feature = "sqlite"), doc = "[sqlite]: crate#features")]
#![cfg_attr(feature = "postgres", doc = "[postgres]: store::PostgresStore")]
#![cfg_attr(not(feature = "postgres"), doc = "[postgres]: crate#features")]
#![cfg_attr(feature = "axum", doc = "[http]: http")]
#![cfg_attr(not(feature = "axum"), doc = "[http]: crate#features")]
#![cfg_attr(feature = "testing", doc = "[testing]: testing")]
#![cfg_attr(not(feature = "testing"), doc = "[testing]: crate#features")]
#![cfg_attr(feature = "testing", doc = "[scripted]: testing::ScriptedModel")]
#![cfg_attr(not(feature = "testing"), doc = "[scripted]: crate#features")]
#![cfg_attr(feature = "otel", doc = "[otel]: telemetry::otel")]
#![cfg_attr(not(feature = "otel"), doc = "[otel]: crate#features")]

#[macro_use]
mod macros;
mod locks;
mod panics;
mod python_json;
mod tally;
mod text;

/// Re-exported: `async_stream::try_stream!` is the natural way to write `respond`.
pub use async_stream;
/// Re-exported for implementing [`server::ChatKitServer`] (its async hooks use it).
pub use async_trait::async_trait;
/// Re-exported: streams and stream combinators.
pub use futures;
/// Re-exported: tool parameter types derive `schemars::JsonSchema` (add `schemars` to
/// your dependencies, or derive with `#[schemars(crate = "chatkit_agents::schemars")]`).
pub use schemars;

pub mod agents;
#[cfg(feature = "axum")]
pub mod http;
pub mod prelude;
pub mod runs;
pub mod server;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;
pub mod widgets;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
