//! The request path after validation: plan the candidate endpoints (catalog + routing policy),
//! then try them in order until one answers, failing over on retryable errors.
//!
//! [`call`] is one request as the gateway holds it; [`attempt`] one try at one endpoint, with
//! [`credential_plan`] choosing its credentials and [`upstream`] sending it; [`complete`] and
//! [`stream`] read the answer; [`transforms`] run the operator's transform plugins around it, at
//! the [`transform_hooks`];
//! [`cache`] answers repeats. [`observer`], [`served_spans`], [`gauges`] and [`activity`] turn
//! what happened into metrics, spans and the dashboard's feed.
//!
//! Layer 8 of the host (see `.ci/layers`): it may depend on every crate up to accounting. It
//! is the trust boundary's I/O: the only code that talks to providers.

/// Counts allocations in this crate's unit tests (see `switchyard_telemetry::metrics::allocations`).
#[cfg(test)]
#[global_allocator]
static COUNTING: switchyard_telemetry::metrics::allocations::Counting =
    switchyard_telemetry::metrics::allocations::Counting;

mod accepted;
pub mod activity;
mod attempt;
mod builtin;
pub mod cache;
pub mod cache_metrics;
mod cached;
pub mod call;
mod complete;
pub mod credential_plan;
pub mod embeddings;
mod exchange;
mod exclude;
mod failover;
mod framing;
pub mod gauges;
pub mod generation;
pub mod observer;
pub mod passed_output;
mod scrub;
pub mod searched;
pub mod served_spans;
pub mod shadow_metrics;
mod stream;
mod strict;
pub mod transform_hooks;
pub mod transforms;
pub mod upstream;
mod whole_stream;

use std::sync::Arc;

use axum::response::Response;
use rust_decimal::Decimal;
use switchyard_sdk::web_search;
use tokio::time::Instant;

use crate::cache::Cache;
use crate::served_spans as served;
pub use call::ChatCall;
use embeddings::EmbeddingsCall;
use switchyard_accounting::byok::fee::hold as byok_hold;
use switchyard_accounting::worst_case::worst_case_hold;
use switchyard_catalog::{Catalog, Provider};
use switchyard_domain::config::RoutingConfig;
use switchyard_domain::error::DomainError;
use switchyard_domain::failure::Failure;
use switchyard_domain::plugin_fault::PluginFault;
use switchyard_plugin_runtime::{PluginRegistry, ProviderPlugin};
use switchyard_routing::capabilities::Needs;
use switchyard_routing::context::ContextNeed;
use switchyard_routing::shadow::Shadow;
use switchyard_routing::sticky::Sticky;
use switchyard_routing::{self as routing, RouteRequest};
use switchyard_telemetry::metrics;
use switchyard_telemetry::traces::spans;
use upstream::Upstream;

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
    /// The endpoint each conversation keeps.
    pub sticky: Sticky,
    /// The shadow routing policies.
    pub shadow: Shadow,
    /// The response cache.
    pub cache: Arc<Cache>,
    /// The configured transforms.
    pub transforms: crate::transforms::Transforms,
}

impl Gateway {
    /// Serves a chat completion, failing over across endpoints and models.
    pub async fn chat(&self, call: ChatCall) -> Result<Response, DomainError> {
        let call = self.prepare(call).await?;
        let model = call.models.first().map_or("", String::as_str);
        let response = spans::operation("chat", model, cached::chat(self, &call))
            .await
            .map_err(crate::transforms::surfaced)?;
        Ok(crate::transform_hooks::stamp(&call, response))
    }

    /// Serves an embeddings request, failing over across endpoints and models.
    pub async fn embeddings(&self, call: EmbeddingsCall) -> Result<Response, DomainError> {
        let model = call.models.first().map_or("", String::as_str);
        spans::operation("embeddings", model, cached::embeddings(self, &call)).await
    }

    /// Runs the request's transforms (guardrails included) before anything else sees it; see
    /// [`crate::transform_hooks::prepare`]. A response cache looks up after this; [`Self::chat`]
    /// calls it for a call not prepared yet.
    pub async fn prepare(&self, call: ChatCall) -> Result<ChatCall, DomainError> {
        crate::transform_hooks::prepare(&self.transforms, call).await
    }

    /// Plans the candidates of a chat completion and tries them in order.
    pub(crate) async fn route_and_try(&self, call: &ChatCall) -> Result<Response, DomainError> {
        // One tenant's conversations never steer, nor reveal, another's.
        let account = call.tab.key_and_account().map(|(_, account)| account);
        let session = call.session.map(|session| session.within(account));
        let needs = Needs::of(&call.request, call.stream);
        let route = RouteRequest {
            models: &call.models,
            preferences: &call.preferences,
            sent_parameters: &call.sent_parameters,
            needs: &needs,
            // A transform that fits the prompt to the endpoint (`middle-out`) makes any
            // context big enough.
            context: match call
                .transforms
                .as_ref()
                .is_some_and(|applied| applied.routes())
            {
                true => ContextNeed::default(),
                false => ContextNeed::of(&call.request),
            },
            estimated_prompt_tokens: (call.body.len() / 4) as u64,
            max_tokens: call.request.output_token_limit(),
            seed: rand::random::<u64>(),
            key_policy: call.tab.routing_policy(),
            session: session.map(|session| (session, &self.sticky)),
            shadow: &self.shadow,
        };
        let plan = routing::plan(&self.catalog, &self.plugins, &self.routing, &route);
        let plan = served::route(route.models.first().map_or("", String::as_str), plan).await?;
        embeddings::refuse_embedding_only(&plan.candidates)?;
        let mut candidates = plan.candidates;
        let builtin_tools = builtin::requested(&call.request);
        builtin::keep(&self.plugins, &builtin_tools, &mut candidates)?;
        call.tab.admit_candidates(&mut candidates)?;
        let mut trace = plan.trace;
        // The hold is worked out only for a tab that keeps it (accounting on, a key).
        if call.tab.key_and_account().is_some() {
            // Endpoints only the account's own key serves are held at the BYOK fee.
            let searching = web_search::options(&call.request).is_some() || call.offered_search;
            let worst = byok_hold(call.tab.byok(), &candidates, |group| {
                let priced = group.iter().map(|c| (&*c.model, &*c.endpoint));
                worst_case_hold(
                    &call.request,
                    call.body.len(),
                    searching,
                    priced,
                    self.fee_percent,
                )?
                .checked_add(builtin::worst_case(
                    &builtin_tools,
                    group.iter().copied(),
                    self.fee_percent,
                )?)
            });
            let models = candidates.iter().map(|c| c.model.id.as_str());
            call.tab.reserve(worst, models).await?;
        }
        let mut last_failure: Option<Failure> = None;
        for (number, candidate) in (1..).zip(candidates) {
            if let Some(failure) = &last_failure {
                metrics::requests::failover(failure.kind());
            }
            let provider = &candidate.endpoint.provider.name;
            let started = Instant::now();
            let shown = call.debug_routing.then_some(&trace);
            let span = served::attempt("chat", &candidate, number);
            let acceptance = accepted::Acceptance::default();
            let result = span
                .run(attempt::attempt(self, call, &candidate, shown, &acceptance))
                .await;
            let outcome = result.as_ref().map_or_else(Failure::kind, |_| "success");
            metrics::requests::attempt(&candidate.endpoint.labels, outcome);
            let failure = match result {
                Ok(response) => {
                    // A provider the client forced (`provider.order`) is not the conversation's.
                    if let (Some(session), None) = (session, &call.preferences.order) {
                        self.sticky.remember(session, &candidate.model.id, provider);
                    }
                    return Ok(response);
                }
                Err(failure) => failure,
            };
            span.attempt_failed(&failure);
            let charged =
                accepted::charge(call, &candidate, &failure, &acceptance, self.fee_percent);
            let retry = failover::record_failure(
                &mut trace, &call.tab, &candidate, &failure, started, charged,
            );
            last_failure = Some(failure);
            if !retry {
                break;
            }
        }
        Err(failover::exhausted(&call.tab, last_failure, trace, call.debug_routing).await)
    }

    /// The current version of `provider`'s adapter (or its canary, for the canary's share).
    fn adapter(&self, provider: &Provider) -> Result<Arc<ProviderPlugin>, Failure> {
        self.plugins.provider(&provider.plugin).ok_or_else(|| {
            PluginFault::contract(&provider.plugin, "is not loaded (removed at runtime?)").into()
        })
    }
}
