//! `GET /api/v1/providers`: the providers serving at least one model, in OpenRouter's shape
//! (`name`, `slug`, `privacy_policy_url`, `terms_of_service_url`, `status_page_url`), with their
//! data policy (published policy, the operator's `data_collection` and `zdr`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use switchyard_catalog::Provider;

/// Lists the enabled providers by name.
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let mut providers: BTreeMap<&str, &Provider> = BTreeMap::new();
    for model in state.gateway.catalog.models() {
        for endpoint in &model.endpoints {
            providers.insert(&endpoint.provider.name, &endpoint.provider);
        }
    }
    let data: Vec<Value> = providers.values().map(|provider| entry(provider)).collect();
    Json(json!({ "data": data }))
}

fn entry(provider: &Provider) -> Value {
    let policy = provider.data_policy.as_ref();
    json!({
        "name": provider.name,
        "slug": provider.name,
        "privacy_policy_url": policy.and_then(|p| p.source.as_deref()),
        "terms_of_service_url": null,
        "status_page_url": null,
        "adapter": provider.plugin,
        "data_policy": {
            "training": policy.map(|p| p.training),
            "retains_prompts": policy.map(|p| p.retains_prompts),
            "prompt_retention_days": policy.and_then(|p| p.prompt_retention_days),
            "zdr_available": policy.map(|p| p.zdr_available),
            "source": policy.and_then(|p| p.source.as_deref()),
        },
        "data_collection": provider.data_collection,
        "zdr": provider.zdr,
        // A pool's credentials by name (never the secret), each with its figures.
        "credentials": provider.credential_pool.as_ref().map(|pool| pool.stats()),
    })
}
