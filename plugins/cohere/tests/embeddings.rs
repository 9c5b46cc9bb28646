//! Embeddings through the Cohere adapter: Embed v2 built from the canonical request, its answer
//! translated, and the requests it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_plugin_cohere::Cohere;
use switchyard_sdk::provider::*;
use switchyard_sdk::testing::{counts, endpoint, http};

fn request(body: Value) -> EmbeddingsRequest {
    serde_json::from_value(body).unwrap()
}

fn built_body(body: Value, options: &[(&str, &str)]) -> (HttpRequest, Value) {
    let built = Cohere::build_embeddings_request(
        request(body),
        endpoint("https://api.cohere.com/v2", "embed-v4.0", options),
    )
    .unwrap();
    let json = serde_json::from_slice(&built.body).unwrap();
    (built, json)
}

#[test]
fn texts_go_to_embed_with_an_input_type_and_float_vectors() {
    let (built, body) = built_body(
        json!({"model": "cohere/embed-v4.0", "input": ["a", "b"], "dimensions": 256, "user": "u"}),
        &[("path", "v2/chat"), ("header.X-Client-Name", "sy")],
    );
    // The `path` option is chat's; embeddings always go to `embed`.
    assert_eq!(built.url, "https://api.cohere.com/v2/embed");
    assert!(matches!(built.credential, CredentialPlacement::Bearer));
    assert!(
        built
            .headers
            .contains(&("X-Client-Name".to_owned(), "sy".to_owned()))
    );
    assert_eq!(
        body,
        json!({
            "model": "embed-v4.0", "texts": ["a", "b"], "input_type": "search_document",
            "embedding_types": ["float"], "output_dimension": 256
        })
    );

    let (_, body) = built_body(
        json!({"model": "m", "input": "q", "input_type": "search_query"}),
        &[],
    );
    assert_eq!(body["input_type"], "search_query");
    assert_eq!(body["texts"], json!(["q"]));
    assert!(body.get("output_dimension").is_none());
}

#[test]
fn token_ids_are_an_invalid_request() {
    let refused = Cohere::build_embeddings_request(
        request(json!({"model": "m", "input": [5, 6]})),
        endpoint("https://api.cohere.com/v2", "embed-v4.0", &[]),
    );
    assert!(
        matches!(&refused, Err(PluginError::InvalidRequest(m)) if m.contains("token ids")),
        "{refused:?}"
    );
}

#[test]
fn float_vectors_and_billed_input_tokens_are_read() {
    let answer = json!({
        "id": "e1", "response_type": "embeddings_by_type", "texts": ["a", "b"],
        "embeddings": {"float": [[0.1, 0.2], [0.3, -0.4]]},
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 4}}
    });
    let parsed =
        Cohere::parse_embeddings_response(http(200, &[], answer.to_string().as_bytes())).unwrap();
    let list: Value = serde_json::from_slice(&parsed.body).unwrap();
    assert_eq!(list["data"][1]["embedding"], json!([0.3, -0.4]));
    assert_eq!(list["data"][1]["index"], 1);
    assert_eq!(counts(&parsed.usage.unwrap()), [4, 0, 0, 0, 0]);

    // An answer in the legacy shape (no `float` key) is not what was asked for.
    let legacy = json!({"embeddings": [[0.1]], "meta": {}});
    let parsed = Cohere::parse_embeddings_response(http(200, &[], legacy.to_string().as_bytes()));
    assert!(matches!(parsed, Err(PluginError::UpstreamUnavailable(_))));
    const { assert!(<Cohere as Provider>::EMBEDDINGS) };
}
