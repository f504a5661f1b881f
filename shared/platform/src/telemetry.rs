//! Logs and traces: `tracing` for both, OpenTelemetry for export.
//!
//! Spans always go through the OpenTelemetry layer, so trace ids exist and are carried across gRPC
//! hops even when nothing is exported; an OTLP exporter is added only when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` asks for one.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{ConfigError, Env};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (development).
    Text,
    /// One JSON object per line (log shippers).
    Json,
}

/// Telemetry settings.
///
/// | variable | default |
/// |---|---|
/// | `RUST_LOG` | `info` |
/// | `DPS_LOG_FORMAT` | `text` (`json` for one object per line) |
/// | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset: no export |
/// | `OTEL_SERVICE_NAME` | the binary's service name |
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `EnvFilter` directives.
    pub filter: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`.
    pub otlp_endpoint: Option<String>,
    /// Overrides the service name in exported spans.
    pub service_name: Option<String>,
}

impl TelemetryConfig {
    /// Reads the telemetry settings.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let log_format = match env
            .get("DPS_LOG_FORMAT")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "DPS_LOG_FORMAT",
                    format!("expected text or json, got {other:?}"),
                ));
            }
        };
        let filter = env.get("RUST_LOG").unwrap_or("info").to_owned();
        EnvFilter::try_new(&filter).map_err(|e| ConfigError::new("RUST_LOG", e.to_string()))?;
        Ok(Self {
            filter,
            log_format,
            otlp_endpoint: env.get("OTEL_EXPORTER_OTLP_ENDPOINT").map(str::to_owned),
            service_name: env.get("OTEL_SERVICE_NAME").map(str::to_owned),
        })
    }
}

/// Telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built.
    #[error("telemetry: OTLP exporter: {0}")]
    Exporter(String),
    /// A global subscriber was already installed.
    #[error("telemetry: {0}")]
    Init(String),
}

/// Flushes and shuts down the tracer provider when dropped; keep it alive in `main`.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("telemetry: flushing spans at shutdown failed: {e}");
        }
    }
}

/// Installs the global subscriber. Must run inside the tokio runtime (the OTLP exporter needs it).
pub fn init(service: &str, config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let name = config
        .service_name
        .clone()
        .unwrap_or_else(|| service.to_owned());
    let mut builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(name).build());
    if let Some(endpoint) = &config.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer(service.to_owned()));
    let fmt = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let filter =
        EnvFilter::try_new(&config.filter).map_err(|e| TelemetryError::Init(e.to_string()))?;
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| TelemetryError::Init(e.to_string()))?;
    Ok(TelemetryGuard { provider })
}
