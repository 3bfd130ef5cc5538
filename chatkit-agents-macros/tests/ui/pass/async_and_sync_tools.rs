use chatkit_agents::agents::{function_tool, Tool, ToolContext, ToolError, chatkit::AgentContext};

/// Add two numbers.
///
/// # Arguments
///
/// * `a` - The first number.
/// * `b` - The second number.
#[function_tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Greet someone, with the run context.
#[function_tool(name = "greet-user", description = "Say hello.", timeout = "2s")]
async fn greet(ctx: &ToolContext<AgentContext<()>>, name: String) -> Result<String, ToolError> {
    ctx.stream(chatkit_agents::types::ThreadStreamEvent::progress("greeting"));
    Ok(format!("Hello {name}"))
}

/// Maps are fine outside strict mode.
#[function_tool(strict = false)]
async fn count(words: std::collections::HashMap<String, u32>) -> usize {
    words.len()
}

/// A public tool: documented, usable from other modules.
#[function_tool]
pub async fn public_tool() -> String {
    String::new()
}

fn main() {
    let _: &dyn Tool<()> = &add;
    let _: &dyn Tool<AgentContext<()>> = &greet;
    let _: &dyn Tool<()> = &count;
    let _: Box<dyn Tool<AgentContext<()>>> = Box::new(public_tool);
    assert_eq!(add::call(1, 2), 3);
}
