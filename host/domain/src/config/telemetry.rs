//! The `[metrics]` and `[traces]` sections.

use serde::Deserialize;

use super::default_true;

/// The `[metrics]` section of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `GET /metrics`. Default: true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Serve `/metrics` on this address (keep it a loopback or private one, e.g.
    /// `127.0.0.1:9464`), without a token. Unset: on the main listener, behind the admin token.
    #[serde(default)]
    pub listen: Option<String>,
    /// Label the cost counter with the API key id and account id (accounting on): anyone who
    /// scrapes then reads every account's spend. Default: false.
    #[serde(default)]
    pub key_labels: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            listen: None,
            key_labels: false,
        }
    }
}

/// The `[traces]` section of the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracesConfig {
    /// Export traces. Default: on when `endpoint` or one of the `OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` variables is set; `false` turns them off whatever
    /// the environment says.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The collector's OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318` (spans go to its
    /// `/v1/traces`). Default: the variables above, else `http://localhost:4318`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The share of new traces kept, 0.0 to 1.0; a client's sampled `traceparent` is always
    /// followed. Default: `OTEL_TRACES_SAMPLER` (and `_ARG`), else every trace.
    #[serde(default)]
    pub sample_ratio: Option<f64>,
    /// `service.name` of the spans. Default: `OTEL_SERVICE_NAME`, else `switchyard`.
    #[serde(default)]
    pub service_name: Option<String>,
    /// How long one export may take. Default: 10000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    10_000
}
