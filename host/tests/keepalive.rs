//! End to end: a stream whose upstream is slow to answer gets SSE keep-alive comments before
//! its first data line; failover still works underneath, and when every attempt fails the
//! stream ends with an error chunk instead of an HTTP error status.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::Value;
use switchyard_tests::MockUpstream;

const COMMENT: &str = ": SWITCHYARD PROCESSING";
/// Answers 503 after 700 ms: several keep-alive periods of 150 ms.
const SLOW_FAILURE: &str = "status=503,delay_ms=700";
const GOOD: &str = "fixture=openai/openai-text";

async fn gateway_with(mock: &MockUpstream, keepalive_ms: u64) -> Gateway {
    let config = format!(
        "{}{}{}{}{}",
        provider("slow", "openai", mock, SLOW_FAILURE, ""),
        provider("good", "openai", mock, GOOD, ""),
        model("m/alone", &[("slow", "0", "0")]),
        model("m/failover", &[("slow", "0", "0"), ("good", "1", "2")]),
        model("m/good", &[("good", "1", "2")]),
    );
    Gateway::start_with_server(&format!("keepalive_ms = {keepalive_ms}"), &config).await
}

/// The events of a stream body, split on blank lines.
fn events(body: &str) -> Vec<&str> {
    body.split("\n\n")
        .filter(|event| !event.is_empty())
        .collect()
}

#[tokio::test]
async fn a_slow_failing_stream_gets_comments_then_an_error_chunk() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with(&mock, 150).await;
    let (status, headers, body) = gateway.post(&request("m/alone", true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/event-stream");
    let events = events(&body);
    let comments = events.iter().take_while(|event| **event == COMMENT).count();
    assert!(comments >= 2, "comments before any data: {events:?}");
    assert_eq!(
        events.len(),
        comments + 1,
        "then one error chunk: {events:?}"
    );
    let chunk: Value =
        serde_json::from_str(events[comments].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(chunk["choices"][0]["finish_reason"], "error");
    assert_eq!(
        chunk["error"]["metadata"]["attempts"][0]["provider"],
        "slow"
    );
    assert!(!body.contains("[DONE]"));
}

#[tokio::test]
async fn a_slow_failure_still_fails_over_after_comments() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with(&mock, 150).await;
    let (status, _, body) = gateway.post(&request("m/failover", true)).await;
    assert_eq!(status, 200, "{body}");
    let events = events(&body);
    let comments = events.iter().take_while(|event| **event == COMMENT).count();
    assert!(comments >= 2, "{events:?}");
    assert!(
        events[comments..]
            .iter()
            .all(|event| event.starts_with("data: ")),
        "{events:?}"
    );
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let data: Vec<String> = events[comments..]
        .iter()
        .map(|event| event.trim_start_matches("data: ").to_owned())
        .collect();
    let chunks = chunks(&data);
    assert_eq!(chunks[0]["provider"], "good");
    assert!(chunks.last().unwrap()["usage"]["cost"].as_f64().unwrap() > 0.0);
    assert_eq!(mock.requests_for(SLOW_FAILURE).len(), 1);
}

#[tokio::test]
async fn fast_streams_and_disabled_keepalive_are_unchanged() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with(&mock, 150).await;
    let (status, _, body) = gateway.post(&request("m/good", true)).await;
    assert_eq!(status, 200);
    assert!(
        !body.contains(COMMENT),
        "a fast stream gets no comment: {body}"
    );

    let without = gateway_with(&mock, 0).await;
    let (status, _, body) = without.post(&request("m/alone", true)).await;
    assert_eq!(
        status, 503,
        "without keep-alive the error keeps its status: {body}"
    );
    assert!(!body.contains(COMMENT));
}
