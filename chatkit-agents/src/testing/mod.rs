//! Helpers for testing code built on this crate: [`ScriptedModel`] to run agents
//! without a network, and a conformance suite for your own
//! [`Store`](crate::store::Store) implementations.

mod scripted_model;
mod store_conformance;

pub use scripted_model::{ScriptedModel, Step};
pub use store_conformance::{store_conformance, TestUser};
