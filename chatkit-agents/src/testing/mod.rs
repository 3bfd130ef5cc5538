//! Helpers for testing code built on this crate (feature `testing`): [`ScriptedModel`]
//! to run agents without a network, [`send`] to drive a whole server in-process and read
//! its reply as JSON, and a conformance suite for your own
//! [`Store`](crate::store::Store) implementations.

mod client;
mod scripted_model;
mod store_conformance;

pub use client::{requests, send, Reply};

pub use scripted_model::{ScriptedMessage, ScriptedModel, Step};
pub use store_conformance::{store_conformance, TestUser};
