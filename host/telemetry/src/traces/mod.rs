//! OpenTelemetry traces, exported over OTLP/HTTP (protobuf) by the OpenTelemetry SDK's batch
//! processor: a server span per HTTP request ([`http`]), and under it a `chat {model}` span per
//! generation with a child for the routing decision, one per upstream attempt and one per
//! plugin call ([`spans`], [`served`]). The W3C `traceparent` a client sends is continued, and
//! the attempt's span context goes upstream in the same header ([`propagate`]).
//!
//! Off by default: on when `[traces]` names an endpoint or sets `enabled = true`, or when the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set. Before
//! [`install`] every function here does nothing and allocates nothing. Spans are queued for the
//! exporter's own thread (dropped when its queue is full), so a slow or dead collector never
//! delays or fails a request.

mod export;
pub mod propagate;
pub mod spans;

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::future::Either;
use opentelemetry::context::{FutureExt, WithContext};
use opentelemetry::trace::TracerProvider;
use opentelemetry::{Context, Key};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

use switchyard_domain::config::telemetry::TracesConfig;

/// Why traces could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TracesError {
    /// A setting is out of range or not supported.
    #[error("traces: {0}")]
    Invalid(String),
    /// The OTLP exporter refused its configuration.
    #[error("cannot start the OTLP exporter: {0}")]
    Exporter(String),
    /// Traces were installed twice in one process.
    #[error("traces are already installed in this process")]
    AlreadyInstalled,
}

/// The process's tracer, once installed.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// The installed tracer, if traces are on.
pub fn tracer() -> Option<&'static SdkTracer> {
    TRACER.get()
}

/// Whether traces are on (installed in this process).
pub fn enabled() -> bool {
    tracer().is_some()
}

/// The exporter pipeline; [`Exporting::shutdown`] sends the spans still queued.
#[derive(Debug)]
pub struct Exporting {
    provider: SdkTracerProvider,
}

impl Exporting {
    /// Exports what is queued and stops the exporter (on its own thread: the exporter sends
    /// through this runtime).
    pub async fn shutdown(self) {
        let provider = self.provider;
        let stopped = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(error)) = stopped {
            tracing::warn!(%error, "the trace exporter did not shut down cleanly");
        }
    }
}

/// Starts exporting when `config` and the environment turn traces on (see the module
/// documentation); `None` when they are off. Must run inside the gateway's Tokio runtime.
pub fn install(config: &TracesConfig) -> Result<Option<Exporting>, TracesError> {
    if !wanted(config, |name| std::env::var(name).ok()) {
        return Ok(None);
    }
    check_protocol(|name| std::env::var(name).ok())?;
    let timeout = Duration::from_millis(config.timeout_ms);
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(timeout)
        .with_http_client(export::RuntimeClient::new(timeout).map_err(TracesError::Exporter)?);
    if let Some(endpoint) = &config.endpoint {
        exporter = exporter.with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')));
    }
    let exporter = exporter.build().map_err(exporter_error)?;
    let mut provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(config));
    if let Some(ratio) = config.sample_ratio {
        if !(0.0..=1.0).contains(&ratio) {
            return Err(TracesError::Invalid(format!(
                "sample_ratio must be between 0.0 and 1.0, not {ratio}"
            )));
        }
        let ratio = Sampler::TraceIdRatioBased(ratio);
        provider = provider.with_sampler(Sampler::ParentBased(Box::new(ratio)));
    }
    let provider = provider.build();
    TRACER
        .set(provider.tracer("switchyard"))
        .map_err(|_| TracesError::AlreadyInstalled)?;
    tracing::info!("exporting traces over OTLP/HTTP");
    Ok(Some(Exporting { provider }))
}

/// The spans' resource: the SDK's (`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME`), named
/// `config.service_name`, else as the environment names it, else `switchyard`.
fn resource(config: &TracesConfig) -> Resource {
    let detected = Resource::builder().build();
    let named = (detected.get(&Key::from_static_str("service.name")))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    match (&config.service_name, named) {
        (Some(name), _) => Resource::builder().with_service_name(name.clone()).build(),
        (None, true) => detected,
        (None, false) => Resource::builder().with_service_name("switchyard").build(),
    }
}

fn exporter_error(error: impl std::fmt::Display) -> TracesError {
    TracesError::Exporter(error.to_string())
}

/// Whether `config` and the environment (read through `env`) turn traces on.
fn wanted(config: &TracesConfig, env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| env(name).is_some_and(|value| !value.trim().is_empty());
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|value| value.eq_ignore_ascii_case("true"))
        || env("OTEL_TRACES_EXPORTER").is_some_and(|value| value.eq_ignore_ascii_case("none"));
    match config.enabled {
        Some(enabled) => enabled,
        None if disabled => false,
        None => {
            config.endpoint.is_some()
                || set("OTEL_EXPORTER_OTLP_ENDPOINT")
                || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        }
    }
}

/// Refuses a protocol other than `http/protobuf` in the standard variables: this build has no
/// gRPC or JSON exporter, and sending protobuf to a gRPC port would fail on every export.
fn check_protocol(env: impl Fn(&str) -> Option<String>) -> Result<(), TracesError> {
    for name in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(protocol) = env(name) {
            if protocol.trim() == "http/protobuf" {
                return Ok(());
            }
            return Err(TracesError::Invalid(format!(
                "{name}={protocol} is not supported: Switchyard exports OTLP over http/protobuf \
                 (the collector's port 4318)"
            )));
        }
    }
    Ok(())
}

/// `future`, polled with `context` current when there is one (traces on), else as it is.
pub fn within<F: Future>(context: Option<Context>, future: F) -> Either<WithContext<F>, F> {
    match context {
        Some(context) => Either::Left(future.with_context(context)),
        None => Either::Right(future),
    }
}

/// `future`, polled with the caller's current context when traces are on: for a task spawned
/// from the request path, so its spans keep their parent.
pub fn within_current<F: Future>(future: F) -> Either<WithContext<F>, F> {
    within(tracer().map(|_| Context::current()), future)
}

#[cfg(test)]
mod tests {
    use super::{check_protocol, wanted};
    use switchyard_domain::config::telemetry::TracesConfig;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            (pairs.iter())
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn off_unless_configured_or_named_by_the_standard_variables() {
        let config = TracesConfig::default();
        assert!(!wanted(&config, env(&[])));
        assert!(wanted(
            &config,
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")])
        ));
        assert!(!wanted(
            &config,
            env(&[
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://c:4318/v1/traces"
                ),
                ("OTEL_SDK_DISABLED", "true")
            ])
        ));
        let endpoint = TracesConfig {
            endpoint: Some("http://c:4318".into()),
            ..TracesConfig::default()
        };
        assert!(wanted(&endpoint, env(&[])));
        let off = TracesConfig {
            enabled: Some(false),
            ..endpoint
        };
        assert!(!wanted(
            &off,
            env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")])
        ));
    }

    #[test]
    fn only_http_protobuf_is_accepted() {
        assert!(check_protocol(env(&[])).is_ok());
        assert!(check_protocol(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")])).is_ok());
        let grpc = check_protocol(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]));
        assert!(grpc.is_err_and(|error| error.to_string().contains("4318")));
    }
}
