//! The gateway's route table: every route of every ingress in one place ([`routes`]), and the
//! router built from it ([`router`]), whose admin routes pass [`roles::guard`] first.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;

use super::error::ApiError;
use super::route::Route;
use super::{
    AppState, admin, admin_byok, admin_cache, admin_keys, admin_teams, admin_tokens, anthropic,
    audit, chat, completions, embeddings, endpoints, health, models, presets, providers,
    provisioning, responses, roles, sso, usage,
};
use crate::dashboard;

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
