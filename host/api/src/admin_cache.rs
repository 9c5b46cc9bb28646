//! `DELETE /admin/cache`: empties the response cache ([`switchyard_gateway::cache`]), all of it or one
//! account's entries (`?account=<id>`; with accounting off every entry is the operator's).
//! `GET /admin/cache`: its figures since start (the dashboard's cache line). Both are in the
//! billing area: every admin token reads, billing tokens empty; a token scoped to an account
//! sees only that account's savings and empties only its entries.

use axum::Json;
use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use super::AppState;
use super::audit::{Change, record};
use super::error::ApiError;
use super::roles::{Access, Caller};
use super::route::Route;

/// The cache's admin route.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/admin/cache")
            .get(figures)
            .delete(clear)
            .admin(Access::Billing),
    ]
}

async fn figures(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let cache = &state.gateway.cache;
    let stats = cache.stats().snapshot();
    let saved: Vec<Value> = (cache.stats().saved().into_iter())
        .filter(|((_, account), _)| caller.sees(account))
        .map(|((model, account), saved)| {
            json!({ "model": model, "account": account, "hits": saved.hits, "saved_usd": saved.usd.to_f64() })
        })
        .collect();
    let total: f64 = saved
        .iter()
        .filter_map(|row| row["saved_usd"].as_f64())
        .sum();
    if caller.account.is_some() {
        // The gateway-wide counters are every account's traffic: a scoped token sees only its
        // own savings.
        return Ok(Json(
            json!({ "data": { "saved_usd": total, "saved": saved } }),
        ));
    }
    let size = cache.size();
    Ok(Json(json!({ "data": {
        "hits": stats.hits,
        "misses": stats.misses,
        "bypasses": stats.bypasses,
        "errors": stats.errors,
        "stored": stats.stored,
        "evictions": stats.evictions,
        "oversize": stats.oversize,
        "hit_ratio": stats.hit_ratio(),
        "bytes": size.map(|(bytes, _)| bytes),
        "entries": size.map(|(_, entries)| entries),
        "saved_usd": total,
        "saved": saved,
    }})))
}

async fn clear(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let account = match (account_of(&uri)?, &caller.account) {
        (Some(account), _) => {
            caller.check_account(&account)?;
            Some(account)
        }
        (None, scope) => scope.clone(),
    };
    let scope = match (&account, &state.accounting) {
        (None, _) => None,
        (Some(account), Some(_)) => Some(Some(account.as_str())),
        // With accounting off the operator owns every entry.
        (Some(_), None) => Some(None),
    };
    let removed = state.gateway.cache.clear(scope).await.map_err(|error| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            format!("the cache could not be emptied: {error}"),
        )
        .with_code("cache_unavailable")
    })?;
    let change = Change {
        action: "cache.clear",
        target: account.as_deref().unwrap_or("*"),
        account: account.as_deref(),
        before: Value::Null,
        after: json!({ "removed": removed }),
    };
    record(&state, &caller, change).await;
    Ok(Json(
        json!({ "data": { "removed": removed, "account": account } }),
    ))
}

/// The `account` of the query, if any; 400 for another parameter.
fn account_of(uri: &Uri) -> Result<Option<String>, ApiError> {
    let Query(query) = Query::<HashMap<String, String>>::try_from_uri(uri)
        .map_err(|error| ApiError::invalid_request(format!("invalid query: {error}")))?;
    if let Some(name) = query.keys().find(|name| name.as_str() != "account") {
        return Err(ApiError::invalid_request(format!(
            "unknown query parameter `{name}`: only `account` is read"
        )));
    }
    Ok(query
        .get("account")
        .filter(|account| !account.is_empty())
        .cloned())
}
