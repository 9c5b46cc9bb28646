//! Embeddings through the Gemini adapter: `batchEmbedContents` built from the canonical request,
//! its answer translated, and the requests it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_plugin_gemini::Gemini;
use switchyard_sdk::provider::*;
use switchyard_sdk::testing::{endpoint, http};

fn request(body: Value) -> EmbeddingsRequest {
    serde_json::from_value(body).unwrap()
}

fn gemini_endpoint() -> EndpointSettings {
    endpoint(
        "https://generativelanguage.googleapis.com/v1beta",
        "gemini-embedding-001",
        &[],
    )
}

#[test]
fn each_text_is_one_request_with_the_dimensions_and_task_type() {
    let built = Gemini::build_embeddings_request(
        request(json!({
            "model": "google/gemini-embedding-001", "input": ["first text", "second"],
            "dimensions": 768, "input_type": "search_query", "user": "u1"
        })),
        gemini_endpoint(),
    )
    .unwrap();
    assert_eq!(
        built.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents"
    );
    assert!(matches!(&built.credential, CredentialPlacement::Header(h) if h == "x-goog-api-key"));
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    let one = |text: &str| {
        json!({
            "model": "models/gemini-embedding-001",
            "content": {"parts": [{"text": text}]},
            "taskType": "RETRIEVAL_QUERY",
            "outputDimensionality": 768
        })
    };
    assert_eq!(
        body,
        json!({"requests": [one("first text"), one("second")]})
    );

    // One string, no options: no task type, no dimensionality; Gemini's own names work too.
    let built = Gemini::build_embeddings_request(
        request(json!({"model": "m", "input": "solo"})),
        gemini_endpoint(),
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    assert_eq!(
        body["requests"],
        json!([{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "solo"}]}}])
    );
    let built = Gemini::build_embeddings_request(
        request(json!({"model": "m", "input": "x", "input_type": "SEMANTIC_SIMILARITY"})),
        gemini_endpoint(),
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    assert_eq!(body["requests"][0]["taskType"], "SEMANTIC_SIMILARITY");
}

#[test]
fn token_ids_and_unknown_input_types_are_invalid_requests() {
    for body in [
        json!({"model": "m", "input": [1, 2, 3]}),
        json!({"model": "m", "input": [[1], [2]]}),
        json!({"model": "m", "input": "x", "input_type": "poetry"}),
    ] {
        let refused = Gemini::build_embeddings_request(request(body.clone()), gemini_endpoint());
        assert!(
            matches!(&refused, Err(PluginError::InvalidRequest(m)) if m.contains("gemini")),
            "{body}: {refused:?}"
        );
    }
}

#[test]
fn the_answer_becomes_an_openai_list_without_usage() {
    let answer = json!({"embeddings": [{"values": [0.5, -0.25]}, {"values": [1, 0]}]});
    let parsed =
        Gemini::parse_embeddings_response(http(200, &[], answer.to_string().as_bytes())).unwrap();
    let list: Value = serde_json::from_slice(&parsed.body).unwrap();
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"][0]["embedding"], json!([0.5, -0.25]));
    assert_eq!(list["data"][1]["index"], 1);
    assert_eq!(list["data"][1]["object"], "embedding");
    assert!(parsed.usage.is_none(), "Gemini reports no embeddings usage");

    for broken in [
        json!({"embedding": {"values": [1]}}),
        json!({"embeddings": [{"values": ["x"]}]}),
        json!({"embeddings": [{}]}),
    ] {
        let parsed =
            Gemini::parse_embeddings_response(http(200, &[], broken.to_string().as_bytes()));
        assert!(
            matches!(parsed, Err(PluginError::UpstreamUnavailable(_))),
            "{broken}"
        );
    }
}

#[test]
fn the_adapter_declares_embeddings_and_classifies_their_errors() {
    const { assert!(<Gemini as Provider>::EMBEDDINGS) };
    let error = json!({"error": {"code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT"}});
    let classified = Gemini::parse_error(http(400, &[], error.to_string().as_bytes()));
    assert!(
        matches!(classified, PluginError::InvalidRequest(_)),
        "{classified:?}"
    );
}
