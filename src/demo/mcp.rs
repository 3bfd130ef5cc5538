//! `CHATKIT_MCP`: the MCP servers whose tools the demo agent gets.
//!
//! Entries are separated by `;`. Each is a URL (`http://` or `https://`: Streamable
//! HTTP) or a command line (stdio; arguments split on whitespace), optionally named
//! with `name=` in front, in which case the server's tools are offered as `name_<tool>`:
//!
//! ```text
//! CHATKIT_MCP="npx -y @modelcontextprotocol/server-everything; docs=https://mcp.example.com/mcp"
//! ```

use chatkit_agents::agents::McpServer;

/// The servers `spec` lists, or what is wrong with it.
pub fn parse_mcp_servers(spec: &str) -> Result<Vec<McpServer>, String> {
    let mut servers = Vec::new();
    for (index, entry) in spec.split(';').map(str::trim).enumerate() {
        if entry.is_empty() {
            continue;
        }
        let (name, target) = match entry.split_once('=') {
            Some((name, target))
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                (Some(name), target.trim())
            }
            _ => (None, entry),
        };
        let label = name.map_or_else(|| format!("mcp{}", index + 1), str::to_owned);
        let server = if target.starts_with("http://") || target.starts_with("https://") {
            McpServer::http(label, target)
        } else {
            let mut words = target.split_whitespace();
            let Some(command) = words.next() else {
                return Err(format!("CHATKIT_MCP entry {} names no command", index + 1));
            };
            McpServer::stdio(label, command).args(words)
        };
        servers.push(match name {
            Some(name) => server.tool_prefix(format!("{name}_")),
            None => server,
        });
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_commands_or_urls() {
        let servers =
            parse_mcp_servers(" npx -y server-everything ; docs=https://mcp.example.com/mcp;")
                .unwrap();
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].name(), "mcp1");
        assert_eq!(servers[1].name(), "docs");
        assert!(format!("{:?}", servers[1]).contains("docs_"));
        assert!(parse_mcp_servers("").unwrap().is_empty());
        assert!(parse_mcp_servers("x= ").unwrap_err().contains("no command"));
    }
}
