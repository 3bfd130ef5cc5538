//! The spans of a run, in the OpenTelemetry GenAI semantic conventions: the run
//! (`invoke_agent`), each model call (`chat`), each tool execution (`execute_tool`),
//! guardrails and handoffs. Attributes known only later (the response's id, model and
//! usage, a tool's outcome) are declared empty and recorded when known. Prompts, outputs
//! and arguments are never recorded. Without a subscriber the spans are disabled and
//! cost a callsite check.

use futures::future::{BoxFuture, FutureExt};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::agents::guardrail::Tripped;
use crate::agents::model::{FunctionCall, Model, ModelRequest, Usage};
use crate::telemetry::metrics::ModelCallMeter;

/// The span of a run of `agent`.
pub(super) fn run_span(agent: &str) -> Span {
    tracing::info_span!(
        "invoke_agent",
        otel.name = %format_args!("invoke_agent {agent}"),
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = agent,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    )
}

/// The span of turn `turn` (1-based) of `agent`.
pub(super) fn turn_span(agent: &str, turn: usize) -> Span {
    tracing::info_span!("turn", gen_ai.agent.name = agent, chatkit.turn = int(turn))
}

/// The span and the meter of one model call of `agent` for `request`, in `turn`.
pub(super) fn model_call(
    turn: &Span,
    agent: &str,
    model: &dyn Model,
    request: &ModelRequest,
) -> (Span, ModelCallMeter) {
    let requested = request
        .settings
        .model
        .as_deref()
        .or(model.default_model())
        .unwrap_or("");
    let meter = ModelCallMeter::start(model.provider_name(), requested);
    let span = tracing::info_span!(
        parent: turn,
        "chat",
        otel.name = %format_args!("chat{}{requested}", if requested.is_empty() { "" } else { " " }),
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = model.provider_name(),
        gen_ai.request.model = requested,
        gen_ai.agent.name = agent,
        gen_ai.response.id = Empty,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.response.finish_reasons = Empty,
        gen_ai.response.time_to_first_chunk = Empty,
        gen_ai.system_instructions = Empty,
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    (span, meter)
}

/// Whether `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` turns on recording the
/// conversation on spans (read once).
pub(super) fn capture_content_from_env() -> bool {
    static CAPTURE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CAPTURE.get_or_init(|| {
        std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
            .is_ok_and(|value| value.trim().eq_ignore_ascii_case("true"))
    })
}

/// Records what a model call sends (with [`Runner::capture_content`](super::Runner::capture_content)).
pub(super) fn record_request(span: &Span, request: &ModelRequest) {
    if span.is_disabled() {
        return;
    }
    if let Some(instructions) = &request.instructions {
        span.record("gen_ai.system_instructions", instructions.as_str());
    }
    span.record("gen_ai.input.messages", json(&request.input).as_str());
}

/// `value` as JSON text.
pub(super) fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Records the kind of error that ended the work of `span`, and marks it failed.
pub(super) fn record_error(span: &Span, kind: &str) {
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}

/// The span of one tool call.
pub(super) fn tool_span(call: &FunctionCall) -> Span {
    tracing::info_span!(
        "execute_tool",
        otel.name = %format_args!("execute_tool {}", call.name),
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = call.name.as_str(),
        gen_ai.tool.call.id = call.call_id.as_str(),
        gen_ai.tool.type = "function",
        gen_ai.tool.call.arguments = Empty,
        gen_ai.tool.call.result = Empty,
        outcome = Empty,
        otel.status_code = Empty,
    )
}

/// The span of a handoff from one agent to another.
pub(super) fn handoff_span(turn: &Span, from: &str, to: &str) -> Span {
    tracing::info_span!(parent: turn, "handoff", gen_ai.agent.name = from, handoff.to = to)
}

/// The span of the `kind` (input, output) guardrails of `agent`.
pub(super) fn guardrail_span(kind: &'static str, agent: &str) -> Span {
    tracing::info_span!(
        "guardrails",
        guardrail.kind = kind,
        gen_ai.agent.name = agent,
        tripped = Empty
    )
}

/// Records `usage` on a run or model call span.
pub(super) fn record_usage(span: &Span, usage: &Usage) {
    span.record("gen_ai.usage.input_tokens", int(usage.input_tokens));
    span.record("gen_ai.usage.output_tokens", int(usage.output_tokens));
}

/// A count as a signed integer: OpenTelemetry attributes have no unsigned type, and
/// `tracing-opentelemetry` would record a `u64` as its text.
fn int(count: impl TryInto<i64>) -> i64 {
    count.try_into().unwrap_or(i64::MAX)
}

/// `check` (guardrails of one kind) inside `span`, which records the one that tripped.
pub(super) fn traced_check(
    check: BoxFuture<'static, Option<Tripped>>,
    span: Span,
) -> BoxFuture<'static, Option<Tripped>> {
    let recorded = span.clone();
    async move {
        let tripped = check.await;
        if let Some((name, _)) = &tripped {
            recorded.record("tripped", name.as_str());
        }
        tripped
    }
    .instrument(span)
    .boxed()
}
