//! The HTTP API: route table, shared state and the handlers of each endpoint.

pub mod admin;
pub mod admin_keys;
pub mod anthropic;
pub mod chat;
pub mod embeddings;
pub mod endpoints;
pub mod error;
pub mod health;
pub mod keepalive;
pub mod models;
pub mod request_limits;
pub mod reserved;
pub mod responses;
pub mod usage;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::accounting::Accounting;
use crate::dashboard;
use crate::gateway::Gateway;
use crate::plugins::PluginRegistry;
use error::ApiError;

/// State shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The request path.
    pub gateway: Arc<Gateway>,
    /// Loaded plugins.
    pub plugins: Arc<PluginRegistry>,
    /// Bearer token of the admin API; `None` disables it.
    pub admin_token: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// How often a stream waiting for its first chunk gets a keep-alive comment.
    pub stream_keepalive: Option<std::time::Duration>,
    /// How long a client may take to send a request body.
    pub body_read_timeout: std::time::Duration,
    /// Keys, credits and usage; `None` when accounting is disabled.
    pub accounting: Option<Arc<Accounting>>,
}

/// The gateway's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/v1/chat/completions",
            post(chat::chat_completions).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/chat/completions",
            post(chat::chat_completions).fallback(method_not_allowed),
        )
        .route(
            "/v1/messages",
            post(anthropic::messages).fallback(method_not_allowed),
        )
        .route(
            "/v1/responses",
            post(responses::create_response).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/responses",
            post(responses::create_response).fallback(method_not_allowed),
        )
        .route(
            "/v1/embeddings",
            post(embeddings::create_embeddings).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/embeddings",
            post(embeddings::create_embeddings).fallback(method_not_allowed),
        )
        .route(
            "/v1/messages/count_tokens",
            post(anthropic::count_tokens).fallback(method_not_allowed),
        )
        .route(
            "/v1/models",
            get(anthropic::models::list).fallback(method_not_allowed),
        )
        .route("/", get(anthropic::root).fallback(method_not_allowed))
        .route(
            "/api/v1/models",
            get(models::list_openrouter_models).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/models/{author}/{slug}/endpoints",
            get(endpoints::list_endpoints).fallback(method_not_allowed),
        )
        .route("/health", get(health::health).fallback(method_not_allowed))
        .route("/api/v1/key", get(usage::key).fallback(method_not_allowed))
        .route(
            "/api/v1/credits",
            get(usage::credits).fallback(method_not_allowed),
        )
        .route(
            "/api/v1/generation",
            get(usage::generation).fallback(method_not_allowed),
        )
        .nest(
            "/admin",
            (admin::router().merge(admin_keys::router())).merge(dashboard::admin_router()),
        )
        .merge(dashboard::router())
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "no such route",
    )
    .with_code("not_found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        "method not allowed on this route",
    )
    .with_code("method_not_allowed")
}
