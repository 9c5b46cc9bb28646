//! `GET /v1/models`: the models usable now (at least one enabled endpoint).

use axum::Json;
use axum::extract::State;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::AppState;

const PER_MILLION: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// Lists usable models in OpenAI's shape, with OpenRouter's name, context length and pricing
/// (USD per token, as strings, of the cheapest endpoint).
pub async fn list_models(State(state): State<AppState>) -> Json<Value> {
    let data: Vec<Value> = state
        .gateway
        .catalog
        .usable_models()
        .map(|model| {
            let cheapest = model
                .endpoints
                .iter()
                .min_by_key(|endpoint| endpoint.prices.prompt + endpoint.prices.completion);
            let per_token = |price: Decimal| (price / PER_MILLION).normalize().to_string();
            json!({
                "id": model.id,
                "object": "model",
                "created": 0,
                "owned_by": model.id.split('/').next().unwrap_or_default(),
                "name": model.name,
                "context_length": model.context_length,
                "pricing": cheapest.map(|endpoint| json!({
                    "prompt": per_token(endpoint.prices.prompt),
                    "completion": per_token(endpoint.prices.completion),
                })),
                "providers": model.endpoints.iter().map(|e| e.provider.name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({ "object": "list", "data": data }))
}
