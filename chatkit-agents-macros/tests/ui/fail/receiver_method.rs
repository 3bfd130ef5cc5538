use chatkit_agents::agents::function_tool;

struct Service;

impl Service {
    /// A method.
    #[function_tool]
    async fn lookup(&self, city: String) -> String {
        city
    }
}

fn main() {}
