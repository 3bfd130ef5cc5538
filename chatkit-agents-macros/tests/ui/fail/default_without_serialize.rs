use chatkit_agents::agents::function_tool;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Color(String);

impl Default for Color {
    fn default() -> Self {
        Color("red".into())
    }
}

/// Paint.
#[function_tool]
async fn paint(#[arg(default = Color::default())] color: Color) -> String {
    color.0
}

fn main() {}
