//! Helpers for testing code built on this crate: a conformance suite for your own
//! [`Store`](crate::store::Store) implementations.

mod store_conformance;

pub use store_conformance::{store_conformance, TestUser};
