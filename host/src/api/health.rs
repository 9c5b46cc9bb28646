//! `GET /health`: liveness plus the loaded plugins.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;

/// Reports the gateway as up and lists the loaded plugins with their digests.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let providers: Vec<Value> = state
        .plugins
        .providers()
        .map(|plugin| {
            let descriptor = plugin.descriptor();
            json!({ "name": descriptor.name, "version": descriptor.version, "digest": plugin.digest() })
        })
        .collect();
    let routers: Vec<Value> = state
        .plugins
        .routers()
        .map(|plugin| json!({ "name": plugin.name(), "version": plugin.version(), "digest": plugin.digest() }))
        .collect();
    Json(json!({
        "status": "ok",
        "models": state.gateway.catalog.usable_models().count(),
        "plugins": { "providers": providers, "routers": routers },
    }))
}
