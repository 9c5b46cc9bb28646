//! Embeddings through the Bedrock adapter: InvokeModel bodies for Titan and Cohere embedding
//! models, their answers translated, and the requests it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_plugin_bedrock::Bedrock;
use switchyard_sdk::provider::*;
use switchyard_sdk::testing::{counts, endpoint, http};

const BASE: &str = "https://bedrock-runtime.us-east-1.amazonaws.com";

fn build(model: &str, body: Value) -> Result<HttpRequest, PluginError> {
    Bedrock::build_embeddings_request(
        serde_json::from_value(body).unwrap(),
        endpoint(BASE, model, &[]),
    )
}

fn body_of(request: &HttpRequest) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[test]
fn titan_gets_one_input_text_with_its_dimensions_signed_for_bedrock() {
    let built = build(
        "amazon.titan-embed-text-v2:0",
        json!({"model": "amazon/titan-embed-text", "input": ["hello world"], "dimensions": 256}),
    )
    .unwrap();
    assert_eq!(
        built.url,
        format!("{BASE}/model/amazon.titan-embed-text-v2%3A0/invoke")
    );
    assert!(matches!(
        &built.credential,
        CredentialPlacement::AwsSigv4(scope) if scope.service == "bedrock" && scope.region == "us-east-1"
    ));
    assert_eq!(
        body_of(&built),
        json!({"inputText": "hello world", "dimensions": 256})
    );
}

#[test]
fn cohere_models_get_cohere_s_body_without_the_model() {
    let built = build(
        "us.cohere.embed-v4:0",
        json!({"model": "cohere/embed-v4.0", "input": ["a", "b"], "input_type": "clustering"}),
    )
    .unwrap();
    assert_eq!(
        built.url,
        format!("{BASE}/model/us.cohere.embed-v4%3A0/invoke")
    );
    assert_eq!(
        body_of(&built),
        json!({"texts": ["a", "b"], "input_type": "clustering", "embedding_types": ["float"]})
    );
}

#[test]
fn several_titan_inputs_token_ids_and_other_models_are_invalid_requests() {
    let refused = |model: &str, body: Value| match build(model, body) {
        Err(PluginError::InvalidRequest(message)) => message,
        other => panic!("not refused: {other:?}"),
    };
    let several = refused(
        "amazon.titan-embed-text-v2:0",
        json!({"model": "m", "input": ["a", "b"]}),
    );
    assert!(several.contains("one text per request"), "{several}");
    let tokens = refused(
        "cohere.embed-english-v3",
        json!({"model": "m", "input": [1, 2]}),
    );
    assert!(tokens.contains("token ids"), "{tokens}");
    let other = refused(
        "amazon.nova-2-multimodal-embeddings-v1:0",
        json!({"model": "m", "input": "x"}),
    );
    assert!(other.contains("is neither"), "{other}");
}

#[test]
fn answers_are_read_with_the_header_token_count_first() {
    let titan = json!({"embedding": [0.5, 0.25], "inputTextTokenCount": 3, "embeddingsByType": {"float": [0.5, 0.25]}});
    let parsed =
        Bedrock::parse_embeddings_response(http(200, &[], titan.to_string().as_bytes())).unwrap();
    let list: Value = serde_json::from_slice(&parsed.body).unwrap();
    assert_eq!(
        list["data"],
        json!([{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}])
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [3, 0, 0, 0, 0]);

    let cohere = json!({"id": "x", "response_type": "embeddings_by_type", "texts": ["a", "b"], "embeddings": {"float": [[1], [2]]}});
    let parsed = Bedrock::parse_embeddings_response(http(
        200,
        &[("X-Amzn-Bedrock-Input-Token-Count", "7")],
        cohere.to_string().as_bytes(),
    ))
    .unwrap();
    let list: Value = serde_json::from_slice(&parsed.body).unwrap();
    assert_eq!(list["data"][1]["embedding"], json!([2]));
    assert_eq!(counts(&parsed.usage.unwrap()), [7, 0, 0, 0, 0]);

    // Without the header, a Cohere answer carries no usage (the host estimates it).
    let parsed =
        Bedrock::parse_embeddings_response(http(200, &[], cohere.to_string().as_bytes())).unwrap();
    assert!(parsed.usage.is_none());

    let broken = Bedrock::parse_embeddings_response(http(200, &[], b"{\"embeddings\": []}"));
    assert!(matches!(broken, Err(PluginError::UpstreamUnavailable(_))));
    const { assert!(<Bedrock as Provider>::EMBEDDINGS) };
}
