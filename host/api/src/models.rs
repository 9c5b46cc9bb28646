//! `GET /v1/models` (the models usable now, OpenAI's shape) and `GET /api/v1/models`
//! (OpenRouter's shape, with filters).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use switchyard_catalog::listing::{self, ModelFilter};

/// Lists usable models in OpenAI's shape, with OpenRouter's name, context length and pricing
/// (USD per token, as strings, of the cheapest enabled endpoint) and the enabled providers.
pub async fn list_models(State(state): State<AppState>) -> Json<Value> {
    let data: Vec<Value> = state
        .gateway
        .catalog
        .usable_models()
        .map(|model| {
            json!({
                "id": model.id,
                "object": "model",
                "created": 0,
                "owned_by": model.id.split('/').next().unwrap_or_default(),
                "name": model.name,
                "context_length": model.context_length,
                "pricing": listing::listed_endpoint(model).map(listing::pricing_json),
                "providers": listing::providers(model),
            })
        })
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

/// Lists models in OpenRouter's shape. Query: `supported_parameters` and `output_modalities`
/// (comma-separated), `all=true` for every known model rather than the usable ones.
pub async fn list_openrouter_models(
    State(state): State<AppState>,
    query: Result<Query<ModelFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(filter) = query.map_err(|rejection| {
        ApiError::invalid_request(format!("invalid query: {}", rejection.body_text()))
    })?;
    let data: Vec<Value> = filter
        .select(&state.gateway.catalog)
        .map(listing::openrouter_json)
        .collect();
    Ok(Json(json!({ "data": data })))
}
