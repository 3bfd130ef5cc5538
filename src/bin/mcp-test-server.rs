//! The MCP tests' server over stdio (see `chatkit_agents_workspace::mcp_fixture`).

use chatkit_agents_workspace::mcp_fixture::FixtureServer;
use rmcp::ServiceExt;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = match FixtureServer::new().serve(rmcp::transport::stdio()).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("mcp-test-server: {error}");
            std::process::exit(1);
        }
    };
    let _ = server.waiting().await;
}
