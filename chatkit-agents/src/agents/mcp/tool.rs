//! One MCP tool as a [`Tool`]: its definition from the server's listing, its calls
//! through the server, its results as outputs for the model.

use futures::future::BoxFuture;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::Value;

use super::{McpError, McpServer};
use crate::agents::schema::{shape_schema, ToolSchemaError};
use crate::agents::tool::{Tool, ToolContext, ToolDefinition, ToolFailure, ToolOrigin, ToolOutput};

pub(super) struct McpTool {
    server: McpServer,
    /// The server's name for the tool (the offered one may have a prefix).
    remote: String,
    /// Its title for people (the server's `title`, else its annotations' title).
    title: Option<String>,
    definition: ToolDefinition,
}

impl McpTool {
    pub(super) fn new(
        server: McpServer,
        listed: &rmcp::model::Tool,
        offered: String,
        strict: bool,
    ) -> Self {
        let schema = Value::Object(listed.input_schema.as_ref().clone());
        let (parameters, strict) = parameters(&offered, schema, strict);
        let title = listed.title.clone().or_else(|| {
            listed
                .annotations
                .as_ref()
                .and_then(|annotations| annotations.title.clone())
        });
        McpTool {
            server,
            remote: listed.name.to_string(),
            title,
            definition: ToolDefinition {
                name: offered,
                description: listed
                    .description
                    .as_deref()
                    .or(listed.title.as_deref())
                    .unwrap_or_default()
                    .to_owned(),
                parameters,
                strict,
            },
        }
    }
}

/// The parameters to offer: in strict mode when asked and possible, else as the server
/// gave them (an object schema with `properties`, which OpenAI requires).
fn parameters(tool: &str, schema: Value, strict: bool) -> (Value, bool) {
    if strict {
        match shape_schema(tool, schema.clone(), true) {
            Ok(strict_schema) => return (strict_schema, true),
            Err(error) => {
                tracing::debug!(tool, %error, "MCP tool schema offered non-strict");
            }
        }
    }
    let mut schema = schema;
    if let Value::Object(object) = &mut schema {
        object
            .entry("type")
            .or_insert_with(|| Value::String("object".into()));
        object
            .entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
    }
    (schema, false)
}

impl<C: Send + Sync + 'static> Tool<C> for McpTool {
    fn definition(&self) -> Result<&ToolDefinition, ToolSchemaError> {
        Ok(&self.definition)
    }

    fn origin(&self) -> Option<ToolOrigin> {
        Some(ToolOrigin {
            source: self.server.name().to_owned(),
            title: self.title.clone().or_else(|| Some(self.remote.clone())),
        })
    }

    fn invoke<'a>(
        &'a self,
        ctx: &'a ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<String, ToolFailure>> {
        Box::pin(futures::FutureExt::map(
            self.invoke_content(ctx, arguments),
            |output| output.map(|output| output.text),
        ))
    }

    fn invoke_content<'a>(
        &'a self,
        _ctx: &'a ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolFailure>> {
        Box::pin(async move {
            let tool = self.definition.name.clone();
            let arguments =
                parse_arguments(arguments).map_err(|message| ToolFailure::InvalidArguments {
                    tool: tool.clone(),
                    message,
                })?;
            match self.server.call_tool(&self.remote, arguments).await {
                Ok(result) => output(result).map_err(|message| ToolFailure::Failed {
                    tool: tool.clone(),
                    message,
                }),
                Err(McpError::Timeout { seconds, .. }) => Err(ToolFailure::TimedOut {
                    tool,
                    seconds: format!("{seconds:?}"),
                }),
                Err(error) => {
                    // The cause (a command, an address) goes to the log; the model reads
                    // what happened, in words it can pass on.
                    tracing::warn!(tool = %tool, %error, "MCP tool call failed");
                    let told = match &error {
                        McpError::Start { server, .. } => format!(
                            "MCP server {server} could not start, so its tool {} is unavailable right now.",
                            self.remote
                        ),
                        McpError::Request { server, message } => format!(
                            "MCP server {server} could not run the tool {}: {message}",
                            self.remote
                        ),
                        McpError::Timeout { .. } => error.to_string(),
                    };
                    Err(ToolFailure::Failed {
                        tool,
                        message: format!("{FOR_THE_MODEL}{told}"),
                    })
                }
            }
        })
    }

    /// A failure written for the model (an `isError` result, a server that cannot start
    /// or fails the request) reads as it is; other failures as the run's formatter says.
    fn format_failure(&self, failure: &ToolFailure) -> Option<String> {
        match failure {
            ToolFailure::Failed { message, .. } => {
                message.strip_prefix(FOR_THE_MODEL).map(str::to_owned)
            }
            _ => None,
        }
    }
}

/// Marks the message of a failure written for the model: the server's own `isError`
/// result, or what became of the server.
const FOR_THE_MODEL: &str = "MCP tool error: ";

/// The model's arguments as a JSON object (empty arguments are none).
fn parse_arguments(arguments: &str) -> Result<JsonObject, String> {
    if arguments.trim().is_empty() {
        return Ok(JsonObject::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!("expected a JSON object, got {other}")),
        Err(error) => Err(error.to_string()),
    }
}

/// What the model reads of a result: its text blocks and images (as image inputs), else
/// its structured content as JSON; audio, resources and resource links as their MCP
/// JSON. An `isError` result is an error with its text.
fn output(result: CallToolResult) -> Result<ToolOutput, String> {
    let mut out = ToolOutput::default();
    if result.content.is_empty() {
        if let Some(structured) = &result.structured_content {
            out = ToolOutput::text(structured.to_string());
        }
    }
    for block in &result.content {
        out = match block {
            ContentBlock::Text(text) => out.with_text(&text.text),
            ContentBlock::Image(image) => out.with_image(&image.mime_type, &image.data),
            other => out.with_text(&serde_json::to_string(other).unwrap_or_default()),
        };
    }
    if result.is_error == Some(true) {
        Err(format!("{FOR_THE_MODEL}{}", out.text))
    } else {
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(value: Value) -> CallToolResult {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn results_become_outputs() {
        let text = result(
            json!({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}),
        );
        assert_eq!(output(text).unwrap(), ToolOutput::text("a\nb"));
        let structured = result(json!({"content": [], "structuredContent": {"temp": 21}}));
        assert_eq!(
            output(structured).unwrap(),
            ToolOutput::text(r#"{"temp":21}"#)
        );
        let image = result(
            json!({"content": [{"type": "text", "text": "A dot:"}, {"type": "image", "data": "AAAA", "mimeType": "image/png"}]}),
        );
        let out = output(image).unwrap();
        assert_eq!(out.text, "A dot:\n[image: image/png]");
        assert_eq!(
            out.content.unwrap(),
            [
                json!({"type": "input_text", "text": "A dot:"}),
                json!({"type": "input_image", "image_url": "data:image/png;base64,AAAA"})
            ]
        );
        let link = result(
            json!({"content": [{"type": "resource_link", "uri": "file:///a.txt", "name": "a.txt"}]}),
        );
        assert!(output(link).unwrap().text.contains("file:///a.txt"));
        let failed =
            result(json!({"content": [{"type": "text", "text": "no such city"}], "isError": true}));
        assert_eq!(output(failed).unwrap_err(), "MCP tool error: no such city");
    }

    #[test]
    fn arguments_must_be_an_object() {
        assert!(parse_arguments("").unwrap().is_empty());
        assert_eq!(parse_arguments(r#"{"a":1}"#).unwrap()["a"], 1);
        assert!(parse_arguments("[1]").unwrap_err().contains("object"));
        assert!(parse_arguments("{").is_err());
    }

    #[test]
    fn schemas_are_strict_only_when_they_can_be() {
        let closed =
            json!({"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]});
        let (schema, strict) = parameters("t", closed, true);
        assert!(strict);
        assert_eq!(schema["additionalProperties"], false);
        let open = json!({"type": "object", "properties": {"tags": {"type": "object", "additionalProperties": {"type": "string"}}}});
        let (schema, strict) = parameters("t", open.clone(), true);
        assert!(!strict);
        assert_eq!(schema, open);
        let (schema, strict) = parameters("t", json!({"type": "object"}), false);
        assert!(!strict);
        assert_eq!(schema, json!({"type": "object", "properties": {}}));
    }
}
