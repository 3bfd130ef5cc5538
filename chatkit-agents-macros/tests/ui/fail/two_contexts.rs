use chatkit_agents::agents::{function_tool, ToolContext, chatkit::AgentContext};

/// Two contexts.
#[function_tool]
async fn tool(_ctx: &ToolContext<AgentContext<()>>, _again: &ToolContext<AgentContext<()>>) -> String {
    String::new()
}

fn main() {}
