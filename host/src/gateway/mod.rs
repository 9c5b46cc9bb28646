//! The request path after validation: plan the candidate endpoints (catalog + routing policy),
//! then try them in order until one answers, failing over on retryable errors.

mod complete;
pub mod generation;
mod stream;
pub mod upstream;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use rust_decimal::Decimal;
use serde_json::json;
use switchyard_sdk::openai::ChatRequest;

use crate::accounting::tab::Tab;
use crate::api::error::ApiError;
use crate::catalog::{Catalog, Endpoint, Model, Provider};
use crate::failure::Failure;
use crate::plugins::router::{PolicyCandidate, PolicyRequest};
use crate::plugins::{PluginFault, PluginRegistry, ProviderPlugin};
use upstream::Upstream;

/// A validated chat request.
#[derive(Debug)]
pub struct ChatCall {
    /// The client's body, passed to adapters as is.
    pub body: Bytes,
    /// The parsed request.
    pub request: ChatRequest,
    /// Model ids to try, in order (`model`, then `models`).
    pub models: Vec<String>,
    /// Whether the client wants a stream.
    pub stream: bool,
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
}

/// One endpoint to try.
struct Candidate {
    model: Arc<Model>,
    endpoint: Arc<Endpoint>,
}

impl Gateway {
    /// Serves a chat completion, failing over across endpoints and models.
    pub async fn chat(&self, call: ChatCall) -> Result<Response, ApiError> {
        let candidates = self.plan(&call).await?;
        let priced = candidates.iter().map(|c| (&*c.model, &*c.endpoint));
        call.tab.reserve(&call, priced, self.fee_percent).await?;
        let mut attempts = Vec::new();
        let mut last_failure = None;
        for candidate in candidates {
            let provider = &candidate.endpoint.provider.name;
            let result = if call.stream {
                stream::attempt(self, &call, &candidate.model, &candidate.endpoint).await
            } else {
                complete::attempt(self, &call, &candidate.model, &candidate.endpoint).await
            };
            let failure = match result {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            candidate.endpoint.stats.record_failure();
            tracing::warn!(model = %candidate.model.id, %provider, kind = failure.kind(), error = %failure, "attempt failed");
            let attempt = json!({
                "model": candidate.model.id,
                "provider": provider,
                "error": failure.kind(),
                "message": failure.to_string(),
            });
            call.tab.record_attempt(&attempt);
            attempts.push(attempt);
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
        Err(error.with_metadata(json!({ "attempts": attempts })))
    }

    /// The current version of `provider`'s adapter (or its canary, for the canary's share).
    fn adapter(&self, provider: &Provider) -> Result<Arc<ProviderPlugin>, Failure> {
        self.plugins.provider(&provider.plugin).ok_or_else(|| {
            PluginFault::contract(&provider.plugin, "is not loaded (removed at runtime?)").into()
        })
    }

    /// The endpoints to try, in order: each requested model's endpoints as its policy orders them.
    async fn plan(&self, call: &ChatCall) -> Result<Vec<Candidate>, ApiError> {
        let mut candidates = Vec::new();
        let mut disabled = Vec::new();
        let seed = rand::random::<u64>();
        for id in &call.models {
            let model = self.catalog.model(id).ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    format!("model {id:?} does not exist"),
                )
                .with_code("model_not_found")
            })?;
            disabled.extend(model.disabled.iter().cloned());
            for index in route(&self.plugins, model, call, seed).await {
                if let Some(endpoint) = model.endpoints.get(index) {
                    candidates.push(Candidate {
                        model: model.clone(),
                        endpoint: endpoint.clone(),
                    });
                }
            }
        }
        if candidates.is_empty() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_error",
                format!("no enabled provider serves {}", call.models.join(", ")),
            )
            .with_code("no_endpoints")
            .with_metadata(json!({ "disabled": disabled })));
        }
        Ok(candidates)
    }
}

/// The order the model's policy picks; its configured order when the policy fails. A single
/// endpoint has nothing to order, so the policy is not called for it.
async fn route(plugins: &PluginRegistry, model: &Model, call: &ChatCall, seed: u64) -> Vec<usize> {
    if model.endpoints.len() <= 1 {
        return (0..model.endpoints.len()).collect();
    }
    let candidates: Vec<PolicyCandidate> = model
        .endpoints
        .iter()
        .map(|endpoint| PolicyCandidate {
            provider: endpoint.provider.name.clone(),
            model: model.id.clone(),
            prompt_price: decimal_to_f64(endpoint.prices.prompt),
            completion_price: decimal_to_f64(endpoint.prices.completion),
            stats: endpoint.stats.snapshot(),
        })
        .collect();
    let request = PolicyRequest {
        model: model.id.clone(),
        estimated_prompt_tokens: (call.body.len() / 4) as u64,
        max_tokens: call.request.output_token_limit(),
        seed,
    };
    let Some(policy) = plugins.router(&model.policy) else {
        tracing::error!(model = %model.id, policy = %model.policy, "routing policy not loaded; using the configured order");
        return (0..candidates.len()).collect();
    };
    let result = policy.order(&request, &candidates).await;
    plugins.record_outcome(policy.name(), policy.state(), result.is_ok());
    match result {
        Ok(order) => order,
        Err(fault) => {
            tracing::error!(model = %model.id, error = %fault, "routing policy failed; using the configured order");
            (0..candidates.len()).collect()
        }
    }
}

fn decimal_to_f64(value: Decimal) -> f64 {
    value.to_string().parse().unwrap_or(f64::INFINITY)
}
