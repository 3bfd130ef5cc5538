use chatkit_agents::agents::function_tool;

/// Bad name.
#[function_tool(name = "get weather!")]
async fn get_weather() -> String {
    String::new()
}

fn main() {}
