use std::collections::HashMap;

use chatkit_agents::agents::function_tool;

/// A map in strict mode.
#[function_tool]
async fn tally(scores: HashMap<String, i64>, _extra: Option<serde_json::Value>) -> usize {
    scores.len()
}

fn main() {}
