//! `#[function_tool]`: schemas equal to the Python Agents SDK's for its documented
//! examples (titles dropped), more shapes, and invocation (good and bad arguments,
//! errors, panics, timeouts, blocking functions).

use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::agents::{
    call_tool,
    chatkit::{AgentContext, QueuedEvents},
    function_tool, Tool, ToolContext, ToolError, ToolErrorFormatter, ToolFailure,
    DEFAULT_TOOL_ERROR_MESSAGE,
};
use chatkit_agents::server::ThreadHandle;
use chatkit_agents::store::MemoryStore;
use chatkit_agents::types::{ThreadMetadata, ThreadStreamEvent, Timestamp};
use chatkit_agents::widgets::{self as w, WidgetRoot};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Drops `title` keywords: the Python outputs carry them; our schemas never do.
/// (A property *named* `title` stays.)
fn without_titles(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("title");
                for (key, child) in map.iter_mut() {
                    if key == "properties" || key == "$defs" {
                        child
                            .as_object_mut()
                            .into_iter()
                            .flat_map(|m| m.values_mut())
                            .for_each(walk);
                    } else {
                        walk(child);
                    }
                }
            }
            Value::Array(list) => list.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

fn schema<C>(tool: &dyn Tool<C>) -> Value {
    tool.definition().unwrap().parameters.clone()
}

// ---- (a) Google docstring, Literal with a default, strict ------------------------------

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Units {
    C,
    F,
}

/// Get the current weather for a city.
///
/// # Arguments
///
/// * `city` - The city to look up.
/// * `units` - Temperature units.
#[function_tool]
async fn get_weather(city: String, #[arg(default = Units::C)] units: Units) -> String {
    format!("{city}: 21 degrees {units:?}")
}

#[test]
fn example_a_matches_python() {
    let python = json!({"properties": {"city": {"description": "The city to look up.", "title": "City", "type": "string"},
        "units": {"default": "c", "description": "Temperature units.", "enum": ["c", "f"], "title": "Units", "type": "string"}},
        "required": ["city", "units"], "title": "get_weather_args", "type": "object", "additionalProperties": false});
    let definition = get_weather.definition().unwrap();
    assert_eq!(definition.name, "get_weather");
    assert_eq!(
        definition.description,
        "Get the current weather for a city."
    );
    assert!(definition.strict);
    assert_eq!(definition.parameters, without_titles(python));
}

// ---- (b) context first, nested model, Option -------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
struct Item {
    sku: String,
    #[serde(default = "one")]
    qty: i64,
}

fn one() -> i64 {
    1
}

/// Add items to the shopping cart.
///
/// # Arguments
///
/// * `items` - Items to add.
/// * `note` - Optional note for the order.
#[function_tool]
async fn add_to_cart(
    ctx: &ToolContext<AgentContext<()>>,
    items: Vec<Item>,
    note: Option<String>,
) -> String {
    let _ = ctx.thread().id();
    let quantity: i64 = items.iter().map(|i| i.qty).sum();
    let skus: Vec<&str> = items.iter().map(|i| i.sku.as_str()).collect();
    format!(
        "{} items ({skus:?} x{quantity}), note: {note:?}",
        items.len()
    )
}

#[test]
fn example_b_matches_python() {
    let python = json!({"$defs": {"Item": {"properties": {"sku": {"title": "Sku", "type": "string"},
                                   "qty": {"default": 1, "title": "Qty", "type": "integer"}},
                    "required": ["sku", "qty"], "title": "Item", "type": "object", "additionalProperties": false}},
        "properties": {"items": {"description": "Items to add.", "items": {"$ref": "#/$defs/Item"}, "title": "Items", "type": "array"},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "Optional note for the order.", "title": "Note"}},
        "required": ["items", "note"], "title": "add_to_cart_args", "type": "object", "additionalProperties": false});
    assert_eq!(schema(&add_to_cart), without_titles(python));
}

// ---- (c) non-strict, name override ------------------------------------------------------

/// Search the documentation.
///
/// # Arguments
///
/// * `query` - Full-text query.
/// * `limit` - Max results.
#[function_tool(name = "search_docs", strict = false)]
fn search(
    query: String,
    #[arg(default = 5)] limit: i64,
    #[arg(default = None)] tags: Option<Vec<String>>,
) -> Vec<String> {
    vec![format!("{query} ({limit}, {tags:?})")]
}

#[test]
fn example_c_matches_python() {
    let python = json!({"properties": {"query": {"description": "Full-text query.", "title": "Query", "type": "string"},
        "limit": {"default": 5, "description": "Max results.", "title": "Limit", "type": "integer"},
        "tags": {"anyOf": [{"items": {"type": "string"}, "type": "array"}, {"type": "null"}], "default": null, "title": "Tags"}},
        "required": ["query"], "title": "search_docs_args", "type": "object"});
    let definition = search.definition().unwrap();
    assert_eq!(definition.name, "search_docs");
    assert!(!definition.strict);
    assert_eq!(definition.parameters, without_titles(python));
}

// ---- (d) ToolContext first, per-parameter docs and constraints, Option of enum ----------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Mode {
    A,
    B,
}

/// Show a card widget.
#[function_tool]
async fn show_card(
    ctx: &ToolContext<AgentContext<()>>,
    /// Card title
    title: String,
    #[arg(default = 3)]
    #[schemars(range(min = 0, max = 10))]
    count: i64,
    mode: Option<Mode>,
) -> Result<String, ToolError> {
    let card: WidgetRoot = w::Card::new().child(w::Title::new(title.clone())).into();
    ctx.stream_widget(card, None).await?;
    Ok(format!("{title} x{count} {mode:?}"))
}

#[test]
fn example_d_matches_python() {
    let python = json!({"properties": {"title": {"description": "Card title", "title": "Title", "type": "string"},
        "count": {"default": 3, "maximum": 10, "minimum": 0, "title": "Count", "type": "integer"},
        "mode": {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}], "title": "Mode"}},
        "required": ["title", "count", "mode"], "title": "show_card_args", "type": "object", "additionalProperties": false});
    assert_eq!(schema(&show_card), without_titles(python));
}

// ---- more shapes --------------------------------------------------------------------------

/// Ping.
#[function_tool]
async fn ping() -> &'static str {
    "pong"
}

#[test]
fn no_parameters() {
    assert_eq!(
        ping.definition().unwrap().parameters,
        json!({"type": "object", "properties": {}, "additionalProperties": false, "required": []})
    );
}

/// Look something up.
///
/// Second paragraph.
///
/// # Arguments
///
/// * `query` - What to look for.
///
/// The results come newest first.
#[function_tool]
async fn lookup_lines(query: String, #[arg(default = "")] prefix: String) -> String {
    format!("{prefix}{query}")
}

/** Look something up.

Second paragraph.

# Arguments

* `query` - What to look for.

The results come newest first. */
#[function_tool]
async fn lookup_block(query: String, #[arg(default = "")] prefix: String) -> String {
    format!("{prefix}{query}")
}

#[test]
fn line_and_block_doc_comments_give_the_same_tool() {
    let lines = lookup_lines.definition().unwrap();
    let block = lookup_block.definition().unwrap();
    assert_eq!(lines.description, "Look something up.\n\nSecond paragraph.");
    assert_eq!(block.description, lines.description);
    assert_eq!(block.parameters, lines.parameters);
    assert_eq!(
        lines.parameters["properties"]["query"]["description"],
        "What to look for."
    );
    // A string literal default works for a `String` parameter.
    assert_eq!(lines.parameters["properties"]["prefix"]["default"], "");
}

#[tokio::test]
async fn a_string_literal_default_fills_a_missing_string() {
    assert_eq!(call(&lookup_lines, (), r#"{"query": "q"}"#).await, "q");
}

/// A nested address.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Address {
    street: String,
    /// ZIP code.
    zip: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Contact {
    Email { address: String },
    Phone { number: String },
}

/// Save a person.
#[function_tool]
async fn save_person(
    name: String,
    home: Option<Address>,
    contacts: Vec<Contact>,
    tags: Vec<String>,
) -> Value {
    json!({"saved": name, "home": home, "contacts": contacts, "tags": tags})
}

#[test]
fn nested_structs_enums_vecs_and_optional_structs_are_strict_everywhere() {
    let schema = save_person.definition().unwrap().parameters.clone();
    assert_eq!(
        schema["required"],
        json!(["name", "home", "contacts", "tags"])
    );
    assert_eq!(
        schema["properties"]["home"]["anyOf"][1],
        json!({"type": "null"})
    );
    let address = &schema["$defs"]["Address"];
    assert_eq!(address["additionalProperties"], false);
    assert_eq!(
        address["required"],
        json!(["street", "zip"]),
        "optional fields are required but nullable"
    );
    assert_eq!(
        address["properties"]["zip"]["anyOf"],
        json!([{"type": "string"}, {"type": "null"}])
    );
    // A tagged enum is not an object schema, so it is inlined; `oneOf` became `anyOf`.
    let contact = &schema["properties"]["contacts"]["items"];
    let variants = contact["anyOf"]
        .as_array()
        .unwrap_or_else(|| panic!("a union: {contact}"));
    assert_eq!(variants.len(), 2);
    for variant in variants {
        assert_eq!(variant["additionalProperties"], false, "{variant}");
        assert_eq!(
            variant["required"].as_array().unwrap().len(),
            2,
            "{variant}"
        );
    }
    assert!(
        schema.to_string().find("\"format\"").is_none(),
        "integer formats are removed"
    );
    assert!(schema.get("$schema").is_none());
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Scores {
    by_name: std::collections::HashMap<String, i64>,
}

/// Hidden map.
#[function_tool]
async fn hidden_map(scores: Scores) -> String {
    format!("{}", scores.by_name.len())
}

#[test]
fn a_map_hidden_in_a_struct_is_an_error_when_the_tool_is_offered() {
    let err = hidden_map.definition().unwrap_err();
    assert!(
        err.to_string()
            .contains("/$defs/Scores/properties/by_name is a map"),
        "{err}"
    );
}

// ---- invocation ----------------------------------------------------------------------------

fn agent_context() -> (AgentContext<()>, QueuedEvents) {
    let thread = ThreadHandle::new(ThreadMetadata::new("thr_1", Timestamp::now()));
    let ctx = AgentContext::new(thread, Arc::new(MemoryStore::new()), ());
    let events = ctx.take_events().unwrap();
    (ctx, events)
}

async fn call<C: Send + Sync + 'static>(tool: &dyn Tool<C>, context: C, arguments: &str) -> String {
    let name = tool.definition().unwrap().name.clone();
    let ctx = ToolContext::new(context, name, "call_1", arguments);
    call_tool(tool, &ctx, arguments, None).await
}

#[tokio::test]
async fn good_arguments_run_the_function() {
    assert_eq!(
        call(&get_weather, (), r#"{"city": "Oslo", "units": "f"}"#).await,
        "Oslo: 21 degrees F"
    );
    assert_eq!(
        call(&get_weather, (), r#"{"city": "Oslo"}"#).await,
        "Oslo: 21 degrees C",
        "a missing key takes its default"
    );
    assert_eq!(
        call(&ping, (), "").await,
        "pong",
        "an empty argument string means no arguments"
    );
    assert_eq!(
        call(&search, (), r#"{"query": "q"}"#).await,
        r#"["q (5, None)"]"#,
        "non-text output is JSON"
    );
    assert_eq!(
        get_weather::call("Rome".into(), Units::F).await,
        "Rome: 21 degrees F",
        "the function stays callable"
    );
}

#[tokio::test]
async fn bad_arguments_become_the_generic_output() {
    for arguments in [
        "{not json",
        r#"{"units": "c"}"#,
        r#"{"city": 5}"#,
        r#"{"city": "x", "extra": 1}"#,
        "[]",
    ] {
        assert_eq!(
            call(&get_weather, (), arguments).await,
            DEFAULT_TOOL_ERROR_MESSAGE,
            "{arguments}"
        );
    }
    let ctx = ToolContext::new((), "get_weather", "c", "{}");
    let failure = Tool::<()>::invoke(&get_weather, &ctx, r#"{"city": "x", "extra": 1}"#)
        .await
        .unwrap_err();
    assert!(
        matches!(&failure, ToolFailure::InvalidArguments { message, .. } if message.contains("unknown field `extra`")),
        "{failure}"
    );
    assert!(failure
        .to_string()
        .starts_with("Invalid JSON input for tool get_weather"));
}

/// Fails on purpose.
#[function_tool]
async fn fails(reason: String) -> Result<String, ToolError> {
    Err(ToolError::new(reason))
}

/// Panics on purpose.
#[function_tool]
async fn panics() -> String {
    panic!("tool exploded")
}

/// Blocks, then panics.
#[function_tool]
fn blocking_panics() -> String {
    panic!("blocking tool exploded")
}

/// Sleeps too long.
#[function_tool(timeout = "50ms")]
async fn slow() -> String {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late".into()
}

fn explain(failure: &ToolFailure) -> String {
    format!("tool failed: {failure}")
}

/// Fails, explained.
#[function_tool(error_formatter = explain)]
async fn fails_explained() -> Result<String, ToolError> {
    Err(ToolError::new("disk full"))
}

#[tokio::test]
async fn errors_panics_and_timeouts_never_end_the_run() {
    assert_eq!(
        call(&fails, (), r#"{"reason": "nope"}"#).await,
        DEFAULT_TOOL_ERROR_MESSAGE
    );
    assert_eq!(call(&panics, (), "{}").await, DEFAULT_TOOL_ERROR_MESSAGE);
    assert_eq!(
        call(&blocking_panics, (), "{}").await,
        DEFAULT_TOOL_ERROR_MESSAGE
    );
    assert_eq!(
        call(&slow, (), "{}").await,
        "Tool 'slow' timed out after 0.05 seconds."
    );
    assert_eq!(
        call(&fails_explained, (), "{}").await,
        "tool failed: Error running tool fails_explained: disk full"
    );

    let ctx = ToolContext::new((), "panics", "c", "{}");
    let failure = Tool::<()>::invoke(&panics, &ctx, "{}").await.unwrap_err();
    assert_eq!(
        failure,
        ToolFailure::Panicked {
            tool: "panics".into(),
            message: "tool exploded".into()
        }
    );

    let formatter: ToolErrorFormatter = Arc::new(|f: &ToolFailure| format!("run says: {f}"));
    let ctx = ToolContext::new((), "fails", "c", "{}");
    assert_eq!(
        call_tool(&fails, &ctx, r#"{"reason": "nope"}"#, Some(&formatter)).await,
        "run says: Error running tool fails: nope",
        "the run's formatter applies when the tool has none"
    );
}

/// Display a sample widget to the user.
#[function_tool]
async fn sample_widget(ctx: &ToolContext<AgentContext<()>>) -> Result<String, ToolError> {
    ctx.stream_widget(build_message_widget("Harry", "Yer a wizard")?, None)
        .await?;
    Ok(format!("shown in reply to {}", ctx.tool_call_id()))
}

fn build_message_widget(
    name: &str,
    message: &str,
) -> Result<WidgetRoot, chatkit_agents::widgets::TemplateError> {
    let template = chatkit_agents::widgets::WidgetTemplate::new(json!({
        "version": "1.0", "name": "message",
        "template": r#"{"type":"Card","children":[{"type":"Title","value":{{ name | tojson }}},{"type":"Text","value":{{ message | tojson }}}]}"#,
    }))?;
    template.build(json!({"name": name, "message": message}))
}

#[tokio::test]
async fn the_seed_tool_streams_a_widget_through_the_agent_context() {
    let (ctx, mut events) = agent_context();
    assert_eq!(
        call(&sample_widget, ctx, "{}").await,
        "shown in reply to call_1"
    );
    let ThreadStreamEvent::ThreadItemDone { item } = events.try_recv().unwrap() else {
        panic!()
    };
    assert_eq!(
        serde_json::to_value(&item).unwrap()["widget"]["children"][0]["value"],
        "Harry"
    );
}

#[tokio::test]
async fn tools_with_context_are_trait_objects_for_their_context() {
    let (ctx, _events) = agent_context();
    let tools: Vec<Box<dyn Tool<AgentContext<()>>>> = vec![
        Box::new(show_card),
        Box::new(add_to_cart),
        Box::new(get_weather),
    ];
    let names: Vec<_> = tools
        .iter()
        .map(|t| t.definition().unwrap().name.clone())
        .collect();
    assert_eq!(names, ["show_card", "add_to_cart", "get_weather"]);
    let output = call(
        tools[0].as_ref(),
        ctx.clone(),
        r#"{"title": "Hi", "count": 2, "mode": null}"#,
    )
    .await;
    assert_eq!(output, "Hi x2 None");
    let output = call(
        tools[1].as_ref(),
        ctx,
        r#"{"items": [{"sku": "a", "qty": 2}], "note": null}"#,
    )
    .await;
    assert_eq!(output, "1 items ([\"a\"] x2), note: None");
}
