//! Host of the workspace's integration tests and examples (not published), and of the
//! demo application that `cargo run --example demo` starts.

pub mod demo;
pub mod example_support;
pub mod fuzzing;
pub mod mcp_fixture;
