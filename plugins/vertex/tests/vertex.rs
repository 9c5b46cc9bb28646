//! The Vertex AI adapter: URLs, bodies and options for Gemini and Claude models and embeddings,
//! and answers and streams in both wire formats (recorded fixtures).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_plugin_vertex::{Vertex, VertexDecoder};
use switchyard_sdk::provider::*;
use switchyard_sdk::testing::{
    assemble, assert_complete_stream, canonical_body, chunk_lines, endpoint, http, replay,
};

const BASE: &str = "https://us-east5-aiplatform.googleapis.com/v1";

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

fn settings(base: &str, model: &str, options: &[(&str, &str)]) -> EndpointSettings {
    endpoint(base, model, options)
}

fn build(
    model: &str,
    options: &[(&str, &str)],
    request: Value,
    stream: bool,
) -> Result<(HttpRequest, Value), PluginError> {
    let request: ChatRequest = serde_json::from_value(request).unwrap();
    let built =
        <Vertex as Provider>::build_request(request, settings(BASE, model, options), stream)?;
    let body = serde_json::from_slice(&built.body).unwrap();
    Ok((built, body))
}

fn hello() -> Value {
    json!({"model": "m", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"}
    ], "max_tokens": 100})
}

#[test]
fn gemini_models_go_to_generate_content_with_the_gemini_body() {
    let (request, body) = build("gemini-2.5-flash", &[("project", "p1")], hello(), false).unwrap();
    assert_eq!(
        request.url,
        "https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    assert!(matches!(request.credential, CredentialPlacement::Bearer));
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(body["contents"][0]["parts"][0]["text"], "Hello");
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 100);

    let (request, _) = build("google/gemini-2.5-pro", &[("project", "p1")], hello(), true).unwrap();
    assert!(
        request
            .url
            .ends_with("/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
        "{}",
        request.url
    );
}

#[test]
fn claude_models_go_to_raw_predict_with_the_model_in_the_url() {
    let mut request = hello();
    request["anthropic"] = json!({"beta": ["context-1m-2025-08-07"]});
    let (built, body) = build(
        "claude-sonnet-4-5@20250929",
        &[("project", "p1"), ("anthropic_beta", "b1")],
        request,
        false,
    )
    .unwrap();
    assert_eq!(
        built.url,
        "https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
    );
    assert!(body.get("model").is_none(), "{body}");
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["messages"][0]["content"][0]["text"], "Hello");
    assert_eq!(body["max_tokens"], 100);
    let beta = built.headers.iter().find(|(n, _)| n == "anthropic-beta");
    assert_eq!(beta.unwrap().1, "b1,context-1m-2025-08-07");
    assert!(!built.headers.iter().any(|(n, _)| n == "anthropic-version"));

    let (built, body) = build(
        "anthropic/claude-haiku-4-5",
        &[("project", "p1")],
        hello(),
        true,
    )
    .unwrap();
    assert!(
        built
            .url
            .ends_with("/publishers/anthropic/models/claude-haiku-4-5:streamRawPredict")
    );
    assert_eq!(body["stream"], true);
}

#[test]
fn the_global_region_uses_the_global_host_and_a_mismatched_host_is_refused() {
    let request: ChatRequest = serde_json::from_value(hello()).unwrap();
    let built = <Vertex as Provider>::build_request(
        request.clone(),
        settings(
            "https://aiplatform.googleapis.com/v1",
            "gemini-2.5-flash",
            &[("project", "p")],
        ),
        false,
    )
    .unwrap();
    assert_eq!(
        built.url,
        "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    // A mock or proxy base URL names no region: the option does.
    let built = <Vertex as Provider>::build_request(
        request.clone(),
        settings(
            "http://127.0.0.1:9/v1",
            "gemini-2.5-flash",
            &[("project", "p"), ("region", "europe-west4")],
        ),
        false,
    )
    .unwrap();
    assert!(
        built
            .url
            .contains("/projects/p/locations/europe-west4/publishers/google/")
    );
    let Err(PluginError::Internal(message)) = <Vertex as Provider>::build_request(
        request.clone(),
        settings(
            BASE,
            "gemini-2.5-flash",
            &[("project", "p"), ("region", "global")],
        ),
        false,
    ) else {
        panic!("a base URL serving another region must be refused");
    };
    assert!(
        message.contains("https://aiplatform.googleapis.com/v1"),
        "{message}"
    );
    for options in [&[][..], &[("project", "p"), ("regoin", "x")][..]] {
        let error = <Vertex as Provider>::build_request(
            request.clone(),
            settings("http://127.0.0.1:9/v1", "gemini-2.5-flash", options),
            false,
        )
        .unwrap_err();
        assert!(matches!(error, PluginError::Internal(_)), "{error:?}");
    }
}

#[test]
fn whole_answers_of_both_publishers_are_parsed() {
    let gemini =
        <Vertex as Provider>::parse_response(http(200, &[], &fixture("google/google-text.json")))
            .unwrap();
    let body = canonical_body(&gemini);
    assert!(
        !body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let claude = <Vertex as Provider>::parse_response(http(
        200,
        &[],
        &fixture("anthropic/anthropic-text.json"),
    ))
    .unwrap();
    let body = canonical_body(&claude);
    assert!(
        !body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[test]
fn errors_of_both_formats_are_classified() {
    let quota = <Vertex as Provider>::parse_error(http(
        429,
        &[],
        &fixture("google/google-429-retry-info.json"),
    ));
    assert!(matches!(quota, PluginError::RateLimited(_)), "{quota:?}");
    let overloaded = <Vertex as Provider>::parse_error(http(
        529,
        &[],
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    ));
    assert!(
        matches!(overloaded, PluginError::Overloaded(_)),
        "{overloaded:?}"
    );
    let expired = <Vertex as Provider>::parse_error(http(
        401,
        &[],
        br#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#,
    ));
    assert!(matches!(expired, PluginError::Auth(_)), "{expired:?}");
}

#[test]
fn streams_of_both_publishers_are_decoded() {
    let gemini_events = chunk_lines(&fixture("google/google-text.chunks.txt"))
        .into_iter()
        .map(|line| SseEvent {
            event: None,
            data: line,
        });
    let gemini = replay::<VertexDecoder>(
        settings(BASE, "gemini-2.5-flash", &[("project", "p")]),
        gemini_events,
    );
    assert_complete_stream(&gemini);
    assert!(!assemble(&gemini.chunks).0.is_empty());

    let claude_events = chunk_lines(&fixture("anthropic/anthropic-text.chunks.txt"))
        .into_iter()
        .map(|line| {
            let value: Value = serde_json::from_str(&line).unwrap();
            SseEvent {
                event: value["type"].as_str().map(str::to_owned),
                data: line,
            }
        });
    let claude = replay::<VertexDecoder>(
        settings(BASE, "claude-sonnet-4-5@20250929", &[("project", "p")]),
        claude_events,
    );
    assert_complete_stream(&claude);
    assert!(!assemble(&claude.chunks).0.is_empty());
}

#[test]
fn embeddings_go_to_predict_and_count_tokens() {
    let request: EmbeddingsRequest = serde_json::from_value(json!({
        "model": "m", "input": ["a", "b"], "dimensions": 3, "input_type": "search_query"
    }))
    .unwrap();
    let built = <Vertex as Provider>::build_embeddings_request(
        request,
        settings(BASE, "text-embedding-005", &[("project", "p")]),
    )
    .unwrap();
    assert!(
        built
            .url
            .ends_with("/publishers/google/models/text-embedding-005:predict")
    );
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    assert_eq!(
        body,
        json!({"instances": [
            {"content": "a", "task_type": "RETRIEVAL_QUERY"},
            {"content": "b", "task_type": "RETRIEVAL_QUERY"}
        ], "parameters": {"outputDimensionality": 3}})
    );
    let answer = json!({"predictions": [
        {"embeddings": {"statistics": {"truncated": false, "token_count": 2}, "values": [0.1, 0.2, 0.3]}},
        {"embeddings": {"statistics": {"truncated": false, "token_count": 3}, "values": [0.4, 0.5, 0.6]}}
    ], "metadata": {"billableCharacterCount": 2}});
    let parsed = <Vertex as Provider>::parse_embeddings_response(http(
        200,
        &[],
        answer.to_string().as_bytes(),
    ))
    .unwrap();
    let list: Value = serde_json::from_slice(&parsed.body).unwrap();
    assert_eq!(list["data"][1]["embedding"], json!([0.4, 0.5, 0.6]));
    assert_eq!(parsed.usage.unwrap().prompt_tokens, 5);
}
