//! The upstream request body in the Chat Completions format, from a canonical request.

use serde_json::{Map, Value, json};

use crate::openai::ChatRequest;
use crate::provider::PluginError;

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

/// The canonical request as a Chat Completions body for `upstream_model`: OpenRouter-only
/// fields removed (`reasoning` mapped to `reasoning_effort`), streaming switched on or off
/// (asking for usage in the stream when `include_usage`), and the output token limit sent under
/// `max_tokens_field` only, when given.
pub fn request_body(
    request: &ChatRequest,
    upstream_model: &str,
    stream: bool,
    include_usage: bool,
    max_tokens_field: Option<&str>,
) -> Result<Map<String, Value>, PluginError> {
    let mut body = match serde_json::to_value(request) {
        Ok(Value::Object(body)) => body,
        Ok(_) | Err(_) => {
            return Err(PluginError::Internal(
                "cannot serialise the chat request".to_owned(),
            ));
        }
    };
    body.insert("model".to_owned(), Value::String(upstream_model.to_owned()));
    map_reasoning(&mut body);
    for field in OPENROUTER_ONLY {
        body.remove(*field);
    }
    set_streaming(&mut body, stream, include_usage);
    if let Some(field) = max_tokens_field {
        body.remove("max_tokens");
        body.remove("max_completion_tokens");
        if let Some(limit) = request.output_token_limit() {
            body.insert(field.to_owned(), json!(limit));
        }
    }
    Ok(body)
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
