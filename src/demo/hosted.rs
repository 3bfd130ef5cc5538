//! `CHATKIT_HOSTED_TOOLS`: the Responses API's hosted tools the demo agent is offered
//! (with `OPENAI_API_KEY` and the Responses API; the offline model has none).
//!
//! A comma-separated list of `web_search`, `code_interpreter`, `image_generation` and
//! `file_search:<vector store id>|<vector store id>...`:
//!
//! ```text
//! CHATKIT_HOSTED_TOOLS=web_search,code_interpreter
//! ```

use chatkit_agents::agents::HostedTool;

/// The tools `spec` lists, or what is wrong with it.
pub fn parse_hosted_tools(spec: &str) -> Result<Vec<HostedTool>, String> {
    let mut tools = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let tool = match entry.split_once(':') {
            None if entry == "web_search" => HostedTool::web_search(),
            None if entry == "code_interpreter" => HostedTool::code_interpreter(),
            None if entry == "image_generation" => HostedTool::image_generation(),
            Some(("file_search", stores)) => {
                let ids: Vec<&str> = stores.split('|').map(str::trim).filter(|s| !s.is_empty()).collect();
                if ids.is_empty() {
                    return Err("CHATKIT_HOSTED_TOOLS: file_search needs vector store ids (file_search:vs_1|vs_2)".into());
                }
                HostedTool::file_search(ids)
            }
            _ => {
                return Err(format!(
                    "CHATKIT_HOSTED_TOOLS: unknown tool {entry:?} (expected web_search, code_interpreter, image_generation or file_search:<ids>)"
                ))
            }
        };
        tools.push(tool);
    }
    Ok(tools)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_file_search_stores() {
        let tools =
            parse_hosted_tools(" web_search, code_interpreter ,file_search:vs_1|vs_2,").unwrap();
        let kinds: Vec<&str> = tools.iter().map(HostedTool::kind).collect();
        assert_eq!(kinds, ["web_search", "code_interpreter", "file_search"]);
        assert_eq!(
            tools[2].options()["vector_store_ids"],
            serde_json::json!(["vs_1", "vs_2"])
        );
        assert!(parse_hosted_tools("").unwrap().is_empty());
        assert!(parse_hosted_tools("web_serch")
            .unwrap_err()
            .contains("unknown tool"));
        assert!(parse_hosted_tools("file_search:")
            .unwrap_err()
            .contains("vector store"));
    }
}
