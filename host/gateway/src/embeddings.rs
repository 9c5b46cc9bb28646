//! The embeddings request path: the same routing, failover, pricing and accounting as chat,
//! through the adapters' embeddings functions (contract 0.4.0). Endpoints whose adapter does
//! not serve embeddings are left out before routing's order is tried.

use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::accepted::{self, Acceptance, Sent};
use super::exchange::{header_pairs, with_headers};
use super::generation::Generation;
use super::{Gateway, failover};
use crate::served_spans as served;
use switchyard_accounting::tab::{Charge, Tab};
use switchyard_accounting::worst_case::worst_case_input_hold;
use switchyard_catalog::Model;
use switchyard_catalog::credentials::ServedBy;
use switchyard_domain::config::{EMBEDDINGS_MODALITY, TEXT_MODALITY};
use switchyard_domain::error::DomainError;
use switchyard_domain::failure::Failure;
use switchyard_domain::plugin_fault::PluginFault;
use switchyard_domain::pricing::estimate::estimated_usage;
use switchyard_domain::pricing::{cost, usage_json};
use switchyard_domain::routing_trace::RoutingTrace;
use switchyard_plugin_runtime::output::check_embeddings;
use switchyard_plugin_runtime::{ProviderPlugin, TenantScope};
use switchyard_routing::capabilities::Needs;
use switchyard_routing::context::ContextNeed;
use switchyard_routing::preferences::ProviderPreferences;
use switchyard_routing::{self as routing, Candidate, RouteRequest};

/// A validated embeddings request.
#[derive(Debug)]
pub struct EmbeddingsCall {
    /// The canonical request passed to adapters (without `encoding_format`, `provider`,
    /// `models`).
    pub body: Bytes,
    /// Model ids to try, in order.
    pub models: Vec<String>,
    /// The request's `provider` preferences.
    pub preferences: ProviderPreferences,
    /// Whether the client asked for the routing trace.
    pub debug_routing: bool,
    /// Vectors as base64 strings (little-endian f32) instead of numbers.
    pub base64: bool,
    /// Its accounting.
    pub tab: Tab,
    /// What the request's headers say about the response cache.
    pub cache: crate::cache::Directives,
}

impl Gateway {
    /// Plans the candidates of an embeddings request and tries them in order.
    pub(super) async fn route_and_embed(
        &self,
        call: &EmbeddingsCall,
    ) -> Result<Response, DomainError> {
        let route = RouteRequest {
            models: &call.models,
            preferences: &call.preferences,
            sent_parameters: &[],
            needs: &Needs::nothing(),
            context: ContextNeed::default(),
            estimated_prompt_tokens: (call.body.len() / 4) as u64,
            max_tokens: Some(0),
            seed: rand::random::<u64>(),
            key_policy: call.tab.routing_policy(),
            session: None,
            shadow: &self.shadow,
        };
        let plan = routing::plan(&self.catalog, &self.plugins, &self.routing, &route);
        let plan = served::route(route.models.first().map_or("", String::as_str), plan).await?;
        let mut trace = plan.trace;
        if let Some(model) = plan
            .candidates
            .iter()
            .map(|c| &c.model)
            .find(|model| !outputs(model, EMBEDDINGS_MODALITY))
        {
            return Err(DomainError::NotAnEmbeddingModel {
                model: model.id.clone(),
            });
        }
        let mut candidates: Vec<Candidate> = plan
            .candidates
            .into_iter()
            .filter(|candidate| {
                let adapter = self.plugins.provider(&candidate.endpoint.provider.plugin);
                adapter.is_some_and(|adapter| adapter.descriptor().embeddings)
            })
            .collect();
        if candidates.is_empty() {
            return Err(DomainError::NoEmbeddingsAdapter);
        }
        call.tab.admit_candidates(&mut candidates)?;
        let priced = candidates.iter().map(|c| (&*c.model, &*c.endpoint));
        let worst = worst_case_input_hold(call.body.len(), priced, self.fee_percent);
        let models = candidates.iter().map(|c| c.model.id.as_str());
        call.tab.reserve(worst, models).await?;
        let mut last_failure = None;
        for (number, candidate) in (1..).zip(candidates) {
            let started = Instant::now();
            let shown = call.debug_routing.then_some(&trace);
            let span = served::attempt("embeddings", &candidate, number);
            let acceptance = Acceptance::default();
            let attempt = self.embeddings_attempt(call, &candidate, shown, &acceptance);
            let failure = match span.run(attempt).await {
                Ok(response) => return Ok(response),
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

    /// One attempt at one endpoint, recorded against the adapter version; `acceptance` tells
    /// whether the upstream accepted it ([`super::accepted`]).
    async fn embeddings_attempt(
        &self,
        call: &EmbeddingsCall,
        candidate: &Candidate,
        routing: Option<&RoutingTrace>,
        acceptance: &Acceptance,
    ) -> Result<Response, Failure> {
        let plugin = self.adapter(&candidate.endpoint.provider)?;
        let result = self
            .embed(call, candidate, routing, &plugin, acceptance)
            .await;
        self.plugins
            .record_outcome(plugin.name(), plugin.state(), result.is_ok());
        result
    }

    async fn embed(
        &self,
        call: &EmbeddingsCall,
        candidate: &Candidate,
        routing: Option<&RoutingTrace>,
        plugin: &Arc<ProviderPlugin>,
        acceptance: &Acceptance,
    ) -> Result<Response, Failure> {
        let (model, endpoint) = (&candidate.model, &candidate.endpoint);
        let provider = &endpoint.provider;
        let _in_flight = endpoint.stats.start();
        let started = Instant::now();
        let deadline = started + std::time::Duration::from_millis(provider.timeouts.total_ms);
        let provider_failure = |error| Failure::Provider {
            provider: provider.name.clone(),
            error: super::scrub::message(provider, error),
        };

        let scope = TenantScope::of(call.tab.key_and_account().map(|(_, account)| account));
        let mut instance = plugin.checkout(&scope).await?;
        let request = instance
            .build_embeddings_request(&call.body, &endpoint.settings)
            .await?
            .map_err(provider_failure)?;
        let own = call.tab.byok_for(&provider.name);
        let mut response = self
            .upstream
            .send(provider, plugin, request, deadline, acceptance, own.clone())
            .await?;
        let served = response.extensions().get::<ServedBy>().cloned();
        let first_byte = started.elapsed();
        let status = response.status().as_u16();
        acceptance.answered(status);
        let headers = header_pairs(response.headers());
        let body = self
            .upstream
            .read_body(provider, &mut response, deadline)
            .await?;
        if !(200..300).contains(&status) {
            let own = own.as_ref().map(|own| own.secret());
            let body = super::scrub::body(provider, own, body);
            let error = instance.parse_error(status, headers, body).await?;
            return Err(provider_failure(super::scrub::status(
                provider, status, error,
            )));
        }
        let parsed = instance
            .parse_embeddings_response(status, headers, body)
            .await?
            .map_err(provider_failure)?;
        let mut object = check_embeddings(&parsed.body)
            .map_err(|reason| PluginFault::contract(plugin.name(), reason))?;
        if call.base64 {
            encode_base64(&mut object);
        }
        let generation = Generation::new(&model.id, &provider.name);
        object.insert("id".to_owned(), json!(generation.id));
        object.insert("object".to_owned(), json!("list"));
        object.insert("model".to_owned(), json!(generation.model));
        object.insert("provider".to_owned(), json!(generation.provider));
        let usage_estimated = parsed.usage.is_none();
        let usage = parsed.usage.unwrap_or_else(|| {
            tracing::warn!(provider = %provider.name, "upstream reported no embeddings usage; the call is charged an estimate");
            estimated_usage(call.body.len(), 0)
        });
        let cost = cost(&usage, &endpoint.prices, 0, self.fee_percent);
        let cost = call.tab.charged(cost, served.as_ref());
        object.insert(
            "usage".to_owned(),
            embeddings_usage(usage_json(&usage, &cost)),
        );
        if let Some(trace) = routing {
            let credential = served
                .as_ref()
                .and_then(|served| served.credential.as_deref());
            let trace =
                trace.with_success(&model.id, &provider.name, credential, started.elapsed());
            object.insert("routing".to_owned(), trace);
        }
        let charge = Charge {
            id: &generation.id,
            model: &generation.model,
            provider: &generation.provider,
            usage,
            usage_estimated,
            cost,
            latency: first_byte,
            finish_reason: None,
            byok: served.as_ref().is_some_and(|served| served.byok),
            streamed: false,
            cancelled: false,
            cache_hit: false,
        };
        crate::served_spans::served(&charge);
        call.tab.settle(charge).await;
        endpoint
            .stats
            .record_success(first_byte, started.elapsed(), None);
        tracing::debug!(id = %generation.id, model = %model.id, provider = %provider.name, cost = %cost.total, "embeddings served");
        Ok(with_headers(
            Json(Value::Object(object)).into_response(),
            &generation,
            plugin,
        ))
    }
}

impl<'a> From<&'a EmbeddingsCall> for Sent<'a> {
    /// The canonical request the adapters were given, which has no images.
    fn from(call: &'a EmbeddingsCall) -> Self {
        Sent {
            tab: &call.tab,
            body_bytes: call.body.len(),
            images: 0,
        }
    }
}

/// Refuses a chat request whose models include one that only embeds (its output modalities
/// include `embeddings` but not `text`): 400 `not_a_chat_model`, instead of a call upstreams
/// refuse anyway.
pub(super) fn refuse_embedding_only(candidates: &[Candidate]) -> Result<(), DomainError> {
    match candidates
        .iter()
        .map(|c| &c.model)
        .find(|model| outputs(model, EMBEDDINGS_MODALITY) && !outputs(model, TEXT_MODALITY))
    {
        Some(model) => Err(DomainError::NotAChatModel {
            model: model.id.clone(),
        }),
        None => Ok(()),
    }
}

/// Whether `model`'s output modalities include `modality`.
fn outputs(model: &Model, modality: &str) -> bool {
    model
        .definition
        .output_modalities
        .iter()
        .any(|m| m == modality)
}

/// The embeddings usage shape (`prompt_tokens`, `total_tokens`) with the cost fields.
pub(super) fn embeddings_usage(chat_usage: Value) -> Value {
    let mut usage = json!({
        "prompt_tokens": chat_usage["prompt_tokens"],
        "total_tokens": chat_usage["prompt_tokens"],
    });
    for key in ["cost", "cost_details"] {
        if let (Some(value), Some(object)) = (chat_usage.get(key), usage.as_object_mut()) {
            object.insert(key.to_owned(), value.clone());
        }
    }
    usage
}

/// Replaces every vector by the base64 of its little-endian `f32`s, as OpenAI encodes them.
fn encode_base64(list: &mut Map<String, Value>) {
    use base64::Engine as _;
    let Some(Value::Array(data)) = list.get_mut("data") else {
        return;
    };
    for item in data.iter_mut().filter_map(Value::as_object_mut) {
        let Some(Value::Array(vector)) = item.get("embedding") else {
            continue;
        };
        let bytes: Vec<u8> = vector
            .iter()
            .filter_map(Value::as_f64)
            .flat_map(|x| (x as f32).to_le_bytes())
            .collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        item.insert("embedding".to_owned(), Value::String(encoded));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_encoded_as_little_endian_f32_base64() {
        let mut list = json!({"data": [{"embedding": [1.0, -2.5]}]});
        let Some(object) = list.as_object_mut() else {
            panic!("object")
        };
        encode_base64(object);
        // 1.0f32 = 00 00 80 3f, -2.5f32 = 00 00 20 c0
        assert_eq!(list["data"][0]["embedding"], "AACAPwAAIMA=");
    }
}
