//! `GET /v1/models` in Anthropic's shape, for requests that carry `anthropic-version` (the
//! others get OpenAI's shape): the usable models, `?limit=` (1–1000, default 20), `after_id` and
//! `before_id` pagination.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error;
use crate::AppState;
use crate::models::list_models;

/// The pagination query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Models per page.
    limit: Option<usize>,
    /// List the models after this id.
    after_id: Option<String>,
    /// List the models before this id.
    before_id: Option<String>,
}

/// Lists models in Anthropic's shape when the request carries `anthropic-version`, else in
/// OpenAI's.
pub async fn list(
    state: State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Page>, QueryRejection>,
) -> Response {
    if !headers.contains_key("anthropic-version") {
        return list_models(state).await.into_response();
    }
    let Query(page) = match query {
        Ok(query) => query,
        Err(rejection) => {
            return error::invalid(format!("invalid query: {}", rejection.body_text()));
        }
    };
    let limit = page.limit.unwrap_or(20);
    if !(1..=1000).contains(&limit) {
        return error::invalid("limit: must be between 1 and 1000");
    }
    let ids: Vec<&str> = state
        .gateway
        .catalog
        .usable_models()
        .map(|model| model.id.as_str())
        .collect();
    let position = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| ids.iter().position(|m| *m == id))
    };
    let first = |rest: &[&str]| rest.len().min(limit);
    let (shown, has_more): (&[&str], bool) =
        match (position(&page.after_id), position(&page.before_id)) {
            (Some(after), _) => {
                let rest = ids.get(after + 1..).unwrap_or_default();
                (
                    rest.get(..first(rest)).unwrap_or_default(),
                    rest.len() > limit,
                )
            }
            (None, Some(before)) => {
                let start = before.saturating_sub(limit);
                (ids.get(start..before).unwrap_or_default(), start > 0)
            }
            (None, None) => (
                ids.get(..first(&ids)).unwrap_or_default(),
                ids.len() > limit,
            ),
        };
    let data: Vec<Value> = shown
        .iter()
        .filter_map(|id| state.gateway.catalog.model(id))
        .map(|model| {
            json!({
                "type": "model",
                "id": model.id,
                "display_name": model.name,
                "created_at": "1970-01-01T00:00:00Z",
            })
        })
        .collect();
    axum::Json(json!({
        "data": data,
        "has_more": has_more,
        "first_id": shown.first(),
        "last_id": shown.last(),
    }))
    .into_response()
}
