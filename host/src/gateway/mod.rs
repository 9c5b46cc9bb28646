//! The request path after validation: plan the candidate endpoints (catalog + routing policy),
//! then try them in order until one answers, failing over on retryable errors.

mod complete;
pub mod embeddings;
mod framing;
pub mod generation;
mod stream;
mod strict;
pub mod upstream;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use rust_decimal::Decimal;
use serde_json::json;
use switchyard_sdk::openai::ChatRequest;
use tokio::time::Instant;

use crate::accounting::tab::Tab;
use crate::api::error::ApiError;
use crate::catalog::{Catalog, Provider};
use crate::config::RoutingConfig;
use crate::failure::Failure;
use crate::plugins::{PluginFault, PluginRegistry, ProviderPlugin};
use crate::routing::preferences::ProviderPreferences;
use crate::routing::{self, RouteRequest};
use upstream::Upstream;

/// A validated chat request.
#[derive(Debug)]
pub struct ChatCall {
    /// The client's body, passed to adapters as is.
    pub body: Bytes,
    /// The parsed request.
    pub request: ChatRequest,
    /// Model ids to try, in order (`model`, then `models`), variants included.
    pub models: Vec<String>,
    /// Whether the client wants a stream.
    pub stream: bool,
    /// The request's `provider` preferences.
    pub preferences: ProviderPreferences,
    /// Routable parameters the request sets, when `provider.require_parameters` needs them
    /// (empty otherwise).
    pub sent_parameters: Vec<String>,
    /// Whether the client asked for the routing trace in the response.
    pub debug_routing: bool,
    /// Its accounting (a no-op when accounting is disabled).
    pub tab: Tab,
}

/// Everything the request path needs.
#[derive(Debug)]
pub struct Gateway {
    /// Models and endpoints.
    pub catalog: Catalog,
    /// The upstream client.
    pub upstream: Upstream,
    /// Platform fee in percent.
    pub fee_percent: Decimal,
    /// Loaded plugins; versions are looked up per request.
    pub plugins: Arc<PluginRegistry>,
    /// Routing settings.
    pub routing: RoutingConfig,
}

impl Gateway {
    /// Serves a chat completion, failing over across endpoints and models.
    pub async fn chat(&self, call: ChatCall) -> Result<Response, ApiError> {
        let route = RouteRequest {
            models: &call.models,
            preferences: &call.preferences,
            sent_parameters: &call.sent_parameters,
            estimated_prompt_tokens: (call.body.len() / 4) as u64,
            max_tokens: call.request.output_token_limit(),
            seed: rand::random::<u64>(),
            key_policy: call.tab.routing_policy(),
        };
        let plan = routing::plan(&self.catalog, &self.plugins, &self.routing, &route).await?;
        let mut trace = plan.trace;
        let priced = plan.candidates.iter().map(|c| (&*c.model, &*c.endpoint));
        call.tab.reserve(&call, priced, self.fee_percent).await?;
        let mut last_failure = None;
        for candidate in plan.candidates {
            let provider = &candidate.endpoint.provider.name;
            let started = Instant::now();
            let shown = call.debug_routing.then_some(&trace);
            let result = if call.stream {
                stream::attempt(self, &call, &candidate, shown).await
            } else {
                complete::attempt(self, &call, &candidate, shown).await
            };
            let failure = match result {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            if let Some(class) = failure.endpoint_class() {
                candidate.endpoint.stats.record_failure(class);
            }
            tracing::warn!(model = %candidate.model.id, %provider, kind = failure.kind(), error = %failure, "attempt failed");
            trace.record_failure(&candidate.model.id, provider, &failure, started.elapsed());
            if let Some(attempt) = trace.attempts.last() {
                call.tab.record_attempt(&json!(attempt));
            }
            let retry = failure.is_retryable();
            last_failure = Some(failure);
            if !retry {
                break;
            }
        }
        call.tab.release().await;
        let error = match last_failure {
            Some(failure) => failure.to_api_error(),
            None => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_error",
                "no endpoint was tried",
            ),
        };
        Err(error.with_metadata(json!({
            "attempts": trace.attempts,
            "routing": call.debug_routing.then_some(&trace),
        })))
    }

    /// The current version of `provider`'s adapter (or its canary, for the canary's share).
    fn adapter(&self, provider: &Provider) -> Result<Arc<ProviderPlugin>, Failure> {
        self.plugins.provider(&provider.plugin).ok_or_else(|| {
            PluginFault::contract(&provider.plugin, "is not loaded (removed at runtime?)").into()
        })
    }
}
