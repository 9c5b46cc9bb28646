//! The upstream request body in the Chat Completions format, from a canonical request.

use serde_json::{Map, Value, json};

use crate::openai::{ANTHROPIC_EXTENSION, ChatRequest};
use crate::provider::PluginError;
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
pub fn request_body<M>(
    request: ChatRequest<M>,
    upstream_model: &str,
    stream: bool,
    include_usage: bool,
    max_tokens_field: Option<&str>,
) -> ChatRequest<M> {
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

/// OpenRouter's `reasoning.max_tokens` (a thinking budget) for a Chat Completions upstream: sent
/// in `body` as the top-level `field` the provider names its budget by (e.g. `thinking_budget`),
/// or, without one, refused by name: OpenAI's API takes `reasoning_effort`, not a budget.
/// Nothing to do without a budget or with reasoning disabled (`enabled: false`). `reasoning` is
/// the client's `reasoning` object, taken before [`request_body`] consumed the request.
pub fn reasoning_budget<M>(
    reasoning: Option<&Value>,
    field: Option<&str>,
    body: &mut ChatRequest<M>,
) -> Result<(), PluginError> {
    let Some(reasoning) = reasoning else {
        return Ok(());
    };
    let Some(budget) = reasoning.get("max_tokens").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    if reasoning.get("enabled").and_then(Value::as_bool) == Some(false) {
        return Ok(());
    }
    match field {
        Some(field) => {
            body.extra.insert(field.to_owned(), budget.clone());
            Ok(())
        }
        None => Err(PluginError::InvalidRequest(
            "`reasoning.max_tokens` is not supported by this upstream: it takes a reasoning \
             effort, not a token budget; send `reasoning.effort` instead"
                .to_owned(),
        )),
    }
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
fn set_streaming<M>(body: &mut ChatRequest<M>, stream: bool, include_usage: bool) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(reasoning: Value) -> ChatRequest {
        serde_json::from_value(json!({"model": "m", "messages": [], "reasoning": reasoning}))
            .expect("a request")
    }

    #[test]
    fn a_reasoning_budget_goes_under_the_providers_field_or_is_refused_by_name() {
        let asked = request(json!({"max_tokens": 2048}));
        let mut body = request_body(asked.clone(), "up", false, false, None);
        let reasoning = asked.extra.get("reasoning");
        reasoning_budget(reasoning, Some("thinking_budget"), &mut body).expect("mapped");
        assert_eq!(body.extra["thinking_budget"], json!(2048));
        assert!(!body.extra.contains_key("reasoning"));
        match reasoning_budget(reasoning, None, &mut body) {
            Err(PluginError::InvalidRequest(message)) => {
                assert!(message.contains("`reasoning.max_tokens`"), "{message}");
            }
            other => panic!("refused, not {other:?}"),
        }
        for fine in [
            json!({"effort": "high"}),
            json!({"max_tokens": 10, "enabled": false}),
        ] {
            let asked = request(fine);
            let mut body = request_body(asked.clone(), "up", false, false, None);
            reasoning_budget(asked.extra.get("reasoning"), None, &mut body)
                .expect("nothing to refuse");
        }
    }
}
