//! Procedural macros for [`chatkit-agents`](https://docs.rs/chatkit-agents).
//!
//! Use them through the `chatkit-agents` crate, which re-exports them together with the
//! paths their generated code needs. The `#[function_tool]` attribute lands here next;
//! this crate has no macros yet.
