//! Embeddings through the OpenAI adapter: the upstream request and the answer's translation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_plugin_openai::OpenAi;
use switchyard_sdk::provider::*;
use switchyard_sdk::testing::{counts, endpoint, http};

#[test]
fn the_request_names_the_upstream_model_and_leaves_the_encoding_to_the_host() {
    let request: EmbeddingsRequest = serde_json::from_value(json!({
        "model": "openai/text-embedding-3-small", "input": [[1, 2], [3]], "dimensions": 256,
        "encoding_format": "base64", "user": "u1"
    }))
    .unwrap();
    let endpoint = endpoint(
        "https://api.openai.com/v1",
        "text-embedding-3-small",
        &[("header.OpenAI-Organization", "org-1")],
    );
    let built = OpenAi::build_embeddings_request(request, endpoint).unwrap();
    assert_eq!(built.url, "https://api.openai.com/v1/embeddings");
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    assert!(
        built
            .headers
            .contains(&("OpenAI-Organization".to_owned(), "org-1".to_owned()))
    );
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "text-embedding-3-small", "input": [[1, 2], [3]], "dimensions": 256, "user": "u1"})
    );
}

#[test]
fn the_answer_is_put_in_input_order_with_its_usage() {
    let answer = json!({
        "object": "list", "model": "text-embedding-3-small",
        "data": [
            {"object": "embedding", "index": 1, "embedding": [0.5, -0.5]},
            {"object": "embedding", "index": 0, "embedding": [0.25, 1]}
        ],
        "usage": {"prompt_tokens": 7, "total_tokens": 7}
    });
    let parsed =
        OpenAi::parse_embeddings_response(http(200, &[], answer.to_string().as_bytes())).unwrap();
    let list: Value = serde_json::from_slice(&parsed.body).unwrap();
    assert_eq!(list["data"][0]["embedding"], json!([0.25, 1]));
    assert_eq!(list["data"][1]["index"], 1);
    assert_eq!(counts(&parsed.usage.unwrap()), [7, 0, 0, 0, 0]);

    let broken =
        OpenAi::parse_embeddings_response(http(200, &[], b"{\"data\": [{\"embedding\": \"x\"}]}"));
    assert!(matches!(broken, Err(PluginError::UpstreamUnavailable(_))));
}
