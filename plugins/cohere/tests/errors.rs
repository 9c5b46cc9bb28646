//! Error mapping of the Cohere adapter: statuses, bad 2xx bodies and in-stream errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use switchyard_plugin_cohere::Cohere;
use switchyard_sdk::provider::*;

fn error(status: u16, headers: &[(&str, &str)], body: &str) -> PluginError {
    <Cohere as Provider>::parse_error(http(status, headers, body.as_bytes()))
}

#[test]
fn statuses_map_to_variants() {
    match error(
        429,
        &[("retry-after", "4")],
        r#"{"id":"x","message":"You are using a Trial key, which is limited to 10 API calls / minute."}"#,
    ) {
        PluginError::RateLimited(limit) => {
            assert_eq!(limit.retry_after_ms, Some(4000));
            assert!(limit.message.starts_with("You are using a Trial key"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        error(401, &[], r#"{"message":"invalid api token"}"#),
        PluginError::Auth(_)
    ));
    assert!(matches!(
        error(402, &[], r#"{"message":"Please add a payment method"}"#),
        PluginError::Auth(_)
    ));
    assert!(matches!(
        error(
            400,
            &[],
            r#"{"message":"invalid request: message must be at least 1 token long"}"#
        ),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        error(
            400,
            &[],
            r#"{"message":"too many tokens: total number of tokens in the prompt cannot exceed 256000"}"#
        ),
        PluginError::ContextLengthExceeded(_)
    ));
    assert!(matches!(
        error(422, &[], r#"{"message":"unknown field"}"#),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        error(503, &[], "<html>"),
        PluginError::Overloaded(_)
    ));
    assert!(matches!(
        error(500, &[], r#"{"message":"internal server error"}"#),
        PluginError::UpstreamUnavailable(_)
    ));
}

#[test]
fn bad_2xx_bodies_and_events_are_upstream_errors() {
    for body in [
        &b"<html></html>"[..],
        b"{\"message\":",
        b"\xff\x00",
        b"{}",
        b"{\"message\":{\"tool_calls\":[{\"id\":1}]}}",
    ] {
        assert!(
            matches!(parse_ok(body), Err(PluginError::UpstreamUnavailable(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    for event in ["<html>", "[]", "{"] {
        assert!(matches!(
            replay(vec![data(event)]).error,
            Some(PluginError::UpstreamUnavailable(_))
        ));
    }
    let failed = replay(vec![
        typed(r#"{"id":"x","type":"message-start","delta":{"message":{"role":"assistant"}}}"#),
        typed(
            r#"{"type":"message-end","delta":{"finish_reason":"ERROR","error":"model crashed"}}"#,
        ),
    ]);
    assert!(
        matches!(failed.error, Some(PluginError::UpstreamUnavailable(m)) if m.contains("model crashed"))
    );
    assert!(!failed.done);
}

#[test]
fn length_finish_and_odd_events() {
    let replay = replay(vec![
        typed(
            r#"{"type":"content-delta","index":3,"delta":{"message":{"content":{"text":"hi"}}}}"#,
        ),
        typed(
            r#"{"type":"tool-call-delta","index":9,"delta":{"message":{"tool_calls":{"function":{"arguments":"x"}}}}}"#,
        ),
        typed(r#"{"type":"citation-start","index":0,"delta":{"message":{"citations":{}}}}"#),
        typed(
            r#"{"type":"message-end","delta":{"finish_reason":"MAX_TOKENS","usage":{"tokens":{"input_tokens":3,"output_tokens":4}}}}"#,
        ),
    ]);
    assert!(replay.error.is_none());
    assert!(replay.done);
    assert_eq!(finish(&replay.finishes[0]), ("length", "MAX_TOKENS"));
    assert_eq!(counts(&replay.usage.unwrap()), [3, 4, 0, 0, 0]);
    assert_eq!(assemble(&replay.chunks).0, "hi");
}
