//! A third-party MCP server run the way users run them: the reference
//! `@modelcontextprotocol/server-everything` (pinned in `tests/mcp-everything/`,
//! installed by the README's test command with `npm ci`), on the machine's Node.js,
//! over stdio. Its tools are offered with a prefix and called by a scripted model:
//! text, an image, the environment given to the process, and strict schemas.

use std::sync::Arc;

use chatkit_agents::agents::{Agent, McpServer, Runner};
use chatkit_agents::testing::{tool_outputs, ScriptedModel, Step};
use serde_json::json;

fn everything() -> McpServer {
    let entry = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mcp-everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
    );
    assert!(
        std::path::Path::new(entry).exists(),
        "install the test MCP server first: npm ci --prefix tests/mcp-everything"
    );
    McpServer::stdio("everything", "node")
        .args([entry, "stdio"])
        .env("CHATKIT_PROBE", "forty-two")
        .tool_prefix("ev_")
}

#[tokio::test]
async fn the_reference_everything_server_over_stdio() {
    let server = everything().strict_schemas(true);
    let model = Arc::new(ScriptedModel::new(vec![
        vec![
            Step::tool_call("ev_echo", json!({"message": "hello MCP"})),
            Step::tool_call("ev_get-sum", json!({"a": 2, "b": 3})),
            Step::tool_call("ev_get-tiny-image", json!({})),
            Step::tool_call("ev_get-env", json!({})),
        ],
        vec![Step::text("All done.")],
    ]));
    let agent: Agent<()> = Agent::new("Tester", model.clone()).mcp_server(server.clone());
    let result = Runner::new()
        .run(&agent, "try the tools", ())
        .await
        .unwrap();
    server.close().await;
    assert_eq!(result.final_output, "All done.");

    let outputs = tool_outputs(&result.events);
    assert_eq!(outputs[0], "Echo: hello MCP");
    assert!(outputs[1].contains('5'), "{}", outputs[1]);
    assert!(
        outputs[2].contains("[image: image/png]"),
        "the image is noted in the text: {}",
        outputs[2]
    );
    assert!(
        outputs[3].contains("forty-two"),
        "the process got its environment"
    );

    let requests = model.requests();
    // The model reads the image as an image input.
    let image_output = requests[1]
        .input
        .iter()
        .find(|item| item["type"] == "function_call_output" && item["output"].is_array())
        .expect("the image tool's output is content parts");
    let parts = image_output["output"].as_array().unwrap();
    let image = parts
        .iter()
        .find(|part| part["type"] == "input_image")
        .expect("an image part");
    assert!(
        image["image_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBOR"),
        "{image}"
    );
    let offered: Vec<&str> = requests[0].tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        offered.contains(&"ev_echo") && offered.contains(&"ev_get-sum"),
        "{offered:?}"
    );
    assert!(offered.iter().all(|name| name.starts_with("ev_")));
    let echo = requests[0]
        .tools
        .iter()
        .find(|t| t.name == "ev_echo")
        .unwrap();
    assert!(echo.strict, "echo's schema converts to strict mode");
    assert_eq!(echo.parameters["required"], json!(["message"]));
}
