//! The admin API of accounts' own provider keys (BYOK), in the billing area of the admin
//! route table (a token scoped to an account reaches only that account's keys):
//! `PUT /admin/accounts/{id}/keys/{provider}` stores one (its shape checked first),
//! `GET /admin/accounts/{id}/keys` lists them by their last four characters, `DELETE` removes
//! one, and `POST /admin/byok/rotate` (operations area) re-seals every key under the current
//! operator key. No route ever returns a stored key; every change is audited.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin_body::json_body;
use super::admin_lookup::{enabled, no_such};
use super::audit::{Change, record};
use super::error::ApiError;
use super::roles::{Access, Caller};
use super::route::Route;
use switchyard_accounting::byok::{ByokError, shape};
use switchyard_accounting::storage_error;
use switchyard_domain::store_error::StoreError;

/// The BYOK routes, under `/admin`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/admin/accounts/{id}/keys")
            .get(list)
            .admin(Access::Billing),
        Route::at("/admin/accounts/{id}/keys/{provider}")
            .put(upload)
            .delete(remove)
            .admin(Access::Billing),
        Route::at("/admin/byok/rotate")
            .post(rotate)
            .admin(Access::Operations),
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
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.check_account(&account)?;
    let accounting = enabled(&state)?;
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
    let target = format!("{account}/{provider}");
    let change = Change {
        action: "byok.upload",
        target: &target,
        account: Some(&account),
        before: Value::Null,
        after: json!(listing),
    };
    record(&state, &caller, change).await;
    Ok(Json(json!({ "data": listing })))
}

async fn list(
    State(state): State<AppState>,
    Path(account): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    caller.check_account(&account)?;
    let accounting = enabled(&state)?;
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
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    caller.check_account(&account)?;
    let accounting = enabled(&state)?;
    let deleted = accounting
        .byok
        .delete(&account, &provider)
        .await
        .map_err(storage_error)?;
    if !deleted {
        return Err(no_such("key of this account for provider", &provider));
    }
    let target = format!("{account}/{provider}");
    let change = Change {
        action: "byok.delete",
        target: &target,
        account: Some(&account),
        before: Value::Null,
        after: Value::Null,
    };
    record(&state, &caller, change).await;
    Ok(Json(json!({ "data": { "deleted": true } })))
}

async fn rotate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let resealed = accounting
        .byok
        .rotate()
        .await
        .map_err(|error| byok_error(error, ""))?;
    let change = Change {
        action: "byok.rotate",
        target: "*",
        account: None,
        before: Value::Null,
        after: json!({ "resealed": resealed }),
    };
    record(&state, &caller, change).await;
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
