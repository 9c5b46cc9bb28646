//! The admin API: list, install, replace, canary, promote, roll back and remove plugins at
//! runtime, and set, clear and report the shadow routing policies. Every route needs
//! `Authorization: Bearer <token>`: the token read from the variable named by
//! `admin.token_env` (the bootstrap owner), an admin token, or one issued by single sign-on
//! ([`super::roles`]); without the variable the admin API answers 404.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin_body::json_body;
use super::audit::{Change, record};
use super::chat::read_body;
use super::error::ApiError;
use super::roles::{Access, Caller};
use super::route::Route;
use switchyard_domain::config::routing::ShadowConfig;
use switchyard_plugin_runtime::registry::RegistryError;
use switchyard_plugin_runtime::version::versions_alive;
use switchyard_routing::shadow::{QUEUE_CAPACITY, ShadowError};

/// Largest plugin upload (components embedding an interpreter are tens of MB).
const MAX_UPLOAD_BYTES: usize = 128 * 1024 * 1024;

/// The plugin and routing routes; [`super::roles::guard`] checks the token before anything is
/// read.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/admin/plugins")
            .get(list)
            .post(install)
            .admin(Access::Operations),
        Route::at("/admin/plugins/{name}")
            .delete(remove)
            .admin(Access::Operations),
        Route::at("/admin/plugins/{name}/rollback")
            .post(rollback)
            .admin(Access::Operations),
        Route::at("/admin/plugins/{name}/promote")
            .post(promote)
            .admin(Access::Operations),
        Route::at("/admin/events")
            .get(events)
            .admin(Access::Operations),
        Route::at("/admin/routing/shadow")
            .get(shadow_report)
            .put(set_shadow)
            .delete(clear_shadow)
            .admin(Access::Operations),
    ]
}

fn registry_error(error: RegistryError) -> ApiError {
    let failures = match &error {
        RegistryError::ReplayGate { refusal, .. } => Some(json!({
            "replay_gate": {
                "provider": refusal.provider,
                "fixtures": refusal.fixtures,
                "failures": refusal.failures,
            }
        })),
        _ => None,
    };
    let status = match &error {
        RegistryError::Load { .. } | RegistryError::ReplayGate { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
        RegistryError::Conflict(_) | RegistryError::DuplicateName { .. } => StatusCode::CONFLICT,
        RegistryError::ReadDir { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        RegistryError::BuiltinName { .. } => StatusCode::FORBIDDEN,
    };
    let answer = ApiError::new(status, "invalid_request_error", error.to_string())
        .with_code("plugin_rejected");
    match failures {
        Some(metadata) => answer.with_metadata(metadata),
        None => answer,
    }
}

async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "plugins": state.plugins.list(),
        "versions_alive": versions_alive(),
    })))
}

/// Query of an upload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallQuery {
    /// Install as a canary taking this share (0..1) of the traffic.
    #[serde(default)]
    canary: Option<f64>,
}

/// Records a gateway-wide change of `target` (no account).
async fn audit(state: &AppState, caller: &Caller, action: &str, target: &str, after: &Value) {
    let change = Change {
        action,
        target,
        account: None,
        before: Value::Null,
        after: after.clone(),
    };
    record(state, caller, change).await;
}

async fn install(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<InstallQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    if let Some(share) = query.canary
        && !(share > 0.0 && share <= 1.0)
    {
        return Err(ApiError::invalid_request(
            "`canary` must be a share in (0, 1]",
        ));
    }
    let bytes = read_body(body, MAX_UPLOAD_BYTES).await?;
    let info = json!(
        state
            .plugins
            .install(bytes.to_vec(), "admin API upload".to_owned(), query.canary)
            .await
            .map_err(registry_error)?
    );
    let name = info["name"].as_str().unwrap_or_default();
    audit(&state, &caller, "plugin.install", name, &info).await;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let info = json!(state.plugins.remove(&name).map_err(registry_error)?);
    let change = Change {
        action: "plugin.remove",
        target: &name,
        account: None,
        before: info.clone(),
        after: Value::Null,
    };
    record(&state, &caller, change).await;
    Ok(Json(json!({ "removed": info })))
}

async fn rollback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let info = json!(state.plugins.rollback(&name).map_err(registry_error)?);
    audit(&state, &caller, "plugin.rollback", &name, &info).await;
    Ok(Json(info))
}

async fn promote(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let info = json!(state.plugins.promote(&name).map_err(registry_error)?);
    audit(&state, &caller, "plugin.promote", &name, &info).await;
    Ok(Json(info))
}

async fn events(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "events": state.plugins.events() })))
}

/// Each shadow policy's figures per model: how often its first choice differs from the live
/// policy's, and both choices' projected cost and latency.
async fn shadow_report(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(shadow_json(&state)))
}

/// Body of `PUT /admin/routing/shadow`: the `[[routing.shadow]]` entries to put in force.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShadowBody {
    shadows: Vec<ShadowConfig>,
}

/// Replaces the shadow policies; pairs that stay keep their figures.
async fn set_shadow(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body: ShadowBody = json_body(&state, body).await?;
    configure_shadow(&state, &caller, body.shadows).await
}

/// Stops every shadow policy.
async fn clear_shadow(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    configure_shadow(&state, &caller, Vec::new()).await
}

async fn configure_shadow(
    state: &AppState,
    caller: &Caller,
    entries: Vec<ShadowConfig>,
) -> Result<Json<Value>, ApiError> {
    let gateway = &state.gateway;
    let before = json!(gateway.shadow.entries());
    gateway
        .shadow
        .configure(entries, &gateway.catalog, &state.plugins)
        .map_err(|error| {
            let status = match error {
                ShadowError::UnknownPolicy(_) | ShadowError::UnknownModel { .. } => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                ShadowError::NoModels(_) | ShadowError::Twice { .. } => StatusCode::BAD_REQUEST,
            };
            ApiError::new(status, "invalid_request_error", error.to_string())
                .with_code("shadow_rejected")
        })?;
    let change = Change {
        action: "routing.shadow.set",
        target: "routing.shadow",
        account: None,
        before,
        after: json!(gateway.shadow.entries()),
    };
    record(state, caller, change).await;
    Ok(Json(shadow_json(state)))
}

/// The entries in force and their figures.
fn shadow_json(state: &AppState) -> Value {
    let shadow = &state.gateway.shadow;
    let entries = shadow.entries();
    json!({
        "enabled": !entries.is_empty(),
        "entries": entries,
        "queue_capacity": QUEUE_CAPACITY,
        "shadows": shadow.report(),
    })
}
