//! The upstream request body in the Chat Completions format, from a canonical request.

use serde_json::{Map, Value, json};

use crate::openai::{ANTHROPIC_EXTENSION, ChatRequest};
use crate::responses::RESPONSES_EXTENSION;

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
/// fields and the Anthropic and Responses extensions removed (`reasoning` mapped to `reasoning_effort`), streaming switched on or off
/// (asking for usage in the stream when `include_usage`), and the output token limit sent under
/// `max_tokens_field` only, when given. Stays typed, so it is serialised once, straight to bytes.
/// Takes the request by value and edits it in place: the adapter parsed it for this call alone,
/// so no deep copy of the conversation is made (one pass over the body fewer).
pub fn request_body(
    request: ChatRequest,
    upstream_model: &str,
    stream: bool,
    include_usage: bool,
    max_tokens_field: Option<&str>,
) -> ChatRequest {
    let mut body = request;
    body.model = upstream_model.to_owned();
    map_reasoning(&mut body.extra);
    for field in OPENROUTER_ONLY {
        body.extra.remove(*field);
    }
    body.extra.remove(ANTHROPIC_EXTENSION);
    body.extra.remove(RESPONSES_EXTENSION);
    set_streaming(&mut body, stream, include_usage);
    if let Some(field) = max_tokens_field {
        let limit = body.output_token_limit();
        body.max_tokens = None;
        body.max_completion_tokens = None;
        match (field, limit) {
            (_, None) => {}
            ("max_tokens", Some(limit)) => body.max_tokens = Some(limit),
            ("max_completion_tokens", Some(limit)) => body.max_completion_tokens = Some(limit),
            (field, Some(limit)) => {
                body.extra.insert(field.to_owned(), json!(limit));
            }
        }
    }
    body
}

/// OpenRouter's `reasoning: {effort}` becomes OpenAI's `reasoning_effort`, unless the client set
/// `reasoning_effort` itself or disabled reasoning (`enabled: false`).
fn map_reasoning(extra: &mut Map<String, Value>) {
    let Some(reasoning) = extra.get("reasoning") else {
        return;
    };
    if extra.contains_key("reasoning_effort")
        || reasoning.get("enabled").and_then(Value::as_bool) == Some(false)
    {
        return;
    }
    if let Some(effort) = reasoning.get("effort").and_then(Value::as_str) {
        let effort = effort.to_owned();
        extra.insert("reasoning_effort".to_owned(), Value::String(effort));
    }
}

/// Streaming on: `stream: true` and `stream_options.include_usage` (keeping other stream
/// options). Streaming off: neither field, since OpenAI rejects `stream_options` without
/// `stream`.
fn set_streaming(body: &mut ChatRequest, stream: bool, include_usage: bool) {
    if !stream {
        body.stream = None;
        body.extra.remove("stream_options");
        return;
    }
    body.stream = Some(true);
    if include_usage {
        let mut stream_options = match body.extra.remove("stream_options") {
            Some(Value::Object(options)) => options,
            _ => Map::new(),
        };
        stream_options.insert("include_usage".to_owned(), Value::Bool(true));
        body.extra
            .insert("stream_options".to_owned(), Value::Object(stream_options));
    }
}
