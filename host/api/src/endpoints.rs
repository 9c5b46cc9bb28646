//! `GET /api/v1/models/{author}/{slug}/endpoints`: a model's endpoints with their prices,
//! limits, supported parameters and live statistics, in OpenRouter's shape.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use switchyard_catalog::{Endpoint, Model};
use switchyard_domain::pricing::pricing_json;
use switchyard_health::stats::BreakerState;

/// Lists the endpoints of one model; 404 for an unknown model.
pub async fn list_endpoints(
    State(state): State<AppState>,
    Path((author, slug)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = format!("{author}/{slug}");
    let model = state.gateway.catalog.model(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("model {id:?} does not exist"),
        )
        .with_code("model_not_found")
    })?;
    let endpoints: Vec<Value> = model
        .endpoints
        .iter()
        .map(|endpoint| endpoint_json(&state, model, endpoint))
        .collect();
    Ok(Json(json!({
        "data": {
            "id": model.id,
            "name": model.name,
            "created": 0,
            "description": "",
            "endpoints": endpoints,
        }
    })))
}

fn endpoint_json(state: &AppState, model: &Model, endpoint: &Endpoint) -> Value {
    let provider = &endpoint.provider;
    let stats = endpoint.stats.snapshot();
    let supported_parameters = state
        .plugins
        .provider(&provider.plugin)
        .map(|adapter| adapter.descriptor().supported_parameters.clone())
        .unwrap_or_default();
    // OpenRouter's status: 0 serving, negative degraded or down.
    let status = match stats.breaker {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => -1,
        BreakerState::Open => -2,
    };
    json!({
        "name": format!("{} | {}", provider.name, model.id),
        "model_name": model.name,
        "provider_name": provider.name,
        "tag": provider.name,
        "upstream_model": endpoint.settings.upstream_model,
        "context_length": model.context_length,
        "max_completion_tokens": endpoint.max_output_tokens,
        "max_prompt_tokens": null,
        "pricing": pricing_json(&endpoint.prices),
        "quantization": endpoint.quantization,
        "supported_parameters": supported_parameters,
        "data_collection": provider.data_collection,
        "zdr": provider.zdr,
        "status": status,
        "circuit": stats.breaker,
        "uptime": stats.uptime_percent(),
        "requests": stats.requests,
        "error_rate": stats.error_rate,
        "rate_limited_rate": stats.rate_limited_rate,
        "in_flight": stats.in_flight,
        "ms_since_last_failure": stats.ms_since_last_failure,
        "latency": stats.first_byte_ms,
        "total_latency": stats.latency_ms,
        "throughput": stats.throughput,
    })
}
