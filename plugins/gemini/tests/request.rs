//! `build-request` and `describe` of the Gemini adapter: exact upstream JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_gemini::Gemini;
use switchyard_sdk::provider::*;

fn build_with(
    value: Value,
    endpoint: EndpointSettings,
    stream: bool,
) -> Result<(HttpRequest, Value), PluginError> {
    let request: ChatRequest = serde_json::from_value(value).unwrap();
    let built = <Gemini as Provider>::build_request(request, endpoint, stream)?;
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
    let descriptor = <Gemini as Provider>::describe();
    assert_eq!(descriptor.name, "gemini");
    assert_eq!(
        descriptor.allowed_hosts,
        vec!["generativelanguage.googleapis.com".to_owned()]
    );
    assert!(descriptor.capabilities.streaming && descriptor.capabilities.tools);
    for parameter in [
        "max_tokens",
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
fn urls_credential_and_minimal_body() {
    let request = json!({"model": "google/gemini", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"}
    ]});
    let (built, body) = build_with(request.clone(), endpoint(), false).unwrap();
    assert_eq!(built.method, "POST");
    assert_eq!(
        built.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert!(
        matches!(&built.credential, CredentialPlacement::Header(name) if name == "x-goog-api-key")
    );
    assert!(header(&built.headers, "x-goog-api-key").is_none());
    assert_eq!(
        body,
        json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]}]
        })
    );

    let endpoint = endpoint_with(
        "http://127.0.0.1:9/scenario/v1/",
        "models/gemini-2.5-pro",
        &[("auth", "bearer"), ("header.x-goog-user-project", "p1")],
    );
    let (built, body) = build_with(request, endpoint, true).unwrap();
    assert_eq!(
        built.url,
        "http://127.0.0.1:9/scenario/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    );
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    assert_eq!(header(&built.headers, "x-goog-user-project"), Some("p1"));
    // Streaming is chosen by the URL, never by a body field.
    assert!(body.get("stream").is_none());
}

#[test]
fn invalid_options_are_internal_errors() {
    for (key, value) in [("auth", "basic"), ("api_version", "v1")] {
        let endpoint = endpoint_with("https://x", "m", &[(key, value)]);
        let request = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
        assert!(
            matches!(build_with(request, endpoint, false), Err(PluginError::Internal(m)) if m.contains(key))
        );
    }
}

#[test]
fn sampling_limits_and_stop_sequences() {
    let body = build(json!({
        "model": "m", "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.3, "top_p": 0.9, "top_k": 40, "seed": 7,
        "presence_penalty": 0.5, "frequency_penalty": -0.5,
        "max_completion_tokens": 256, "max_tokens": 999, "stop": ["END", ""]
    }));
    assert_eq!(
        body["generationConfig"],
        json!({
            "temperature": 0.3, "topP": 0.9, "topK": 40, "seed": 7,
            "presencePenalty": 0.5, "frequencyPenalty": -0.5,
            "maxOutputTokens": 256, "stopSequences": ["END"]
        })
    );
    let body = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stop": "X", "max_tokens": 5}),
    );
    assert_eq!(
        body["generationConfig"],
        json!({"maxOutputTokens": 5, "stopSequences": ["X"]})
    );
}

#[test]
fn tools_tool_calls_and_tool_results() {
    let body = build(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_0", "content": "{\"temp\":21}"},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "Thanks"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "Get weather",
            "parameters": {"type": "object", "properties": {"city": {"type": ["string", "null"]}},
                           "required": ["city"], "additionalProperties": false, "$schema": "x"}
        }}, {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}],
        "tool_choice": "required"
    }));
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Weather in Paris and Rome?"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}}, "thoughtSignature": "skip_thought_signature_validator"},
                {"functionCall": {"name": "weather", "args": {"city": "Rome"}}, "thoughtSignature": "skip_thought_signature_validator"}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "weather", "response": {"temp": 21}}},
                {"functionResponse": {"name": "weather", "response": {"result": "sunny"}}}
            ]},
            {"role": "user", "parts": [{"text": "Thanks"}]}
        ])
    );
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [
            {"name": "weather", "description": "Get weather", "parameters": {
                "type": "object", "properties": {"city": {"type": "string", "nullable": true}}, "required": ["city"]}},
            {"name": "now"}
        ]}])
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );

    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    for (choice, expected) in [
        (json!("auto"), json!({"mode": "AUTO"})),
        (json!("none"), json!({"mode": "NONE"})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            json!({"mode": "ANY", "allowedFunctionNames": ["f"]}),
        ),
    ] {
        let body = build(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                "tools": tools, "tool_choice": choice}),
        );
        assert_eq!(body["toolConfig"]["functionCallingConfig"], expected);
    }
    assert!(matches!(
        build_err(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": "sometimes"})
        ),
        PluginError::InvalidRequest(_)
    ));
    // A tool result for a call nobody made cannot be named.
    assert!(matches!(
        build_err(json!({"model": "m", "messages": [
            {"role": "user", "content": "x"},
            {"role": "tool", "tool_call_id": "nope", "content": "1"}
        ]})),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        build_err(json!({"model": "m", "messages": [
            {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}
        ]})),
        PluginError::InvalidRequest(_)
    ));
}

#[test]
fn images_become_inline_data_or_file_data() {
    let body = build(
        json!({"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp?size=2", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/photo"}}
        ]}]}),
    );
    assert_eq!(
        body["contents"][0]["parts"],
        json!([
            {"text": "What is this?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.webp?size=2"}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}}
        ])
    );
    for bad in ["data:image/png,notbase64", "ftp://x/y.png"] {
        assert!(matches!(
            build_err(
                json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": bad}}]}]})
            ),
            PluginError::InvalidRequest(_)
        ));
    }
    assert!(matches!(
        build_err(
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]})
        ),
        PluginError::InvalidRequest(_)
    ));
}

#[test]
fn response_format_json_object_and_schema() {
    let body = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_object"}}),
    );
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
    let body = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "strict": true, "schema": {
            "type": "object", "additionalProperties": false,
            "properties": {"tags": {"type": "array", "items": {"type": "string", "examples": ["a"]}}},
            "required": ["tags"]}}}}),
    );
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "application/json", "responseSchema": {
            "type": "object",
            "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
            "required": ["tags"]}})
    );
    let body = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "text"}}),
    );
    assert!(body.get("generationConfig").is_none());
    assert!(matches!(
        build_err(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}})
        ),
        PluginError::InvalidRequest(_)
    ));
}

#[test]
fn reasoning_becomes_thinking_config() {
    let cases = [
        (
            json!({"max_tokens": 3000}),
            None,
            json!({"thinkingBudget": 3000, "includeThoughts": true}),
        ),
        (
            json!({"effort": "high"}),
            Some(1000),
            json!({"thinkingBudget": 800, "includeThoughts": true}),
        ),
        (
            json!({"effort": "xhigh"}),
            Some(1000),
            json!({"thinkingBudget": 950, "includeThoughts": true}),
        ),
        (
            json!({"effort": "max"}),
            None,
            json!({"thinkingBudget": 24576, "includeThoughts": true}),
        ),
        (
            json!({"effort": "low"}),
            None,
            json!({"thinkingBudget": 2048, "includeThoughts": true}),
        ),
        (
            json!({"effort": "medium", "exclude": true}),
            None,
            json!({"thinkingBudget": 8192, "includeThoughts": false}),
        ),
        (
            json!({"effort": "none"}),
            None,
            json!({"thinkingBudget": 0}),
        ),
        (
            json!({"enabled": false}),
            None,
            json!({"thinkingBudget": 0}),
        ),
        (
            json!({"enabled": true}),
            None,
            json!({"includeThoughts": true}),
        ),
    ];
    for (reasoning, limit, expected) in cases {
        let mut request = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning": reasoning});
        if let Some(limit) = limit {
            request["max_tokens"] = json!(limit);
        }
        let body = build(request);
        assert_eq!(
            body["generationConfig"]["thinkingConfig"], expected,
            "{reasoning}"
        );
    }
}

#[test]
fn conversations_without_turns_are_refused() {
    assert!(matches!(
        build_err(json!({"model": "m", "messages": [{"role": "system", "content": "x"}]})),
        PluginError::InvalidRequest(_)
    ));
}

#[test]
fn thought_signatures_sent_back_go_on_their_function_calls() {
    let body = build(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ], "reasoning_details": [
                {"type": "reasoning.encrypted", "data": "sig-0", "id": "call_0", "format": "google-gemini-v1", "index": 0},
                {"type": "reasoning.encrypted", "data": "not-gemini", "id": "call_1", "format": "anthropic-claude-v1", "index": 1}
            ]},
            {"role": "tool", "tool_call_id": "call_0", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_1", "content": "rainy"}
        ]
    }));
    let parts = &body["contents"][1]["parts"];
    assert_eq!(parts[0]["thoughtSignature"], "sig-0");
    assert_eq!(
        parts[1]["thoughtSignature"],
        "skip_thought_signature_validator"
    );
}
