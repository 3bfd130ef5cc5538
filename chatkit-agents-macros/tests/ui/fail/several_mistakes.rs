use chatkit_agents::agents::function_tool;

/// Every mistake of this function is reported at once: the unknown key, the timeout on
/// a blocking function, the generic parameter and the pattern parameter.
#[function_tool(colour = "red", timeout = "5s")]
fn lookup<T>((a, b): (u32, u32), key: T) -> String {
    let _ = (a, b, key);
    String::new()
}

fn main() {}
