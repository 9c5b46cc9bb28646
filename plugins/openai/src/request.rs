//! Builds the upstream Chat Completions or embeddings request from a canonical request.

use switchyard_sdk::chat_completions::{reasoning_budget, request_body};
use switchyard_sdk::provider::*;

use crate::options::Options;

/// Builds the upstream request: the canonical body with the upstream model, OpenRouter-only
/// fields removed, streaming switched on or off, sent to `<base_url>/<path>` without the
/// credential.
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
    reasoning_budget(
        reasoning.as_ref(),
        options.reasoning_budget_field.as_deref(),
        &mut body,
    )?;
    json_post(
        join_url(&endpoint.base_url, &options.path),
        &body,
        options.headers,
        options.credential,
    )
}

/// Builds the upstream embeddings request: the canonical body with the upstream model, sent to
/// `<base_url>/<embeddings_path>` without the credential.
pub fn build_embeddings(
    mut request: EmbeddingsRequest,
    endpoint: &EndpointSettings,
) -> Result<HttpRequest, PluginError> {
    let options = Options::parse(endpoint)?;
    request.model = endpoint.upstream_model.clone();
    // Upstreams answer in floats when not asked otherwise; the host encodes base64 itself.
    request.extra.remove("encoding_format");
    json_post(
        join_url(&endpoint.base_url, &options.embeddings_path),
        &request,
        options.headers,
        options.credential,
    )
}
