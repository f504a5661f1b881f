//! Capture the spans this test process produces, in memory, to assert on traces.

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The spans finished so far in this process.
#[derive(Debug, Clone)]
pub struct SpanCapture {
    exporter: InMemorySpanExporter,
}

impl SpanCapture {
    /// Every span finished so far.
    pub fn finished(&self) -> Vec<SpanData> {
        self.exporter
            .get_finished_spans()
            .expect("in-memory exporter is never shut down")
    }
}

static CAPTURE: OnceLock<SpanCapture> = OnceLock::new();

/// Installs (once per process) a global subscriber exporting every span to memory, synchronously
/// as each span ends.
pub fn capture_spans() -> SpanCapture {
    CAPTURE
        .get_or_init(|| {
            let exporter = InMemorySpanExporter::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            let tracer = provider.tracer("dps-tests");
            tracing_subscriber::registry()
                .with(tracing_subscriber::filter::LevelFilter::INFO)
                .with(tracing_opentelemetry::layer().with_tracer(tracer))
                .try_init()
                .expect("capture_spans must be the only global subscriber of the test binary");
            // Keep the provider alive for the whole process.
            std::mem::forget(provider);
            SpanCapture { exporter }
        })
        .clone()
}
