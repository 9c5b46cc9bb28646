//! `build-request` and `describe` of the OpenAI-compatible adapter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_openai::OpenAi;
use switchyard_sdk::provider::*;

fn request(value: Value) -> ChatRequest {
    serde_json::from_value(value).unwrap()
}

/// Builds through the path a component takes: from the request's JSON bytes.
fn build(value: Value, endpoint: EndpointSettings, stream: bool) -> (HttpRequest, Value) {
    let bytes = serde_json::to_vec(&value).unwrap();
    let built = <OpenAi as Provider>::build_request_from_json(&bytes, endpoint, stream).unwrap();
    let body = serde_json::from_slice(&built.body).unwrap();
    (built, body)
}

/// The bytes path passes the messages' content on as the client wrote it, and reads the rest as
/// the typed path does: the two bodies mean the same.
#[test]
fn the_json_path_builds_what_the_typed_path_builds() {
    for stream in [false, true] {
        let typed =
            <OpenAi as Provider>::build_request(request(openrouter_request()), endpoint(), stream)
                .unwrap();
        let (passed, body) = build(openrouter_request(), endpoint(), stream);
        let typed_body: Value = serde_json::from_slice(&typed.body).unwrap();
        assert_eq!(body, typed_body);
        assert_eq!(passed.url, typed.url);
        assert_eq!(passed.headers, typed.headers);
    }
    // Content text goes out byte for byte, escapes as sent.
    let sent = br#"{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \"q\"\n"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]}]}"#;
    let built = <OpenAi as Provider>::build_request_from_json(sent, endpoint(), false).unwrap();
    let text = String::from_utf8(built.body).unwrap();
    assert!(text.contains(r#""content":"caf\u00e9 \"q\"\n""#), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["messages"][1]["tool_calls"][0]["type"], "function");
    assert!(body["messages"][1].get("content").is_none(), "{text}");
}

fn openrouter_request() -> Value {
    json!({
        "model": "openai/gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}
            ]},
            {"role": "assistant", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"x\":1}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"}
        ],
        "temperature": 0.3,
        "stop": ["END"],
        "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}}}],
        "tool_choice": "auto",
        "seed": 7,
        "response_format": {"type": "json_object"},
        "models": ["a", "b"],
        "provider": {"order": ["openai"]},
        "route": "fallback",
        "transforms": ["middle-out"],
        "plugins": [{"id": "web"}],
        "usage": {"include": true},
        "reasoning": {"effort": "high"},
        "anthropic": {"beta": ["prompt-caching-2024-07-31"]},
        "stream": true,
        "stream_options": {"include_usage": false, "something": 1}
    })
}

#[test]
fn describe_names_the_adapter() {
    let descriptor = <OpenAi as Provider>::describe();
    assert_eq!(descriptor.name, "openai");
    assert_eq!(descriptor.version, "0.1.0");
    assert_eq!(descriptor.allowed_hosts, vec!["api.openai.com".to_owned()]);
    assert!(descriptor.capabilities.streaming && descriptor.capabilities.tools);
    for parameter in [
        "temperature",
        "stop",
        "tools",
        "tool_choice",
        "max_tokens",
        "response_format",
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
fn non_streamed_request_passes_through_without_openrouter_fields() {
    let (built, body) = build(openrouter_request(), endpoint(), false);
    assert_eq!(built.method, "POST");
    assert_eq!(built.url, "https://api.openai.com/v1/chat/completions");
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    assert_eq!(
        header(&built.headers, "content-type"),
        Some("application/json")
    );
    assert!(header(&built.headers, "authorization").is_none());
    assert_eq!(body["model"], "gpt-4o-mini");
    for dropped in [
        "models",
        "provider",
        "route",
        "transforms",
        "plugins",
        "usage",
        "reasoning",
        "anthropic",
        "stream",
        "stream_options",
    ] {
        assert!(body.get(dropped).is_none(), "{dropped} was sent");
    }
    assert_eq!(body["reasoning_effort"], "high");
    // Everything else passes through untouched.
    let original = openrouter_request();
    for kept in [
        "messages",
        "temperature",
        "stop",
        "tools",
        "tool_choice",
        "seed",
        "response_format",
    ] {
        assert_eq!(body[kept], original[kept], "{kept}");
    }
}

#[test]
fn streamed_request_asks_for_usage_and_keeps_other_stream_options() {
    let endpoint = endpoint_with("http://127.0.0.1:1234/scenario/v1/", "llama", &[]);
    let (built, body) = build(openrouter_request(), endpoint, true);
    assert_eq!(
        built.url,
        "http://127.0.0.1:1234/scenario/v1/chat/completions"
    );
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["stream_options"],
        json!({"include_usage": true, "something": 1})
    );
    assert_eq!(body["model"], "llama");
}

#[test]
fn reasoning_effort_set_by_the_client_wins_and_disabled_reasoning_is_dropped() {
    let mut value = openrouter_request();
    value["reasoning_effort"] = json!("low");
    let (_, body) = build(value, endpoint(), false);
    assert_eq!(body["reasoning_effort"], "low");
    let mut value = openrouter_request();
    value["reasoning"] = json!({"effort": "high", "enabled": false});
    let (_, body) = build(value, endpoint(), false);
    assert!(body.get("reasoning_effort").is_none());
}

#[test]
fn options_change_credential_path_headers_and_token_field() {
    let endpoint = endpoint_with(
        "https://example.openai.azure.com/openai/deployments/d",
        "gpt-4o",
        &[
            ("api_key_header", "api-key"),
            ("path", "chat/completions?api-version=2024-10-21"),
            ("header.OpenAI-Organization", "org-1"),
            ("include_usage", "false"),
            ("max_tokens_field", "max_completion_tokens"),
        ],
    );
    let mut value = openrouter_request();
    value["max_tokens"] = json!(100);
    let (built, body) = build(value, endpoint, true);
    assert_eq!(
        built.url,
        "https://example.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21"
    );
    assert!(matches!(&built.credential, CredentialPlacement::Header(name) if name == "api-key"));
    assert_eq!(header(&built.headers, "openai-organization"), Some("org-1"));
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["stream_options"],
        json!({"include_usage": false, "something": 1})
    );
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["max_completion_tokens"], 100);

    let none = endpoint_with("http://localhost:11434/v1", "llama3", &[("auth", "none")]);
    let (built, _) = build(openrouter_request(), none, false);
    assert!(matches!(built.credential, CredentialPlacement::None));
    let query = endpoint_with("https://x.example/v1", "m", &[("api_key_query", "key")]);
    let (built, _) = build(openrouter_request(), query, false);
    assert!(matches!(&built.credential, CredentialPlacement::Query(name) if name == "key"));
}

#[test]
fn invalid_option_values_are_internal_errors() {
    for (key, value) in [
        ("auth", "basic"),
        ("include_usage", "yes"),
        ("max_tokens_field", "tokens"),
        ("api_key_header", " "),
        ("max_token_field", "max_tokens"),
    ] {
        let endpoint = endpoint_with("https://api.openai.com/v1", "m", &[(key, value)]);
        let result =
            <OpenAi as Provider>::build_request(request(openrouter_request()), endpoint, false);
        assert!(matches!(result, Err(PluginError::Internal(message)) if message.contains(key)));
    }
}
