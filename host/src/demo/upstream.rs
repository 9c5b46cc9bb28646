//! The demo upstream's HTTP server: OpenAI's `POST /{provider}/v1/chat/completions`, whole or
//! streamed, on a loopback port of the gateway's process. The `swift` provider answers every
//! [`SWIFT_FAILURE_EVERY`]th request with a 503 overload, so failover shows.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::reply::Reply;

/// Every this many requests, the `swift` provider answers 503.
pub const SWIFT_FAILURE_EVERY: u64 = 5;

/// Pause between two streamed chunks, like a model producing tokens.
const CHUNK_INTERVAL: Duration = Duration::from_millis(15);

/// Requests counted per demo provider.
#[derive(Debug, Default)]
struct Counters {
    swift: AtomicU64,
    all: AtomicU64,
}

/// The demo upstream's routes.
pub fn router() -> Router {
    Router::new()
        .route("/{provider}/v1/chat/completions", post(chat))
        .with_state(Arc::new(Counters::default()))
}

async fn chat(
    State(counters): State<Arc<Counters>>,
    Path(provider): Path<String>,
    body: Bytes,
) -> Response {
    let serial = counters.all.fetch_add(1, Ordering::Relaxed) + 1;
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request @ Value::Object(_)) => request,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "the body is not a JSON object",
            );
        }
    };
    if request["messages"].as_array().is_none_or(Vec::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "messages must be a non-empty array",
        );
    }
    if provider == "swift"
        && counters.swift.fetch_add(1, Ordering::Relaxed) % SWIFT_FAILURE_EVERY
            == SWIFT_FAILURE_EVERY - 1
    {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "the demo model is overloaded (one request in five fails on purpose)",
        );
    }
    let reply = Reply::to(&request);
    let id = format!("chatcmpl-demo-{serial}");
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    if request["stream"] != true {
        return axum::Json(reply.completion(&id, created)).into_response();
    }
    let include_usage = request["stream_options"]["include_usage"] == true;
    let events: Vec<String> = reply
        .chunks(&id, created, include_usage)
        .iter()
        .map(|chunk| format!("data: {chunk}\n\n"))
        .chain(["data: [DONE]\n\n".to_owned()])
        .collect();
    let paced = futures_util::stream::iter(events).then(|event| async move {
        tokio::time::sleep(CHUNK_INTERVAL).await;
        Ok::<_, Infallible>(Bytes::from(event))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(paced))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// An error in OpenAI's shape.
fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body =
        json!({ "error": { "message": message, "type": kind, "param": null, "code": null } });
    (status, axum::Json(body)).into_response()
}
