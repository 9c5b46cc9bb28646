//! Embeddings through the Mistral adapter: the request reduced to the fields Mistral accepts,
//! its OpenAI-shaped answer translated, and the requests it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_plugin_mistral::Mistral;
use switchyard_sdk::provider::*;
use switchyard_sdk::testing::{counts, endpoint, http};

fn request(body: Value) -> EmbeddingsRequest {
    serde_json::from_value(body).unwrap()
}

#[test]
fn the_request_carries_only_model_input_and_output_dimension() {
    let built = Mistral::build_embeddings_request(
        request(json!({
            "model": "mistralai/codestral-embed", "input": "fn main() {}", "dimensions": 512,
            "user": "u1", "input_type": "search_query"
        })),
        endpoint("https://api.mistral.ai/v1", "codestral-embed", &[]),
    )
    .unwrap();
    assert_eq!(built.url, "https://api.mistral.ai/v1/embeddings");
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "codestral-embed", "input": ["fn main() {}"], "output_dimension": 512})
    );
}

#[test]
fn token_ids_are_an_invalid_request() {
    let refused = Mistral::build_embeddings_request(
        request(json!({"model": "m", "input": [[1, 2]]})),
        endpoint("https://api.mistral.ai/v1", "mistral-embed", &[]),
    );
    assert!(
        matches!(&refused, Err(PluginError::InvalidRequest(m)) if m.contains("mistral")),
        "{refused:?}"
    );
}

#[test]
fn the_answer_and_its_usage_are_read() {
    let answer = json!({
        "id": "e1", "object": "list", "model": "mistral-embed",
        "data": [{"object": "embedding", "embedding": [0.1, 0.2], "index": 0}],
        "usage": {"prompt_tokens": 6, "total_tokens": 6, "completion_tokens": 0}
    });
    let parsed =
        Mistral::parse_embeddings_response(http(200, &[], answer.to_string().as_bytes())).unwrap();
    let list: Value = serde_json::from_slice(&parsed.body).unwrap();
    assert_eq!(list["data"][0]["embedding"], json!([0.1, 0.2]));
    assert_eq!(counts(&parsed.usage.unwrap()), [6, 0, 0, 0, 0]);
    const { assert!(<Mistral as Provider>::EMBEDDINGS) };

    let validation = json!({"object": "error", "message": {"detail": [{"msg": "Extra inputs are not permitted"}]}, "type": "invalid_request_error"});
    let error = Mistral::parse_error(http(422, &[], validation.to_string().as_bytes()));
    assert!(matches!(error, PluginError::InvalidRequest(_)), "{error:?}");
}
