//! End to end: what adapters declare routes requests (contract 0.5.0). The `ledger` test plugin
//! speaks an invented batch-style API that cannot stream (the mock's `/generate`, whole JSON
//! only, errors as `{"fault": {...}}`), declares no tools, and answers `unsupported` to a request
//! for log probabilities. Beside it, `openai` endpoints stream from the mock.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// The ledger fixture's text.
const LEDGER_TEXT: &str = "Hello! How can I help you today?";

/// Providers `ledger` (cheap, cannot stream) and `streamer` (OpenAI, dear), under breakers that
/// open at the `breaker`th failure (0: never), and models `m/ledger` (ledger only), `m/both`
/// (both) and `m/down` (a ledger whose upstream answers `down`).
async fn start(down: &str, breaker: u32) -> (Gateway, MockUpstream) {
    let mock = MockUpstream::start().await.unwrap();
    let mut config = format!(
        "[routing.circuit_breaker]\nfailures = {breaker}\ncooldown_ms = 600000\n\n\
         [plugins.circuit_breaker]\nfailures = {breaker}\ncooldown_ms = 600000\n\n",
    );
    config.push_str(&provider("ledger", "ledger", &mock, "", ""));
    config.push_str(&provider(
        "streamer",
        "openai",
        &mock,
        "fixture=openai/openai-text",
        "",
    ));
    config.push_str(&provider("down", "ledger", &mock, down, ""));
    config.push_str(&model("m/ledger", &[("ledger", "0.1", "0.1")]));
    config.push_str(&model(
        "m/both",
        &[("ledger", "0.1", "0.1"), ("streamer", "5", "5")],
    ));
    config.push_str(&model("m/down", &[("down", "0.1", "0.1")]));
    let gateway = Gateway::start_with_plugins(&config, &[switchyard_tests::hostile::LEDGER]).await;
    (gateway, mock)
}

async fn traced(gateway: &Gateway, body: &Value) -> (u16, Value) {
    let (status, _, text) = gateway
        .post_with_headers(body, &[("x-switchyard-debug", "routing")])
        .await;
    (status, serde_json::from_str(&text).unwrap())
}

/// The endpoint list of `model`, by provider name.
async fn endpoint(gateway: &Gateway, model: &str, provider: &str) -> Value {
    let (_, endpoints) = gateway
        .get(&format!("/api/v1/models/{model}/endpoints"))
        .await;
    let list = endpoints["data"]["endpoints"].as_array().unwrap();
    (list.iter())
        .find(|endpoint| endpoint["provider_name"] == provider)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_provider_that_cannot_stream_serves_streams_from_whole_answers() {
    let (gateway, mock) = start("", 1).await;
    let (status, _, body) = gateway.chat(&request("m/ledger", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], LEDGER_TEXT);
    assert_eq!(body["usage"]["prompt_tokens"], 9);

    let (status, events) = gateway.stream(&request("m/ledger", true)).await;
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = chunks(&events);
    assert_eq!(streamed_text(&chunks), LEDGER_TEXT);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let finishes: Vec<&Value> = (chunks.iter())
        .filter_map(|c| c["choices"].get(0).map(|choice| &choice["finish_reason"]))
        .filter(|reason| !reason.is_null())
        .collect();
    assert_eq!(finishes, [&json!("stop")]);
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        (
            usage["prompt_tokens"].clone(),
            usage["completion_tokens"].clone()
        ),
        (json!(9), json!(9))
    );
    assert!(usage["cost"].as_f64().unwrap() > 0.0, "{usage}");
    // Both upstream requests were for whole answers: the adapter was never asked to stream.
    let requests = mock.requests();
    let ledger: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/generate"))
        .collect();
    assert_eq!(ledger.len(), 2);
    assert!(ledger.iter().all(|r| !r.is_stream()));
}

#[tokio::test]
async fn a_stream_prefers_an_endpoint_that_streams_unless_sorted_by_price() {
    let (gateway, _mock) = start("", 1).await;
    for _ in 0..3 {
        let (status, events) = gateway.stream(&request("m/both", true)).await;
        assert_eq!(status, 200);
        assert_eq!(chunks(&events)[0]["provider"], "streamer");
    }
    let mut by_price = request("m/both", true);
    by_price["provider"] = json!({"sort": "price"});
    let (status, events) = gateway.stream(&by_price).await;
    assert_eq!(status, 200);
    assert_eq!(chunks(&events)[0]["provider"], "ledger");
    assert_eq!(streamed_text(&chunks(&events)), LEDGER_TEXT);
    let (_, events) = gateway.stream(&request("m/both:floor", true)).await;
    assert_eq!(chunks(&events)[0]["provider"], "ledger");
    // A whole answer has no such preference: the cheap one serves.
    let mut whole = request("m/both", false);
    whole["provider"] = json!({"sort": "price"});
    let (_, _, body) = gateway.chat(&whole).await;
    assert_eq!(body["provider"], "ledger");
}

#[tokio::test]
async fn an_endpoint_whose_adapter_lacks_a_capability_is_left_out_before_any_call() {
    let (gateway, mock) = start("", 1).await;
    let tools = json!([{"type": "function", "function": {"name": "weather", "parameters": {}}}]);
    let mut body = request("m/both", false);
    body["tools"] = tools.clone();
    body["provider"] = json!({"sort": "price"});
    let (status, answer) = traced(&gateway, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["provider"], "streamer");
    let ledger = &answer["routing"]["models"][0]["candidates"][0];
    assert_eq!(ledger["provider"], "ledger");
    assert_eq!(ledger["excluded"], "missing_capability");
    assert_eq!(
        ledger["reason"],
        "the adapter does not support tools (tools)"
    );

    // No endpoint can: a 400 naming the capability, and nothing was sent upstream.
    let before = mock.requests().len();
    let mut body = request("m/ledger", true);
    body["tools"] = tools;
    body["messages"][1]["content"] = json!([
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    ]);
    let (status, _, text) = gateway.post(&body).await;
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "missing_capability");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("tools (tools)"), "{message}");
    assert_eq!(
        error["error"]["metadata"]["missing_capabilities"],
        json!(["tools"])
    );
    assert_eq!(mock.requests().len(), before);
}

#[tokio::test]
async fn an_unsupported_answer_fails_over_and_counts_against_nobody() {
    let (gateway, _mock) = start("", 1).await;
    let mut body = request("m/both", false);
    body["logprobs"] = json!(true);
    body["provider"] = json!({"order": ["ledger", "streamer"]});
    let (status, answer) = traced(&gateway, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["provider"], "streamer");
    let attempts = answer["routing"]["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["provider"], "ledger");
    assert_eq!(attempts[0]["outcome"], "unsupported");

    // Breakers open at the first failure, yet the ledger endpoint and its adapter still serve.
    let ledger = endpoint(&gateway, "m/both", "ledger").await;
    assert_eq!(ledger["circuit"], "closed", "{ledger}");
    assert_eq!(ledger["error_rate"], 0.0, "{ledger}");
    let (status, answer) = traced(&gateway, &request("m/ledger", false)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["provider"], "ledger");
    let (_, health) = gateway.get("/health").await;
    let plugins = health["plugins"]["providers"].as_array().unwrap();
    let adapter = plugins.iter().find(|p| p["name"] == "ledger").unwrap();
    assert_eq!(adapter["contract"], "0.5.0");
    assert_ne!(adapter["health"], "open", "{adapter}");

    // Where every endpoint says so, the client is told its request cannot be served.
    let mut only = request("m/ledger", false);
    only["logprobs"] = json!(true);
    let (status, _, error) = gateway.chat(&only).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "unsupported");
}

#[tokio::test]
async fn the_providers_own_error_shape_is_typed_whole_and_streamed() {
    let (gateway, _mock) = start("status=429,retry_after=7", 0).await;
    for stream in [false, true] {
        let (status, headers, text) = gateway.post(&request("m/down", stream)).await;
        assert_eq!(status, 429, "{text}");
        assert_eq!(headers["retry-after"], "7");
        assert!(text.contains("ledger quota"), "{text}");
    }
    let (gateway, _mock) = start("status=500", 0).await;
    for stream in [false, true] {
        let (status, _, text) = gateway.post(&request("m/down", stream)).await;
        // Ledger's 500 says `overloaded` in its own shape: 503, not a generic upstream error.
        assert_eq!(status, 503, "{text}");
        assert!(text.contains("overloaded"), "{text}");
    }
}

/// The official SDKs read a stream the host made from a whole answer: `openai` in strict
/// validation mode (chat completions and Responses), `anthropic` on `/v1/messages`.
#[tokio::test]
async fn official_sdks_accept_streams_made_from_whole_answers() {
    let Some(python) = std::env::var_os("SWITCHYARD_TEST_PYTHON").filter(|p| !p.is_empty()) else {
        eprintln!(
            "SKIPPED: SWITCHYARD_TEST_PYTHON is not set (a Python with `openai` and `anthropic`)"
        );
        return;
    };
    let (gateway, _mock) = start("", 1).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/whole_stream_checks.py");
    let output = tokio::process::Command::new(python)
        .arg(&script)
        .env("SWITCHYARD_URL", &gateway.url)
        .env("MODEL", "m/ledger")
        .env("TEXT", LEDGER_TEXT)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("all checks passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
