use chatkit_agents::agents::function_tool;

/// Timeout on a blocking function.
#[function_tool(timeout = "5s")]
fn blocking() -> String {
    String::new()
}

/// Unknown key and bad duration.
#[function_tool(colour = "blue", timeout = "soon", needs_approval = 3)]
async fn unknown() -> String {
    String::new()
}

/// Context by value.
#[function_tool]
async fn by_value(_ctx: chatkit_agents::agents::ToolContext<()>) -> String {
    String::new()
}

fn main() {}
