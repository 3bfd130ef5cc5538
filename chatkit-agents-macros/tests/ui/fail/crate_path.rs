//! `crate = "..."` is honoured: a path that is not the library fails to resolve, and a
//! string that is not a path is an error of the attribute.
use chatkit_agents::agents::function_tool;

/// Add two numbers.
#[function_tool(crate = "::not_chatkit")]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Subtract.
#[function_tool(crate = "not a path")]
async fn subtract(a: i64, b: i64) -> i64 {
    a - b
}

fn main() {}
