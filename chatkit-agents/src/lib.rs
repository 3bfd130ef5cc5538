//! # chatkit-agents
//!
//! Serve [OpenAI ChatKit](https://openai.github.io/chatkit-js/) from Rust: every wire type
//! of the protocol, byte-compatible with the Python reference server (`openai-chatkit`
//! 1.6.5), and widgets as typed builders over a lossless JSON tree.
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
//! let frame = format!("data: {}\n\n", serde_json::to_string(&event).unwrap());
//! assert!(frame.starts_with(r#"data: {"type":"thread.item.done","item":{"id":"msg_1""#));
//! ```
//!
//! ## Modules
//!
//! - [`types`]: the protocol's wire types (requests, items, events, updates).
//! - [`widgets`]: the widget tree, typed component builders, `.widget` templates,
//!   [`widgets::diff_widget`] and [`widgets::stream_widget`].
//! - [`server`]: [`server::ChatKitServer`] and [`server::process`], the event pipeline.
//! - [`store`]: the store traits, [`store::MemoryStore`] and [`store::SqliteStore`].
//! - [`http`] (feature `axum`): the ChatKit endpoint as an axum router.
//! - [`testing`]: a conformance suite for your own stores.
//!
//! The agent runtime (`#[function_tool]`, `AgentContext`, `Runner`,
//! `stream_agent_response`) is being built on top of these.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

#[macro_use]
mod macros;

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
pub mod server;
pub mod store;
pub mod testing;
pub mod types;
pub mod widgets;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
