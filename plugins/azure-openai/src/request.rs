//! Builds the upstream Chat Completions request for an Azure deployment.

use switchyard_sdk::chat_completions::{reasoning_budget, request_body};
use switchyard_sdk::provider::*;

use crate::options::Options;

/// Builds the upstream request: the canonical body with the deployment as `model`,
/// OpenRouter-only fields removed, streaming switched on or off, sent to the deployment URL
/// without the credential.
pub fn build<M: serde::Serialize>(
    request: ChatRequest<M>,
    endpoint: &EndpointSettings,
    stream: bool,
) -> Result<HttpRequest, PluginError> {
    let options = Options::parse(endpoint)?;
    // The client's `reasoning` is kept for the budget: the request is consumed by the body.
    let reasoning = request.extra.get("reasoning").cloned();
    let mut body = request_body(
        request,
        &endpoint.upstream_model,
        stream,
        options.include_usage,
        options.max_tokens_field.as_deref(),
    );
    reasoning_budget(reasoning.as_ref(), None, &mut body)?;
    json_post(
        deployment_url(endpoint, &options.api_version),
        &body,
        options.headers,
        options.credential,
    )
}

/// `<base_url>/openai/deployments/<deployment>/chat/completions?api-version=<version>`; a base
/// URL that already ends with `/openai` is not doubled.
pub fn deployment_url(endpoint: &EndpointSettings, api_version: &str) -> String {
    let base = endpoint.base_url.trim_end_matches('/');
    let base = base.strip_suffix("/openai").unwrap_or(base);
    let deployment: String = endpoint
        .upstream_model
        .chars()
        .map(|c| {
            if c == '/' || c == '?' || c == '#' {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("{base}/openai/deployments/{deployment}/chat/completions?api-version={api_version}")
}
