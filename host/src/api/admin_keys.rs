//! The admin API of keys and credits (same admin token as the rest of `/admin`): create (the
//! secret is in that answer only), list, update and delete API keys; add credits to accounts.
//! Amounts are USD, as JSON numbers or decimal strings.

use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::admin::{check_token, json_body};
use super::error::ApiError;
use super::usage::limit_remaining;
use super::{AppState, Route};
use crate::accounting::Accounting;
use crate::accounting::keys::{hash_secret, new_secret, random_id};
use crate::accounting::money::{LimitReset, Nanos, now, to_nanos, usd_json};
use crate::accounting::storage_error;
use crate::accounting::store::{Account, KeyRecord, KeyUpdate, NewKey};

/// The key and credit routes, under `/admin`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/admin/keys").get(list).post(create),
        Route::at("/admin/keys/{id}").patch(update).delete(remove),
        Route::at("/admin/accounts/{id}").get(account),
        Route::at("/admin/accounts/{id}/credits").post(add_credits),
        Route::at("/admin/accounting").get(status),
    ]
}

/// Body of `POST /admin/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    /// A name for people.
    #[serde(default)]
    label: String,
    /// The account it spends from (created when missing).
    #[serde(default = "default_account")]
    account: String,
    /// USD limit.
    #[serde(default)]
    limit: Option<Value>,
    /// `daily`, `weekly` or `monthly`.
    #[serde(default)]
    limit_reset: Option<LimitReset>,
    /// Unix seconds.
    #[serde(default)]
    expires_at: Option<i64>,
    /// Rate limit.
    #[serde(default)]
    requests_per_minute: Option<u32>,
    /// Rate limit.
    #[serde(default)]
    tokens_per_minute: Option<u32>,
    /// Routing policy plugin for the key's requests.
    #[serde(default)]
    routing_policy: Option<String>,
}

fn default_account() -> String {
    "default".to_owned()
}

/// Body of `PATCH /admin/keys/{id}`; `null` removes a limit, reset or expiry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateKey {
    #[serde(default)]
    label: Option<String>,
    #[serde(default, deserialize_with = "present")]
    limit: Option<Option<Value>>,
    #[serde(default, deserialize_with = "present")]
    limit_reset: Option<Option<LimitReset>>,
    #[serde(default, deserialize_with = "present")]
    expires_at: Option<Option<i64>>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    requests_per_minute: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    tokens_per_minute: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    routing_policy: Option<Option<String>>,
}

/// A field that is present, possibly `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Body of `POST /admin/accounts/{id}/credits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddCredits {
    /// USD to add (negative to take back).
    amount: Value,
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let body: CreateKey = json_body(&state, body).await?;
    if let Some(policy) = &body.routing_policy {
        known_policy(&state, policy)?;
    }
    let secret = new_secret();
    let key = NewKey {
        account_id: body.account,
        label: body.label,
        limit: body.limit.as_ref().map(non_negative_usd).transpose()?,
        limit_reset: body.limit_reset,
        expires_at: body.expires_at,
        requests_per_minute: body.requests_per_minute.map(i64::from),
        tokens_per_minute: body.tokens_per_minute.map(i64::from),
        routing_policy: body.routing_policy,
    };
    let record = accounting
        .create_key(&random_id("key"), &hash_secret(&secret), &key)
        .await
        .map_err(storage_error)?;
    let mut data = key_json(&record);
    if let Some(object) = data.as_object_mut() {
        object.insert("key".to_owned(), Value::String(secret));
    }
    Ok((StatusCode::CREATED, Json(json!({ "data": data }))).into_response())
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let keys = accounting.keys().await.map_err(storage_error)?;
    Ok(Json(
        json!({ "data": keys.iter().map(key_json).collect::<Vec<_>>() }),
    ))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let body: UpdateKey = json_body(&state, body).await?;
    if let Some(Some(policy)) = &body.routing_policy {
        known_policy(&state, policy)?;
    }
    let limit = match body.limit {
        Some(Some(value)) => Some(Some(non_negative_usd(&value)?)),
        Some(None) => Some(None),
        None => None,
    };
    let update = KeyUpdate {
        label: body.label,
        limit,
        limit_reset: body.limit_reset,
        expires_at: body.expires_at,
        disabled: body.disabled,
        requests_per_minute: body.requests_per_minute.map(|limit| limit.map(i64::from)),
        tokens_per_minute: body.tokens_per_minute.map(|limit| limit.map(i64::from)),
        routing_policy: body.routing_policy,
    };
    let record = accounting
        .update_key(&id, &update)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| no_such("key", &id))?;
    Ok(Json(json!({ "data": key_json(&record) })))
}

/// Refuses a routing policy no loaded plugin provides (400).
fn known_policy(state: &AppState, policy: &str) -> Result<(), ApiError> {
    match state.plugins.router(policy) {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid_request(format!(
            "routing_policy: no routing policy plugin named {policy:?} is loaded"
        ))),
    }
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    if !accounting.delete_key(&id).await.map_err(storage_error)? {
        return Err(no_such("key", &id));
    }
    Ok(Json(json!({ "deleted": id })))
}

async fn account(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let account = accounting
        .account(&id)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| no_such("account", &id))?;
    Ok(Json(json!({ "data": account_json(&account) })))
}

async fn add_credits(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let body: AddCredits = json_body(&state, body).await?;
    let amount = usd(&body.amount)?;
    let account = accounting
        .add_credits(&id, amount)
        .await
        .map_err(storage_error)?;
    Ok(Json(json!({ "data": account_json(&account) })))
}

/// `GET /admin/accounting`: the settlement lag (from a request's settlement to its durable
/// record) over the recent settlements, in milliseconds.
async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state, &headers)?;
    let lag = accounting.settlement_lag(&[0.5, 0.99]);
    let millis = |quantile: usize| lag.get(quantile).map(|lag| lag.as_secs_f64() * 1e3);
    Ok(Json(json!({ "data": {
        "settlement_lag_ms": { "p50": millis(0), "p99": millis(1) },
    }})))
}

fn key_json(key: &KeyRecord) -> Value {
    json!({
        "id": key.id,
        "label": key.label,
        "account": key.account_id,
        "limit": key.limit.map(usd_json),
        "limit_reset": key.limit_reset.map(LimitReset::as_str),
        "limit_remaining": limit_remaining(key, now()).map(usd_json),
        "usage": usd_json(key.usage),
        "reserved": usd_json(key.reserved),
        "disabled": key.disabled,
        "requests_per_minute": key.requests_per_minute,
        "tokens_per_minute": key.tokens_per_minute,
        "routing_policy": key.routing_policy,
        "expires_at": key.expires_at,
        "created_at": key.created_at,
    })
}

fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id,
        "total_credits": usd_json(account.credits),
        "total_usage": usd_json(account.usage),
        "reserved": usd_json(account.reserved),
    })
}

/// The admin token checks out and accounting is enabled.
fn enabled(state: &AppState, headers: &HeaderMap) -> Result<Arc<Accounting>, ApiError> {
    check_token(state, headers)?;
    state.accounting.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "accounting is disabled on this gateway (accounting.enabled)",
        )
        .with_code("accounting_disabled")
    })
}

/// A USD amount given as a JSON number or a decimal string.
fn usd(value: &Value) -> Result<Nanos, ApiError> {
    let text = match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        _ => String::new(),
    };
    Decimal::from_str(&text)
        .ok()
        .and_then(to_nanos)
        .ok_or_else(|| ApiError::invalid_request(format!("{value} is not an amount of USD")))
}

fn non_negative_usd(value: &Value) -> Result<Nanos, ApiError> {
    match usd(value)? {
        nanos if nanos >= 0 => Ok(nanos),
        _ => Err(ApiError::invalid_request("a limit cannot be negative")),
    }
}

fn no_such(what: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!("no {what} {id:?}"),
    )
    .with_code("not_found")
}
