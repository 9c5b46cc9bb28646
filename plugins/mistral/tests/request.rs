//! `build-request`, `describe` and error mapping of the Mistral adapter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_mistral::Mistral;
use switchyard_sdk::provider::*;

fn build_with(
    value: Value,
    endpoint: EndpointSettings,
    stream: bool,
) -> Result<(HttpRequest, Value), PluginError> {
    let request: ChatRequest = serde_json::from_value(value).unwrap();
    let built = <Mistral as Provider>::build_request(request, endpoint, stream)?;
    let body = serde_json::from_slice(&built.body).unwrap();
    Ok((built, body))
}

#[test]
fn describe_names_the_adapter() {
    let descriptor = <Mistral as Provider>::describe();
    assert_eq!(descriptor.name, "mistral");
    assert_eq!(descriptor.allowed_hosts, vec!["api.mistral.ai".to_owned()]);
    for parameter in [
        "temperature",
        "top_p",
        "stop",
        "seed",
        "tools",
        "tool_choice",
        "response_format",
        "max_completion_tokens",
    ] {
        assert!(
            descriptor
                .capabilities
                .supported_parameters
                .iter()
                .any(|p| p == parameter),
            "{parameter}"
        );
    }
}

#[test]
fn body_is_reduced_to_what_mistral_accepts() {
    let request = json!({
        "model": "mistralai/mistral-small",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?", "cache_control": {"type": "ephemeral"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
            ]},
            {"role": "assistant", "content": null, "reasoning": "hmm", "tool_calls": [
                {"id": "call_abc123", "type": "function", "function": {"name": "look", "arguments": "{}"}},
                {"id": "gSIMJiOkT", "type": "function", "function": {"name": "look", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_abc123", "content": "a cat"},
            {"role": "tool", "tool_call_id": "gSIMJiOkT", "content": "a dog"}
        ],
        "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
        "tool_choice": "required", "parallel_tool_calls": false,
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}},
        "temperature": 0.1, "top_p": 0.5, "stop": ["x"], "seed": 42, "max_completion_tokens": 100,
        "presence_penalty": 0.3, "frequency_penalty": 0.4,
        "reasoning": {"effort": "high"}, "provider": {"order": ["x"]}, "models": ["a"], "user": "u1",
        "stream_options": {"include_usage": true}, "logit_bias": {"1": 2}
    });
    let (built, body) = build_with(request, endpoint(), true).unwrap();
    assert_eq!(built.url, "https://api.mistral.ai/v1/chat/completions");
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    let mapped = body["messages"][2]["tool_calls"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(mapped.len(), 9);
    assert!(mapped.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(
        body,
        json!({
            "model": "mistral-small-latest",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": "https://example.com/a.png"},
                    {"type": "image_url", "image_url": "data:image/png;base64,AAAA"}
                ]},
                {"role": "assistant", "tool_calls": [
                    {"id": mapped, "type": "function", "function": {"name": "look", "arguments": "{}"}},
                    {"id": "gSIMJiOkT", "type": "function", "function": {"name": "look", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "a cat", "tool_call_id": mapped},
                {"role": "tool", "content": "a dog", "tool_call_id": "gSIMJiOkT"}
            ],
            "temperature": 0.1, "top_p": 0.5, "stop": ["x"],
            "presence_penalty": 0.3, "frequency_penalty": 0.4,
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}},
            "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
            "parallel_tool_calls": false, "max_tokens": 100, "random_seed": 42,
            "prompt_mode": "reasoning",
            "tool_choice": "any", "stream": true
        })
    );
    let (_, body) = build_with(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": true}),
        endpoint(),
        false,
    )
    .unwrap();
    assert!(body.get("stream").is_none());
}

#[test]
fn unknown_parts_and_options_are_refused() {
    assert!(matches!(
        build_with(
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
            endpoint(),
            false
        ),
        Err(PluginError::InvalidRequest(_))
    ));
    let endpoint = endpoint_with("https://api.mistral.ai/v1", "m", &[("api_version", "1")]);
    assert!(matches!(
        build_with(json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}), endpoint, false),
        Err(PluginError::Internal(m)) if m.contains("api_version")
    ));
}

fn error(status: u16, headers: &[(&str, &str)], body: &str) -> PluginError {
    <Mistral as Provider>::parse_error(http(status, headers, body.as_bytes()))
}

#[test]
fn errors_map_to_variants() {
    assert!(matches!(
        error(
            429,
            &[("retry-after", "1")],
            r#"{"message":"Requests rate limit exceeded"}"#
        ),
        PluginError::RateLimited(RateLimit {
            retry_after_ms: Some(1000),
            ..
        })
    ));
    assert!(matches!(
        error(401, &[], r#"{"message":"Unauthorized","request_id":"x"}"#),
        PluginError::Auth(_)
    ));
    assert!(matches!(
        error(422, &[], r#"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","foo"],"msg":"Extra inputs are not permitted"}]},"type":"invalid_request_error"}"#),
        PluginError::InvalidRequest(m) if m.contains("Extra inputs")
    ));
    assert!(matches!(
        error(
            400,
            &[],
            r#"{"object":"error","message":"Prompt contains 40000 tokens, too large for model with 32768 maximum context length","type":"invalid_request_error"}"#
        ),
        PluginError::ContextLengthExceeded(_)
    ));
    assert!(matches!(
        error(503, &[], "<html>"),
        PluginError::Overloaded(_)
    ));
    assert!(matches!(
        error(500, &[], "oops"),
        PluginError::UpstreamUnavailable(_)
    ));
    for body in [&b"<html>"[..], b"{\"choices\":", b"{}", b"\xff"] {
        assert!(matches!(
            parse_ok(body),
            Err(PluginError::UpstreamUnavailable(_))
        ));
    }
    assert!(matches!(
        parse_ok(br#"{"object":"error","message":"Prompt contains too many tokens","type":"invalid_request_error"}"#),
        Err(PluginError::ContextLengthExceeded(_))
    ));
    for event in ["<html>", "[]", r#"{"choices":5}"#] {
        assert!(
            matches!(
                replay(vec![data(event)]).error,
                Some(PluginError::UpstreamUnavailable(_))
            ),
            "{event}"
        );
    }
}

#[test]
fn reasoning_selects_the_reasoning_prompt_mode_unless_disabled_or_chosen() {
    let body = |extra: Value| {
        let mut request = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        if let (Some(request), Some(extra)) = (request.as_object_mut(), extra.as_object()) {
            request.extend(extra.clone());
        }
        build_with(request, endpoint(), false).unwrap().1
    };
    assert_eq!(
        body(json!({"reasoning": {"effort": "high"}}))["prompt_mode"],
        "reasoning"
    );
    assert!(
        body(json!({"reasoning": {"enabled": false}}))
            .get("prompt_mode")
            .is_none()
    );
    assert!(
        body(json!({"reasoning": {"effort": "none"}}))
            .get("prompt_mode")
            .is_none()
    );
    assert!(body(json!({})).get("prompt_mode").is_none());
    assert_eq!(
        body(json!({"reasoning": {}, "prompt_mode": null}))["prompt_mode"],
        "reasoning"
    );
}
