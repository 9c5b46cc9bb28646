//! The Azure OpenAI adapter: deployment URLs, credential placement, options, OpenAI-format
//! responses and streams (recorded OpenAI traffic plus Azure's filter annotations) and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_plugin_azure_openai::{AzureDecoder, AzureOpenAi};
use switchyard_sdk::provider::*;
use switchyard_sdk::testing::{assemble, counts, data, endpoint, finish, http, replay};

fn azure(options: &[(&str, &str)]) -> EndpointSettings {
    endpoint("https://contoso.openai.azure.com", "gpt-4o-prod", options)
}

fn build(
    value: Value,
    endpoint: EndpointSettings,
    stream: bool,
) -> Result<(HttpRequest, Value), PluginError> {
    let request: ChatRequest = serde_json::from_value(value).unwrap();
    let built = <AzureOpenAi as Provider>::build_request(request, endpoint, stream)?;
    let body = serde_json::from_slice(&built.body).unwrap();
    Ok((built, body))
}

fn openai_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn describe_names_the_adapter() {
    let descriptor = <AzureOpenAi as Provider>::describe();
    assert_eq!(descriptor.name, "azure-openai");
    assert!(
        descriptor
            .allowed_hosts
            .contains(&"*.openai.azure.com".to_owned())
    );
    assert!(
        descriptor
            .capabilities
            .supported_parameters
            .iter()
            .any(|p| p == "response_format")
    );
}

#[test]
fn deployment_url_api_version_and_api_key_header() {
    let request = json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Hi"}],
        "reasoning": {"effort": "low"}, "provider": {"sort": "price"}});
    let (built, body) = build(request.clone(), azure(&[]), true).unwrap();
    assert_eq!(
        built.url,
        "https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert!(matches!(&built.credential, CredentialPlacement::Header(name) if name == "api-key"));
    assert!(header(&built.headers, "api-key").is_none());
    assert_eq!(
        body,
        json!({"model": "gpt-4o-prod", "messages": [{"role": "user", "content": "Hi"}],
               "reasoning_effort": "low", "stream": true, "stream_options": {"include_usage": true}})
    );
    let endpoint = endpoint(
        "https://contoso.openai.azure.com/openai/",
        "gpt-4o-prod",
        &[
            ("api_version", "2025-01-01-preview"),
            ("auth", "bearer"),
            ("max_tokens_field", "max_completion_tokens"),
        ],
    );
    let mut request = request;
    request["max_tokens"] = json!(10);
    let (built, body) = build(request, endpoint, false).unwrap();
    assert_eq!(
        built.url,
        "https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-01-01-preview"
    );
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    assert_eq!(body["max_completion_tokens"], 10);
    assert!(body.get("max_tokens").is_none() && body.get("stream").is_none());
    for (key, value) in [("api_version", "x&y=1"), ("auth", "basic"), ("path", "x")] {
        let request = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
        assert!(
            matches!(build(request, azure(&[(key, value)]), false), Err(PluginError::Internal(m)) if m.contains(key))
        );
    }
}

#[test]
fn tools_images_and_response_format_pass_through() {
    let request = json!({"model": "m", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
        "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required",
        "response_format": {"type": "json_object"}, "seed": 1, "top_p": 0.5});
    let (_, body) = build(request.clone(), azure(&[]), false).unwrap();
    for field in [
        "messages",
        "tools",
        "tool_choice",
        "response_format",
        "seed",
        "top_p",
    ] {
        assert_eq!(body[field], request[field], "{field}");
    }
}

#[test]
fn recorded_openai_responses_parse() {
    let raw: Value = serde_json::from_slice(&openai_fixture("openai-text.json")).unwrap();
    let parsed = <AzureOpenAi as Provider>::parse_response(http(
        200,
        &[],
        &openai_fixture("openai-text.json"),
    ))
    .unwrap();
    let body: Value = serde_json::from_slice(&parsed.body).unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        raw["choices"][0]["message"]["content"]
    );
    assert_eq!(counts(&parsed.usage.unwrap())[..2], [16, 363]);
    assert_eq!(finish(&parsed.finish.unwrap()), ("stop", "stop"));
}

#[test]
fn azure_stream_with_filter_annotations() {
    let replay = replay::<AzureDecoder>(
        azure(&[]),
        vec![
            data(
                r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#,
            ),
            data(
                r#"{"choices":[{"content_filter_results":{},"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":1,"id":"chatcmpl-1","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk"}"#,
            ),
            data(
                r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Hello"},"finish_reason":null,"index":0}],"created":1,"id":"chatcmpl-1","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk"}"#,
            ),
            data(
                r#"{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"content_filter","index":0}],"created":1,"id":"chatcmpl-1","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk"}"#,
            ),
            data(
                r#"{"choices":[],"created":1,"id":"chatcmpl-1","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#,
            ),
            data("[DONE]"),
        ],
    );
    assert!(replay.error.is_none(), "{:?}", replay.error);
    assert!(replay.done);
    assert_eq!(
        replay.chunks.len(),
        3,
        "the prompt-filter chunk is not forwarded"
    );
    assert_eq!(assemble(&replay.chunks).0, "Hello");
    assert_eq!(
        finish(&replay.finishes[0]),
        ("content_filter", "content_filter")
    );
    assert_eq!(counts(&replay.usage.unwrap()), [9, 1, 0, 0, 0]);
}

#[test]
fn azure_errors_map_to_variants() {
    let error = |status, headers: &[(&str, &str)], body: &str| {
        <AzureOpenAi as Provider>::parse_error(http(status, headers, body.as_bytes()))
    };
    assert!(matches!(
        error(
            400,
            &[],
            r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#
        ),
        PluginError::ContentFiltered(_)
    ));
    assert!(matches!(
        error(
            429,
            &[("retry-after", "6")],
            r#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit. Please retry after 6 seconds."}}"#
        ),
        PluginError::RateLimited(RateLimit {
            retry_after_ms: Some(6000),
            ..
        })
    ));
    assert!(matches!(
        error(
            401,
            &[],
            r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}"#
        ),
        PluginError::Auth(_)
    ));
    assert!(matches!(
        error(
            404,
            &[],
            r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#
        ),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        error(
            400,
            &[],
            r#"{"error":{"code":"context_length_exceeded","message":"This model's maximum context length is 128000 tokens."}}"#
        ),
        PluginError::ContextLengthExceeded(_)
    ));
    assert!(matches!(
        error(503, &[], "<html>"),
        PluginError::Overloaded(_)
    ));
    assert!(matches!(
        <AzureOpenAi as Provider>::parse_response(http(200, &[], b"<html>")),
        Err(PluginError::UpstreamUnavailable(_))
    ));
}
