//! Builds the upstream Chat Completions request for an Azure deployment.

use serde_json::{Map, Value, json};
use switchyard_sdk::provider::*;

use crate::options::Options;

/// OpenRouter request fields that OpenAI-compatible upstreams reject; removed before sending.
const OPENROUTER_ONLY: &[&str] = &[
    "models",
    "provider",
    "route",
    "transforms",
    "plugins",
    "usage",
    "reasoning",
];

/// Builds the upstream request: the canonical body with the deployment as `model`,
/// OpenRouter-only fields removed, streaming switched on or off, sent to the deployment URL
/// without the credential.
pub fn build(
    request: ChatRequest,
    endpoint: &EndpointSettings,
    stream: bool,
) -> Result<HttpRequest, PluginError> {
    let options = Options::parse(endpoint)?;
    let mut body = match serde_json::to_value(&request) {
        Ok(Value::Object(body)) => body,
        Ok(_) | Err(_) => {
            return Err(PluginError::Internal(
                "cannot serialise the chat request".to_owned(),
            ));
        }
    };
    body.insert(
        "model".to_owned(),
        Value::String(endpoint.upstream_model.clone()),
    );
    map_reasoning(&mut body);
    for field in OPENROUTER_ONLY {
        body.remove(*field);
    }
    set_streaming(&mut body, stream, options.include_usage);
    if let Some(field) = &options.max_tokens_field {
        let limit = request.output_token_limit();
        body.remove("max_tokens");
        body.remove("max_completion_tokens");
        if let Some(limit) = limit {
            body.insert(field.clone(), json!(limit));
        }
    }
    json_post(
        deployment_url(endpoint, &options.api_version),
        &body,
        options.headers,
        options.credential,
    )
}

/// OpenRouter's `reasoning: {effort}` becomes OpenAI's `reasoning_effort`, unless the client set
/// `reasoning_effort` itself or disabled reasoning (`enabled: false`).
fn map_reasoning(body: &mut Map<String, Value>) {
    let Some(reasoning) = body.get("reasoning") else {
        return;
    };
    if body.contains_key("reasoning_effort")
        || reasoning.get("enabled").and_then(Value::as_bool) == Some(false)
    {
        return;
    }
    if let Some(effort) = reasoning.get("effort").and_then(Value::as_str) {
        let effort = effort.to_owned();
        body.insert("reasoning_effort".to_owned(), Value::String(effort));
    }
}

/// Streaming on: `stream: true` and `stream_options.include_usage` (keeping other stream
/// options). Streaming off: neither field, since OpenAI rejects `stream_options` without
/// `stream`.
fn set_streaming(body: &mut Map<String, Value>, stream: bool, include_usage: bool) {
    if !stream {
        body.remove("stream");
        body.remove("stream_options");
        return;
    }
    body.insert("stream".to_owned(), Value::Bool(true));
    if include_usage {
        let mut stream_options = match body.remove("stream_options") {
            Some(Value::Object(options)) => options,
            _ => Map::new(),
        };
        stream_options.insert("include_usage".to_owned(), Value::Bool(true));
        body.insert("stream_options".to_owned(), Value::Object(stream_options));
    }
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
