//! What the crate tells an operator: `tracing` spans in the OpenTelemetry GenAI
//! conventions, and OpenTelemetry metrics. Export them to any OpenTelemetry backend with
//! [`otel`][otel] (feature `otel`), or read the spans with any `tracing` subscriber.
//!
//! ## Spans
//!
//! Nested as the work is:
//!
//! | span | attributes |
//! |---|---|
//! | `chatkit_request` | `request_type`, `thread_id`, `user.id` ([`ChatKitServer::telemetry_user`](crate::server::ChatKitServer::telemetry_user)) |
//! | `invoke_agent {agent}` | `gen_ai.agent.name`, `gen_ai.usage.*` (the run's sum), `error.type` |
//! | `turn` | `gen_ai.agent.name`, `chatkit.turn` (1-based) |
//! | `chat {model}` | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.response.id`, `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, `gen_ai.response.time_to_first_chunk` (seconds), `error.type` |
//! | `execute_tool {tool}` | `gen_ai.tool.name`, `gen_ai.tool.call.id`, `gen_ai.tool.type`, `outcome` |
//! | `guardrails` | `guardrail.kind` (input, output), `tripped` |
//! | `handoff` | `gen_ai.agent.name`, `handoff.to` |
//! | `mcp` (`tools/list {server}`, `tools/call {tool}`; feature `mcp`) | `mcp.method.name`, `mcp.server.name`, `gen_ai.tool.name`, `network.transport`, `mcp.reconnected`, `error.type` |
//!
//! `chatkit_request` lasts as long as the request: for a streamed one, until its last
//! event, so the event pipeline and everything it runs are inside it. A span that ends
//! in an error records `error.type` and `otel.status_code = "ERROR"`; the error itself
//! is logged once, with its causes, by the request that carried it. Prompts, outputs and
//! tool arguments are not recorded unless you opt in with
//! [`Runner::capture_content`](crate::agents::Runner::capture_content) (then `chat`
//! gets `gen_ai.system_instructions`, `gen_ai.input.messages` and
//! `gen_ai.output.messages`, and `execute_tool` gets `gen_ai.tool.call.arguments` and
//! `gen_ai.tool.call.result`). Without a subscriber the spans are disabled and cost a
//! check each.
//!
//! ## Metrics
//!
//! Through the OpenTelemetry metrics API (meter [`METER_NAME`]), so they reach whatever
//! meter provider is installed globally ([`otel`][otel] installs one; without any they cost
//! nothing worth measuring). Install it before the first request: the instruments are
//! created once.
//!
//! | metric | kind, unit | attributes |
//! |---|---|---|
//! | `chatkit.server.request.duration` | histogram, s | `chatkit.request.type`, `chatkit.request.status` (`ok`, `error`, `cancelled`) |
//! | `chatkit.server.time_to_first_event` | histogram, s | `chatkit.request.type` |
//! | `gen_ai.client.operation.duration` | histogram, s | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`, `error.type` |
//! | `gen_ai.client.token.usage` | histogram, {token} | the same and `gen_ai.token.type` (`input`, `output`) |
//! | `chatkit.agent.tool.calls` | counter, {call} | `gen_ai.tool.name`, `outcome` |
//!
//! A streamed request's duration runs until its last event (or until the client went
//! away: `cancelled`); its status is `error` when the stream carried an `error` event.
//!
#![cfg_attr(feature = "otel", doc = "[otel]: otel")]
#![cfg_attr(not(feature = "otel"), doc = "[otel]: crate#features")]

pub(crate) mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
mod spans;

pub use metrics::METER_NAME;
pub(crate) use spans::InSpan;
