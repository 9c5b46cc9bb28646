//! End to end: the real binary, real wasm adapters, a mock upstream replaying recorded OpenAI and
//! Anthropic traffic. Non-stream and stream, tool calls, pricing, credentials, listings.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// openai-text: 16 prompt + 363 completion tokens at $0.10 / $0.40 per million, plus 5%.
const OPENAI_TEXT_COST: f64 = 0.00015414;

async fn openai_gateway(mock: &MockUpstream, scenario: &str) -> Gateway {
    let config = format!(
        "{}{}",
        provider("oa", "openai", mock, scenario, ""),
        model("openai/gpt-4.1-nano", &[("oa", "0.10", "0.40")])
    );
    Gateway::start(&config).await
}

#[tokio::test]
async fn openai_non_stream_is_translated_priced_and_stamped() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = openai_gateway(&mock, "fixture=openai/openai-text").await;

    let (status, headers, body) = gateway.chat(&request("openai/gpt-4.1-nano", false)).await;
    assert_eq!(status, 200, "{body}");
    let fixture = fixture_json("openai/openai-text.json");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        fixture["choices"][0]["message"]["content"]
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "openai/gpt-4.1-nano");
    assert_eq!(body["provider"], "oa");
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("gen-"), "{id}");
    assert_eq!(headers["x-generation-id"], id);
    assert_eq!(body["usage"]["prompt_tokens"], 16);
    assert_eq!(body["usage"]["completion_tokens"], 363);
    assert_eq!(body["usage"]["total_tokens"], 379);
    assert_eq!(body["usage"]["cost"].as_f64(), Some(OPENAI_TEXT_COST));

    // The upstream got the adapter's translation with the host-inserted credential.
    let sent = mock.requests_for("fixture=openai/openai-text");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let upstream_body = sent[0].json.as_ref().unwrap();
    assert_eq!(upstream_body["model"], "up-oa");
    assert_eq!(upstream_body["messages"][1]["content"], "Hello!");
}

#[tokio::test]
async fn openai_stream_relays_every_chunk_then_usage_with_cost_then_done() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = openai_gateway(&mock, "fixture=openai/openai-text").await;

    let (status, events) = gateway.stream(&request("openai/gpt-4.1-nano", true)).await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = chunks(&events);
    let expected: String = std::fs::read_to_string(
        switchyard_tests::fixtures_dir().join("openai/openai-text.chunks.txt"),
    )
    .unwrap()
    .lines()
    .filter_map(|line| serde_json::from_str::<Value>(line).ok())
    .filter_map(|chunk| {
        chunk["choices"][0]["delta"]["content"]
            .as_str()
            .map(str::to_owned)
    })
    .collect();
    assert!(!expected.is_empty());
    assert_eq!(streamed_text(&chunks), expected);
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(id.starts_with("gen-"));
    for chunk in &chunks {
        assert_eq!(chunk["id"], id);
        assert_eq!(chunk["model"], "openai/gpt-4.1-nano");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(
            chunk.get("obfuscation").is_none(),
            "padding must be stripped: {chunk}"
        );
    }
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    let usage_chunk = chunks.last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert!(usage_chunk["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert!(usage_chunk["usage"]["cost"].as_f64().unwrap() > 0.0);
    // The adapter asked the upstream for usage in the stream.
    let sent = mock.requests_for("fixture=openai/openai-text");
    assert_eq!(
        sent[0].json.as_ref().unwrap()["stream_options"]["include_usage"],
        true
    );
}

#[tokio::test]
async fn sse_framing_split_across_reads_and_crlf_reassembles() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = openai_gateway(&mock, "fixture=openai/openai-text,split,crlf").await;
    let (status, events) = gateway.stream(&request("openai/gpt-4.1-nano", true)).await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let text = streamed_text(&chunks(&events));
    let fixture = fixture_json("openai/openai-text.json");
    // Same conversation recorded twice: both start with the holiday's name.
    assert!(text.starts_with("**Holiday Name:**"), "{text}");
    assert!(
        fixture["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday Name:**")
    );
}

async fn anthropic_gateway(mock: &MockUpstream, scenario: &str) -> Gateway {
    let config = format!(
        "{}{}",
        provider("claude", "anthropic", mock, scenario, ""),
        model("anthropic/claude-sonnet-4.5", &[("claude", "3", "15")])
    );
    Gateway::start(&config).await
}

#[tokio::test]
async fn anthropic_non_stream_lifts_system_and_maps_the_answer() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = anthropic_gateway(&mock, "fixture=anthropic/anthropic-text").await;

    let (status, _, body) = gateway
        .chat(&request("anthropic/claude-sonnet-4.5", false))
        .await;
    assert_eq!(status, 200, "{body}");
    let fixture = fixture_json("anthropic/anthropic-text.json");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        fixture["content"][0]["text"]
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["choices"][0]["native_finish_reason"], "end_turn");
    assert_eq!(body["usage"]["prompt_tokens"], 12);
    assert_eq!(body["usage"]["completion_tokens"], 29);
    // 12 × $3 + 29 × $15 per million = 0.000471, plus 5%.
    assert_eq!(body["usage"]["cost"].as_f64(), Some(0.00049455));
    assert_eq!(body["provider"], "claude");

    let sent = mock.requests_for("fixture=anthropic/anthropic-text");
    assert_eq!(
        sent[0].path,
        "/fixture=anthropic/anthropic-text/v1/messages"
    );
    assert_eq!(sent[0].header("x-api-key"), Some(KEY));
    assert!(sent[0].header("authorization").is_none());
    assert!(sent[0].header("anthropic-version").is_some());
    let upstream = sent[0].json.as_ref().unwrap();
    assert_eq!(upstream["system"], "Be brief.");
    assert_eq!(upstream["messages"].as_array().unwrap().len(), 1);
    assert!(upstream["max_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn anthropic_stream_is_decoded_into_openai_chunks() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = anthropic_gateway(&mock, "fixture=anthropic/anthropic-text").await;

    let (status, events) = gateway
        .stream(&request("anthropic/claude-sonnet-4.5", true))
        .await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = chunks(&events);
    assert_eq!(
        streamed_text(&chunks),
        "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?"
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], 12);
    assert_eq!(usage["completion_tokens"], 30);
}

fn tool_request(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "stream": stream,
        "messages": [{ "role": "user", "content": "Weather in Paris?" }],
        "tools": [{ "type": "function", "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": { "type": "object", "properties": { "location": { "type": "string" } } }
        }}],
        "tool_choice": "auto"
    })
}

#[tokio::test]
async fn openai_compatible_tool_calls_round_trip() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = openai_gateway(&mock, "fixture=groq/groq-tool-call").await;

    let (status, _, body) = gateway
        .chat(&tool_request("openai/gpt-4.1-nano", false))
        .await;
    assert_eq!(status, 200, "{body}");
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "ax9fskhev");
    assert_eq!(call["function"]["name"], "weather");
    assert_eq!(call["function"]["arguments"], "{}");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");

    let (status, events) = gateway
        .stream(&tool_request("openai/gpt-4.1-nano", true))
        .await;
    assert_eq!(status, 200);
    let chunks = chunks(&events);
    let delta = chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array().cloned())
        .expect("a tool call delta");
    assert_eq!(delta[0]["id"], "tk85n1k4m");
    assert_eq!(delta[0]["function"]["name"], "weather");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
    // Usage that Groq puts on the finish chunk arrives in the final usage chunk.
    assert_eq!(chunks.last().unwrap()["usage"]["prompt_tokens"], 210);
    // Tools went upstream intact.
    let sent = mock.requests_for("fixture=groq/groq-tool-call");
    assert_eq!(
        sent[0].json.as_ref().unwrap()["tools"][0]["function"]["name"],
        "get_weather"
    );
}

#[tokio::test]
async fn anthropic_tool_use_streams_as_tool_call_deltas() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = anthropic_gateway(&mock, "fixture=anthropic/tool_use_response").await;

    let (status, events) = gateway
        .stream(&tool_request("anthropic/claude-sonnet-4.5", true))
        .await;
    assert_eq!(status, 200);
    let chunks = chunks(&events);
    let mut arguments = String::new();
    let mut name = None;
    let mut id = None;
    for chunk in &chunks {
        if let Some(calls) = chunk["choices"][0]["delta"]["tool_calls"].as_array() {
            for call in calls {
                name = name.or(call["function"]["name"].as_str().map(str::to_owned));
                id = id.or(call["id"].as_str().map(str::to_owned));
                arguments.push_str(call["function"]["arguments"].as_str().unwrap_or_default());
            }
        }
    }
    assert_eq!(name.as_deref(), Some("get_weather"));
    assert_eq!(id.as_deref(), Some("toolu_01NRLabsLyVHZPKxbKvkfSMn"));
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({ "location": "Paris" })
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
    let sent = mock.requests_for("fixture=anthropic/tool_use_response");
    let tools = &sent[0].json.as_ref().unwrap()["tools"];
    assert_eq!(tools[0]["name"], "get_weather");
    assert_eq!(tools[0]["input_schema"]["type"], "object");
}

#[tokio::test]
async fn anthropic_non_stream_tool_use_becomes_tool_calls() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = anthropic_gateway(&mock, "fixture=anthropic/anthropic-json-other-tool.1").await;
    let (status, _, body) = gateway
        .chat(&tool_request("anthropic/claude-sonnet-4.5", false))
        .await;
    assert_eq!(status, 200, "{body}");
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "toolu_01PQjhxo3eirCdKNvCJrKc8f");
    assert_eq!(call["function"]["name"], "weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({ "location": "San Francisco" }));
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn models_and_health_list_what_is_usable() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}[providers.nokey]\nplugin = \"openai\"\nbase_url = \"{}\"\napi_key_env = \"SWITCHYARD_TEST_UNSET_VARIABLE\"\n{}",
        provider("oa", "openai", &mock, "", ""),
        model("openai/gpt-4.1-nano", &[("oa", "0.10", "0.40")]),
        mock.base_url(""),
        model("other/needs-key", &[("nokey", "1", "1")]),
    );
    let gateway = Gateway::start(&config).await;

    let (status, models) = gateway.get("/v1/models").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["openai/gpt-4.1-nano"]);
    assert_eq!(models["data"][0]["pricing"]["prompt"], "0.0000001");

    // Known model, no enabled endpoint: 404 (OpenRouter's "no endpoints found").
    let (status, _, body) = gateway.chat(&request("other/needs-key", false)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "no_endpoints", "{body}");
    assert!(
        body["error"]["metadata"]["disabled"][0]
            .as_str()
            .unwrap()
            .contains("SWITCHYARD_TEST_UNSET_VARIABLE")
    );

    let (status, health) = gateway.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    let providers: Vec<&str> = health["plugins"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["openai", "anthropic", "test-panic", "test-spin", "test-hog"] {
        assert!(
            providers.contains(&name),
            "{name} missing from {providers:?}"
        );
    }
    let routers: Vec<&str> = health["plugins"]["routers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "price",
        "cheapest",
        "latency",
        "throughput",
        "least-busy",
        "weighted",
    ] {
        assert!(routers.contains(&name), "{name} missing from {routers:?}");
    }
}
