//! Admin tokens in the admin API (owners only): `POST /admin/tokens {"role", "account"?,
//! "label"?}` answers the new token's secret, once; `GET /admin/tokens` lists them (never a
//! secret); `DELETE /admin/tokens/{id}` removes one, at once on every gateway.
//! `GET /admin/whoami` (every token) tells the caller who it is.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
use switchyard_accounting::admin_tokens::{AdminToken, NewAdminToken, Role};
use switchyard_accounting::keys::{hash_secret, random_id};
use switchyard_accounting::storage_error;

/// What every admin token's secret starts with.
pub const ADMIN_SECRET_PREFIX: &str = "sy-admin-";

/// The admin token routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/admin/tokens")
            .get(list)
            .post(create)
            .admin(Access::Tokens),
        Route::at("/admin/tokens/{id}")
            .delete(remove)
            .admin(Access::Tokens),
        Route::at("/admin/whoami")
            .get(whoami)
            .admin(Access::Session),
    ]
}

/// Body of `POST /admin/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    role: Role,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    label: String,
}

/// A fresh admin secret.
pub fn new_admin_secret() -> String {
    let secret = switchyard_accounting::keys::new_secret();
    let random = secret
        .strip_prefix(switchyard_accounting::keys::SECRET_PREFIX)
        .unwrap_or(&secret);
    format!("{ADMIN_SECRET_PREFIX}{random}")
}

/// A token as JSON (never its secret).
pub fn token_json(token: &AdminToken) -> Value {
    json!({
        "id": token.id,
        "role": token.role.as_str(),
        "account": token.account,
        "label": token.label,
        "subject": token.subject,
        "created_by": token.created_by,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
    })
}

/// Refuses an account scope on a role acting on the whole gateway (400).
pub fn check_scope(role: Role, account: Option<&str>) -> Result<(), ApiError> {
    match account {
        Some("") => Err(ApiError::invalid_request("account: cannot be empty")),
        Some(_) if !role.scopable() => Err(ApiError::invalid_request(format!(
            "account: an {} token acts on the whole gateway; only billing and viewer tokens take an account scope",
            role.as_str()
        ))),
        _ => Ok(()),
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Result<Response, ApiError> {
    let accounting = enabled(&state)?;
    let body: CreateToken = json_body(&state, body).await?;
    check_scope(body.role, body.account.as_deref())?;
    let secret = new_admin_secret();
    let token = accounting
        .store
        .create_admin_token(
            &random_id("adm"),
            &hash_secret(&secret),
            &NewAdminToken {
                role: body.role,
                account: body.account.as_deref(),
                label: &body.label,
                subject: None,
                created_by: &caller.actor,
                expires_at: None,
            },
        )
        .await
        .map_err(storage_error)?;
    let data = token_json(&token);
    record(
        &state,
        &caller,
        Change {
            action: "admin_token.create",
            target: &token.id,
            account: token.account.as_deref(),
            before: Value::Null,
            after: data.clone(),
        },
    )
    .await;
    let mut data = data;
    if let Some(fields) = data.as_object_mut() {
        fields.insert("token".to_owned(), Value::String(secret));
    }
    Ok((StatusCode::CREATED, Json(json!({ "data": data }))).into_response())
}

/// `GET /admin/whoami`: the caller's identity, role and scope (the dashboard shows it and hides
/// what the role cannot do).
async fn whoami(Extension(caller): Extension<Caller>) -> Json<Value> {
    Json(json!({ "data": {
        "actor": caller.actor,
        "label": caller.label,
        "role": caller.role.as_str(),
        "account": caller.account,
        "expires_at": caller.expires_at,
    }}))
}

async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let tokens = accounting
        .store
        .admin_tokens(None)
        .await
        .map_err(storage_error)?;
    Ok(Json(
        json!({ "data": tokens.iter().map(token_json).collect::<Vec<_>>() }),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let store = &accounting.store;
    let token = store
        .admin_token(&id)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| no_such("admin token", &id))?;
    if !store.delete_admin_token(&id).await.map_err(storage_error)? {
        return Err(no_such("admin token", &id));
    }
    record(
        &state,
        &caller,
        Change {
            action: "admin_token.delete",
            target: &id,
            account: token.account.as_deref(),
            before: token_json(&token),
            after: Value::Null,
        },
    )
    .await;
    Ok(Json(json!({ "deleted": id })))
}
