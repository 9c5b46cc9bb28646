//! Error mapping of the OpenAI-compatible adapter: non-2xx statuses, error codes, bodies that
//! are not chat completions and in-stream errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use switchyard_plugin_openai::OpenAi;
use switchyard_sdk::provider::*;

fn error(status: u16, headers: &[(&str, &str)], body: &str) -> PluginError {
    <OpenAi as Provider>::parse_error(http(status, headers, body.as_bytes()))
}

#[test]
fn rate_limits_carry_retry_after() {
    let body = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    match error(429, &[("Retry-After", "2")], body) {
        PluginError::RateLimited(limit) => {
            assert_eq!(limit.retry_after_ms, Some(2000));
            assert_eq!(limit.message, "Rate limit reached");
        }
        other => panic!("{other:?}"),
    }
    match error(429, &[("retry-after-ms", "250")], "slow down") {
        PluginError::RateLimited(limit) => assert_eq!(limit.retry_after_ms, Some(250)),
        other => panic!("{other:?}"),
    }
    match error(429, &[], "{}") {
        PluginError::RateLimited(limit) => assert_eq!(limit.retry_after_ms, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn statuses_and_codes_map_to_variants() {
    let ctx = r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
    assert!(matches!(
        error(400, &[], ctx),
        PluginError::ContextLengthExceeded(_)
    ));
    let ctx_text = r#"{"error":{"message":"prompt exceeds the context window","code":null}}"#;
    assert!(matches!(
        error(400, &[], ctx_text),
        PluginError::ContextLengthExceeded(_)
    ));
    assert!(matches!(
        error(
            401,
            &[],
            r#"{"error":{"message":"bad key","code":"invalid_api_key"}}"#
        ),
        PluginError::Auth(_)
    ));
    assert!(matches!(error(403, &[], "forbidden"), PluginError::Auth(_)));
    assert!(
        matches!(error(400, &[], r#"{"error":{"message":"bad"}}"#), PluginError::InvalidRequest(m) if m == "bad")
    );
    assert!(matches!(
        error(422, &[], "{}"),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        error(
            400,
            &[],
            r#"{"error":{"message":"flagged","code":"content_policy_violation"}}"#
        ),
        PluginError::ContentFiltered(_)
    ));
    assert!(matches!(
        error(503, &[], "busy"),
        PluginError::Overloaded(_)
    ));
    assert!(matches!(
        error(529, &[], "busy"),
        PluginError::Overloaded(_)
    ));
    assert!(matches!(
        error(
            500,
            &[],
            r#"{"error":{"message":"server overloaded","type":"server_overloaded"}}"#
        ),
        PluginError::Overloaded(_)
    ));
    assert!(
        matches!(error(500, &[], "<html>oops</html>"), PluginError::UpstreamUnavailable(m) if m.contains("500"))
    );
    assert!(matches!(
        error(502, &[], ""),
        PluginError::UpstreamUnavailable(_)
    ));
    // A 500 that mentions context length is still a server failure.
    assert!(matches!(
        error(500, &[], "context length bug"),
        PluginError::UpstreamUnavailable(_)
    ));
}

#[test]
fn bad_2xx_bodies_are_upstream_errors() {
    for body in [
        &b"<html><body>Bad gateway</body></html>"[..],
        b"{\"id\":\"x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi",
        b"\xff\xfe\x00garbage",
        b"",
        b"[]",
        b"{\"id\":\"x\",\"object\":\"chat.completion\"}",
        b"{\"choices\":[{\"index\":0}]}",
        b"{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":42}}]}",
    ] {
        assert!(
            matches!(parse_ok(body), Err(PluginError::UpstreamUnavailable(_))),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn error_objects_in_2xx_bodies_are_mapped() {
    let body = br#"{"error":{"message":"Too many requests","code":429}}"#;
    assert!(matches!(parse_ok(body), Err(PluginError::RateLimited(_))));
    let body = br#"{"error":{"message":"Upstream failed","code":502}}"#;
    assert!(matches!(
        parse_ok(body),
        Err(PluginError::UpstreamUnavailable(_))
    ));
    let body = br#"{"object":"error","error":"model not found"}"#;
    assert!(matches!(
        parse_ok(body),
        Err(PluginError::UpstreamUnavailable(_))
    ));
}

#[test]
fn in_stream_errors_and_garbage_are_errors() {
    let replay = replay(vec![
        data(
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#,
        ),
        data(
            r#"{"error":{"message":"The server had an error","type":"server_error","code":null}}"#,
        ),
        data("[DONE]"),
    ]);
    assert_eq!(replay.chunks.len(), 1);
    assert!(matches!(
        replay.error,
        Some(PluginError::UpstreamUnavailable(_))
    ));
    assert!(!replay.done);

    let replay = common::replay(vec![data(
        r#"{"error":{"message":"slow down","code":429}}"#,
    )]);
    assert!(matches!(replay.error, Some(PluginError::RateLimited(_))));
    let replay = common::replay(vec![data(
        r#"{"error":{"message":"maximum context length exceeded","type":"invalid_request_error"}}"#,
    )]);
    assert!(matches!(
        replay.error,
        Some(PluginError::ContextLengthExceeded(_))
    ));
    let replay = common::replay(vec![SseEvent {
        event: Some("error".into()),
        data: r#"{"message":"boom"}"#.into(),
    }]);
    assert!(replay.error.is_some());
    for garbage in ["<html>", "{\"id\":", "42", "\"text\"", "{}"] {
        let replay = common::replay(vec![data(garbage)]);
        assert!(
            matches!(replay.error, Some(PluginError::UpstreamUnavailable(_))),
            "{garbage}"
        );
    }
}

#[test]
fn pings_and_empty_events_produce_nothing() {
    let replay = replay(vec![data(""), data("  ")]);
    assert!(replay.error.is_none() && replay.chunks.is_empty() && !replay.done);
}

#[test]
fn first_chunk_gets_the_assistant_role_and_finish_reasons_are_normalised() {
    let replay = replay(vec![
        data(
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
        ),
        data(
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"eos"}]}"#,
        ),
        data("[DONE]"),
    ]);
    assert_eq!(replay.chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        replay.chunks[1]["choices"][0]["delta"]
            .get("role")
            .is_none()
    );
    assert_eq!(replay.chunks[1]["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        replay.chunks[1]["choices"][0]["native_finish_reason"],
        "eos"
    );
    assert_eq!(finish(&replay.finishes[0]), ("stop", "eos"));
    assert!(replay.done);
}
