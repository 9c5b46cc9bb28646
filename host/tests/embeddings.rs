//! `POST /v1/embeddings` end to end against the real binary and the mock upstream: failover,
//! pricing, base64 encoding, the models it refuses, and the built-in catalog's embedding models
//! and Responses-only endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_domain::config::builtin_catalog;
use switchyard_tests::MockUpstream;

fn embedding_model(id: &str, endpoints: &[(&str, &str)]) -> String {
    let endpoints: Vec<String> = endpoints
        .iter()
        .map(|(provider, price)| {
            format!("{{ provider = \"{provider}\", upstream_model = \"up-{provider}\", prompt_price = \"{price}\" }}")
        })
        .collect();
    format!(
        "[[models]]\nid = \"{id}\"\noutput_modalities = [\"embeddings\"]\nendpoints = [{}]\n",
        endpoints.join(", ")
    )
}

#[tokio::test]
async fn embeddings_fail_over_are_priced_and_encode_base64() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("down", "openai", &mock, "status=503", ""),
        provider("up", "openai", &mock, "", ""),
        provider("anthropic", "anthropic", &mock, "", ""),
        provider("chat", "openai", &mock, "", ""),
        // The cheaper endpoint fails; the dearer one serves.
        embedding_model("e/failover", &[("down", "0.01"), ("up", "0.02")]),
        embedding_model("e/no-adapter", &[("anthropic", "0.01")]),
        model("c/chat", &[("chat", "1", "2")]),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;

    let (status, body) = gateway.embed(
        &json!({"model": "e/failover", "input": ["one two", "three"], "dimensions": 3, "provider": {"sort": "price"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
    assert_eq!(body["provider"], "up");
    assert!(body["id"].as_str().unwrap().starts_with("gen-"));
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[0]["embedding"].as_array().unwrap().len(), 3);
    let expected = switchyard_tests::embeddings::vector("one two", 3);
    for (got, want) in data[0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&expected)
    {
        assert!((got.as_f64().unwrap() - f64::from(*want)).abs() < 1e-6);
    }
    // 3 prompt tokens at $0.02 per million, plus the 5% fee.
    assert_eq!(body["usage"]["prompt_tokens"], 3);
    assert_eq!(body["usage"]["cost"], 0.000000063);

    let (status, encoded) = gateway.embed(
        &json!({"model": "e/failover", "input": "one two", "dimensions": 3, "encoding_format": "base64", "provider": {"only": ["up"]}}),
    )
    .await;
    assert_eq!(status, 200, "{encoded}");
    let text = encoded["data"][0]["embedding"].as_str().expect("base64");
    let expected_bytes: Vec<u8> = expected.iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(text.len(), expected_bytes.len().div_ceil(3) * 4);

    // The upstream got the model's upstream id, never `encoding_format`.
    let sent: Vec<Value> = mock
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/embeddings"))
        .filter_map(|r| r.json.clone())
        .collect();
    assert!(sent.iter().any(|b| b["model"] == "up-down"));
    assert!(
        sent.iter().all(|b| b.get("encoding_format").is_none()),
        "{sent:?}"
    );

    let (status, error) = gateway
        .embed(&json!({"model": "c/chat", "input": "x"}))
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "not_an_embedding_model");

    let (status, error) = gateway
        .embed(&json!({"model": "e/no-adapter", "input": "x"}))
        .await;
    assert_eq!(status, 503, "{error}");
    assert_eq!(error["error"]["code"], "no_embeddings_adapter");

    let (status, error) = gateway
        .embed(&json!({"model": "e/failover", "input": []}))
        .await;
    assert_eq!(status, 400, "{error}");
}

#[test]
fn the_catalog_lists_priced_embedding_models_and_responses_only_endpoints() {
    let file = builtin_catalog::models().expect("models");
    let model = |id: &str| {
        file.models
            .iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("{id} is in the catalog"))
    };
    let small = model("openai/text-embedding-3-small");
    assert_eq!(small.output_modalities, ["embeddings"]);
    let endpoint = small
        .endpoints
        .iter()
        .find(|e| e.provider == "openai")
        .expect("served by openai");
    assert_eq!(endpoint.upstream_model, "text-embedding-3-small");
    assert_eq!(endpoint.prompt_price.to_string(), "0.02");
    let embedding_models = file
        .models
        .iter()
        .filter(|m| m.output_modalities.iter().any(|o| o == "embeddings"))
        .count();
    assert!(embedding_models >= 20, "{embedding_models}");

    let pro = model("openai/o3-pro");
    assert_eq!(pro.endpoints[0].provider, "openai-responses");
    let providers = builtin_catalog::providers().expect("providers");
    assert_eq!(providers["openai-responses"].plugin, "openai-responses");
}
