//! End to end: failover across endpoints and models on retryable upstream faults, final errors
//! with the right status, and streams that fail after their first byte.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const GOOD: &str = "fixture=openai/openai-text";

/// A gateway where model `m/<case>` has a free (so always first) endpoint on `scenario`,
/// followed by a priced good endpoint, and `m/<case>-alone` has only the bad one.
async fn gateway_with_bad_first(
    mock: &MockUpstream,
    scenario: &str,
    provider_extra: &str,
) -> Gateway {
    let config = format!(
        "{}{}{}{}{}",
        provider("bad", "openai", mock, scenario, provider_extra),
        provider("good", "openai", mock, GOOD, ""),
        model("m/failover", &[("bad", "0", "0"), ("good", "1", "2")]),
        model("m/alone", &[("bad", "0", "0")]),
        model("m/good", &[("good", "1", "2")]),
    );
    Gateway::start(&config).await
}

async fn assert_fails_over(scenario: &str, provider_extra: &str) -> (Gateway, MockUpstream) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with_bad_first(&mock, scenario, provider_extra).await;
    let (status, _, body) = gateway.chat(&request("m/failover", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "good");
    assert_eq!(
        mock.requests_for(scenario).len(),
        1,
        "the bad endpoint was tried first"
    );
    assert_eq!(mock.requests_for(GOOD).len(), 1);
    (gateway, mock)
}

#[tokio::test]
async fn rate_limit_fails_over_and_alone_returns_429_with_retry_after() {
    let (gateway, _mock) = assert_fails_over("status=429,retry_after=7", "").await;
    let (status, headers, body) = gateway.chat(&request("m/alone", false)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["metadata"]["attempts"][0]["provider"], "bad");
    assert_eq!(
        body["error"]["metadata"]["attempts"][0]["outcome"],
        "rate_limited"
    );
}

#[tokio::test]
async fn server_error_fails_over_and_alone_returns_502() {
    let (gateway, _mock) = assert_fails_over("status=500", "").await;
    let (status, _, body) = gateway.chat(&request("m/alone", false)).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["type"], "upstream_error");
}

#[tokio::test]
async fn overloaded_fails_over() {
    assert_fails_over("status=503", "").await;
}

#[tokio::test]
async fn a_hanging_upstream_times_out_fails_over_and_alone_returns_504() {
    let extra = "timeouts = { first_byte_ms = 300 }";
    let (gateway, _mock) = assert_fails_over("hang", extra).await;
    let (status, _, body) = gateway.chat(&request("m/alone", false)).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
}

#[tokio::test]
async fn a_200_with_html_is_an_upstream_error() {
    let (gateway, _mock) = assert_fails_over("html", "").await;
    let (status, _, body) = gateway.chat(&request("m/alone", false)).await;
    assert_eq!(status, 502, "{body}");
}

#[tokio::test]
async fn a_200_with_invalid_utf8_is_an_upstream_error() {
    assert_fails_over("garbage", "").await;
}

#[tokio::test]
async fn an_unreachable_upstream_fails_over_and_alone_returns_502() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[providers.bad]\nplugin = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\n{}{}{}",
        provider("good", "openai", &mock, GOOD, ""),
        model("m/failover", &[("bad", "0", "0"), ("good", "1", "2")]),
        model("m/alone", &[("bad", "0", "0")]),
    );
    let gateway = Gateway::start(&config).await;
    let (status, _, body) = gateway.chat(&request("m/failover", false)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = gateway.chat(&request("m/alone", false)).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_unreachable");
}

#[tokio::test]
async fn a_client_error_is_final_and_not_retried_elsewhere() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with_bad_first(&mock, "status=400", "").await;
    let (status, _, body) = gateway.chat(&request("m/failover", false)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        mock.requests_for(GOOD).is_empty(),
        "a request error must not be retried on another endpoint"
    );
}

#[tokio::test]
async fn models_list_falls_back_to_the_next_model() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with_bad_first(&mock, "status=500", "").await;
    let body = json!({
        "model": "m/alone",
        "models": ["m/alone", "m/good"],
        "messages": [{ "role": "user", "content": "Hello!" }]
    });
    let (status, _, body) = gateway.chat(&body).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "m/good");
    assert_eq!(body["provider"], "good");
}

#[tokio::test]
async fn a_stream_that_fails_before_its_first_chunk_fails_over() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with_bad_first(&mock, "status=500", "").await;
    let (status, events) = gateway.stream(&request("m/failover", true)).await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(chunks(&events)[0]["provider"], "good");

    // Cut before any event: still nothing sent to the client, so it fails over too.
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with_bad_first(&mock, "cut_after=0", "").await;
    let (status, events) = gateway.stream(&request("m/failover", true)).await;
    assert_eq!(status, 200);
    assert_eq!(chunks(&events)[0]["provider"], "good");
}

/// The last JSON event of a stream that failed mid-way: an error chunk, and no `[DONE]`.
fn assert_ends_with_error_chunk(events: &[String]) -> Value {
    assert!(
        !events.iter().any(|e| e == "[DONE]"),
        "a failed stream must not end with [DONE]: {events:?}"
    );
    let chunks = chunks(events);
    assert!(
        !streamed_text(&chunks).is_empty(),
        "content before the failure reaches the client"
    );
    let error = chunks
        .iter()
        .find(|chunk| chunk.get("error").is_some())
        .unwrap_or_else(|| panic!("no error chunk in {events:?}"))
        .clone();
    assert_eq!(error["choices"][0]["finish_reason"], "error");
    assert!(
        !chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop"),
        "a failed stream is never a stop"
    );
    error
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_with_an_error_chunk() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with_bad_first(&mock, "cut_after=5", "").await;
    let (status, events) = gateway.stream(&request("m/alone", true)).await;
    assert_eq!(status, 200);
    let error = assert_ends_with_error_chunk(&events);
    assert_eq!(error["error"]["code"], 502);
}

#[tokio::test]
async fn a_stream_without_its_terminal_event_is_a_failure_not_a_stop() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider(
            "claude",
            "anthropic",
            &mock,
            "fixture=anthropic/anthropic-text,no_terminal",
            ""
        ),
        model("m/claude", &[("claude", "3", "15")]),
    );
    let gateway = Gateway::start(&config).await;
    let (status, events) = gateway.stream(&request("m/claude", true)).await;
    assert_eq!(status, 200);
    let error = assert_ends_with_error_chunk(&events);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("terminal event"),
        "{error}"
    );
}

#[tokio::test]
async fn a_stalled_stream_hits_the_idle_timeout() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway =
        gateway_with_bad_first(&mock, "stall_after=4", "timeouts = { idle_ms = 300 }").await;
    let (status, events) = gateway.stream(&request("m/alone", true)).await;
    assert_eq!(status, 200);
    let error = assert_ends_with_error_chunk(&events);
    assert_eq!(error["error"]["code"], 504);
}

#[tokio::test]
async fn a_url_outside_the_allowed_hosts_is_refused_before_connecting() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider(
            "locked",
            "openai",
            &mock,
            GOOD,
            "allowed_hosts = [\"api.openai.com\"]"
        ),
        model("m/locked", &[("locked", "1", "1")]),
    );
    let gateway = Gateway::start(&config).await;
    let (status, _, body) = gateway.chat(&request("m/locked", false)).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "host_not_allowed");
    assert!(
        mock.requests().is_empty(),
        "no request may reach a host outside the allow-list"
    );
}

#[tokio::test]
async fn a_slow_stream_hits_the_total_timeout() {
    let mock = MockUpstream::start().await.unwrap();
    let extra = "timeouts = { total_ms = 600 }";
    let gateway = gateway_with_bad_first(&mock, "chunk_delay_ms=100", extra).await;
    let (status, events) = gateway.stream(&request("m/alone", true)).await;
    assert_eq!(status, 200);
    let error = assert_ends_with_error_chunk(&events);
    assert_eq!(error["error"]["code"], 504);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("total timeout"),
        "{error}"
    );
}

#[tokio::test]
async fn an_anthropic_error_event_before_any_content_fails_over() {
    let mock = MockUpstream::start().await.unwrap();
    let bad = "fixture=synthetic/anthropic-overloaded-after-start";
    let good = "fixture=anthropic/anthropic-text";
    let config = format!(
        "{}{}{}",
        provider("claude-bad", "anthropic", &mock, bad, ""),
        provider("claude-good", "anthropic", &mock, good, ""),
        model(
            "m/claude",
            &[("claude-bad", "0", "0"), ("claude-good", "3", "15")]
        ),
    );
    let gateway = Gateway::start(&config).await;
    let (status, events) = gateway.stream(&request("m/claude", true)).await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = chunks(&events);
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["provider"] == "claude-good"),
        "{events:?}"
    );
    assert_eq!(mock.requests_for(bad).len(), 1);
}
