//! Calling the model: one streamed response, raced on the first turn by the input
//! guardrails that run in parallel with it.

use std::sync::{Arc, Mutex};

use crate::locks::lock;

use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use serde_json::Value;

use super::result::{input_tripwire, Outcome, RunError};
use super::telemetry::{guardrail_span, json, record_error, record_usage, traced_check};
use crate::agents::agent::Agent;
use crate::agents::guardrail::{check_input, Tripped};
use crate::agents::model::{ModelError, ModelEvent, OutputItem, ResponseInfo, StreamErrorInfo};
use crate::telemetry::metrics::ModelCallMeter;
use crate::telemetry::InSpan;

/// The input guardrails of a run: only the agent the run starts with checks the input,
/// on the first turn. Blocking guardrails finish before the model is called; the others
/// race the first model call, and nothing the model asked for happens before they pass.
pub(super) struct InputChecks {
    blocking: Option<BoxFuture<'static, Option<Tripped>>>,
    parallel: Option<BoxFuture<'static, Option<Tripped>>>,
}

impl InputChecks {
    /// Starts the checks of `agent`'s input guardrails on `input`.
    pub(super) fn start<C: Clone>(agent: &Agent<C>, context: &C, input: &[Value]) -> Self {
        let (blocking, parallel): (Vec<_>, Vec<_>) = agent
            .input_guardrails()
            .iter()
            .partition(|g| !g.runs_in_parallel());
        let traced = |guardrails: &[&_]| {
            let span = guardrail_span("input", agent.name());
            traced_check(check_input(guardrails, context, input), span)
        };
        InputChecks {
            blocking: (!blocking.is_empty()).then(|| traced(&blocking)),
            parallel: (!parallel.is_empty()).then(|| traced(&parallel)),
        }
    }

    /// No checks (a resumed run: its input was checked when it started).
    pub(super) fn none() -> Self {
        InputChecks {
            blocking: None,
            parallel: None,
        }
    }

    /// Waits for the blocking checks (once; later calls return at once).
    pub(super) async fn blocking_passed(&mut self) -> Result<(), RunError> {
        passed(self.blocking.take()).await
    }

    /// Waits for the parallel checks still running (once).
    pub(super) async fn parallel_passed(&mut self) -> Result<(), RunError> {
        passed(self.parallel.take()).await
    }
}

async fn passed(check: Option<BoxFuture<'static, Option<Tripped>>>) -> Result<(), RunError> {
    match check {
        Some(check) => match check.await {
            Some(tripped) => Err(input_tripwire(tripped)),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// What the model answered: its output items in output order, and the response's id.
pub(super) struct ModelResponse {
    pub(super) items: Vec<OutputItem>,
    pub(super) id: Option<String>,
}

/// One model call in progress: the events streamed so far, read into a [`ModelResponse`].
pub(super) struct ModelCall {
    events: BoxStream<'static, Result<ModelEvent, ModelError>>,
    output: Vec<(usize, OutputItem)>,
    failure: Option<ModelError>,
    response_id: Option<String>,
    outcome: Arc<Mutex<Outcome>>,
    /// The call's `chat` span, and when the call started (for time to first chunk,
    /// measured only while the span is enabled).
    span: tracing::Span,
    started: Option<std::time::Instant>,
    meter: ModelCallMeter,
    /// Record the output on the span ([`super::Runner::capture_content`]).
    capture_output: bool,
}

/// The next thing that happened while the model call races the input checks.
enum Racing {
    Check(Option<Tripped>),
    Model(Option<Result<ModelEvent, ModelError>>),
}

impl ModelCall {
    /// Reads `events`; the id of a completed response goes to `outcome` at once, so a
    /// run that fails later still tells which response it got to.
    pub(super) fn new(
        events: BoxStream<'static, Result<ModelEvent, ModelError>>,
        outcome: Arc<Mutex<Outcome>>,
        (span, meter): (tracing::Span, ModelCallMeter),
    ) -> Self {
        let traced = !span.is_disabled();
        // Without a subscriber: no clock read, no wrapper around the model's stream.
        let started = traced.then(std::time::Instant::now);
        let events = if traced {
            InSpan::new(events, span.clone()).boxed()
        } else {
            events
        };
        ModelCall {
            events,
            output: Vec::new(),
            failure: None,
            response_id: None,
            outcome,
            span,
            started,
            meter,
            capture_output: false,
        }
    }

    /// Records the response's output items on the span at the end.
    pub(super) fn capture_output(&mut self, capture: bool) {
        self.capture_output = capture && !self.span.is_disabled();
    }

    /// The next model event, or `None` at the end of the response. A parallel input
    /// check that finishes first is taken on the way (its tripwire ends the call).
    pub(super) async fn next(
        &mut self,
        checks: &mut InputChecks,
    ) -> Result<Option<ModelEvent>, RunError> {
        loop {
            let next = match checks.parallel.as_mut() {
                None => Racing::Model(self.events.next().await),
                Some(check) => tokio::select! {
                    tripped = check => Racing::Check(tripped),
                    event = self.events.next() => Racing::Model(event),
                },
            };
            match next {
                Racing::Check(tripped) => {
                    checks.parallel = None;
                    if let Some(tripped) = tripped {
                        return Err(input_tripwire(tripped));
                    }
                }
                Racing::Model(None) => return Ok(None),
                Racing::Model(Some(event)) => {
                    let event = event.inspect_err(|error| {
                        record_error(&self.span, error_type(error));
                        self.meter.end(Some(error_type(error)));
                    })?;
                    self.observe(&event);
                    return Ok(Some(event));
                }
            }
        }
    }

    fn observe(&mut self, event: &ModelEvent) {
        if let Some(started) = self.started.take() {
            self.span.record(
                "gen_ai.response.time_to_first_chunk",
                started.elapsed().as_secs_f64(),
            );
        }
        match event {
            ModelEvent::OutputItemDone { output_index, item } => {
                self.output.push((*output_index, item.clone()))
            }
            ModelEvent::Error(info) => self.failed(info.clone()),
            ModelEvent::Failed { response } => {
                self.failed(response.error.clone().unwrap_or_default());
            }
            ModelEvent::Completed { response } => {
                let calls = self
                    .output
                    .iter()
                    .any(|(_, item)| matches!(item, OutputItem::FunctionCall(_)));
                self.ended(response, if calls { "tool_calls" } else { "stop" });
            }
            ModelEvent::Incomplete { response } => {
                let reason = match response
                    .incomplete_details
                    .as_ref()
                    .and_then(|details| details.reason.as_deref())
                {
                    Some("content_filter") => "content_filter",
                    _ => "length",
                };
                self.ended(response, reason);
            }
            _ => {}
        }
    }

    /// The model reported an error in its stream.
    fn failed(&mut self, info: StreamErrorInfo) {
        record_error(&self.span, info.code.as_deref().unwrap_or("api_error"));
        self.span.record("gen_ai.response.finish_reasons", "error");
        self.meter.end(Some("api_error"));
        self.failure.get_or_insert(ModelError::Api {
            code: info.code,
            message: info.message,
            status: None,
        });
    }

    /// The response ended (complete or not) for `finish_reason`.
    fn ended(&mut self, response: &ResponseInfo, finish_reason: &str) {
        self.response_id = response.id.clone();
        if let Some(id) = &response.id {
            self.span.record("gen_ai.response.id", id.as_str());
        }
        if let Some(model) = &response.model {
            self.span.record("gen_ai.response.model", model.as_str());
            self.meter.response_model(model);
        }
        self.span
            .record("gen_ai.response.finish_reasons", finish_reason);
        if let Some(usage) = &response.usage {
            record_usage(&self.span, usage);
            self.meter.usage(usage.input_tokens, usage.output_tokens);
        }
        self.meter.end(None);
        let mut outcome = lock(&self.outcome);
        outcome.last_response_id = response.id.clone();
        if let Some(usage) = &response.usage {
            outcome.usage.add(usage);
        }
    }

    /// The response, or the error the model reported in its stream.
    pub(super) fn finish(mut self) -> Result<ModelResponse, RunError> {
        if let Some(failure) = self.failure.take() {
            return Err(failure.into());
        }
        // A stream that ended without saying how (a provider that sends no final event).
        self.meter.end(None);
        self.output.sort_by_key(|(index, _)| *index);
        if self.capture_output {
            let items: Vec<&OutputItem> = self.output.iter().map(|(_, item)| item).collect();
            self.span
                .record("gen_ai.output.messages", json(&items).as_str());
        }
        Ok(ModelResponse {
            items: self.output.into_iter().map(|(_, item)| item).collect(),
            id: self.response_id,
        })
    }
}

/// The `error.type` of a model error (the OpenTelemetry attribute: a low-cardinality kind).
pub(super) fn error_type(error: &ModelError) -> &'static str {
    match error {
        ModelError::Http { .. } => "http_error",
        ModelError::Api { .. } => "api_error",
        ModelError::Connection(_) => "connection_error",
        ModelError::InvalidRequest(_) => "invalid_request",
        ModelError::Configuration(_) => "configuration",
        _ => "model_error",
    }
}
