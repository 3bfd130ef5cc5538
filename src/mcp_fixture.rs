//! The MCP server the MCP tests talk to, written with `rmcp`'s server side: served over
//! stdio by `src/bin/mcp-test-server.rs` and over Streamable HTTP in-process.
//!
//! Tools: `add` (text), `weather` (structured content; `isError` for `Atlantis`),
//! `sleep` (for timeouts and cancellation; `cancelled_sleeps` counts the sleeps the
//! client cancelled), `admin_reset` (for filters), `grow` (lists `extra` from then
//! on and announces the change), `exit_soon` (the process exits just after answering:
//! a lost connection).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use serde::Deserialize;
use serde_json::json;

/// Two numbers.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddRequest {
    /// The first.
    pub a: i64,
    /// The second.
    pub b: i64,
}

/// A city.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CityRequest {
    /// Its name.
    pub city: String,
}

/// How long to sleep.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SleepRequest {
    /// Milliseconds.
    pub millis: u64,
}

/// The fixture server (one per connection).
#[derive(Debug, Clone)]
pub struct FixtureServer {
    tool_router: ToolRouter<Self>,
    grown: Arc<AtomicBool>,
    cancelled: Arc<AtomicUsize>,
}

impl Default for FixtureServer {
    fn default() -> Self {
        Self::new()
    }
}

#[tool_router]
impl FixtureServer {
    /// A server that has not grown.
    pub fn new() -> Self {
        FixtureServer {
            tool_router: Self::tool_router(),
            grown: Arc::new(AtomicBool::new(false)),
            cancelled: Arc::new(AtomicUsize::new(0)),
        }
    }

    #[tool(description = "Add two numbers")]
    fn add(&self, Parameters(AddRequest { a, b }): Parameters<AddRequest>) -> String {
        (a + b).to_string()
    }

    #[tool(description = "The weather in a city")]
    fn weather(
        &self,
        Parameters(CityRequest { city }): Parameters<CityRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        if city == "Atlantis" {
            return Ok(CallToolResult::error(vec![ContentBlock::text(
                "no such city: Atlantis",
            )]));
        }
        let mut result = CallToolResult::structured(json!({"city": city, "celsius": 21}));
        // Structured content only: the client must read it.
        result.content.clear();
        Ok(result)
    }

    #[tool(description = "Sleep for a while")]
    async fn sleep(
        &self,
        Parameters(SleepRequest { millis }): Parameters<SleepRequest>,
        context: RequestContext<RoleServer>,
    ) -> String {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(millis)) => "slept".to_owned(),
            _ = context.ct.cancelled() => {
                self.cancelled.fetch_add(1, Ordering::SeqCst);
                "cancelled".to_owned()
            }
        }
    }

    #[tool(description = "How many sleeps the client cancelled")]
    fn cancelled_sleeps(&self) -> String {
        self.cancelled.load(Ordering::SeqCst).to_string()
    }

    #[tool(description = "Reset everything (an admin tool to filter out)")]
    fn admin_reset(&self) -> String {
        "reset".to_owned()
    }

    #[tool(description = "Offer the extra tool from now on")]
    async fn grow(&self, context: RequestContext<RoleServer>) -> String {
        self.grown.store(true, Ordering::SeqCst);
        let _ = context.peer.notify_tool_list_changed().await;
        "grown".to_owned()
    }

    #[tool(description = "A tool listed only after grow")]
    fn extra(&self) -> String {
        "extra".to_owned()
    }

    #[tool(description = "Answer, then exit the process")]
    fn exit_soon(&self) -> String {
        std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            std::process::exit(0);
        });
        "bye".to_owned()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FixtureServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let grown = self.grown.load(Ordering::SeqCst);
        let tools = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|tool| grown || tool.name != "extra")
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }
}
