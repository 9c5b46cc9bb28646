//! End to end: bad input gets a clear OpenAI-style error with the right status.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::Value;
use switchyard_tests::MockUpstream;

async fn post_raw(gateway: &Gateway, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn malformed_requests_get_4xx_with_an_openai_error_body() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider("oa", "openai", &mock, "", ""),
        model("openai/gpt-4.1-nano", &[("oa", "1", "1")])
    );
    let gateway = Gateway::start(&config).await;

    let cases: &[(&str, u16, &str)] = &[
        ("{not json", 400, "not valid JSON"),
        ("[1,2]", 400, "JSON object"),
        (
            r#"{"messages":[{"role":"user","content":"hi"}]}"#,
            400,
            "`model` is required",
        ),
        (
            r#"{"model":42,"messages":[{"role":"user","content":"hi"}]}"#,
            400,
            "`model`",
        ),
        (
            r#"{"model":"openai/gpt-4.1-nano"}"#,
            400,
            "`messages` is required",
        ),
        (
            r#"{"model":"openai/gpt-4.1-nano","messages":{}}"#,
            400,
            "must be an array",
        ),
        (
            r#"{"model":"openai/gpt-4.1-nano","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#,
            400,
            "temperature",
        ),
        (
            r#"{"model":"openai/gpt-4.1-nano","messages":[{"role":"robot","content":"hi"}]}"#,
            400,
            "robot",
        ),
        (
            r#"{"model":"nobody/nothing","messages":[{"role":"user","content":"hi"}]}"#,
            404,
            "does not exist",
        ),
    ];
    for (body, expected_status, expected_message) in cases {
        let (status, json) = post_raw(&gateway, *body).await;
        assert_eq!(status, *expected_status, "{body} → {json}");
        let message = json["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error.message: {json}"));
        assert!(message.contains(expected_message), "{body} → {message}");
        assert!(json["error"]["type"].is_string(), "{json}");
    }
    assert!(
        mock.requests().is_empty(),
        "bad input must never reach an upstream"
    );

    // Over the configured 64 KiB limit.
    let huge = format!(
        r#"{{"model":"openai/gpt-4.1-nano","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(70_000)
    );
    let (status, json) = post_raw(&gateway, huge).await;
    assert_eq!(status, 413, "{json}");
    assert_eq!(json["error"]["code"], "request_too_large");

    // Wrong method and unknown route.
    let response = gateway
        .client
        .get(format!("{}/v1/chat/completions", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert!(response.json::<Value>().await.unwrap()["error"]["message"].is_string());
    let (status, json) = gateway.get("/v1/nothing-here").await;
    assert_eq!(status, 404, "{json}");

    // Still serving.
    let (status, _, body) = gateway.chat(&request("openai/gpt-4.1-nano", false)).await;
    assert_eq!(status, 200, "{body}");
}
