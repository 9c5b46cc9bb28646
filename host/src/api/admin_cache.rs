//! `DELETE /admin/cache`: empties the response cache ([`crate::cache`]), all of it or one
//! account's entries (`?account=<id>`; with accounting off every entry is the operator's).
//! `GET /admin/cache`: its figures since start (the dashboard's cache line). Both need the
//! admin token like every admin route.

use axum::Json;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use super::admin::check_token;
use super::error::ApiError;
use super::{AppState, Route};

/// The cache's admin route.
pub fn routes() -> Vec<Route> {
    vec![Route::at("/admin/cache").get(figures).delete(clear)]
}

async fn figures(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    check_token(&state, &headers)?;
    let cache = &state.gateway.cache;
    let stats = cache.stats().snapshot();
    let saved: Vec<Value> = (cache.stats().saved().into_iter())
        .map(|((model, account), saved)| {
            json!({ "model": model, "account": account, "hits": saved.hits, "saved_usd": saved.usd.to_f64() })
        })
        .collect();
    let total: f64 = saved
        .iter()
        .filter_map(|row| row["saved_usd"].as_f64())
        .sum();
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
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    check_token(&state, &headers)?;
    let account = account_of(&uri)?;
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
