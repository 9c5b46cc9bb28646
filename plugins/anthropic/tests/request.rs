//! `build-request` and `describe` of the Anthropic adapter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_anthropic::Anthropic;
use switchyard_sdk::provider::*;

fn build_with(
    value: Value,
    endpoint: EndpointSettings,
    stream: bool,
) -> Result<(HttpRequest, Value), PluginError> {
    let request: ChatRequest = serde_json::from_value(value).unwrap();
    let built = <Anthropic as Provider>::build_request(request, endpoint, stream)?;
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
    let descriptor = <Anthropic as Provider>::describe();
    assert_eq!(descriptor.name, "anthropic");
    assert_eq!(descriptor.version, "0.1.0");
    assert_eq!(
        descriptor.allowed_hosts,
        vec!["api.anthropic.com".to_owned()]
    );
    assert!(descriptor.capabilities.streaming && descriptor.capabilities.tools);
    for parameter in [
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "tools",
        "tool_choice",
    ] {
        assert!(
            descriptor
                .capabilities
                .supported_parameters
                .iter()
                .any(|p| p == parameter)
        );
    }
}

#[test]
fn url_headers_credential_and_defaults() {
    let request =
        json!({"model": "anthropic/claude", "messages": [{"role": "user", "content": "Hi"}]});
    let (built, body) = build_with(request.clone(), endpoint(), false).unwrap();
    assert_eq!(built.method, "POST");
    assert_eq!(built.url, "https://api.anthropic.com/v1/messages");
    assert!(matches!(&built.credential, CredentialPlacement::Header(name) if name == "x-api-key"));
    assert_eq!(
        header(&built.headers, "anthropic-version"),
        Some("2023-06-01")
    );
    assert_eq!(
        header(&built.headers, "content-type"),
        Some("application/json")
    );
    assert!(header(&built.headers, "x-api-key").is_none());
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
        })
    );

    let endpoint = endpoint_with(
        "http://127.0.0.1:1234/scenario/v1/",
        "claude-haiku",
        &[
            ("default_max_tokens", "1000"),
            ("anthropic_beta", "b1"),
            ("auth", "bearer"),
        ],
    );
    let (built, body) = build_with(request, endpoint, true).unwrap();
    assert_eq!(built.url, "http://127.0.0.1:1234/scenario/v1/messages");
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    assert_eq!(header(&built.headers, "anthropic-beta"), Some("b1"));
    assert_eq!(body["max_tokens"], 1000);
    assert_eq!(body["model"], "claude-haiku");
    assert_eq!(body["stream"], true);
}

#[test]
fn invalid_options_are_internal_errors() {
    for (key, value) in [
        ("default_max_tokens", "lots"),
        ("default_max_tokens", "0"),
        ("auth", "basic"),
        ("default_max_token", "100"),
    ] {
        let endpoint = endpoint_with("https://api.anthropic.com/v1", "m", &[(key, value)]);
        let request = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
        assert!(
            matches!(build_with(request, endpoint, false), Err(PluginError::Internal(m)) if m.contains(key))
        );
    }
}

#[test]
fn sampling_limits_and_stop_sequences() {
    let body = build(json!({
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_completion_tokens": 300,
        "max_tokens": 100,
        "temperature": 1.7,
        "top_p": 0.9,
        "top_k": 40,
        "stop": ["END", "  ", "STOP"],
        "user": "user-42",
        "models": ["x"],
        "provider": {"sort": "price"}
    }));
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(body["temperature"], 1.0);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["top_k"], 40);
    assert_eq!(body["stop_sequences"], json!(["END", "STOP"]));
    assert_eq!(body["metadata"], json!({"user_id": "user-42"}));
    // Fields Anthropic has no place for are refused by name, never dropped.
    for (field, value) in [("seed", json!(1)), ("frequency_penalty", json!(0.5))] {
        let mut request = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
        request[field] = value;
        let PluginError::Unsupported(message) = build_err(request) else {
            panic!("{field} refused as unsupported by this endpoint");
        };
        assert!(message.contains(&format!("`{field}`")), "{message}");
    }
    for dropped in [
        "models",
        "provider",
        "stop",
        "max_completion_tokens",
        "user",
    ] {
        assert!(body.get(dropped).is_none(), "{dropped}");
    }
    let body = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 77, "stop": "END"}),
    );
    assert_eq!(body["max_tokens"], 77);
    assert_eq!(body["stop_sequences"], json!(["END"]));
}

#[test]
fn system_and_developer_messages_are_lifted() {
    let body = build(json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]}
        ]
    }));
    assert_eq!(body["system"], "You are terse.\n\nAnswer in French.");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    // A cache_control on a system part keeps the block form.
    let body = build(json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Long context", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "Hi"}
        ]
    }));
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "Long context", "cache_control": {"type": "ephemeral"}}])
    );
}

#[test]
fn tools_and_tool_choice() {
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "now"}}
    ]);
    let base = |choice: Value| json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "tools": tools.clone(), "tool_choice": choice});
    let body = build(base(json!("auto")));
    assert_eq!(
        body["tools"],
        json!([
            {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "now", "input_schema": {"type": "object", "properties": {}}}
        ])
    );
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    assert_eq!(
        build(base(json!("none")))["tool_choice"],
        json!({"type": "none"})
    );
    assert_eq!(
        build(base(json!("required")))["tool_choice"],
        json!({"type": "any"})
    );
    assert_eq!(
        build(base(
            json!({"type": "function", "function": {"name": "now"}})
        ))["tool_choice"],
        json!({"type": "tool", "name": "now"})
    );
    let mut serial = base(json!("required"));
    serial["parallel_tool_calls"] = json!(false);
    assert_eq!(
        build(serial)["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert!(matches!(
        build_err(base(json!("sometimes"))),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        build_err(base(json!({"type": "function"}))),
        PluginError::InvalidRequest(_)
    ));
    // No tools: no tool_choice either.
    let body = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "tool_choice": "auto"}),
    );
    assert!(body.get("tool_choice").is_none() && body.get("tools").is_none());
}

#[test]
fn tool_calls_and_results_become_blocks() {
    let body = build(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "toolu_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}},
                {"id": "toolu_3", "type": "function", "function": {"name": "now", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "21C"}]},
            {"role": "tool", "tool_call_id": "toolu_3", "content": "noon"},
            {"role": "user", "content": "Thanks"}
        ]
    }));
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
                {"type": "tool_use", "id": "toolu_3", "name": "now", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "21C"},
                {"type": "tool_result", "tool_use_id": "toolu_3", "content": "noon"}
            ]},
            {"role": "user", "content": [{"type": "text", "text": "Thanks"}]}
        ])
    );
    // An assistant message with only tool calls has no empty text block.
    let body = build(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
        ]
    }));
    assert_eq!(
        body["messages"][1]["content"],
        json!([{"type": "tool_use", "id": "t", "name": "f", "input": {}}])
    );
}

#[test]
fn invalid_tool_arguments_and_messages_are_invalid_requests() {
    let with_args = |arguments: &str| {
        json!({"model": "m", "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": arguments}}]}
        ]})
    };
    assert!(matches!(
        build_err(with_args("{not json")),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        build_err(with_args("[1,2]")),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        build_err(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]})),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        build_err(
            json!({"model": "m", "messages": [{"role": "system", "content": "only system"}]})
        ),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        build_err(
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]})
        ),
        PluginError::InvalidRequest(_)
    ));
}

#[test]
fn images_become_image_blocks() {
    let body = build(json!({
        "model": "m",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Compare"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}}
        ]}]
    }));
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "Compare"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
        ])
    );
    for url in [
        "data:image/png,rawbytes",
        "ftp://example.com/x.png",
        "data:;base64,AAAA",
        "data:image/png;base64",
    ] {
        let request = json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]});
        assert!(
            matches!(build_err(request), PluginError::InvalidRequest(_)),
            "{url}"
        );
    }
}

#[test]
fn files_become_document_blocks() {
    let body = build(json!({
        "model": "m",
        "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}, "cache_control": {"type": "ephemeral"}},
            {"type": "file", "file": {"filename": "b.pdf", "file_data": "https://example.com/b.pdf"}}
        ]}]
    }));
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}, "cache_control": {"type": "ephemeral"}},
            {"type": "document", "source": {"type": "url", "url": "https://example.com/b.pdf"}}
        ])
    );
    let request = json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "file", "file": {}}]}]});
    assert!(matches!(build_err(request), PluginError::InvalidRequest(_)));
}

#[test]
fn reasoning_becomes_a_thinking_budget() {
    let body = build(json!({
        "model": "m", "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 10000, "temperature": 0.2, "reasoning": {"effort": "high"}
    }));
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 8000})
    );
    assert!(body.get("temperature").is_none());
    let body = build(json!({
        "model": "m", "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 4000, "reasoning": {"max_tokens": 2000}
    }));
    assert_eq!(body["thinking"]["budget_tokens"], 2000);
    // Too small a budget, or reasoning disabled: no thinking.
    for reasoning in [
        json!({"effort": "low"}),
        json!({"effort": "high", "enabled": false}),
    ] {
        let body = build(
            json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1000, "reasoning": reasoning}),
        );
        assert!(body.get("thinking").is_none());
    }
}

#[test]
fn reasoning_details_sent_back_become_thinking_blocks_before_the_tool_use() {
    let body = build(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": null, "reasoning_details": [
                {"type": "reasoning.text", "text": "Call the ", "format": "anthropic-claude-v1", "index": 0},
                {"type": "reasoning.text", "text": "tool.", "signature": "sig", "format": "anthropic-claude-v1", "index": 0},
                {"type": "reasoning.encrypted", "data": "opaque", "format": "anthropic-claude-v1", "index": 1},
                {"type": "reasoning.text", "text": "unsigned", "index": 2},
                {"type": "reasoning.encrypted", "data": "theirs", "format": "openai-responses-v1", "index": 3}
            ], "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"}
        ]
    }));
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "Call the tool.", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}
        ])
    );
}

#[test]
fn the_clients_betas_join_the_endpoints_once_each_and_its_version_wins() {
    let request = json!({
        "model": "anthropic/claude",
        "messages": [{"role": "user", "content": "Hi"}],
        "anthropic": {
            "beta": ["claude-code-20250219", "prompt-caching-2024-07-31", "claude-code-20250219"],
            "version": "2023-01-01"
        }
    });
    let configured = endpoint_with(
        "https://api.anthropic.com/v1",
        "claude-haiku",
        &[
            (
                "anthropic_beta",
                "prompt-caching-2024-07-31, context-management-2025-06-27",
            ),
            ("anthropic_version", "2023-06-01"),
        ],
    );
    let (built, body) = build_with(request.clone(), configured, false).unwrap();
    assert_eq!(
        header(&built.headers, "anthropic-beta"),
        Some("prompt-caching-2024-07-31,context-management-2025-06-27,claude-code-20250219")
    );
    assert_eq!(
        header(&built.headers, "anthropic-version"),
        Some("2023-01-01")
    );
    // The extension is never sent in the body: Anthropic rejects unknown fields.
    assert!(body.get("anthropic").is_none(), "{body}");

    // Without an endpoint option, only the client's betas.
    let (built, _) = build_with(request, endpoint(), false).unwrap();
    assert_eq!(
        header(&built.headers, "anthropic-beta"),
        Some("claude-code-20250219,prompt-caching-2024-07-31")
    );
}

#[test]
fn a_malformed_extension_or_a_beta_that_could_break_a_header_is_refused() {
    for extension in [
        json!({"beta": ["ok", "bad\r\nx-evil: 1"]}),
        json!({"beta": [""]}),
        json!({"version": "2023-06-01 "}),
        json!({"beta": "not-a-list"}),
        json!({"betas": ["typo"]}),
        json!({"tool_results": {"toolu_1": {"is_error": "yes"}}}),
    ] {
        let error = build_err(json!({
            "model": "anthropic/claude",
            "messages": [{"role": "user", "content": "Hi"}],
            "anthropic": extension,
        }));
        assert!(
            matches!(&error, PluginError::InvalidRequest(message) if message.contains("`anthropic`")),
            "{extension}: {error:?}"
        );
    }
}

#[test]
fn tool_cache_control_and_tool_result_details_come_from_the_extension() {
    let picture = json!([
        {"type": "text", "text": "the chart", "cache_control": {"type": "ephemeral"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
    ]);
    let body = build(json!({
        "model": "anthropic/claude",
        "messages": [
            {"role": "user", "content": "Plot it"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "plot", "arguments": "{}"}},
                {"id": "toolu_2", "type": "function", "function": {"name": "plot", "arguments": "{}"}},
                {"id": "toolu_3", "type": "function", "function": {"name": "plot", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "the chart"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "disk full"},
            {"role": "tool", "tool_call_id": "toolu_3", "content": "plain"}
        ],
        "tools": [
            {"type": "function", "function": {"name": "plot", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}}
        ],
        "anthropic": {
            "tool_cache_control": {"plot": {"type": "ephemeral", "ttl": "1h"}},
            "tool_results": {
                "toolu_1": {"content": picture},
                "toolu_2": {"is_error": true, "cache_control": {"type": "ephemeral"}}
            }
        }
    }));
    assert_eq!(
        body["tools"],
        json!([
            {"name": "plot", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"name": "other", "input_schema": {"type": "object"}}
        ])
    );
    assert_eq!(
        body["messages"][2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": picture},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "disk full", "is_error": true, "cache_control": {"type": "ephemeral"}},
            {"type": "tool_result", "tool_use_id": "toolu_3", "content": "plain"}
        ])
    );
}
