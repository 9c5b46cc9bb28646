//! `GET /health`: liveness plus the loaded plugins and their circuit-breaker state.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use switchyard_plugin_runtime::loaded::Plugin;

/// Reports the gateway as up and lists the loaded plugins with their digests.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let mut providers = Vec::new();
    let mut routers = Vec::new();
    let mut transforms = Vec::new();
    for plugin in state.plugins.plugins() {
        let entry = json!({
            "name": plugin.name(),
            "version": plugin.version(),
            "contract": plugin.contract(),
            "digest": plugin.state().digest,
            "health": plugin.state().health(),
        });
        match plugin {
            Plugin::Provider(_) => providers.push(entry),
            Plugin::Router(_) => routers.push(entry),
            Plugin::Transform(_) => transforms.push(entry),
        }
    }
    let degraded = providers
        .iter()
        .chain(&routers)
        .chain(&transforms)
        .any(|p| p["health"] != "closed");
    Json(json!({
        "status": if degraded { "degraded" } else { "ok" },
        "models": state.gateway.catalog.usable_models().count(),
        "plugins": { "providers": providers, "routers": routers, "transforms": transforms },
    }))
}
