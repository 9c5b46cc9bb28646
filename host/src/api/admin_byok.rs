//! The admin API of accounts' own provider keys (BYOK), under the admin token:
//! `PUT /admin/accounts/{id}/keys/{provider}` stores one (its shape checked first),
//! `GET /admin/accounts/{id}/keys` lists them by their last four characters, `DELETE` removes
//! one, and `POST /admin/byok/rotate` re-seals every key under the current operator key. No
//! route ever returns a stored key.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::json_body;
use super::admin_keys::{enabled, no_such};
use super::error::ApiError;
use super::{AppState, Route};
use crate::accounting::storage_error;
use crate::accounting::store::StoreError;
use crate::credentials::byok::{ByokError, shape};

/// The BYOK routes, under `/admin`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/admin/accounts/{id}/keys").get(list),
        Route::at("/admin/accounts/{id}/keys/{provider}")
            .put(upload)
            .delete(remove),
        Route::at("/admin/byok/rotate").post(rotate),
    ]
}

/// Body of `PUT /admin/accounts/{id}/keys/{provider}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Upload {
    /// The provider key.
    key: String,
    /// The operator's credentials may serve when this key is refused. Default: false.
    #[serde(default)]
    fallback: bool,
}

async fn upload(
    State(state): State<AppState>,
    Path((account, provider)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let body: Upload = json_body(&state, body).await?;
    let served = (state.gateway.catalog.provider(&provider))
        .ok_or_else(|| no_such("provider", &provider))?;
    shape::check(served, &body.key).map_err(|reason| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            format!("this is not a {provider} key: {reason}"),
        )
        .with_code("invalid_key")
    })?;
    let listing = accounting
        .byok
        .upload(&account, &provider, &body.key, body.fallback)
        .await
        .map_err(|error| byok_error(error, &account))?;
    Ok(Json(json!({ "data": listing })))
}

async fn list(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let keys = accounting
        .byok
        .list(&account)
        .await
        .map_err(storage_error)?;
    Ok(Json(json!({ "data": keys })))
}

async fn remove(
    State(state): State<AppState>,
    Path((account, provider)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let deleted = accounting
        .byok
        .delete(&account, &provider)
        .await
        .map_err(storage_error)?;
    if !deleted {
        return Err(no_such("key of this account for provider", &provider));
    }
    Ok(Json(json!({ "data": { "deleted": true } })))
}

async fn rotate(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let resealed = accounting
        .byok
        .rotate()
        .await
        .map_err(|error| byok_error(error, ""))?;
    Ok(Json(json!({ "data": { "resealed": resealed } })))
}

/// A BYOK failure in the API's shape.
fn byok_error(error: ByokError, account: &str) -> ApiError {
    match error {
        ByokError::Off(_) => ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            error.to_string(),
        )
        .with_code("byok_disabled"),
        ByokError::Store(StoreError::NotFound(what)) => no_such(what, account),
        ByokError::Store(error) => storage_error(error).into(),
        ByokError::Cipher(error) => {
            tracing::error!(%error, "re-sealing accounts' keys");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                error.to_string(),
            )
        }
    }
}
