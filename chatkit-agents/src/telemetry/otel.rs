//! Export the crate's spans and metrics to an OpenTelemetry backend over OTLP/HTTP
//! (protobuf): Jaeger, Grafana Tempo, Honeycomb, an OpenTelemetry Collector, ...
//!
//! Configured by the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (default
//! `http://localhost:4318`; `/v1/traces` and `/v1/metrics` are appended), the per-signal
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `..._METRICS_ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_HEADERS` (for example an API key), `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds, default
//! 60 s).
//!
//! One call sets up an application: logs to stderr filtered by `RUST_LOG` (default
//! `info`), spans (`INFO` and above, which is all of the crate's) and metrics to the
//! backend.
//!
//! ```no_run
//! # fn main() -> Result<(), chatkit_agents::telemetry::otel::OtelError> {
//! let otel = chatkit_agents::telemetry::otel::init()?;
//! // ... serve ...
//! otel.shutdown()?; // sends what is still buffered (dropping it does the same)
//! # Ok(()) }
//! ```
//!
//! Or plug the spans into a subscriber of your own:
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//! # fn main() -> Result<(), chatkit_agents::telemetry::otel::OtelError> {
//! let otel = chatkit_agents::telemetry::otel::Otel::builder()
//!     .default_service_name("my-chat-backend")
//!     .build()?;
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer())
//!     .with(otel.layer())
//!     .init();
//! # Ok(()) }
//! ```
//!
//! [`Otel`] installs its meter provider (and tracer provider) globally, which is where
//! the crate's metrics and any other OpenTelemetry instrumentation find it. Set it up
//! before the first request.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, Key};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetryLayer;

use super::metrics::METER_NAME;

/// What went wrong setting up or shutting down the export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// An exporter could not be built (an invalid endpoint or header, most often).
    #[error("cannot build the OTLP {signal} exporter: {source}")]
    Exporter {
        /// `traces` or `metrics`.
        signal: &'static str,
        /// What the exporter said.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// [`init`] found a global `tracing` subscriber already set.
    #[error("a global tracing subscriber is already set; use Otel::layer() with it instead")]
    SubscriberAlreadySet,
    /// `RUST_LOG` does not parse as a filter.
    #[error("RUST_LOG is not a valid filter: {0}")]
    Filter(String),
    /// Sending what was buffered failed at shutdown.
    #[error("OpenTelemetry shutdown failed: {0}")]
    Shutdown(String),
}

/// Settings for [`Otel`] beyond the `OTEL_*` variables (which take precedence where
/// both say something).
#[derive(Debug, Clone, Default)]
pub struct OtelBuilder {
    endpoint: Option<String>,
    service_name: Option<String>,
    metric_interval: Option<Duration>,
}

impl OtelBuilder {
    /// The base URL of the OTLP/HTTP receiver, as `OTEL_EXPORTER_OTLP_ENDPOINT` would
    /// give it (`/v1/traces` and `/v1/metrics` are appended). Given here, it wins over
    /// the variables.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The `service.name` to report when neither `OTEL_SERVICE_NAME` nor
    /// `OTEL_RESOURCE_ATTRIBUTES` names the service.
    pub fn default_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// How often metrics are sent (overrides `OTEL_METRIC_EXPORT_INTERVAL`).
    pub fn metric_interval(mut self, every: Duration) -> Self {
        self.metric_interval = Some(every);
        self
    }

    /// Builds the exporters and installs the tracer and meter providers globally.
    pub fn build(self) -> Result<Otel, OtelError> {
        let resource = self.resource();
        let endpoint = |signal: &str| {
            self.endpoint
                .as_deref()
                .map(|base| format!("{}/v1/{signal}", base.trim_end_matches('/')))
        };

        let mut spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary);
        if let Some(url) = endpoint("traces") {
            spans = spans.with_endpoint(url);
        }
        let spans = spans.build().map_err(|source| OtelError::Exporter {
            signal: "traces",
            source,
        })?;

        let mut metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary);
        if let Some(url) = endpoint("metrics") {
            metrics = metrics.with_endpoint(url);
        }
        let metrics = metrics.build().map_err(|source| OtelError::Exporter {
            signal: "metrics",
            source,
        })?;

        let tracer_provider = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource.clone())
            .build();
        let mut reader = PeriodicReader::builder(metrics);
        if let Some(every) = self.metric_interval {
            reader = reader.with_interval(every);
        }
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(reader.build())
            .with_resource(resource)
            .build();
        global::set_tracer_provider(tracer_provider.clone());
        global::set_meter_provider(meter_provider.clone());
        Ok(Otel {
            tracer: tracer_provider.tracer(METER_NAME),
            tracer_provider,
            meter_provider,
            shut_down: false,
        })
    }

    /// The resource from the environment, with the default service name if it has none.
    fn resource(&self) -> Resource {
        let detected = Resource::builder().build();
        let unnamed = detected
            .get(&Key::from_static_str("service.name"))
            .is_none_or(|name| name.as_str().starts_with("unknown_service"));
        match &self.service_name {
            Some(name) if unnamed => Resource::builder().with_service_name(name.clone()).build(),
            _ => detected,
        }
    }
}

/// The OTLP export of spans and metrics. Keep it for the life of the application:
/// [`shutdown`](Otel::shutdown) (or dropping it) sends what is still buffered.
#[derive(Debug)]
pub struct Otel {
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    tracer: SdkTracer,
    shut_down: bool,
}

impl Otel {
    /// Settings beyond the `OTEL_*` variables.
    pub fn builder() -> OtelBuilder {
        OtelBuilder::default()
    }

    /// The export as the `OTEL_*` variables configure it.
    pub fn from_env() -> Result<Otel, OtelError> {
        OtelBuilder::default().build()
    }

    /// A `tracing` layer that turns spans into OpenTelemetry spans for this export.
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.tracer.clone())
    }

    /// The tracer provider (for other instrumentation).
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The meter provider (for metrics of your own).
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter_provider
    }

    /// Sends what is buffered now, spans and metrics.
    pub fn flush(&self) -> Result<(), OtelError> {
        let spans = self.tracer_provider.force_flush();
        let metrics = self.meter_provider.force_flush();
        spans
            .and(metrics)
            .map_err(|error| OtelError::Shutdown(error.to_string()))
    }

    /// Sends what is buffered and stops the export.
    pub fn shutdown(mut self) -> Result<(), OtelError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), OtelError> {
        if std::mem::replace(&mut self.shut_down, true) {
            return Ok(());
        }
        let spans = self.tracer_provider.shutdown();
        let metrics = self.meter_provider.shutdown();
        spans
            .and(metrics)
            .map_err(|error| OtelError::Shutdown(error.to_string()))
    }
}

impl Drop for Otel {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "OpenTelemetry export did not shut down cleanly");
        }
    }
}

/// Sets up an application: a global `tracing` subscriber that logs to stderr (filtered
/// by `RUST_LOG`, default `info`) and exports spans at `INFO` and above (all of the
/// crate's) and metrics over OTLP/HTTP as the `OTEL_*` variables say. Keep the returned
/// [`Otel`] until the application ends.
pub fn init() -> Result<Otel, OtelError> {
    init_with(Otel::builder())
}

/// [`init`] with settings beyond the variables.
pub fn init_with(builder: OtelBuilder) -> Result<Otel, OtelError> {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::{Layer as _, SubscriberExt as _};
    use tracing_subscriber::util::SubscriberInitExt as _;

    let logs = match std::env::var("RUST_LOG") {
        Ok(directives) => tracing_subscriber::EnvFilter::try_new(directives)
            .map_err(|error| OtelError::Filter(error.to_string()))?,
        Err(_) => tracing_subscriber::EnvFilter::new("info"),
    };
    let otel = builder.build()?;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(logs),
        )
        .with(otel.layer().with_filter(LevelFilter::INFO))
        .try_init()
        .map_err(|_| OtelError::SubscriberAlreadySet)?;
    Ok(otel)
}
