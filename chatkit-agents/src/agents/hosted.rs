//! Tools the model provider runs itself (the Responses API's hosted tools): web search,
//! file search, code interpreter, image generation and remote MCP servers. The model
//! calls them during its response; their calls come back as output items (kept in the
//! conversation as they came, and sent back in the next turn) and their progress as
//! stream events. Only `OpenAIResponsesModel` can offer them: Chat Completions has no
//! hosted tools, and a request with one is an error there.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// A hosted tool and its options, sent as `{"type": <kind>, ...options}`.
///
/// ```
/// use chatkit_agents::agents::HostedTool;
///
/// let search = HostedTool::web_search().option("search_context_size", "low");
/// let files = HostedTool::file_search(["vs_123"]).option("max_num_results", 5);
/// let tickets = HostedTool::mcp("tickets", "https://mcp.example.com/mcp")
///     .option("allowed_tools", ["search"]);
/// assert_eq!(
///     serde_json::to_value(&files).unwrap(),
///     serde_json::json!({"type": "file_search", "vector_store_ids": ["vs_123"], "max_num_results": 5})
/// );
/// assert_eq!(tickets.kind(), "mcp");
/// # let _ = search;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HostedTool {
    kind: String,
    options: Map<String, Value>,
}

impl HostedTool {
    /// A hosted tool of type `kind` (for kinds without a constructor here).
    pub fn new(kind: impl Into<String>) -> Self {
        HostedTool {
            kind: kind.into(),
            options: Map::new(),
        }
    }

    /// Web search (`web_search`; options such as `search_context_size`,
    /// `user_location`, `filters`).
    pub fn web_search() -> Self {
        HostedTool::new("web_search")
    }

    /// Search in vector stores (`file_search`; options such as `max_num_results`,
    /// `filters`, `ranking_options`).
    pub fn file_search(vector_store_ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let ids: Vec<Value> = vector_store_ids
            .into_iter()
            .map(|id| Value::String(id.into()))
            .collect();
        HostedTool::new("file_search").option("vector_store_ids", ids)
    }

    /// Python run in a container (`code_interpreter`, in an automatic container unless
    /// the `container` option says otherwise).
    pub fn code_interpreter() -> Self {
        HostedTool::new("code_interpreter").option("container", serde_json::json!({"type": "auto"}))
    }

    /// Image generation (`image_generation`; options such as `size`, `quality`,
    /// `partial_images`).
    pub fn image_generation() -> Self {
        HostedTool::new("image_generation")
    }

    /// A remote MCP server the provider calls (`mcp`; options such as
    /// `allowed_tools`, `headers`, `authorization`). Use
    /// [`mcp_connector`](Self::mcp_connector) for a connector instead of a URL.
    ///
    /// `require_approval` is set to `never`; set it to `always` (or the provider's
    /// per-tool form, `{"always": {"tool_names": [...]}}`) and each call waits for a
    /// person like a function tool that needs approval: the run is interrupted with a
    /// [`ToolApproval`](crate::agents::ToolApproval) whose `server` is this label, and
    /// resuming it sends the decision (`mcp_approval_response`) for the provider to act on.
    ///
    /// ```
    /// use chatkit_agents::agents::HostedTool;
    /// let tickets = HostedTool::mcp("tickets", "https://mcp.example.com/mcp")
    ///     .option("require_approval", "always");
    /// assert_eq!(tickets.options()["require_approval"], "always");
    /// ```
    pub fn mcp(server_label: impl Into<String>, server_url: impl Into<String>) -> Self {
        HostedTool::new("mcp")
            .option("server_label", server_label.into())
            .option("server_url", server_url.into())
            .option("require_approval", "never")
    }

    /// A connector the provider offers as an MCP server (`connector_id`), with
    /// `require_approval` set to `never` as [`mcp`](Self::mcp) does.
    pub fn mcp_connector(server_label: impl Into<String>, connector_id: impl Into<String>) -> Self {
        HostedTool::new("mcp")
            .option("server_label", server_label.into())
            .option("connector_id", connector_id.into())
            .option("require_approval", "never")
    }

    /// The label of a remote MCP server ([`mcp`](Self::mcp), [`mcp_connector`](Self::mcp_connector)).
    pub(crate) fn mcp_server_label(&self) -> Option<&str> {
        match self.kind() {
            "mcp" => self.options.get("server_label").and_then(Value::as_str),
            _ => None,
        }
    }

    /// Sets an option (any field of the tool's JSON but `type`).
    pub fn option(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let key = key.into();
        if key != "type" {
            self.options.insert(key, value.into());
        }
        self
    }

    /// The tool's type (`web_search`, ...).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The tool's options.
    pub fn options(&self) -> &Map<String, Value> {
        &self.options
    }
}

impl Serialize for HostedTool {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.options.len() + 1))?;
        map.serialize_entry("type", &self.kind)?;
        for (key, value) in &self.options {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
