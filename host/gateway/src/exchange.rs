//! One request sent to one endpoint and the helpers both bodies ([`complete`](super::complete),
//! [`stream`](super::stream)) share: the adapter builds the request in a fresh instance, it is
//! sent, and an unsuccessful answer is read and classified by the adapter; the response headers
//! that name the generation and the adapter version; the outcome counted for the canary.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use axum::response::Response;
use tokio::time::Instant;

use super::accepted::Acceptance;
use super::generation::Generation;
use super::scrub;
use super::searched;
use super::{ChatCall, Gateway};
use switchyard_catalog::Endpoint;
use switchyard_catalog::credentials::ServedBy;
use switchyard_domain::failure::Failure;
use switchyard_domain::plugin_types::ProviderError;
use switchyard_plugin_runtime::{PluginRegistry, ProviderInstance, ProviderPlugin, TenantScope};

/// Counts a request's outcome (`None`: it succeeded) for the adapter version's canary
/// judgement; failures that say nothing about the adapter (see [`Failure::may_blame_plugin`])
/// are not counted.
pub(super) fn record_outcome(
    plugins: &PluginRegistry,
    plugin: &ProviderPlugin,
    failure: Option<&Failure>,
) {
    let ok = match failure {
        None => true,
        Some(failure) if failure.may_blame_plugin() => false,
        Some(_) => return,
    };
    plugins.record_outcome(plugin.name(), plugin.state(), ok);
}

/// A request the upstream accepted (2xx head received), with the instance that built it.
pub(super) struct Exchange {
    /// The adapter instance, for translating the answer.
    pub instance: ProviderInstance,
    /// The upstream's response; its body is not read yet.
    pub response: reqwest::Response,
    /// When the attempt started.
    pub started: Instant,
    /// When the whole attempt must be over.
    pub deadline: Instant,
    /// Time from the start to the response head.
    pub head: Duration,
    /// The credential that served, when it is named (pooled, or the account's own).
    pub served: Option<ServedBy>,
}

/// Builds the request in an instance of the request's tenant and sends it. An unsuccessful answer is read and
/// classified by the adapter, and is the attempt's failure. `acceptance` tells whether the
/// upstream accepted the request ([`super::accepted`]).
pub(super) async fn exchange(
    gateway: &Gateway,
    call: &ChatCall,
    endpoint: &Endpoint,
    plugin: &Arc<ProviderPlugin>,
    stream: bool,
    acceptance: &Acceptance,
) -> Result<Exchange, Failure> {
    let provider = &endpoint.provider;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(provider.timeouts.total_ms);
    let scope = TenantScope::of(call.tab.key_and_account().map(|(_, account)| account));
    let mut instance = plugin.checkout(&scope).await?;
    let body = crate::transform_hooks::upstream_body(call);
    let body = match call.offered_search && searched::serves(endpoint, plugin) {
        true => searched::with_search(&body).unwrap_or(body),
        false => body,
    };
    let request = instance
        .build_request(&body, &endpoint.settings, stream)
        .await?
        .map_err(|error| provider_failure(endpoint, error))?;
    let own = call.tab.byok_for(&provider.name);
    let mut response = gateway
        .upstream
        .send(provider, plugin, request, deadline, acceptance, own.clone())
        .await?;
    let served = response.extensions().get::<ServedBy>().cloned();
    let head = started.elapsed();
    let status = response.status().as_u16();
    acceptance.answered(status);
    if !(200..300).contains(&status) {
        let headers = header_pairs(response.headers());
        let body = gateway
            .upstream
            .read_body(provider, &mut response, deadline)
            .await?;
        let body = scrub::body(provider, own.as_ref().map(|own| own.secret()), body);
        let error = instance.parse_error(status, headers, body).await?;
        let error = scrub::status(provider, status, error);
        return Err(provider_failure(endpoint, error));
    }
    Ok(Exchange {
        instance,
        response,
        started,
        deadline,
        head,
        served,
    })
}

/// The failure for an error the adapter classified, its message scrubbed ([`scrub::message`]).
pub(super) fn provider_failure(endpoint: &Endpoint, error: ProviderError) -> Failure {
    Failure::Provider {
        provider: endpoint.provider.name.clone(),
        error: scrub::message(&endpoint.provider, error),
    }
}

/// Response headers as name/value pairs for the adapter.
pub(super) fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

/// Adds `X-Generation-Id`, and `X-Switchyard-Adapter` naming the adapter version that served
/// (`name@version+digest`), so every response is attributable to exactly one plugin version.
pub(super) fn with_headers(
    mut response: Response,
    generation: &Generation,
    plugin: &ProviderPlugin,
) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&generation.id) {
        headers.insert("x-generation-id", value);
    }
    let state = plugin.state();
    let adapter = format!(
        "{}@{}+{}",
        plugin.name(),
        plugin.descriptor().version,
        state.digest.get(..12).unwrap_or(&state.digest)
    );
    if let Ok(value) = HeaderValue::from_str(&adapter) {
        headers.insert("x-switchyard-adapter", value);
    }
    response
}
