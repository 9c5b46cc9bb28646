//! End to end for the Bedrock adapter: the real binary, the embedded wasm adapter, and the mock
//! upstream speaking Converse (JSON) and ConverseStream (binary event-stream frames) from the
//! recorded fixtures. The gateway signs every request with SigV4; the AWS secret must never
//! reach the upstream (nor the plugin, which only names the service and region).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::Value;
use switchyard_tests::{MockUpstream, RecordedRequest};

/// A generous call deadline for the adapter, so a loaded machine cannot turn a slow call into a
/// plugin fault (which fails over too) and blur what a test checks.
const PATIENT_ADAPTER: &str = "[plugins.overrides.bedrock]\ncall_timeout_ms = 10000\n\n";

/// A gateway serving `test/<name>` from one Bedrock provider `<name>` per scenario, in order.
async fn gateway(mock: &MockUpstream, providers: &[(&str, &str)]) -> Gateway {
    let mut config = PATIENT_ADAPTER.to_owned();
    for (name, scenario) in providers {
        config.push_str(&provider(name, "bedrock", mock, scenario, BEDROCK_EXTRA));
        config.push_str(&model(&format!("test/{name}"), &[(name, "1", "2")]));
    }
    Gateway::start(&config).await
}

/// The error chunk of a stream that failed after its first chunk.
fn error_chunk(events: &[String]) -> Value {
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .find(|c| c.get("error").is_some())
        .unwrap_or_else(|| panic!("no error chunk in {events:?}"))
}

/// Checks a recorded request was SigV4-signed for bedrock in eu-west-1 with the test key and
/// session token, and carries the secret nowhere (headers, path, query, body).
fn assert_signed_without_secret(request: &RecordedRequest) {
    let authorization = request
        .header("authorization")
        .expect("an Authorization header");
    let day = &request.header("x-amz-date").expect("x-amz-date")[..8];
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={}/{day}/eu-west-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=",
            AWS_ENV[0].1
        )),
        "{authorization}"
    );
    assert_eq!(request.header("x-amz-security-token"), Some(AWS_ENV[2].1));
    let secret = AWS_ENV[1].1;
    for (name, value) in &request.headers {
        assert!(!value.contains(secret), "the secret leaked in {name}");
    }
    assert!(!request.path.contains(secret));
    assert!(!request.query.as_deref().unwrap_or("").contains(secret));
    assert!(!String::from_utf8_lossy(&request.body).contains(secret));
}

#[tokio::test]
async fn converse_and_converse_stream_are_signed_and_translated() {
    let mock = MockUpstream::start().await.unwrap();
    let scenario = "fixture=bedrock/amazon-bedrock-text,split";
    let gateway = gateway(&mock, &[("bk", scenario)]).await;

    let (status, _, body) = gateway.chat(&request("test/bk", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Let me count the \"r\"s in \"strawberry\":\n\ns-t-**r**-a-w-b-e-**r**-**r**-y\n\nThere are **3** \"r\"s in \"strawberry.\""
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["choices"][0]["native_finish_reason"], "end_turn");
    assert_eq!(body["usage"]["prompt_tokens"], 22);
    assert_eq!(body["usage"]["completion_tokens"], 57);
    assert_eq!(body["provider"], "bk");

    let (status, events) = gateway.stream(&request("test/bk", true)).await;
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = chunks(&events);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(
        streamed_text(&chunks),
        "Let me count the \"r\"s in \"strawberry\":\n\ns-t-**r**-a-w-b-e-**r**-**r**-y\n\nThere are **3** r's in \"strawberry.\""
    );
    let finishes: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| f.is_string())
        .collect();
    assert_eq!(finishes, ["stop"]);
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], 22);
    assert_eq!(usage["completion_tokens"], 55);

    let sent = mock.requests_for(scenario);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].path, format!("/{scenario}/v1/model/up-bk/converse"));
    assert_eq!(
        sent[1].path,
        format!("/{scenario}/v1/model/up-bk/converse-stream")
    );
    for request in &sent {
        assert_signed_without_secret(request);
        // The provider's api_key_env credential is not used by a SigV4 adapter.
        assert!(
            request
                .headers
                .iter()
                .all(|(_, value)| !value.contains(KEY))
        );
        let body = request.json.as_ref().unwrap();
        assert_eq!(body["system"], serde_json::json!([{"text": "Be brief."}]));
        assert_eq!(
            body["messages"],
            serde_json::json!([{"role": "user", "content": [{"text": "Hello!"}]}])
        );
    }
}

#[tokio::test]
async fn a_streamed_tool_call_with_redacted_reasoning_is_reassembled() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(
        &mock,
        &[(
            "tools",
            "fixture=bedrock/amazon-bedrock-redacted-content,split",
        )],
    )
    .await;
    let (status, events) = gateway.stream(&request("test/tools", true)).await;
    assert_eq!(status, 200, "{events:?}");
    let chunks = chunks(&events);
    let mut arguments = String::new();
    let mut names = Vec::new();
    for chunk in &chunks {
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(call["index"], 0);
            names.extend(call["function"]["name"].as_str().map(str::to_owned));
            arguments.push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(names, ["propose"]);
    let arguments: Value = serde_json::from_str(&arguments).expect("JSON arguments");
    assert!(arguments.is_object());
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
}

#[tokio::test]
async fn throttling_fails_over_and_is_a_429_when_nothing_else_is_left() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{PATIENT_ADAPTER}{}{}{}{}",
        provider("limited", "bedrock", &mock, "status=429", BEDROCK_EXTRA),
        provider(
            "healthy",
            "bedrock",
            &mock,
            "fixture=bedrock/amazon-bedrock-text",
            BEDROCK_EXTRA
        ),
        model(
            "test/failover",
            &[("limited", "1", "2"), ("healthy", "3", "4")]
        ),
        model("test/limited", &[("limited", "1", "2")]),
    );
    let gateway = Gateway::start(&config).await;

    // `order` tries the throttled endpoint first (the price policy's order is random).
    let mut first_limited = request("test/failover", false);
    first_limited["provider"] = serde_json::json!({ "order": ["limited"] });
    let (status, _, body) = gateway.chat(&first_limited).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "healthy");
    assert_eq!(mock.requests_for("status=429").len(), 1);

    let (status, _, body) = gateway.chat(&request("test/limited", false)).await;
    assert_eq!(status, 429, "{body}");
    let (status, _, body) = gateway.chat(&request("test/limited", true)).await;
    assert_eq!(status, 429, "{body}");
}

#[tokio::test]
async fn broken_streams_end_with_an_error_chunk_or_fail_before_committing() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(
        &mock,
        &[
            ("cut", "fixture=bedrock/amazon-bedrock-text,cut_after=4"),
            (
                "unfinished",
                "fixture=bedrock/amazon-bedrock-text,no_terminal",
            ),
            (
                "throttled",
                "fixture=bedrock/amazon-bedrock-text,exception_after=3",
            ),
            (
                "early",
                "fixture=bedrock/amazon-bedrock-text,exception_after=1",
            ),
            ("garbage", "garbage"),
        ],
    )
    .await;

    // Cut mid-stream, or closed without the terminal metadata event: an error chunk, no stop.
    for model in ["test/cut", "test/unfinished"] {
        let (status, events) = gateway.stream(&request(model, true)).await;
        assert_eq!(status, 200);
        assert_ne!(events.last().map(String::as_str), Some("[DONE]"));
        let failed = error_chunk(&events);
        assert_eq!(failed["choices"][0]["finish_reason"], "error", "{events:?}");
        assert_eq!(failed["error"]["code"], 502);
        assert!(!streamed_text(&chunks(&events)).is_empty());
        assert!(
            chunks(&events)
                .iter()
                .all(|c| c["choices"][0]["finish_reason"] != "stop"),
            "{model}"
        );
    }

    // A throttlingException after content went out: the error chunk says rate-limited.
    let (status, events) = gateway.stream(&request("test/throttled", true)).await;
    assert_eq!(status, 200);
    let failed = error_chunk(&events);
    assert_eq!(failed["error"]["code"], 429, "{events:?}");

    // Before any content (only messageStart sent), the exception is still a plain 429.
    let (status, _, body) = gateway.post(&request("test/early", true)).await;
    assert_eq!(status, 429, "{body}");

    // Bytes that are not event-stream frames fail the prelude checksum: 502 before commit.
    let (status, _, body) = gateway.post(&request("test/garbage", true)).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("checksum"), "{body}");
}

#[tokio::test]
async fn without_its_aws_credentials_a_bedrock_provider_is_disabled() {
    let mock = MockUpstream::start().await.unwrap();
    // The secret's variable is unset; the key id's (from the harness) is set.
    let extra = BEDROCK_EXTRA.replace(
        "SWITCHYARD_TEST_AWS_SECRET_ACCESS_KEY",
        "SWITCHYARD_TEST_AWS_UNSET_SECRET",
    );
    let config = format!(
        "{}{}",
        provider("bk", "bedrock", &mock, "", &extra),
        model("test/bk", &[("bk", "1", "2")]),
    );
    let gateway = Gateway::start(&config).await;
    let (status, _, body) = gateway.chat(&request("test/bk", false)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "no_endpoints", "{body}");
    assert!(
        body["error"]["metadata"]["disabled"][0]
            .as_str()
            .unwrap()
            .contains("SWITCHYARD_TEST_AWS_UNSET_SECRET"),
        "{body}"
    );
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn signed_reasoning_reaches_the_client_as_reasoning_details() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(
        &mock,
        &[("think", "fixture=bedrock/amazon-bedrock-reasoning")],
    )
    .await;

    let (status, _, body) = gateway.chat(&request("test/think", false)).await;
    assert_eq!(status, 200, "{body}");
    let message = &body["choices"][0]["message"];
    let detail = &message["reasoning_details"][0];
    assert_eq!(detail["type"], "reasoning.text");
    assert_eq!(detail["text"], message["reasoning"]);
    assert!(detail["signature"].as_str().is_some_and(|s| !s.is_empty()));

    let (status, events) = gateway.stream(&request("test/think", true)).await;
    assert_eq!(status, 200, "{events:?}");
    let signatures: Vec<String> = chunks(&events)
        .iter()
        .flat_map(|c| {
            c["choices"][0]["delta"]["reasoning_details"]
                .as_array()
                .cloned()
        })
        .flatten()
        .filter_map(|d| d["signature"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(signatures.len(), 1, "{events:?}");
}

#[tokio::test]
async fn a_messages_client_s_cache_control_and_accepted_betas_reach_claude_on_bedrock() {
    let mock = MockUpstream::start().await.unwrap();
    let scenario = "fixture=bedrock/amazon-bedrock-text";
    let mut config = PATIENT_ADAPTER.to_owned();
    config.push_str(&provider("bk", "bedrock", &mock, scenario, BEDROCK_EXTRA));
    config.push_str(
        "[[models]]\nid = \"test/claude\"\nendpoints = [{ provider = \"bk\", upstream_model = \"us.anthropic.claude-sonnet-4-5-20250929-v1:0\", prompt_price = \"1\", completion_price = \"2\" }]\n",
    );
    let gateway = Gateway::start(&config).await;

    let response = gateway
        .client
        .post(format!("{}/v1/messages", gateway.url))
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        )
        .json(&serde_json::json!({
            "model": "test/claude",
            "max_tokens": 100,
            "system": [{"type": "text", "text": "Long instructions.", "cache_control": {"type": "ephemeral"}}],
            "tools": [{"name": "lookup", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "Hello!"}]
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "message");

    let sent = mock.requests_for(scenario);
    let upstream = sent[0].json.as_ref().unwrap();
    let point = serde_json::json!({"cachePoint": {"type": "default"}});
    assert_eq!(
        upstream["system"],
        serde_json::json!([{"text": "Long instructions."}, point])
    );
    assert_eq!(upstream["toolConfig"]["tools"][1], point);
    // Bedrock refuses flags it does not know ("invalid beta flag"): only its own go through.
    assert_eq!(
        upstream["additionalModelRequestFields"]["anthropic_beta"],
        serde_json::json!(["interleaved-thinking-2025-05-14"])
    );
}
