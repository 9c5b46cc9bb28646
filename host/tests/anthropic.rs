//! End to end: the Anthropic Messages API (`/v1/messages`, `count_tokens`, `/v1/models` in
//! Anthropic's shape, `HEAD /`) served by the real binary over Anthropic-native and
//! OpenAI-compatible mock upstreams; model aliases; sticky routing; and the official `anthropic`
//! Python SDK (when `SWITCHYARD_TEST_PYTHON` names a Python with it installed; `.ci/run` sets
//! it).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const TEXT: &str = "fixture=anthropic/anthropic-text";
const TOOL: &str = "fixture=anthropic/anthropic-json-other-tool.1";
const THINK: &str = "fixture=anthropic/anthropic-clear-thinking.1";
/// Cut by the stop sequence `Is there`, with a prompt read from and written to the cache.
const STOP: &str = "fixture=synthetic/anthropic-stop-sequence-cached";
/// Five text blocks, two of them citing documents.
const CITE: &str = "fixture=synthetic/anthropic-citations";
const OPENAI_TEXT: &str = "fixture=openai/openai-text";
const OPENAI_TOOL: &str = "fixture=deepseek/deepseek-tool-call";

/// A gateway with one model per mock scenario.
async fn gateway(mock: &MockUpstream, extra: &str) -> Gateway {
    let config = [
        provider("claude_text", "anthropic", mock, TEXT, ""),
        provider("claude_tool", "anthropic", mock, TOOL, ""),
        provider("claude_think", "anthropic", mock, THINK, ""),
        provider("claude_stop", "anthropic", mock, STOP, ""),
        provider("claude_cite", "anthropic", mock, CITE, ""),
        provider(
            "claude_429",
            "anthropic",
            mock,
            "status=429,retry_after=7",
            "",
        ),
        provider("claude_cut", "anthropic", mock, "cut_after=5", ""),
        provider("oa_text", "openai", mock, OPENAI_TEXT, ""),
        provider("oa_tool", "openai", mock, OPENAI_TOOL, ""),
        model("anthropic/claude-sonnet-4.5", &[("claude_text", "3", "15")]),
        model("test/claude-tool", &[("claude_tool", "3", "15")]),
        model("test/claude-think", &[("claude_think", "3", "15")]),
        model("test/claude-stop", &[("claude_stop", "3", "15")]),
        model("test/claude-cite", &[("claude_cite", "3", "15")]),
        model("test/claude-429", &[("claude_429", "3", "15")]),
        model("test/claude-cut", &[("claude_cut", "3", "15")]),
        model("openai/gpt-4.1-nano", &[("oa_text", "0.10", "0.40")]),
        model("test/openai-tool", &[("oa_tool", "0.10", "0.40")]),
        extra.to_owned(),
    ]
    .concat();
    Gateway::start(&config).await
}

/// POSTs `body` to `path` with Anthropic's headers; returns status, headers and body text.
async fn post(
    gateway: &Gateway,
    path: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    post_with(gateway, path, body, &[("anthropic-version", "2023-06-01")]).await
}

/// POSTs `body` to `path` with an `x-api-key` and `headers` (a name may repeat).
async fn post_with(
    gateway: &Gateway,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = gateway
        .client
        .post(format!("{}{path}", gateway.url))
        .header("x-api-key", "sk-anything");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn messages(gateway: &Gateway, body: &Value) -> (u16, Value) {
    let (status, _, text) = post(gateway, "/v1/messages", body).await;
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, json)
}

/// A streamed request's events as (name, data).
async fn stream_events(gateway: &Gateway, body: &Value) -> (u16, Vec<(String, Value)>) {
    let (status, headers, text) = post(gateway, "/v1/messages?beta=true", body).await;
    if status == 200 {
        assert_eq!(headers["content-type"], "text/event-stream");
    }
    let events = text
        .split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            let (name, data) = event.split_once('\n').unwrap_or_else(|| panic!("{event}"));
            let name = name
                .strip_prefix("event: ")
                .unwrap_or_else(|| panic!("{event}"));
            let data = data
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("{event}"));
            (name.to_owned(), serde_json::from_str(data).unwrap())
        })
        .collect();
    (status, events)
}

fn hello(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello!"}]
    })
}

/// The events of a fixture's recorded stream, for comparison.
fn fixture_events(name: &str) -> Vec<Value> {
    let path = switchyard_tests::fixtures_dir().join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn a_message_from_either_kind_of_upstream_has_anthropics_shape() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;

    // A vendor id, resolved by the aliases.
    let (status, message) = messages(&gateway, &hello("claude-sonnet-4-5-20250929", false)).await;
    assert_eq!(status, 200, "{message}");
    let fixture = fixture_json("anthropic/anthropic-text.json");
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"], fixture["content"]);
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["stop_sequence"], Value::Null);
    assert_eq!(
        message["usage"],
        json!({"input_tokens": 12, "output_tokens": 29, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0})
    );
    assert!(message["id"].as_str().unwrap().starts_with("gen-"));
    let upstream = mock.requests_for(TEXT).pop().unwrap().json.unwrap();
    assert_eq!(upstream["system"], "Be brief.");
    assert_eq!(upstream["max_tokens"], 256);

    let (status, message) = messages(&gateway, &hello("openai/gpt-4.1-nano", false)).await;
    assert_eq!(status, 200, "{message}");
    let fixture = fixture_json("openai/openai-text.json");
    assert_eq!(
        message["content"][0]["text"],
        fixture["choices"][0]["message"]["content"]
    );
    assert_eq!(message["usage"]["input_tokens"], 16);
    assert_eq!(message["usage"]["output_tokens"], 363);
}

#[tokio::test]
async fn a_stream_follows_anthropics_event_sequence() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;

    // Text from an Anthropic-native upstream: the same blocks and deltas as recorded.
    let (status, events) =
        stream_events(&gateway, &hello("anthropic/claude-sonnet-4.5", true)).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    let recorded: Vec<Value> = fixture_events("anthropic/anthropic-text.chunks.txt");
    let recorded_names: Vec<&str> = recorded
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .filter(|name| *name != "ping")
        .collect();
    let ours: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| *name != "ping")
        .collect();
    assert_eq!(ours, recorded_names);
    let text_deltas = |events: &[(String, Value)]| -> Vec<Value> {
        events
            .iter()
            .filter(|(name, _)| name == "content_block_delta")
            .map(|(_, data)| data["delta"].clone())
            .collect()
    };
    let recorded_deltas: Vec<Value> = recorded
        .iter()
        .filter(|event| event["type"] == "content_block_delta")
        .map(|event| event["delta"].clone())
        .collect();
    assert_eq!(text_deltas(&events), recorded_deltas);
    let (_, delta) = events
        .iter()
        .find(|(name, _)| name == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    let recorded_usage = &recorded
        .iter()
        .find(|event| event["type"] == "message_delta")
        .unwrap()["usage"];
    assert_eq!(
        delta["usage"]["input_tokens"],
        recorded_usage["input_tokens"]
    );
    assert_eq!(
        delta["usage"]["output_tokens"],
        recorded_usage["output_tokens"]
    );

    // A tool use: the same input_json_delta fragments, the id and name kept.
    let tool = json!({"model": "test/claude-tool", "max_tokens": 256, "stream": true,
        "messages": [{"role": "user", "content": "Weather in SF?"}],
        "tools": [{"name": "weather", "input_schema": {"type": "object"}}]});
    let (status, events) = stream_events(&gateway, &tool).await;
    assert_eq!(status, 200);
    let (_, start) = events
        .iter()
        .find(|(name, _)| name == "content_block_start")
        .unwrap();
    assert_eq!(
        start["content_block"]["id"],
        "toolu_019Zvehfe1XQWweT1pm7okyt"
    );
    assert_eq!(start["content_block"]["name"], "weather");
    let fragments: String = events
        .iter()
        .filter(|(name, data)| {
            name == "content_block_delta" && data["delta"]["type"] == "input_json_delta"
        })
        .map(|(_, data)| data["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&fragments).unwrap(),
        json!({"location": "San Francisco"})
    );
    let (_, delta) = events
        .iter()
        .find(|(name, _)| name == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");

    // Thinking: thinking_delta then the signature, as recorded.
    let think = json!({"model": "test/claude-think", "max_tokens": 4096, "stream": true,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [{"role": "user", "content": "Divide by 5"}]});
    let (status, events) = stream_events(&gateway, &think).await;
    assert_eq!(status, 200);
    let recorded_signature: String =
        fixture_events("anthropic/anthropic-clear-thinking.1.chunks.txt")
            .iter()
            .filter(|event| event["delta"]["type"] == "signature_delta")
            .map(|event| event["delta"]["signature"].as_str().unwrap().to_owned())
            .collect();
    let signature: String = events
        .iter()
        .filter(|(_, data)| data["delta"]["type"] == "signature_delta")
        .map(|(_, data)| data["delta"]["signature"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(signature, recorded_signature);
    let upstream = mock.requests_for(THINK).pop().unwrap().json.unwrap();
    assert_eq!(
        upstream["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );

    // An OpenAI-compatible upstream's tool call, as Anthropic blocks.
    let tool = json!({"model": "test/openai-tool", "max_tokens": 256, "stream": true,
        "messages": [{"role": "user", "content": "Weather in SF?"}],
        "tools": [{"name": "weather", "input_schema": {"type": "object"}}]});
    let (status, events) = stream_events(&gateway, &tool).await;
    assert_eq!(status, 200);
    let fragments: String = events
        .iter()
        .filter(|(_, data)| data["delta"]["type"] == "input_json_delta")
        .map(|(_, data)| data["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&fragments).unwrap(),
        json!({"location": "San Francisco"})
    );
    assert_eq!(events.last().unwrap().0, "message_stop");
}

#[tokio::test]
async fn signatures_and_cache_control_reach_an_anthropic_upstream_unchanged() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let body = json!({
        "model": "test/claude-think",
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "system": [{"type": "text", "text": "Long instructions.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather?", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Let me check.", "signature": "EqQBCkYIBxgC"},
                {"type": "redacted_thinking", "data": "opaque-data"},
                {"type": "tool_use", "id": "toolu_01A", "name": "weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "Sunny"}]}
        ],
        "tools": [{"name": "weather", "input_schema": {"type": "object"}}]
    });
    let (status, message) = messages(&gateway, &body).await;
    assert_eq!(status, 200, "{message}");
    let upstream = mock.requests_for(THINK).pop().unwrap().json.unwrap();
    assert_eq!(upstream["system"], body["system"]);
    assert_eq!(upstream["messages"][0], body["messages"][0]);
    assert_eq!(
        upstream["messages"][1]["content"],
        body["messages"][1]["content"]
    );
    assert_eq!(
        upstream["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_01A", "content": "Sunny"})
    );
    // The answer's thinking block carries the recorded signature.
    let fixture = fixture_json("anthropic/anthropic-clear-thinking.1.json");
    let recorded = fixture["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "thinking")
        .unwrap();
    let ours = message["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "thinking")
        .unwrap();
    assert_eq!(ours, recorded);
}

/// POSTs a Messages `body` with headers like Claude Code's: betas in two `anthropic-beta`
/// headers, and an `anthropic-version` (an older one than the endpoints' default).
async fn post_with_betas(gateway: &Gateway, body: &Value) -> (u16, String) {
    let headers = [
        ("anthropic-version", "2023-01-01"),
        (
            "anthropic-beta",
            "claude-code-20250219,prompt-caching-2024-07-31",
        ),
        ("anthropic-beta", "fine-grained-tool-streaming-2025-05-14"),
    ];
    let (status, _, text) = post_with(gateway, "/v1/messages?beta=true", body, &headers).await;
    (status, text)
}

#[tokio::test]
async fn the_clients_betas_and_version_reach_anthropic_upstreams_only() {
    let mock = MockUpstream::start().await.unwrap();
    let beta = "fixture=anthropic/anthropic-text,delay_ms=0";
    let extra = [
        provider(
            "claude_beta",
            "anthropic",
            &mock,
            beta,
            "options = { anthropic_beta = \"prompt-caching-2024-07-31, context-management-2025-06-27\" }",
        ),
        model("test/claude-beta", &[("claude_beta", "3", "15")]),
    ]
    .concat();
    let gateway = gateway(&mock, &extra).await;

    for stream in [false, true] {
        let (status, text) = post_with_betas(&gateway, &hello("test/claude-beta", stream)).await;
        assert_eq!(status, 200, "{text}");
        let upstream = mock.requests_for(beta).pop().unwrap();
        // The endpoint's betas first, then the client's, each once.
        assert_eq!(
            upstream.header("anthropic-beta"),
            Some(
                "prompt-caching-2024-07-31,context-management-2025-06-27,claude-code-20250219,fine-grained-tool-streaming-2025-05-14"
            )
        );
        assert_eq!(upstream.header("anthropic-version"), Some("2023-01-01"));
        let body = upstream.json.unwrap();
        assert!(body.get("anthropic").is_none(), "{body}");
        assert_eq!(body["stream"].as_bool().unwrap_or(false), stream);
    }

    // An OpenAI-compatible upstream gets neither the headers nor the extension.
    let (status, text) = post_with_betas(&gateway, &hello("openai/gpt-4.1-nano", false)).await;
    assert_eq!(status, 200, "{text}");
    let upstream = mock.requests_for(OPENAI_TEXT).pop().unwrap();
    assert!(upstream.header("anthropic-beta").is_none());
    assert!(upstream.header("anthropic-version").is_none());
    let body = upstream.json.unwrap();
    assert!(body.get("anthropic").is_none(), "{body}");
}

#[tokio::test]
async fn tool_cache_control_and_tool_result_details_reach_an_anthropic_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let chart = json!([
        {"type": "text", "text": "Here is the chart.", "cache_control": {"type": "ephemeral"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    ]);
    let results = json!([
        {"type": "tool_result", "tool_use_id": "toolu_01A", "content": chart},
        {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "disk full", "is_error": true, "cache_control": {"type": "ephemeral"}},
        {"type": "tool_result", "tool_use_id": "toolu_01C", "content": [{"type": "text", "text": "plain"}]}
    ]);
    let tools = json!([
        {"name": "plot", "description": "Plots data", "input_schema": {"type": "object"}},
        {"name": "save", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]);
    let body = |model: &str| {
        json!({
            "model": model,
            "max_tokens": 256,
            "tools": tools,
            "messages": [
                {"role": "user", "content": "Plot and save it."},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_01A", "name": "plot", "input": {}},
                    {"type": "tool_use", "id": "toolu_01B", "name": "save", "input": {}},
                    {"type": "tool_use", "id": "toolu_01C", "name": "save", "input": {}}
                ]},
                {"role": "user", "content": results}
            ]
        })
    };
    let (status, message) = messages(&gateway, &body("test/claude-stop")).await;
    assert_eq!(status, 200, "{message}");
    let upstream = mock.requests_for(STOP).pop().unwrap().json.unwrap();
    assert_eq!(
        upstream["tools"][0],
        json!({"name": "plot", "description": "Plots data", "input_schema": {"type": "object"}})
    );
    assert_eq!(upstream["tools"][1], tools[1]);
    // The tool results arrive as the client sent them; the plain one as its text.
    let mut expected = results.clone();
    expected[2]["content"] = json!("plain");
    assert_eq!(upstream["messages"][2]["content"], expected);
    assert!(upstream.get("anthropic").is_none(), "{upstream}");

    // Through an OpenAI-compatible upstream the results are the texts, without the extension.
    let (status, message) = messages(&gateway, &body("openai/gpt-4.1-nano")).await;
    assert_eq!(status, 200, "{message}");
    let upstream = mock.requests_for(OPENAI_TEXT).pop().unwrap().json.unwrap();
    assert!(upstream.get("anthropic").is_none(), "{upstream}");
    let tool_messages: Vec<&Value> = upstream["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .collect();
    assert_eq!(tool_messages[0]["content"], "Here is the chart.");
    assert_eq!(tool_messages[1]["content"], "disk full");
}

#[tokio::test]
async fn the_matched_stop_sequence_and_the_cache_counts_come_back() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let mut body = hello("test/claude-stop", false);
    body["stop_sequences"] = json!(["Is there"]);
    let cached = json!({"input_tokens": 12, "output_tokens": 20, "cache_read_input_tokens": 2048, "cache_creation_input_tokens": 1500});

    let (status, message) = messages(&gateway, &body).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["stop_reason"], "stop_sequence");
    assert_eq!(message["stop_sequence"], "Is there");
    assert_eq!(message["usage"], cached);
    let upstream = mock.requests_for(STOP).pop().unwrap().json.unwrap();
    assert_eq!(upstream["stop_sequences"], json!(["Is there"]));

    body["stream"] = json!(true);
    let (status, events) = stream_events(&gateway, &body).await;
    assert_eq!(status, 200);
    let (_, delta) = events
        .iter()
        .find(|(name, _)| name == "message_delta")
        .unwrap();
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "Is there"})
    );
    assert_eq!(delta["usage"], cached);

    // A chat client sees the matched sequence as vLLM names it.
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .json(&request("test/claude-stop", false))
        .send()
        .await
        .unwrap();
    let completion: Value = response.json().await.unwrap();
    assert_eq!(
        completion["choices"][0]["stop_reason"], "Is there",
        "{completion}"
    );
    assert_eq!(
        completion["choices"][0]["native_finish_reason"],
        "stop_sequence"
    );
}

/// Documents of every source kind with citations enabled, a search result and a question.
fn cited_sources() -> Value {
    json!([
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green. The sky is blue."},
            "title": "Colors", "context": "A primer", "citations": {"enabled": true}, "cache_control": {"type": "ephemeral"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="},
            "title": "Weather report", "citations": {"enabled": true}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/atlas.pdf"}, "citations": {"enabled": true}},
        {"type": "search_result", "source": "https://example.com/sky", "title": "Sky",
            "content": [{"type": "text", "text": "The sky is blue."}], "citations": {"enabled": true}},
        {"type": "text", "text": "What colours are the grass and the sky?"}
    ])
}

#[tokio::test]
async fn citations_pass_through_an_anthropic_upstream_whole_and_streamed() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let sources = cited_sources();
    let mut body = json!({"model": "test/claude-cite", "max_tokens": 256,
        "messages": [{"role": "user", "content": sources}]});

    // Whole: the upstream got the documents as sent; the client gets the recorded blocks back,
    // each cited one with its citations.
    let (status, message) = messages(&gateway, &body).await;
    assert_eq!(status, 200, "{message}");
    let upstream = mock.requests_for(CITE).pop().unwrap().json.unwrap();
    assert_eq!(upstream["messages"][0]["content"], sources);
    assert!(upstream.get("anthropic").is_none(), "{upstream}");
    let fixture = fixture_json("synthetic/anthropic-citations.json");
    assert_eq!(message["content"], fixture["content"]);

    // Streamed: the same content block events as the upstream sent, citations_delta included.
    body["stream"] = json!(true);
    let (status, events) = stream_events(&gateway, &body).await;
    assert_eq!(status, 200);
    let blocks = |events: Vec<(String, Value)>| -> Vec<(String, Value)> {
        events
            .into_iter()
            .filter(|(name, _)| name.starts_with("content_block"))
            .collect()
    };
    let recorded: Vec<(String, Value)> = fixture_events("synthetic/anthropic-citations.chunks.txt")
        .into_iter()
        .map(|event| (event["type"].as_str().unwrap().to_owned(), event))
        .collect();
    assert_eq!(blocks(events), blocks(recorded));
    let upstream = mock.requests_for(CITE).pop().unwrap().json.unwrap();
    assert_eq!(upstream["messages"][0]["content"], sources);

    // A chat client gets the cited spans as `text_citations` on the message.
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .json(&request("test/claude-cite", false))
        .send()
        .await
        .unwrap();
    let completion: Value = response.json().await.unwrap();
    let cited = &completion["choices"][0]["message"]["text_citations"];
    assert_eq!(cited[1]["start"], 52, "{completion}");
    assert_eq!(cited[1]["citations"], fixture["content"][3]["citations"]);
}

#[tokio::test]
async fn documents_reach_an_openai_compatible_upstream_as_parts_without_their_extras() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let body = json!({"model": "openai/gpt-4.1-nano", "max_tokens": 256,
        "messages": [{"role": "user", "content": cited_sources()}]});
    let (status, message) = messages(&gateway, &body).await;
    assert_eq!(status, 200, "{message}");
    let upstream = mock.requests_for(OPENAI_TEXT).pop().unwrap().json.unwrap();
    assert!(upstream.get("anthropic").is_none(), "{upstream}");
    let parts = &upstream["messages"][0]["content"];
    assert_eq!(parts[0]["text"], "The grass is green. The sky is blue.");
    assert_eq!(parts[1]["type"], "file");
    assert_eq!(
        parts[2]["file"]["file_data"],
        "https://example.com/atlas.pdf"
    );
    assert_eq!(
        parts[3]["text"],
        "Sky (https://example.com/sky)\nThe sky is blue."
    );
    assert!(
        parts
            .as_array()
            .unwrap()
            .iter()
            .all(|part| part.get("citations").is_none()),
        "{parts}"
    );
}

#[tokio::test]
async fn errors_take_anthropics_shape_and_status() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let error_type = |body: &Value| {
        body["error"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let (status, body) = messages(
        &gateway,
        &json!({"model": "test/claude-tool", "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(
        (status, error_type(&body)),
        (400, "invalid_request_error".to_owned()),
        "{body}"
    );
    assert_eq!(body["type"], "error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens")
    );

    let (status, body) = messages(&gateway, &hello("no/such-model", false)).await;
    assert_eq!(
        (status, error_type(&body)),
        (404, "not_found_error".to_owned()),
        "{body}"
    );

    let (status, headers, text) =
        post(&gateway, "/v1/messages", &hello("test/claude-429", false)).await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (status, error_type(&body)),
        (429, "rate_limit_error".to_owned()),
        "{body}"
    );
    assert_eq!(headers["retry-after"], "7");

    // Before the first byte a failure is still an HTTP error; after it, an `error` event.
    let (status, body) = messages(&gateway, &hello("test/claude-429", true)).await;
    assert_eq!(status, 429, "{body}");
    let (status, events) = stream_events(&gateway, &hello("test/claude-cut", true)).await;
    assert_eq!(status, 200);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["type"], "error");
    assert_eq!(data["error"]["type"], "api_error");
    assert!(!events.iter().any(|(name, _)| name == "message_stop"));
}

#[tokio::test]
async fn count_tokens_models_and_the_root_answer_claude_codes_start_up_requests() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;

    let (status, _, text) = post(&gateway, "/v1/messages/count_tokens", &json!({
        "model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello there, how are you?"}]
    })).await;
    assert_eq!(status, 200, "{text}");
    let count: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(count, json!({"input_tokens": 7}));
    let (status, _, text) = post(
        &gateway,
        "/v1/messages/count_tokens",
        &json!({
            "model": "no/such-model", "messages": [{"role": "user", "content": "x"}]
        }),
    )
    .await;
    assert_eq!(status, 404, "{text}");

    let list = |query: &str| {
        gateway
            .client
            .get(format!("{}/v1/models{query}", gateway.url))
            .header("anthropic-version", "2023-06-01")
            .send()
    };
    let page: Value = list("?limit=1000").await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"anthropic/claude-sonnet-4.5"), "{page}");
    assert_eq!(page["data"][0]["type"], "model");
    assert_eq!(page["has_more"], false);
    assert_eq!(page["first_id"], ids[0]);
    let first: Value = list("?limit=1").await.unwrap().json().await.unwrap();
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    assert_eq!(first["has_more"], true);
    let next: Value = list(&format!("?limit=1&after_id={}", ids[0]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(next["first_id"], ids[1]);
    let bad = list("?limit=0").await.unwrap();
    assert_eq!(bad.status(), 400);
    // Without anthropic-version: OpenAI's shape.
    let (status, openai) = gateway.get("/v1/models").await;
    assert_eq!(status, 200);
    assert_eq!(openai["object"], "list");

    let head = gateway
        .client
        .head(format!("{}/", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn aliases_resolve_on_the_chat_api_too() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(
        &mock,
        "[aliases]\n\"my-fast-model\" = \"openai/gpt-4.1-nano\"\n",
    )
    .await;
    for (alias, served) in [
        ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4.5"),
        ("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
        ("up-claude_text", "anthropic/claude-sonnet-4.5"),
        ("claude_text/up-claude_text", "anthropic/claude-sonnet-4.5"),
        ("gpt-4.1-nano", "openai/gpt-4.1-nano"),
        ("My-Fast-Model", "openai/gpt-4.1-nano"),
    ] {
        let (status, _, body) = gateway.chat(&request(alias, false)).await;
        assert_eq!(status, 200, "{alias}: {body}");
        assert_eq!(body["model"], served, "{alias}");
    }
}

/// Which provider served a chat request.
async fn served_by(gateway: &Gateway, body: &Value) -> String {
    let (status, _, answer) = gateway.chat(body).await;
    assert_eq!(status, 200, "{answer}");
    answer["provider"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_conversation_keeps_its_endpoint_and_leaves_it_when_it_fails() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider(
            "one",
            "openai",
            &mock,
            "fixture=openai/openai-text,delay_ms=0",
            "",
        ),
        provider(
            "two",
            "openai",
            &mock,
            "fixture=openai/openai-text,delay_ms=1",
            "",
        ),
        provider(
            "flaky",
            "openai",
            &mock,
            "fixture=openai/openai-text,fail_after=1",
            "",
        ),
        provider(
            "steady",
            "openai",
            &mock,
            "fixture=openai/openai-text,delay_ms=2",
            "",
        ),
        model("test/pair", &[("one", "1", "1"), ("two", "1", "1")]),
        model("test/flaky", &[("flaky", "1", "1"), ("steady", "1", "1")]),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let turn = |session: Option<&str>| {
        let mut body = request("test/pair", false);
        if let Some(session) = session {
            body["session_id"] = json!(session);
        }
        body
    };
    for round in 0..50 {
        let session = format!("conversation-{round}");
        let first = served_by(&gateway, &turn(Some(&session))).await;
        let second = served_by(&gateway, &turn(Some(&session))).await;
        assert_eq!(
            first, second,
            "turns of {session} went to different endpoints"
        );
    }
    let mut mixed = HashSet::new();
    for _ in 0..50 {
        let first = served_by(&gateway, &turn(None)).await;
        let second = served_by(&gateway, &turn(None)).await;
        mixed.insert(first == second);
    }
    assert!(mixed.contains(&false), "sessionless pairs never spread");

    // The trace says stickiness decided.
    let (_, _, traced) = gateway
        .post_with_headers(
            &turn(Some("conversation-0")),
            &[("x-switchyard-debug", "routing")],
        )
        .await;
    let traced: Value = serde_json::from_str(&traced).unwrap();
    assert_eq!(traced["routing"]["sticky"], traced["provider"], "{traced}");

    // A conversation that landed on `flaky` (which fails after its first answer) moves to
    // `steady` on its next turn and stays there.
    let mut session = None;
    for round in 0..200 {
        let id = format!("flaky-{round}");
        let mut body = request("test/flaky", false);
        body["session_id"] = json!(id);
        if served_by(&gateway, &body).await == "flaky" {
            session = Some(body);
            break;
        }
    }
    let body = session.expect("no conversation landed on the flaky endpoint");
    assert_eq!(served_by(&gateway, &body).await, "steady");
    assert_eq!(served_by(&gateway, &body).await, "steady");
}

/// The official Python SDK, when `SWITCHYARD_TEST_PYTHON` names a Python with `anthropic`.
#[tokio::test]
async fn the_anthropic_python_sdk_works_through_switchyard() {
    let Some(python) = std::env::var_os("SWITCHYARD_TEST_PYTHON") else {
        eprintln!(
            "SKIPPED: SWITCHYARD_TEST_PYTHON is not set (.ci/run installs the anthropic SDK)"
        );
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/anthropic_sdk.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("SWITCHYARD_URL", &gateway.url)
        .env("MODEL_TEXT", "claude-sonnet-4-5-20250929")
        .env("MODEL_TOOL", "test/claude-tool")
        .env("MODEL_THINK", "test/claude-think")
        .env("MODEL_STOP", "test/claude-stop")
        .env("MODEL_CITE", "test/claude-cite")
        .env("MODEL_OPENAI_TEXT", "openai/gpt-4.1-nano")
        .env("MODEL_OPENAI_TOOL", "test/openai-tool")
        .env("MODEL_RATE_LIMITED", "test/claude-429")
        .env("MODEL_CUT", "test/claude-cut")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("all checks passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The signed thinking went back upstream on the next turn.
    let last = mock.requests_for(THINK).pop().unwrap().json.unwrap();
    let thinking = &last["messages"][1]["content"][0];
    assert_eq!(thinking["type"], "thinking", "{last}");
    assert!(!thinking["signature"].as_str().unwrap().is_empty());
    // The SDK's `betas` reached the Anthropic upstream, whole and streamed.
    let stops = mock.requests_for(STOP);
    assert_eq!(stops.len(), 2);
    for request in stops {
        assert_eq!(
            request.header("anthropic-beta"),
            Some("token-efficient-tools-2025-02-19,interleaved-thinking-2025-05-14")
        );
    }
}

#[tokio::test]
async fn a_message_is_charged_and_recorded_like_a_chat_completion() {
    const ADMIN_TOKEN: &str = "admin-secret";
    let mock = MockUpstream::start().await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let database = folder.path().join("switchyard.db");
    let accounting = format!(
        "[accounting]\nenabled = true\nsqlite_path = {:?}\n",
        database.display().to_string()
    );
    let config = [
        provider("claude_text", "anthropic", &mock, TEXT, ""),
        model("anthropic/claude-sonnet-4.5", &[("claude_text", "3", "15")]),
        accounting,
    ]
    .concat();
    let gateway =
        Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let admin = |path: &str, body: Value| {
        gateway
            .client
            .post(format!("{}/admin{path}", gateway.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let created: Value = admin("/keys", json!({"label": "claude", "account": "acme"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["data"]["key"].as_str().unwrap().to_owned();
    let credited = admin("/accounts/acme/credits", json!({"amount": 5}))
        .await
        .unwrap();
    assert_eq!(credited.status(), 200);

    // No key, or a wrong one: 401 in Anthropic's shape.
    let (status, body) = messages(&gateway, &hello("anthropic/claude-sonnet-4.5", false)).await;
    assert_eq!(
        (status, body["error"]["type"].clone()),
        (401, json!("authentication_error"))
    );

    let send = |path: &str, body: Value, as_x_api_key: bool| {
        let request = gateway
            .client
            .post(format!("{}{path}", gateway.url))
            .json(&body);
        let request = if as_x_api_key {
            request.header("x-api-key", &secret)
        } else {
            request.bearer_auth(&secret)
        };
        request.send()
    };
    let record = |id: String| {
        gateway
            .client
            .get(format!("{}/api/v1/generation?id={id}", gateway.url))
            .bearer_auth(&secret)
            .send()
    };
    // The same request on the two APIs, whole and streamed: the same records.
    for stream in [false, true] {
        let chat = send(
            "/v1/chat/completions",
            request("anthropic/claude-sonnet-4.5", stream),
            false,
        )
        .await
        .unwrap();
        let chat_id = chat.headers()["x-generation-id"]
            .to_str()
            .unwrap()
            .to_owned();
        chat.text().await.unwrap();
        let message = send(
            "/v1/messages",
            hello("anthropic/claude-sonnet-4.5", stream),
            true,
        )
        .await
        .unwrap();
        assert_eq!(message.status(), 200);
        let message_id = message.headers()["x-generation-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            message.text().await.unwrap().contains("message_stop"),
            stream
        );
        let chat: Value = record(chat_id).await.unwrap().json().await.unwrap();
        if !stream {
            // 12 prompt × $3 + 29 completion × $15 per million, plus 5%.
            assert_eq!(
                chat["data"]["total_cost"].as_f64(),
                Some(0.00049455),
                "{chat}"
            );
        }
        let record: Value = record(message_id).await.unwrap().json().await.unwrap();
        for field in [
            "total_cost",
            "native_tokens_prompt",
            "native_tokens_completion",
            "model",
            "provider_name",
            "streamed",
            "finish_reason",
        ] {
            assert_eq!(
                record["data"][field], chat["data"][field],
                "{field}: {record}"
            );
        }
    }
}
