//! One attempt at one endpoint, the lifecycle both bodies share: the adapter version is looked
//! up, a fresh instance builds the request, it is sent, an unsuccessful answer is classified by
//! the adapter ([`super::exchange`]); then [`complete`](super::complete) or
//! [`stream`](super::stream) reads the answer, and the outcome counts for the adapter version.

use std::sync::Arc;

use axum::http::HeaderValue;
use axum::response::Response;

use super::accepted::Acceptance;
use super::exchange::record_outcome;
use super::searched;
use super::{ChatCall, Gateway, complete, stream};
use switchyard_domain::failure::Failure;
use switchyard_domain::routing_trace::RoutingTrace;
use switchyard_plugin_runtime::{PluginRegistry, ProviderPlugin};
use switchyard_routing::Candidate;

/// Tries `candidate` once, streamed or not as the client asked, and records the outcome against
/// the adapter version. A committed stream records its outcome when it ends. When the adapter
/// version was a canary and it failed before anything reached the client, the same endpoint is
/// tried again with the stable version (the upstream may see the request twice):
/// - it failed by itself ([`Failure::is_adapter_fault`]): a bad canary is judged on its failures
///   but costs no client an error;
/// - it refused the request ([`Failure::caused_by_request`]: its own `build_request` refusal, or
///   the upstream's to the request it built): the refusal counts against the canary when the
///   stable version serves the same request, and is the client's when the stable version
///   refuses it too ([`judge_refusal`]).
pub(super) async fn attempt(
    gateway: &Gateway,
    call: &ChatCall,
    candidate: &Candidate,
    routing: Option<&RoutingTrace>,
    acceptance: &Acceptance,
) -> Result<Response, Failure> {
    let plugin = gateway.adapter(&candidate.endpoint.provider)?;
    crate::transform_hooks::routed(call, candidate).await?;
    let result = attempt_with(gateway, call, candidate, routing, &plugin, acceptance).await;
    let Err(failure) = &result else {
        return result;
    };
    let stable = gateway
        .plugins
        .stable_provider(&candidate.endpoint.provider.plugin)
        .filter(|stable| !Arc::ptr_eq(stable, &plugin));
    let Some(stable) = stable else {
        return result;
    };
    if failure.is_adapter_fault() {
        tracing::warn!(plugin = plugin.name(), canary = %plugin.descriptor().version, error = %failure, "canary failed; retrying on the stable version");
        return attempt_with(gateway, call, candidate, routing, &stable, acceptance).await;
    }
    if failure.caused_by_request() {
        let retried = attempt_with(gateway, call, candidate, routing, &stable, acceptance).await;
        judge_refusal(&gateway.plugins, &plugin, failure, &retried);
        return retried;
    }
    result
}

/// Judges a canary's `refusal` by what the stable version made of the same request: served, it
/// counts against the canary; refused or failed otherwise, it says nothing about the canary.
fn judge_refusal(
    plugins: &PluginRegistry,
    canary: &ProviderPlugin,
    refusal: &Failure,
    stable: &Result<Response, Failure>,
) {
    if stable.is_ok() {
        tracing::warn!(plugin = canary.name(), canary = %canary.descriptor().version, error = %refusal, "canary refused a request the stable version serves");
        plugins.record_outcome(canary.name(), canary.state(), false);
    }
}

/// [`attempt`] with the given adapter version.
async fn attempt_with(
    gateway: &Gateway,
    call: &ChatCall,
    candidate: &Candidate,
    routing: Option<&RoutingTrace>,
    plugin: &Arc<ProviderPlugin>,
    acceptance: &Acceptance,
) -> Result<Response, Failure> {
    let mut result = if call.stream {
        stream::run(gateway, call, candidate, routing, plugin, acceptance).await
    } else {
        complete::run(gateway, call, candidate, routing, plugin, acceptance).await
    };
    if let Ok(response) = &mut result
        && call.offered_search
        && !searched::serves(&candidate.endpoint, plugin)
    {
        response.headers_mut().insert(
            searched::OMITTED_TOOLS,
            HeaderValue::from_static("web_search"),
        );
    }
    match &result {
        Ok(_) if call.stream => {}
        Ok(_) => record_outcome(&gateway.plugins, plugin, None),
        Err(failure) => record_outcome(&gateway.plugins, plugin, Some(failure)),
    }
    result
}
