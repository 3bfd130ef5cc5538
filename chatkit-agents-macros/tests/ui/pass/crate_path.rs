//! `crate = "..."`: generated code names the library by the given path, for a crate
//! that re-exports it (or renames it in `Cargo.toml`).

mod sdk {
    pub use chatkit_agents as chatkit;
}

use sdk::chatkit::agents::{function_tool, Tool};

/// Add two numbers.
#[function_tool(crate = "crate::sdk::chatkit")]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// A blocking one, with a default.
#[function_tool(crate = "crate::sdk::chatkit")]
fn shout(#[arg(default = "hello")] text: String) -> String {
    text.to_uppercase()
}

fn main() {
    let definition = Tool::<()>::definition(&add).unwrap();
    assert_eq!(definition.name, "add");
    assert_eq!(shout::call("x".into()), "X");
}
