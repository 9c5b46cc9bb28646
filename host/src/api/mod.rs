//! The HTTP API: route table, shared state and the handlers of each endpoint.

pub mod admin;
pub mod admin_body;
pub mod admin_byok;
pub mod admin_cache;
pub mod admin_keys;
pub mod admin_lookup;
pub mod admin_teams;
pub mod admin_tokens;
pub mod anthropic;
pub mod audit;
pub mod bearer;
pub mod chat;
pub mod completions;
mod counted_json;
pub mod embeddings;
pub mod end_user;
pub mod endpoints;
pub mod error;
pub mod health;
pub mod keepalive;
pub mod models;
pub mod plugins;
pub mod presets;
pub mod providers;
pub mod provisioning;
pub mod request_limits;
pub mod reserved;
pub mod responses;
pub mod roles;
pub mod sso;
pub mod unserved;
pub mod usage;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::routing::{MethodFilter, MethodRouter};

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
    /// Keys, credits and usage; `None` when accounting is disabled.
    pub accounting: Option<Arc<Accounting>>,
    /// The operator's presets.
    pub presets: Arc<presets::Presets>,
    /// Days the audit log keeps an entry (0: for good).
    pub audit_retention_days: u32,
    /// Single sign-on, when configured.
    pub sso: Option<Arc<sso::Sso>>,
}

/// One route: its path and the methods it answers, each with its handler. [`routes`] is the
/// gateway's whole table, in one place: the router is built from it, and tests walk it.
pub struct Route {
    path: &'static str,
    methods: Vec<Method>,
    handler: MethodRouter<AppState>,
    access: Option<roles::Access>,
}

impl Route {
    /// A route at `path` answering no method yet.
    pub fn at(path: &'static str) -> Route {
        Route {
            path,
            methods: Vec::new(),
            handler: MethodRouter::new(),
            access: None,
        }
    }

    /// An admin route of area `access`: [`roles::guard`] checks the caller's token and role
    /// before any of its handlers runs. Every `/admin` route declares one.
    pub fn admin(mut self, access: roles::Access) -> Route {
        self.access = Some(access);
        self
    }

    /// The area it belongs to, for admin routes.
    pub fn access(&self) -> Option<roles::Access> {
        self.access
    }

    /// Answers `GET` (and `HEAD`) with `handler`.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::GET, MethodFilter::GET, handler)
    }

    /// Answers `POST` with `handler`.
    pub fn post<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::POST, MethodFilter::POST, handler)
    }

    /// Answers `PUT` with `handler`.
    pub fn put<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::PUT, MethodFilter::PUT, handler)
    }

    /// Answers `PATCH` with `handler`.
    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::PATCH, MethodFilter::PATCH, handler)
    }

    /// Answers `DELETE` with `handler`.
    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, handler: H) -> Route {
        self.on(Method::DELETE, MethodFilter::DELETE, handler)
    }

    fn on<H: Handler<T, AppState>, T: 'static>(
        mut self,
        method: Method,
        filter: MethodFilter,
        handler: H,
    ) -> Route {
        self.methods.push(method);
        self.handler = self.handler.on(filter, handler);
        self
    }

    /// The path, with `{name}` for each parameter.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The methods it answers (`GET` answers `HEAD` too).
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }
}

/// Every route of the gateway (`/metrics` is added beside them when served on this listener).
pub fn routes() -> Vec<Route> {
    let mut routes = vec![
        Route::at("/v1/chat/completions").post(chat::chat_completions),
        Route::at("/api/v1/chat/completions").post(chat::chat_completions),
        Route::at("/v1/messages").post(anthropic::messages),
        Route::at("/api/v1/messages").post(anthropic::messages),
        Route::at("/api/v1/messages/count_tokens").post(anthropic::count_tokens),
        Route::at("/v1/completions").post(completions::completions),
        Route::at("/api/v1/completions").post(completions::completions),
        Route::at("/api/v1/providers").get(providers::list),
        Route::at("/api/v1/presets").get(presets::list),
        Route::at("/v1/responses").post(responses::create_response),
        Route::at("/api/v1/responses").post(responses::create_response),
        Route::at("/v1/embeddings").post(embeddings::create_embeddings),
        Route::at("/api/v1/embeddings").post(embeddings::create_embeddings),
        Route::at("/v1/messages/count_tokens").post(anthropic::count_tokens),
        Route::at("/v1/models").get(anthropic::models::list),
        Route::at("/").get(anthropic::root),
        Route::at("/api/v1/models").get(models::list_openrouter_models),
        Route::at("/api/v1/models/{author}/{slug}/endpoints").get(endpoints::list_endpoints),
        Route::at("/health").get(health::health),
        Route::at("/api/v1/key").get(usage::key),
        Route::at("/api/v1/credits").get(usage::credits),
        Route::at("/api/v1/generation").get(usage::generation),
    ];
    routes.extend(admin::routes());
    routes.extend(admin_keys::routes());
    routes.extend(admin_teams::routes());
    routes.extend(admin_tokens::routes());
    routes.extend(audit::routes());
    routes.extend(provisioning::routes());
    routes.extend(sso::routes());
    routes.extend(admin_cache::routes());
    routes.extend(admin_byok::routes());
    routes.extend(dashboard::routes());
    routes
}

/// The gateway's router, built from [`routes`].
pub fn router(state: AppState) -> Router {
    routes()
        .into_iter()
        .fold(Router::new(), |router, route| {
            let handler = match route.access {
                Some(access) => route
                    .handler
                    .route_layer(axum::middleware::from_fn_with_state(
                        state.clone(),
                        move |State(state): State<AppState>, request: Request, next: Next| {
                            roles::guard(state, access, request, next)
                        },
                    )),
                None => route.handler,
            };
            router.route(route.path, handler.fallback(method_not_allowed))
        })
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
