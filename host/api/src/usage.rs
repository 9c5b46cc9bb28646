//! What an API key may read about itself, in OpenRouter's shapes: `GET /api/v1/key` (usage and
//! limit), `GET /api/v1/credits` (its account) and `GET /api/v1/generation?id=` (one record of
//! its account; without `id`, the newest records of its account, filtered by `user`, `team` and
//! `key`, with their totals). They need accounting enabled and the key as bearer token.
//! `GET /admin/usage` lists the same for the admin, of any account.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::roles::Caller;
use switchyard_accounting::Accounting;
use switchyard_accounting::reports::{UsageFilter, UsageTotals};
use switchyard_accounting::storage_error;
use switchyard_accounting::store::{GenerationRecord, KeyRecord};
use switchyard_domain::money::{LimitReset, now, usd_json};

/// `GET /api/v1/key`.
pub async fn key(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (accounting, key) = authorize(&state, &headers).await?;
    let key = accounting
        .key(&key.id)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| not_found("the key no longer exists"))?;
    let now = now();
    let spent = |reset: LimitReset| {
        let accounting = &accounting;
        let id = &key.id;
        async move {
            accounting
                .spent_since(id, reset.window_start(now))
                .await
                .map_err(storage_error)
        }
    };
    let daily = spent(LimitReset::Daily).await?;
    let weekly = spent(LimitReset::Weekly).await?;
    let monthly = spent(LimitReset::Monthly).await?;
    Ok(Json(json!({ "data": {
        "label": key.label,
        "limit": key.limit.map(usd_json),
        "limit_reset": key.limit_reset.map(LimitReset::as_str),
        "limit_remaining": limit_remaining(&key, now).map(usd_json),
        "usage": usd_json(key.usage),
        "usage_daily": usd_json(daily),
        "usage_weekly": usd_json(weekly),
        "usage_monthly": usd_json(monthly),
        "is_free_tier": false,
        "expires_at": key.expires_at,
    }})))
}

/// What `key` may still spend in its current window: its limit less settled and held spending.
pub fn limit_remaining(key: &KeyRecord, now: i64) -> Option<i64> {
    let window_usage = match key.limit_reset {
        Some(reset) if key.window_start < reset.window_start(now) => 0,
        _ => key.window_usage,
    };
    key.limit
        .map(|limit| (limit - window_usage - key.reserved).max(0))
}

/// `GET /api/v1/credits`.
pub async fn credits(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (accounting, key) = authorize(&state, &headers).await?;
    let account = accounting
        .account(&key.account_id)
        .await
        .map_err(storage_error)?
        .ok_or_else(|| not_found("the key's account no longer exists"))?;
    Ok(Json(json!({ "data": {
        "total_credits": usd_json(account.credits),
        "total_usage": usd_json(account.usage),
    }})))
}

/// Query of `GET /api/v1/generation` and `GET /admin/usage`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationQuery {
    /// The generation id (`X-Generation-Id`, or the response's `id`): that record only.
    #[serde(default)]
    id: Option<String>,
    /// Of this account (admin only: a key sees its own account's).
    #[serde(default)]
    account: Option<String>,
    /// Of this end user.
    #[serde(default)]
    user: Option<String>,
    /// Of this team.
    #[serde(default)]
    team: Option<String>,
    /// Of this key.
    #[serde(default)]
    key: Option<String>,
    /// Made at or after this unix second.
    #[serde(default)]
    since: Option<i64>,
    /// How many records at most (default 100, at most 1,000).
    #[serde(default)]
    limit: Option<u16>,
}

/// Most records a listing returns.
const MAX_LISTED: u16 = 1_000;

impl GenerationQuery {
    fn filter(self, account: Option<String>) -> (UsageFilter, i64) {
        let limit = self.limit.unwrap_or(100).min(MAX_LISTED);
        let filter = UsageFilter {
            account,
            key: self.key,
            team: self.team,
            user: self.user,
            since: self.since,
        };
        (filter, i64::from(limit))
    }
}

/// `GET /api/v1/generation?id=`, or without `id` the newest records of the key's account
/// (`?user=&team=&key=&since=&limit=`).
pub async fn generation(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<GenerationQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let (accounting, key) = authorize(&state, &headers).await?;
    let Query(query) = query.map_err(|error| ApiError::invalid_request(error.body_text()))?;
    if query.account.is_some() {
        return Err(ApiError::invalid_request(
            "account: a key reads its own account's generations",
        ));
    }
    let Some(id) = &query.id else {
        return listing(&accounting, query.filter(Some(key.account_id.clone()))).await;
    };
    let record = accounting
        .generation(id)
        .await
        .map_err(storage_error)?
        .filter(|record| record.account_id == key.account_id)
        .ok_or_else(|| not_found("no generation with this id"))?;
    Ok(Json(json!({ "data": generation_json(&record) })))
}

/// `GET /admin/usage?account=&user=&team=&key=&since=&limit=`: the newest generation records
/// matching, and the totals of all matching. A token scoped to an account reads only that
/// account's records.
pub async fn admin_usage(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<GenerationQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let accounting = super::admin_lookup::enabled(&state)?;
    let Query(mut query) = query.map_err(|error| ApiError::invalid_request(error.body_text()))?;
    if query.id.is_some() {
        return Err(ApiError::invalid_request(
            "id: read one generation at GET /api/v1/generation?id=",
        ));
    }
    let account = match (query.account.take(), &caller.account) {
        (Some(account), _) => {
            caller.check_account(&account)?;
            Some(account)
        }
        (None, scope) => scope.clone(),
    };
    listing(&accounting, query.filter(account)).await
}

async fn listing(
    accounting: &Accounting,
    (filter, limit): (UsageFilter, i64),
) -> Result<Json<Value>, ApiError> {
    let (records, totals) = accounting
        .usage(&filter, limit)
        .await
        .map_err(storage_error)?;
    Ok(Json(json!({
        "data": records.iter().map(generation_json).collect::<Vec<_>>(),
        "totals": totals_json(&totals),
    })))
}

fn totals_json(totals: &UsageTotals) -> Value {
    json!({
        "requests": totals.requests,
        "total_cost": usd_json(totals.cost),
        "tokens_prompt": totals.prompt_tokens,
        "tokens_completion": totals.completion_tokens,
    })
}

/// A generation record in OpenRouter's shape, with the failed attempts before it and how it was
/// charged: `usage_estimated` (the provider reported no usage), `excess_cost` and `charge_note`
/// (the cost passed the hold, which is what was charged).
fn generation_json(record: &GenerationRecord) -> Value {
    let attempts: Value = serde_json::from_str(&record.attempts).unwrap_or(Value::Null);
    json!({
        "id": record.id,
        "key_id": record.key_id,
        "team": record.team_id,
        "user": record.end_user,
        "model": record.model,
        "provider_name": record.provider,
        "created_at": record.created_at,
        "tokens_prompt": record.prompt_tokens,
        "tokens_completion": record.completion_tokens,
        "native_tokens_prompt": record.prompt_tokens,
        "native_tokens_completion": record.completion_tokens,
        "native_tokens_reasoning": record.reasoning_tokens,
        "native_tokens_cached": record.cached_tokens,
        "native_tokens_cache_write": record.cache_write_tokens,
        "total_cost": usd_json(record.cost),
        "upstream_inference_cost": usd_json(record.upstream_cost),
        "latency": record.latency_ms,
        "generation_time": record.generation_ms,
        "finish_reason": record.finish_reason,
        "streamed": record.streamed,
        "cancelled": record.cancelled,
        "attempts": attempts,
        "usage_estimated": record.usage_estimated,
        "excess_cost": (record.excess_cost != 0).then(|| usd_json(record.excess_cost)),
        "charge_note": record.charge_note,
        "cache_hit": record.cache_hit,
        "is_byok": record.byok,
    })
}

async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Arc<Accounting>, Arc<KeyRecord>), ApiError> {
    let accounting = state
        .accounting
        .clone()
        .ok_or_else(|| not_found("accounting is disabled on this gateway"))?;
    let key = accounting.authorize(headers).await?;
    Ok((accounting, key))
}

fn not_found(message: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "invalid_request_error", message).with_code("not_found")
}
