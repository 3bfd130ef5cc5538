//! An OTLP/HTTP receiver for the telemetry tests: it accepts `/v1/traces` and
//! `/v1/metrics` posts and decodes their protobuf as a collector would.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as Any, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, HistogramDataPoint, NumberDataPoint};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// What the receiver got: (path, body) of each export.
#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<(String, Bytes)>>>);

async fn receive(
    State((received, path)): State<(Received, &'static str)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/x-protobuf"),
        "OTLP/HTTP with protobuf"
    );
    received.0.lock().unwrap().push((path.to_owned(), body));
    StatusCode::OK
}

/// An OTLP/HTTP receiver on a port of its own; returns its base URL.
pub async fn receiver(received: Received) -> String {
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            post(receive).with_state((received.clone(), "traces")),
        )
        .route(
            "/v1/metrics",
            post(receive).with_state((received, "metrics")),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

impl Received {
    /// The trace exports received so far, decoded.
    pub fn traces(&self) -> Vec<ExportTraceServiceRequest> {
        self.decoded("traces", |body| {
            ExportTraceServiceRequest::decode(body).unwrap()
        })
    }

    /// The metric exports received so far, decoded.
    pub fn metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.decoded("metrics", |body| {
            ExportMetricsServiceRequest::decode(body).unwrap()
        })
    }

    fn decoded<T>(&self, signal: &str, decode: impl Fn(&[u8]) -> T) -> Vec<T> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(path, _)| path == signal)
            .map(|(_, body)| decode(body))
            .collect()
    }
}

/// Every span of `traces`.
pub fn spans(traces: &[ExportTraceServiceRequest]) -> Vec<&Span> {
    traces
        .iter()
        .flat_map(|t| &t.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect()
}

pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Any> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

pub fn text<'a>(attributes: &'a [KeyValue], key: &str) -> &'a str {
    match attribute(attributes, key) {
        Some(Any::StringValue(value)) => value,
        other => panic!("{key}: expected a string, got {other:?}"),
    }
}

pub fn int(attributes: &[KeyValue], key: &str) -> i64 {
    match attribute(attributes, key) {
        Some(Any::IntValue(value)) => *value,
        other => panic!("{key}: expected an integer, got {other:?}"),
    }
}

/// The metrics called `name` in `exports`.
fn named<'a>(
    exports: &'a [ExportMetricsServiceRequest],
    name: &'a str,
) -> impl Iterator<Item = &'a Data> + 'a {
    exports
        .iter()
        .flat_map(|m| &m.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(move |m| m.name == name)
        .filter_map(|m| m.data.as_ref())
}

/// Histogram points of `name` whose attributes include every `(key, value)` of `with`.
pub fn histogram<'a>(
    metrics: &'a [ExportMetricsServiceRequest],
    name: &'a str,
    with: &[(&str, &str)],
) -> Vec<&'a HistogramDataPoint> {
    let has = |p: &&HistogramDataPoint| {
        with.iter().all(
            |(k, v)| matches!(attribute(&p.attributes, k), Some(Any::StringValue(s)) if s == v),
        )
    };
    named(metrics, name)
        .filter_map(|data| match data {
            Data::Histogram(h) => Some(h.data_points.iter().filter(has).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Counter (sum) points of `name`.
pub fn counter<'a>(
    metrics: &'a [ExportMetricsServiceRequest],
    name: &'a str,
) -> Vec<&'a NumberDataPoint> {
    named(metrics, name)
        .filter_map(|data| match data {
            Data::Sum(sum) => Some(&sum.data_points),
            _ => None,
        })
        .flatten()
        .collect()
}
