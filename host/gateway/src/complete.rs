//! The non-streamed body of an attempt (see [`attempt`](super::attempt)): read the whole
//! answer, translate, price, settle.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::accepted::Acceptance;
use super::exchange::{Exchange, exchange, header_pairs, provider_failure, with_headers};
use super::generation::{COMPLETION, Generation};
use super::passed_output::PassedOutput;
use super::{ChatCall, Gateway};
use crate::observer::Observer;
use switchyard_accounting::tab::Charge;
use switchyard_domain::failure::Failure;
use switchyard_domain::pricing::estimate::{estimated_usage, generated_bytes, tokens_of_bytes};
use switchyard_domain::pricing::{cost, image_count, usage_json};
use switchyard_domain::routing_trace::RoutingTrace;
use switchyard_plugin_runtime::ProviderPlugin;
use switchyard_routing::Candidate;

/// The non-streamed body of an attempt: reads the whole answer, translates, prices, settles.
pub(super) async fn run(
    gateway: &Gateway,
    call: &ChatCall,
    candidate: &Candidate,
    routing: Option<&RoutingTrace>,
    plugin: &Arc<ProviderPlugin>,
    acceptance: &Acceptance,
) -> Result<Response, Failure> {
    let (model, endpoint) = (&candidate.model, &candidate.endpoint);
    let provider = &endpoint.provider;
    let _in_flight = endpoint.stats.start();
    let Exchange {
        mut instance,
        mut response,
        started,
        deadline,
        head: first_byte,
        served,
    } = exchange(gateway, call, endpoint, plugin, false, acceptance).await?;
    let status = response.status().as_u16();
    let headers = header_pairs(response.headers());
    let body = gateway
        .upstream
        .read_body(provider, &mut response, deadline)
        .await?;
    let parsed = instance
        .parse_response(status, headers, body)
        .await?
        .map_err(|error| provider_failure(endpoint, error))?;

    let mut object = parsed.body;
    let passed_output = PassedOutput::take(&mut object).filter(|_| call.responses_client);
    let generation = Generation::new(&model.id, &provider.name);
    generation.stamp(&mut object, COMPLETION);
    let usage_estimated = parsed.usage.is_none();
    super::strict::completion(&mut object);
    if super::exclude::wanted(&call.request) {
        super::exclude::strip(&mut object);
    }
    let used = super::searched::take_tool_use(&mut object);
    super::searched::annotate(&mut object);
    let usage = parsed.usage.unwrap_or_else(|| {
        tracing::warn!(provider = %provider.name, "upstream reported no usage; the call is charged an estimate");
        estimated_usage(call.body.len(), tokens_of_bytes(generated_bytes(&object)))
    });
    let usage = used.charged(usage);
    let cost = cost(
        &usage,
        &endpoint.prices,
        image_count(&call.request),
        gateway.fee_percent,
    );
    let cost = call.tab.charged(cost, served.as_ref());
    object.insert("usage".to_owned(), usage_json(&usage, &cost));
    if let Some(trace) = routing {
        let credential = served
            .as_ref()
            .and_then(|served| served.credential.as_deref());
        let trace = trace.with_success(&model.id, &provider.name, credential, started.elapsed());
        object.insert("routing".to_owned(), trace);
    }
    let charge = Charge {
        id: &generation.id,
        model: &generation.model,
        provider: &generation.provider,
        usage,
        usage_estimated,
        cost,
        latency: first_byte,
        finish_reason: parsed.finish.map(|finish| finish.reason.as_str()),
        streamed: false,
        cancelled: false,
        cache_hit: false,
        byok: served.as_ref().is_some_and(|served| served.byok),
    };
    Observer::of(call, &gateway.catalog).served(&charge, started.elapsed());
    call.tab.settle(charge).await;

    let elapsed = started.elapsed();
    let throughput = (elapsed.as_secs_f64() > 0.0)
        .then(|| usage.completion_tokens as f64 / elapsed.as_secs_f64());
    endpoint
        .stats
        .record_success(first_byte, elapsed, throughput);
    tracing::debug!(id = %generation.id, model = %model.id, provider = %provider.name, cost = %cost.total, "completion served");
    // After the settlement: an answer a transform refuses was generated, and is charged.
    crate::transform_hooks::response(call, &mut object).await?;
    let mut answer = with_headers(json_response(&object, parsed.size), &generation, plugin);
    if let Some(passed_output) = passed_output {
        answer.extensions_mut().insert(passed_output);
    }
    Ok(answer)
}

/// Room beyond the plugin's body for what the host adds to it: the generation's stamps and the
/// priced usage (a routing trace, when asked for, may need more).
const ADDED_BYTES: usize = 1024;

/// `object` as a JSON response, serialised once into a buffer sized from the plugin's body
/// (`size` bytes), where a default buffer started at 128 bytes and was copied as it doubled.
fn json_response(object: &Map<String, Value>, size: usize) -> Response {
    let mut bytes = Vec::with_capacity(size.saturating_add(ADDED_BYTES));
    match serde_json::to_writer(&mut bytes, object) {
        Ok(()) => {
            let json = HeaderValue::from_static("application/json");
            ([(header::CONTENT_TYPE, json)], bytes).into_response()
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
