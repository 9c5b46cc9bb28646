//! One non-streamed attempt: build, send, read, translate, price.

use std::sync::Arc;

use axum::Json;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::generation::{COMPLETION, Generation};
use super::{ChatCall, Gateway};
use crate::accounting::tab::Charge;
use crate::failure::Failure;
use crate::plugins::{PluginFault, ProviderPlugin};
use crate::pricing::{cost, image_count, usage_json};
use crate::routing::Candidate;
use crate::routing::trace::RoutingTrace;

/// Tries `endpoint` once without streaming, and records the outcome against the adapter version.
pub(super) async fn attempt(
    gateway: &Gateway,
    call: &ChatCall,
    candidate: &Candidate,
    routing: Option<&RoutingTrace>,
) -> Result<Response, Failure> {
    let plugin = gateway.adapter(&candidate.endpoint.provider)?;
    let result = run(gateway, call, candidate, routing, &plugin).await;
    gateway
        .plugins
        .record_outcome(plugin.name(), plugin.state(), result.is_ok());
    result
}

async fn run(
    gateway: &Gateway,
    call: &ChatCall,
    candidate: &Candidate,
    routing: Option<&RoutingTrace>,
    plugin: &Arc<ProviderPlugin>,
) -> Result<Response, Failure> {
    let (model, endpoint) = (&candidate.model, &candidate.endpoint);
    let provider = &endpoint.provider;
    let _in_flight = endpoint.stats.start();
    let started = Instant::now();
    let deadline = started + std::time::Duration::from_millis(provider.timeouts.total_ms);
    let provider_failure = |error| Failure::Provider {
        provider: provider.name.clone(),
        error,
    };

    let mut instance = plugin.instantiate().await?;
    let request = instance
        .build_request(&call.body, &endpoint.settings, false)
        .await?
        .map_err(provider_failure)?;
    let mut response = gateway
        .upstream
        .send(provider, plugin, request, deadline)
        .await?;
    let first_byte = started.elapsed();
    let status = response.status().as_u16();
    let headers = header_pairs(response.headers());
    let body = gateway
        .upstream
        .read_body(provider, &mut response, deadline)
        .await?;
    if !(200..300).contains(&status) {
        return Err(provider_failure(
            instance.parse_error(status, headers, body).await?,
        ));
    }
    let parsed = instance
        .parse_response(status, headers, body)
        .await?
        .map_err(provider_failure)?;

    let mut object = plugin_object(plugin.name(), &parsed.body, "parse-response's body")?;
    let generation = Generation::new(&model.id, &provider.name);
    generation.stamp(&mut object, COMPLETION);
    super::strict::completion(&mut object);
    let usage = parsed.usage.unwrap_or_else(|| {
        tracing::warn!(provider = %provider.name, "upstream reported no usage; the call is priced at zero");
        Default::default()
    });
    let cost = cost(
        &usage,
        &endpoint.prices,
        image_count(&call.request),
        gateway.fee_percent,
    );
    object.insert("usage".to_owned(), usage_json(&usage, &cost));
    if let Some(trace) = routing {
        let trace = trace.with_success(&model.id, &provider.name, started.elapsed());
        object.insert("routing".to_owned(), trace);
    }
    call.tab
        .settle(Charge {
            generation: &generation,
            usage,
            cost,
            latency: first_byte,
            finish_reason: parsed.finish.map(|finish| finish.reason.as_str()),
            streamed: false,
            cancelled: false,
        })
        .await;

    let elapsed = started.elapsed();
    let throughput = (elapsed.as_secs_f64() > 0.0)
        .then(|| usage.completion_tokens as f64 / elapsed.as_secs_f64());
    endpoint
        .stats
        .record_success(first_byte, elapsed, throughput);
    tracing::info!(id = %generation.id, model = %model.id, provider = %provider.name, cost = %cost.total, "completion served");
    Ok(with_headers(
        Json(Value::Object(object)).into_response(),
        &generation,
        plugin,
    ))
}

/// Response headers as name/value pairs for the adapter.
pub(super) fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

/// Adds `X-Generation-Id`, and `X-Switchyard-Adapter` naming the adapter version that served
/// (`name@version+digest`), so every response is attributable to exactly one plugin version.
pub(super) fn with_headers(
    mut response: Response,
    generation: &Generation,
    plugin: &ProviderPlugin,
) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&generation.id) {
        headers.insert("x-generation-id", value);
    }
    let state = plugin.state();
    let adapter = format!(
        "{}@{}+{}",
        plugin.name(),
        plugin.descriptor().version,
        state.digest.get(..12).unwrap_or(&state.digest)
    );
    if let Ok(value) = HeaderValue::from_str(&adapter) {
        headers.insert("x-switchyard-adapter", value);
    }
    response
}

/// Parses a JSON object produced by a plugin.
pub(super) fn plugin_object(
    plugin: &str,
    bytes: &[u8],
    what: &str,
) -> Result<Map<String, Value>, PluginFault> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(PluginFault::contract(
            plugin,
            format!("{what} is not a JSON object"),
        )),
    }
}
