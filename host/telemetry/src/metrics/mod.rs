//! Prometheus metrics (`GET /metrics`), recorded with the OpenTelemetry SDK and exposed by its
//! Prometheus exporter. Names follow the OpenTelemetry GenAI and HTTP semantic conventions
//! (`gen_ai.client.token.usage` becomes `gen_ai_client_token_usage`), plus Switchyard's own
//! `switchyard.*` figures.
//!
//! The request path records into instruments (lock-free after an attribute set's first use);
//! circuit states, plugin calls and in-flight counts are read from the gateway's own atomics
//! when Prometheus scrapes ([`gauges`]). Labels come from the catalog, the plugin registry and
//! fixed vocabularies, never from request text, so their sets stay bounded; key and account
//! labels can be turned off ([`MetricsConfig::key_labels`]). Before [`install`] every recording
//! function does nothing.

pub mod allocations;
pub mod labels;
pub mod requests;
pub mod settlement;

use std::sync::OnceLock;

use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider, UpDownCounter};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Encoder, TextEncoder};

use switchyard_domain::config::telemetry::MetricsConfig;

/// Why metrics could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The Prometheus exporter refused its configuration.
    #[error("cannot start the Prometheus exporter: {0}")]
    Exporter(String),
    /// Metrics were installed twice in one process.
    #[error("metrics are already installed in this process")]
    AlreadyInstalled,
}

/// The process's metrics: the exporter's registry and the instruments the request path uses.
#[derive(Debug)]
pub struct Metrics {
    registry: prometheus::Registry,
    meter: Meter,
    /// Keeps the SDK pipeline alive.
    _provider: SdkMeterProvider,
    key_labels: bool,
    instruments: Instruments,
}

impl Metrics {
    /// The meter the scrape-time gauges register with.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Whether the cost figures carry key and account labels ([`MetricsConfig::key_labels`]).
    pub fn key_labels(&self) -> bool {
        self.key_labels
    }

    /// The instruments recorded on the request path.
    pub fn instruments(&self) -> &Instruments {
        &self.instruments
    }
}

/// The instruments recorded on the request path.
#[derive(Debug)]
pub struct Instruments {
    /// `gen_ai.client.token.usage`: tokens per generation, by token type.
    pub token_usage: Histogram<u64>,
    /// `gen_ai.client.operation.duration`: the serving attempt's duration.
    pub operation_duration: Histogram<f64>,
    /// `gen_ai.server.time_to_first_token`.
    pub time_to_first_token: Histogram<f64>,
    /// `gen_ai.server.time_per_output_token`.
    pub time_per_output_token: Histogram<f64>,
    /// `switchyard.cost.usd`: cost charged, by part (upstream or fee).
    pub cost: Counter<f64>,
    /// `switchyard.attempts`: upstream attempts, by outcome.
    pub attempts: Counter<u64>,
    /// `switchyard.failovers`: failed attempts followed by another endpoint.
    pub failovers: Counter<u64>,
    /// `switchyard.client_timeouts`: timeouts counted against the request.
    pub client_timeouts: Counter<u64>,
    /// `http.server.request.duration`: time until the response head.
    pub http_duration: Histogram<f64>,
    /// `http.server.active_requests`: requests in flight.
    pub http_active: UpDownCounter<i64>,
    /// `switchyard.plugin.call.duration`: each call into a plugin.
    pub plugin_call_duration: Histogram<f64>,
    /// `switchyard.settlement.lag`: from a settlement's queueing to its commit.
    pub settlement_lag: Histogram<f64>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The installed metrics, if any (`None` before [`install`]).
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

/// Sets up the exporter and the instruments for this process.
pub fn install(config: &MetricsConfig) -> Result<(), MetricsError> {
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .scope_info_enabled(false)
        .build()
        .map_err(|error| MetricsError::Exporter(error.to_string()))?;
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    let meter = provider.meter("switchyard");
    let metrics = Metrics {
        registry,
        instruments: Instruments::new(&meter),
        meter,
        _provider: provider,
        key_labels: config.key_labels,
    };
    METRICS
        .set(metrics)
        .map_err(|_| MetricsError::AlreadyInstalled)
}

/// The Prometheus text exposition of every metric; empty before [`install`].
pub fn render() -> String {
    let Some(metrics) = get() else {
        return String::new();
    };
    let mut text = Vec::new();
    if let Err(error) = TextEncoder::new().encode(&metrics.registry.gather(), &mut text) {
        tracing::warn!(%error, "cannot encode the metrics");
    }
    String::from_utf8(text).unwrap_or_default()
}

/// The semantic conventions' advised buckets for token counts.
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// … for operation durations, in seconds.
const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// … for time to first token, in seconds.
const FIRST_TOKEN_BUCKETS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// … for time per output token, in seconds.
const PER_TOKEN_BUCKETS: [f64; 13] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];
/// Plugin call durations, in seconds: from a few microseconds (a warm call) to the deadline.
const PLUGIN_CALL_BUCKETS: [f64; 14] = [
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.5,
];
/// Settlement lags, in seconds: a group commit takes milliseconds, a struggling database more.
const SETTLEMENT_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// HTTP server durations, in seconds (the HTTP conventions' advice).
const HTTP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

impl Instruments {
    fn new(meter: &Meter) -> Self {
        Instruments {
            token_usage: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_description("Tokens used per generation, by gen_ai.token.type")
                .with_unit("{token}")
                .with_boundaries(TOKEN_BUCKETS.to_vec())
                .build(),
            operation_duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_description("Duration of the attempt that served a generation")
                .with_unit("s")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            time_to_first_token: meter
                .f64_histogram("gen_ai.server.time_to_first_token")
                .with_description("Time until the upstream's first output")
                .with_unit("s")
                .with_boundaries(FIRST_TOKEN_BUCKETS.to_vec())
                .build(),
            time_per_output_token: meter
                .f64_histogram("gen_ai.server.time_per_output_token")
                .with_description("Time per output token after the first")
                .with_unit("s")
                .with_boundaries(PER_TOKEN_BUCKETS.to_vec())
                .build(),
            cost: meter
                .f64_counter("switchyard.cost.usd")
                .with_description("Cost charged in USD, by switchyard.cost.part (upstream or fee)")
                .build(),
            attempts: meter
                .u64_counter("switchyard.attempts")
                .with_description("Upstream attempts, by outcome (success or the failure kind)")
                .build(),
            failovers: meter
                .u64_counter("switchyard.failovers")
                .with_description("Failed attempts followed by another endpoint, by outcome")
                .build(),
            client_timeouts: meter
                .u64_counter("switchyard.client_timeouts")
                .with_description(
                    "Timeouts counted against the request, not the endpoint's breaker, by provider",
                )
                .build(),
            http_duration: meter
                .f64_histogram("http.server.request.duration")
                .with_description("Time until the response head, by route and status")
                .with_unit("s")
                .with_boundaries(HTTP_BUCKETS.to_vec())
                .build(),
            http_active: meter
                .i64_up_down_counter("http.server.active_requests")
                .with_description("Requests in flight, streams until their last byte")
                .build(),
            plugin_call_duration: meter
                .f64_histogram("switchyard.plugin.call.duration")
                .with_description("Duration of each call into a plugin, by function and outcome")
                .with_unit("s")
                .with_boundaries(PLUGIN_CALL_BUCKETS.to_vec())
                .build(),
            settlement_lag: meter
                .f64_histogram("switchyard.settlement.lag")
                .with_description("Time from a settlement's queueing to its durable commit")
                .with_unit("s")
                .with_boundaries(SETTLEMENT_BUCKETS.to_vec())
                .build(),
        }
    }
}
