//! `POST /v1/embeddings` through the gemini, cohere, mistral and bedrock adapters: the built-in
//! catalog's embedding models of those providers, served by the real binary with the providers
//! pointed at the mock upstream speaking each provider's embeddings wire format; the requests
//! those adapters refuse; and chat completions refused for embedding models.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};
use switchyard_tests::embeddings::vector;
use switchyard_tests::{MockUpstream, RecordedRequest};

/// Generous adapter call deadlines, so a loaded machine cannot turn a slow call into a plugin
/// fault that fails over and blurs what a test checks.
const PATIENT_ADAPTERS: &str = "[plugins.overrides.gemini]\ncall_timeout_ms = 10000\n\n[plugins.overrides.cohere]\ncall_timeout_ms = 10000\n\n[plugins.overrides.mistral]\ncall_timeout_ms = 10000\n\n[plugins.overrides.bedrock]\ncall_timeout_ms = 10000\n\n";

/// The built-in catalog with Google, Cohere, Mistral and Bedrock at the mock (the test key, and
/// AWS credentials for Bedrock).
async fn catalog_gateway(mock: &MockUpstream) -> Gateway {
    let mut config = PATIENT_ADAPTERS.to_owned();
    for provider in ["google", "cohere", "mistral"] {
        config.push_str(&format!(
            "[catalog.providers.{provider}]\nbase_url = \"{}\"\napi_key_env = \"{KEY_ENV}\"\n\n",
            mock.base_url("")
        ));
    }
    config.push_str(&format!(
        "[catalog.providers.bedrock]\nbase_url = \"{}\"\noptions = {{ region = \"us-east-1\" }}\n",
        mock.base_url("")
    ));
    let aws = [
        ("AWS_ACCESS_KEY_ID", AWS_ENV[0].1),
        ("AWS_SECRET_ACCESS_KEY", AWS_ENV[1].1),
    ];
    Gateway::start_with_env(&config, &aws).await
}

/// The one request the mock received whose path ends with `suffix`.
fn sent(mock: &MockUpstream, suffix: &str) -> RecordedRequest {
    let mut matching: Vec<RecordedRequest> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(suffix))
        .collect();
    assert_eq!(matching.len(), 1, "requests to {suffix}");
    matching.remove(0)
}

/// Checks the answer's vectors are the mock's for `texts` at `size` numbers.
fn assert_vectors(body: &Value, texts: &[&str], size: usize) {
    let data = body["data"].as_array().expect("data");
    assert_eq!(data.len(), texts.len(), "{body}");
    for (index, (item, text)) in data.iter().zip(texts).enumerate() {
        assert_eq!(item["index"], index);
        assert_eq!(item["object"], "embedding");
        let got: Vec<f64> = item["embedding"]
            .as_array()
            .expect("numbers")
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let want = vector(text, size);
        assert_eq!(got.len(), want.len(), "{text}");
        for (got, want) in got.iter().zip(&want) {
            assert!(
                (got - f64::from(*want)).abs() < 1e-6,
                "{text}: {got} != {want}"
            );
        }
    }
}

fn cost(body: &Value) -> f64 {
    body["usage"]["cost"].as_f64().expect("usage.cost")
}

#[tokio::test]
async fn catalog_embedding_models_are_served_by_their_providers_adapters() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = catalog_gateway(&mock).await;

    // Gemini: batchEmbedContents, one request per text; no usage upstream, so an estimate is
    // charged (never free).
    let (status, body) = gateway
        .embed(
            &json!({"model": "google/gemini-embedding-001", "input": ["one two", "three"],
                "dimensions": 4, "input_type": "search_query", "provider": {"only": ["google"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "google");
    assert_vectors(&body, &["one two", "three"], 4);
    assert!(
        body["usage"]["prompt_tokens"].as_u64().unwrap() >= 3,
        "{body}"
    );
    assert!(cost(&body) > 0.0, "an estimate is charged: {body}");
    let request = sent(&mock, "/models/gemini-embedding-001:batchEmbedContents");
    assert_eq!(request.header("x-goog-api-key"), Some(KEY));
    let upstream = request.json.unwrap();
    assert_eq!(upstream["requests"][1]["taskType"], "RETRIEVAL_QUERY");
    assert_eq!(upstream["requests"][1]["outputDimensionality"], 4);
    assert_eq!(
        upstream["requests"][1]["content"],
        json!({"parts": [{"text": "three"}]})
    );

    // Cohere: Embed v2 with the default input type, billed tokens priced ($0.10/M + 5% fee),
    // base64 encoded by the host from the floats Cohere sent.
    let (status, body) = gateway
        .embed(
            &json!({"model": "cohere/embed-english-v3.0", "input": "alpha beta",
                "encoding_format": "base64", "provider": {"only": ["cohere"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "cohere");
    assert_eq!(body["usage"]["prompt_tokens"], 2);
    assert!((cost(&body) - 2.1e-7).abs() < 1e-12, "{body}");
    let encoded = body["data"][0]["embedding"].as_str().expect("base64");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let expected: Vec<u8> = vector("alpha beta", 8)
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    assert_eq!(bytes, expected);
    let request = sent(&mock, "/v1/embed");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        request.json.unwrap(),
        json!({"model": "embed-english-v3.0", "texts": ["alpha beta"],
               "input_type": "search_document", "embedding_types": ["float"]})
    );

    // Mistral: OpenAI's shape with `output_dimension`, nothing Mistral would refuse.
    let (status, body) = gateway
        .embed(
            &json!({"model": "mistralai/codestral-embed", "input": ["a b c"], "dimensions": 5,
                "user": "u1", "provider": {"only": ["mistral"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "mistral");
    assert_vectors(&body, &["a b c"], 5);
    assert_eq!(body["usage"]["prompt_tokens"], 3);
    assert_eq!(
        sent(&mock, "/v1/embeddings").json.unwrap(),
        json!({"model": "codestral-embed", "input": ["a b c"], "output_dimension": 5})
    );

    // Bedrock, Titan v2: one signed InvokeModel per text, its token count from the answer.
    let (status, body) = gateway
        .embed(
            &json!({"model": "amazon/titan-embed-text", "input": "x y", "dimensions": 3,
                "provider": {"only": ["bedrock"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "bedrock");
    assert_vectors(&body, &["x y"], 3);
    assert_eq!(body["usage"]["prompt_tokens"], 2);
    let request = sent(&mock, "/model/amazon.titan-embed-text-v2%3A0/invoke");
    assert!(
        request
            .header("authorization")
            .unwrap()
            .contains("/us-east-1/bedrock/aws4_request")
    );
    assert_eq!(
        request.json.unwrap(),
        json!({"inputText": "x y", "dimensions": 3})
    );

    // Bedrock, Cohere Embed v4: Cohere's body, several texts, tokens from Bedrock's header.
    let (status, body) = gateway
        .embed(
            &json!({"model": "cohere/embed-v4.0", "input": ["p", "q r"], "input_type": "clustering",
                "provider": {"only": ["bedrock"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "bedrock");
    assert_vectors(&body, &["p", "q r"], 8);
    assert_eq!(body["usage"]["prompt_tokens"], 3);
    assert_eq!(
        sent(&mock, "/model/cohere.embed-v4%3A0/invoke")
            .json
            .unwrap()["input_type"],
        "clustering"
    );
}

#[tokio::test]
async fn inputs_a_provider_cannot_take_are_refused_and_chat_refuses_embedding_models() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = catalog_gateway(&mock).await;

    let (status, error) = gateway
        .embed(
            &json!({"model": "google/gemini-embedding-001", "input": [[1, 2], [3]],
                "provider": {"only": ["google"]}}),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("token ids"),
        "{error}"
    );

    let (status, error) = gateway
        .embed(
            &json!({"model": "amazon/titan-embed-text", "input": ["one", "two"],
                "provider": {"only": ["bedrock"]}}),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("one text per request"),
        "{error}"
    );
    assert!(
        mock.requests().is_empty(),
        "refused before reaching the upstream"
    );

    // Chat completions for an embedding model: a 400 in OpenAI's shape, nothing sent upstream.
    let (status, _, error) = gateway
        .chat(&request("mistralai/mistral-embed", false))
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["code"], "not_a_chat_model");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/embeddings"),
        "{error}"
    );
    let (status, _, error) = gateway
        .chat(&request("amazon/titan-embed-text", true))
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "not_a_chat_model");
    assert!(mock.requests().is_empty());
}
