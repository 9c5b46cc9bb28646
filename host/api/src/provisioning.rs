//! OpenRouter's key management API (`/api/v1/keys`), in its shapes: a provisioning key is a
//! `billing` admin token scoped to an account, and manages that account's API keys — create
//! (the secret in that answer only), list, read, update, delete. A key's `hash` is its id.
//! Changes are the admin API's own ([`super::admin_keys`]) and are audited the same way.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin_body::json_body;
use super::admin_keys::{CreateKey, UpdateKey, create_key, delete_key, update_key, visible_key};
use super::admin_lookup::enabled;
use super::error::ApiError;
use super::roles::{Access, Caller};
use super::route::Route;
use super::usage::limit_remaining;
use switchyard_accounting::storage_error;
use switchyard_accounting::store::KeyRecord;
use switchyard_domain::money::{LimitReset, now, usd_json};

/// Keys per page of a list.
const PAGE: usize = 100;

/// The key management routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/api/v1/keys")
            .get(list)
            .post(create)
            .admin(Access::Billing),
        Route::at("/api/v1/keys/{hash}")
            .get(read)
            .patch(update)
            .delete(remove)
            .admin(Access::Billing),
    ]
}

/// Body of `POST /api/v1/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    #[serde(default)]
    limit: Option<Value>,
    #[serde(default)]
    limit_reset: Option<LimitReset>,
    /// Accepted for compatibility: this gateway has no BYOK spending.
    #[serde(default, rename = "include_byok_in_limit")]
    _include_byok_in_limit: Option<bool>,
    /// ISO 8601, UTC.
    #[serde(default)]
    expires_at: Option<String>,
}

/// Body of `PATCH /api/v1/keys/{hash}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "super::admin_body::present")]
    limit: Option<Option<Value>>,
    #[serde(default, deserialize_with = "super::admin_body::present")]
    limit_reset: Option<Option<LimitReset>>,
    #[serde(default, rename = "include_byok_in_limit")]
    _include_byok_in_limit: Option<bool>,
}

/// Query of `GET /api/v1/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    include_disabled: Option<bool>,
}

/// A key in OpenRouter's shape.
fn openrouter_key(key: &KeyRecord) -> Value {
    json!({
        "hash": key.id,
        "name": key.label,
        "label": key.label,
        "disabled": key.disabled,
        "limit": key.limit.map(usd_json),
        "limit_remaining": limit_remaining(key, now()).map(usd_json),
        "limit_reset": key.limit_reset.map(LimitReset::as_str),
        "include_byok_in_limit": false,
        "usage": usd_json(key.usage),
        "created_at": iso8601(key.created_at),
        "updated_at": Value::Null,
        "expires_at": key.expires_at.map(iso8601),
    })
}

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Body,
) -> Result<Response, ApiError> {
    let accounting = enabled(&state)?;
    let body: Create = json_body(&state, body).await?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|text| {
            parse_iso8601(text).ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "expires_at: {text:?} is not an ISO 8601 UTC time such as 2027-12-31T23:59:59Z"
                ))
            })
        })
        .transpose()?;
    let request = CreateKey {
        label: body.name,
        limit: body.limit,
        limit_reset: body.limit_reset,
        expires_at,
        ..CreateKey::default()
    };
    let account = caller.default_account();
    let created = create_key(&state, &accounting, &caller, account, request).await?;
    let data = openrouter_key(&created.record);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "data": data, "key": created.secret })),
    )
        .into_response())
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let Query(query) = query.map_err(|error| ApiError::invalid_request(error.body_text()))?;
    let keys = accounting.keys().await.map_err(storage_error)?;
    let data: Vec<Value> = keys
        .iter()
        .filter(|key| caller.sees(&key.account_id))
        .filter(|key| query.include_disabled.unwrap_or(false) || !key.disabled)
        .skip(query.offset.unwrap_or(0))
        .take(PAGE)
        .map(openrouter_key)
        .collect();
    Ok(Json(json!({ "data": data })))
}

async fn read(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let key = visible_key(&accounting, &caller, &hash).await?;
    Ok(Json(json!({ "data": openrouter_key(&key) })))
}

async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(hash): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    let body: Update = json_body(&state, body).await?;
    let request = UpdateKey {
        label: body.name,
        disabled: body.disabled,
        limit: body.limit,
        limit_reset: body.limit_reset,
        ..UpdateKey::default()
    };
    let (record, _) = update_key(&state, &accounting, &caller, &hash, request).await?;
    Ok(Json(json!({ "data": openrouter_key(&record) })))
}

async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let accounting = enabled(&state)?;
    delete_key(&state, &accounting, &caller, &hash).await?;
    Ok(Json(json!({ "deleted": true })))
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
fn iso8601(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (or `+00:00`) as unix seconds.
fn parse_iso8601(text: &str) -> Option<i64> {
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = text.split_once('T')?;
    let time = time.split('.').next()?;
    let mut date_parts = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
    );
    let mut time_parts = time.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (
        time_parts.next()?.ok()?,
        time_parts.next()?.ok()?,
        time_parts.next()?.ok()?,
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..61).contains(&second)
    {
        return None;
    }
    // Days-from-civil, the inverse of the above.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_both_ways() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_830_297_599), "2027-12-31T23:59:59Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        for secs in [0, 951_782_400, 1_830_297_599, 1_765_000_000] {
            assert_eq!(parse_iso8601(&iso8601(secs)), Some(secs));
        }
        assert_eq!(
            parse_iso8601("2027-12-31T23:59:59.500+00:00"),
            Some(1_830_297_599)
        );
        assert_eq!(parse_iso8601("2027-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso8601("tomorrow"), None);
    }
}
