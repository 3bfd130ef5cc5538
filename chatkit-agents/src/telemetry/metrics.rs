//! The crate's OpenTelemetry instruments (listed in [`super`]), created once from the
//! global meter provider, and the small meters that feed them: one per request, one per
//! model call.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::{global, KeyValue, Value};

/// The name of the meter (the instrumentation scope) the crate's metrics come from.
pub const METER_NAME: &str = "chatkit-agents";

/// The bucket boundaries the GenAI conventions advise for durations (seconds)...
const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// ...and for token counts.
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];

struct Instruments {
    request_duration: Histogram<f64>,
    time_to_first_event: Histogram<f64>,
    operation_duration: Histogram<f64>,
    token_usage: Histogram<u64>,
    tool_calls: Counter<u64>,
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = global::meter(METER_NAME);
        Instruments {
            request_duration: meter
                .f64_histogram("chatkit.server.request.duration")
                .with_unit("s")
                .with_description("Duration of ChatKit requests, to the last streamed event.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            time_to_first_event: meter
                .f64_histogram("chatkit.server.time_to_first_event")
                .with_unit("s")
                .with_description("Time from a streamed request to its first event.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            operation_duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            token_usage: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used.")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
            tool_calls: meter
                .u64_counter("chatkit.agent.tool.calls")
                .with_unit("{call}")
                .with_description("Tool calls by tool and outcome.")
                .build(),
        }
    })
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestStatus {
    Ok,
    Error,
    Cancelled,
}

impl RequestStatus {
    fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Ok => "ok",
            RequestStatus::Error => "error",
            RequestStatus::Cancelled => "cancelled",
        }
    }
}

/// One request, from its arrival to its end. A streamed request dropped before its end
/// was cancelled (the client went away).
#[derive(Debug)]
pub(crate) struct RequestMeter {
    request_type: &'static str,
    started: Instant,
    first_event_seen: bool,
    failed: bool,
    ended: bool,
}

impl RequestMeter {
    pub(crate) fn start(request_type: &'static str) -> Self {
        RequestMeter {
            request_type,
            started: Instant::now(),
            first_event_seen: false,
            failed: false,
            ended: false,
        }
    }

    /// An event went out; `is_error` when it was an `error` event. Called per event:
    /// inlined, with the first event's work out of line.
    #[inline]
    pub(crate) fn event(&mut self, is_error: bool) {
        if !self.first_event_seen {
            self.first_event();
        }
        self.failed |= is_error;
    }

    #[cold]
    fn first_event(&mut self) {
        self.first_event_seen = true;
        instruments().time_to_first_event.record(
            self.started.elapsed().as_secs_f64(),
            &[KeyValue::new("chatkit.request.type", self.request_type)],
        );
    }

    /// The stream ended (its status follows from its events).
    pub(crate) fn end_of_stream(&mut self) {
        let status = if self.failed {
            RequestStatus::Error
        } else {
            RequestStatus::Ok
        };
        self.end(status);
    }

    /// The request ended with `status`.
    pub(crate) fn end(&mut self, status: RequestStatus) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        instruments().request_duration.record(
            self.started.elapsed().as_secs_f64(),
            &[
                KeyValue::new("chatkit.request.type", self.request_type),
                KeyValue::new("chatkit.request.status", status.as_str()),
            ],
        );
    }
}

impl Drop for RequestMeter {
    fn drop(&mut self) {
        self.end(RequestStatus::Cancelled);
    }
}

/// One model call: its duration and the tokens it used.
#[derive(Debug)]
pub(crate) struct ModelCallMeter {
    started: Instant,
    provider: Value,
    request_model: Value,
    response_model: Option<Value>,
    ended: bool,
}

impl ModelCallMeter {
    pub(crate) fn start(provider: &str, request_model: &str) -> Self {
        ModelCallMeter {
            started: Instant::now(),
            provider: shared(provider),
            request_model: shared(request_model),
            response_model: None,
            ended: false,
        }
    }

    fn attributes(&self, extra: Option<KeyValue>) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(5);
        attributes.push(KeyValue::new("gen_ai.operation.name", "chat"));
        attributes.push(KeyValue::new("gen_ai.provider.name", self.provider.clone()));
        attributes.push(KeyValue::new(
            "gen_ai.request.model",
            self.request_model.clone(),
        ));
        if let Some(model) = &self.response_model {
            attributes.push(KeyValue::new("gen_ai.response.model", model.clone()));
        }
        attributes.extend(extra);
        attributes
    }

    /// The response named the model that answered.
    pub(crate) fn response_model(&mut self, model: &str) {
        self.response_model = Some(shared(model));
    }

    /// The response reported its usage.
    pub(crate) fn usage(&self, input_tokens: u64, output_tokens: u64) {
        let tokens = &instruments().token_usage;
        for (kind, count) in [("input", input_tokens), ("output", output_tokens)] {
            tokens.record(
                count,
                &self.attributes(Some(KeyValue::new("gen_ai.token.type", kind))),
            );
        }
    }

    /// The call ended, with the kind of error that ended it if any.
    pub(crate) fn end(&mut self, error_type: Option<&'static str>) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let error = error_type.map(|kind| KeyValue::new("error.type", kind));
        instruments().operation_duration.record(
            self.started.elapsed().as_secs_f64(),
            &self.attributes(error),
        );
    }
}

/// A tool call ended with `outcome`.
pub(crate) fn tool_call(tool: &str, outcome: &'static str) {
    instruments().tool_calls.add(
        1,
        &[
            KeyValue::new("gen_ai.tool.name", tool.to_owned()),
            KeyValue::new("outcome", outcome),
        ],
    );
}

/// `text` as an attribute value that clones without copying.
fn shared(text: &str) -> Value {
    Value::String(Arc::<str>::from(text).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meter_ends_once() {
        // Without a meter provider the instruments are no-ops; what matters is that a
        // request ended by its stream is not counted again as cancelled on drop.
        let mut meter = RequestMeter::start("threads.create");
        meter.event(false);
        meter.event(true);
        assert!(meter.failed && meter.first_event_seen);
        meter.end_of_stream();
        assert!(meter.ended);
        drop(meter);

        let mut call = ModelCallMeter::start("openai", "gpt-4.1");
        call.response_model("gpt-4.1-2025-04-14");
        assert_eq!(call.attributes(None).len(), 4);
        call.end(None);
        assert!(call.ended);
    }
}
