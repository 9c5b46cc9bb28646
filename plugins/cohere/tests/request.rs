//! `build-request` and `describe` of the Cohere adapter: exact upstream JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_cohere::Cohere;
use switchyard_sdk::provider::*;

fn build_with(
    value: Value,
    endpoint: EndpointSettings,
    stream: bool,
) -> Result<(HttpRequest, Value), PluginError> {
    let request: ChatRequest = serde_json::from_value(value).unwrap();
    let built = <Cohere as Provider>::build_request(request, endpoint, stream)?;
    let body = serde_json::from_slice(&built.body).unwrap();
    Ok((built, body))
}

fn build(value: Value) -> Value {
    build_with(value, endpoint(), false).unwrap().1
}

fn build_err(value: Value) -> PluginError {
    build_with(value, endpoint(), false).unwrap_err()
}

#[test]
fn describe_names_the_adapter() {
    let descriptor = <Cohere as Provider>::describe();
    assert_eq!(descriptor.name, "cohere");
    assert!(
        descriptor
            .allowed_hosts
            .contains(&"api.cohere.com".to_owned())
    );
    assert!(descriptor.capabilities.streaming && descriptor.capabilities.tools);
    for parameter in [
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "seed",
        "tools",
        "tool_choice",
        "response_format",
        "reasoning",
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
fn url_credential_and_full_conversation() {
    let request = json!({
        "model": "cohere/command-a",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}
            ]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "21C"}
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "temperature": 0.2, "top_p": 0.8, "top_k": 10, "seed": 3, "stop": "END",
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "max_completion_tokens": 300
    });
    let (built, body) = build_with(request, endpoint(), true).unwrap();
    assert_eq!(built.url, "https://api.cohere.com/v2/chat");
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    assert!(header(&built.headers, "authorization").is_none());
    assert_eq!(
        body,
        json!({
            "model": "command-a-03-2025",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}
                ]},
                {"role": "assistant", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "21C"}
            ],
            "max_tokens": 300, "temperature": 0.2, "p": 0.8, "k": 10, "seed": 3,
            "presence_penalty": 0.1, "frequency_penalty": 0.2, "stop_sequences": ["END"],
            "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "stream": true
        })
    );
}

#[test]
fn tool_choice_variants() {
    let tools = json!([
        {"type": "function", "function": {"name": "a"}},
        {"type": "function", "function": {"name": "b"}}
    ]);
    let with = |choice: Value| {
        build(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": choice}),
        )
    };
    assert!(with(json!("auto")).get("tool_choice").is_none());
    assert_eq!(with(json!("none"))["tool_choice"], "NONE");
    assert_eq!(with(json!("required"))["tool_choice"], "REQUIRED");
    let named = with(json!({"type": "function", "function": {"name": "b"}}));
    assert_eq!(named["tool_choice"], "REQUIRED");
    assert_eq!(
        named["tools"],
        json!([{"type": "function", "function": {"name": "b", "parameters": {"type": "object", "properties": {}}}}])
    );
    assert!(matches!(
        build_err(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": {"type": "function", "function": {"name": "zzz"}}})
        ),
        PluginError::InvalidRequest(_)
    ));
}

#[test]
fn response_format_and_reasoning() {
    let base = || json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let mut request = base();
    request["response_format"] = json!({"type": "json_object"});
    assert_eq!(
        build(request)["response_format"],
        json!({"type": "json_object"})
    );
    let mut request = base();
    request["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}});
    assert_eq!(
        build(request)["response_format"],
        json!({"type": "json_object", "json_schema": {"type": "object"}})
    );
    for (reasoning, expected) in [
        (
            json!({"max_tokens": 2000}),
            json!({"type": "enabled", "token_budget": 2000}),
        ),
        (json!({"effort": "high"}), json!({"type": "enabled"})),
        (json!({"effort": "none"}), json!({"type": "disabled"})),
        (json!({"enabled": false}), json!({"type": "disabled"})),
    ] {
        let mut request = base();
        request["reasoning"] = reasoning;
        assert_eq!(build(request)["thinking"], expected);
    }
}

#[test]
fn invalid_input_is_refused() {
    assert!(matches!(
        build_err(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]})),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        build_err(
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}]})
        ),
        PluginError::InvalidRequest(_)
    ));
    let endpoint = endpoint_with("https://api.cohere.com/v2", "m", &[("auth", "basic")]);
    assert!(matches!(
        build_with(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}),
            endpoint,
            false
        ),
        Err(PluginError::Internal(_))
    ));
}
