//! Procedural macros for [`chatkit-agents`](https://docs.rs/chatkit-agents). Use them
//! through the library (`chatkit_agents::agents::function_tool`), which re-exports
//! everything the generated code needs.

use proc_macro::TokenStream;

mod function_tool;

/// Turns a function into a tool an agent can call.
///
/// The function becomes a unit struct of the same name that implements
/// `chatkit_agents::agents::Tool` (pass it to an agent as a value: `agent.tool(get_weather)`);
/// the original function stays callable as `get_weather::call(..)`.
///
/// ```
/// use chatkit_agents::prelude::*; // also brings `JsonSchema` and `schemars`
/// use serde::Deserialize;
///
/// /// Temperature units.
/// #[derive(Deserialize, JsonSchema)]
/// #[serde(rename_all = "lowercase")]
/// enum Units {
///     Celsius,
///     Fahrenheit,
/// }
///
/// /// Where to look.
/// #[derive(Deserialize, JsonSchema)]
/// struct Place {
///     /// The city.
///     city: String,
///     /// ISO 3166 country code.
///     country: Option<String>,
/// }
///
/// /// Get the current weather for a place.
/// ///
/// /// # Arguments
/// ///
/// /// * `place` - Where to look.
/// /// * `units` - The units of the answer.
/// #[function_tool(timeout = "5s")]
/// async fn get_weather(
///     ctx: &ToolContext<AgentContext<()>>,
///     place: Place,
///     units: Units,
/// ) -> Result<String, ToolError> {
///     ctx.stream(ThreadStreamEvent::progress("Looking outside..."));
///     let degrees = match units { Units::Celsius => "21 °C", Units::Fahrenheit => "70 °F" };
///     Ok(format!("Sunny in {}, {degrees}", place.city))
/// }
///
/// // What the model is offered:
/// let definition = get_weather.definition().unwrap();
/// assert_eq!(definition.name, "get_weather");
/// assert_eq!(definition.description, "Get the current weather for a place.");
/// assert_eq!(definition.parameters["required"], serde_json::json!(["place", "units"]));
/// assert_eq!(definition.parameters["properties"]["units"]["description"], "The units of the answer.");
/// ```
///
/// Tool argument types derive `Deserialize` (from `serde`) and `JsonSchema`: the prelude's
/// `JsonSchema` and `schemars` are this crate's schemars 1.x, so no `schemars`
/// dependency of your own is needed (if you add one, it must be `schemars = "1"`; 0.8
/// derives a different trait).
///
/// # What the model sees
///
/// - **name**: the function's name, or `name = "..."` (checked at compile time against
///   `^[A-Za-z0-9_-]{1,64}$`).
/// - **description**: the doc comment up to a `# Arguments` section, or `description = "..."`.
/// - **parameters**: every parameter but the context, as a JSON schema made from the
///   parameter types (anything `Deserialize + JsonSchema`). Each parameter's description
///   comes from its `# Arguments` entry (`` * `city` - The city ``; continuation lines
///   join with `\n`), or from a doc comment on the parameter itself. `title` keys are
///   never emitted.
/// - **strict** (default): the OpenAI strict-mode schema the Python Agents SDK makes:
///   `additionalProperties: false` everywhere, every parameter required, `Option<T>`
///   nullable, unknown fields rejected. A visible map or `serde_json::Value` parameter is
///   a compile error; one hidden in a type is an error when the tool is offered to a model.
///
/// # The context parameter
///
/// An optional first parameter `&ToolContext<C>` receives the run context (usually
/// `AgentContext<YourContext>`, which derefs to `stream_widget`, `stream`, the workflow
/// helpers...) and the call's id and name. It is not part of the schema. A context
/// parameter anywhere else is a compile error.
///
/// # Return types and failures
///
/// `String` (or `&str`) is the output as is; any other `Serialize` value is sent as
/// JSON; `Result<T, E>` with `E: Display` fails the call on `Err`. Failures, invalid
/// arguments, panics and timeouts never end the run: the model gets an output saying so
/// (by default the Python SDK's `"An error occurred while running the tool. Please try
/// again."`; timeouts say `"Tool 'name' timed out after N seconds."`), and
/// `error_formatter` or the run's formatter can say more. A plain (non-`async`) function
/// runs on Tokio's blocking pool.
///
/// # Calls that wait for approval
///
/// `needs_approval` holds calls back until a person decides (the run stops with a
/// `RunState`; `Runner::resume` continues it, and in ChatKit the user sees an approval
/// card): always, or when an async predicate over the call's context and its arguments,
/// parsed as a type of the predicate's choosing, says so.
///
/// ```
/// use chatkit_agents::agents::{function_tool, ToolContext};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Amount {
///     amount: f64,
/// }
///
/// /// Only large payments wait for a person. A tool without a context parameter works
/// /// for any context, so its predicate is generic too.
/// async fn is_large<C>(_ctx: &ToolContext<C>, args: Amount) -> bool {
///     args.amount > 100.0
/// }
///
/// /// Pay an invoice.
/// #[function_tool(needs_approval = is_large)]
/// async fn pay(invoice: String, amount: f64) -> String {
///     format!("paid {amount} on {invoice}")
/// }
///
/// /// Delete a file: every call waits.
/// #[function_tool(needs_approval)]
/// async fn delete_file(path: String) -> String {
///     format!("deleted {path}")
/// }
/// ```
///
/// # Attribute keys
///
/// | key | type | default | example |
/// |---|---|---|---|
/// | `name` | string | the function's name | `#[function_tool(name = "search_docs")]` |
/// | `description` | string | the doc comment before `# Arguments` | `#[function_tool(description = "Search the docs.")]` |
/// | `strict` | bool | `true` | `#[function_tool(strict = false)]` |
/// | `timeout` | duration string (`ms`, `s`, `m`) | none | `#[function_tool(timeout = "500ms")]` (async functions only) |
/// | `error_formatter` | path to `fn(&ToolFailure) -> String` | the run's formatter | `#[function_tool(error_formatter = crate::explain)]` |
/// | `needs_approval` | none (always), bool, or path to `async fn(&ToolContext<C>, T) -> bool` with `T: Deserialize` (arguments that do not parse as `T` need approval) | never | `#[function_tool(needs_approval)]`, `#[function_tool(needs_approval = crate::is_large)]` |
/// | `crate` | string: the path of `chatkit_agents` | `"::chatkit_agents"` | `#[function_tool(crate = "::my_sdk::chatkit")]`, when the crate is renamed in `Cargo.toml` or reached through a re-export |
///
/// Parameter attributes:
///
/// | attribute | effect | example |
/// |---|---|---|
/// | `///` doc comment | the parameter's description | `/// The city.` |
/// | `#[arg(default = expr)]` | value used when the key is missing; shown as the schema's `default` (still required in strict mode, as in Python) | `#[arg(default = Units::Celsius)] units: Units` |
/// | `#[serde(...)]`, `#[schemars(...)]` | forwarded to the generated arguments struct | `#[schemars(range(min = 0, max = 10))] count: i64` |
#[proc_macro_attribute]
pub fn function_tool(args: TokenStream, item: TokenStream) -> TokenStream {
    function_tool::expand(args.into(), item.into()).into()
}
