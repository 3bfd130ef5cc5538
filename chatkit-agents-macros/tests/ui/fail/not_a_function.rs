use chatkit_agents::agents::function_tool;

/// Not a function.
#[function_tool]
struct Weather {
    city: String,
}

fn main() {}
