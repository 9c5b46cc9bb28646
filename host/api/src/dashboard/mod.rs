//! The web dashboard, served by the gateway at `/dashboard`: a single page (embedded HTML, CSS
//! and JavaScript, with the vendored uPlot chart library) that logs in with the admin token and
//! then calls the admin and public APIs. The page and its assets hold no data; every figure
//! comes from an API behind the token. Its own API is `GET /admin/activity`, the recent served
//! generations ([`activity`]).

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchyard_gateway::activity;

use crate::error::ApiError;
use crate::roles::Access;
use crate::route::Route;

/// The embedded files: (name, content type, bytes).
const ASSETS: [(&str, &str, &[u8]); 5] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/app.css"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/uPlot.iife.min.js"),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/uPlot.min.css"),
    ),
    (
        "uPlot.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("assets/uPlot.LICENSE"),
    ),
];

/// The page, its assets and its admin API.
pub fn routes() -> Vec<Route> {
    vec![
        Route::at("/dashboard").get(page),
        Route::at("/dashboard/{asset}").get(asset),
        Route::at("/admin/activity")
            .get(recent_activity)
            .admin(Access::Operations),
    ]
}

async fn page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("assets/index.html"),
    )
        .into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content_type, bytes)) => {
            ([(header::CONTENT_TYPE, *content_type)], *bytes).into_response()
        }
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "no such asset",
        )
        .with_code("not_found")
        .into_response(),
    }
}

/// `GET /admin/activity?id=&key=&team=&user=&model=&status=`: the recent served generations matching the
/// query, newest first.
async fn recent_activity(
    query: Result<Query<activity::Search>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(search) = query.map_err(|error| ApiError::invalid_request(error.body_text()))?;
    let mut found = activity::search(&search);
    found.reverse();
    Ok(Json(
        json!({ "data": found, "capacity": activity::CAPACITY }),
    ))
}
