use chatkit_agents::agents::{function_tool, ToolContext, chatkit::AgentContext};

/// Context second.
#[function_tool]
async fn tool(city: String, _ctx: &ToolContext<AgentContext<()>>) -> String {
    city
}

fn main() {}
