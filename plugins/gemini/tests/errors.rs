//! Error mapping of the Gemini adapter: google.rpc statuses, HTTP codes, bad 2xx bodies and
//! in-stream errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use switchyard_plugin_gemini::Gemini;
use switchyard_sdk::provider::*;

fn rpc(code: u16, status: &str, message: &str) -> String {
    format!(r#"{{"error":{{"code":{code},"message":"{message}","status":"{status}"}}}}"#)
}

fn error(status: u16, headers: &[(&str, &str)], body: &str) -> PluginError {
    <Gemini as Provider>::parse_error(http(status, headers, body.as_bytes()))
}

#[test]
fn rpc_statuses_map_to_variants() {
    match error(
        429,
        &[("retry-after", "3")],
        &rpc(429, "RESOURCE_EXHAUSTED", "quota"),
    ) {
        PluginError::RateLimited(limit) => assert_eq!(limit.retry_after_ms, Some(3000)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        error(401, &[], &rpc(401, "UNAUTHENTICATED", "no")),
        PluginError::Auth(_)
    ));
    assert!(matches!(
        error(403, &[], &rpc(403, "PERMISSION_DENIED", "no")),
        PluginError::Auth(_)
    ));
    let bad_key = r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
        "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
    assert!(matches!(error(400, &[], bad_key), PluginError::Auth(_)));
    assert!(matches!(
        error(
            400,
            &[],
            &rpc(
                400,
                "INVALID_ARGUMENT",
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
            )
        ),
        PluginError::ContextLengthExceeded(_)
    ));
    assert!(matches!(
        error(404, &[], &rpc(404, "NOT_FOUND", "models/x is not found")),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        error(
            503,
            &[],
            &rpc(503, "UNAVAILABLE", "The model is overloaded.")
        ),
        PluginError::Overloaded(_)
    ));
    assert!(matches!(
        error(
            500,
            &[],
            &rpc(500, "INTERNAL", "An internal error has occurred.")
        ),
        PluginError::UpstreamUnavailable(_)
    ));
    assert!(matches!(
        error(504, &[], &rpc(504, "DEADLINE_EXCEEDED", "late")),
        PluginError::UpstreamUnavailable(_)
    ));
}

#[test]
fn non_json_error_bodies_fall_back_to_the_status() {
    assert!(matches!(
        error(429, &[("retry-after", "2")], "<html>slow down</html>"),
        PluginError::RateLimited(RateLimit {
            retry_after_ms: Some(2000),
            ..
        })
    ));
    assert!(matches!(error(503, &[], ""), PluginError::Overloaded(_)));
    assert!(matches!(
        error(502, &[], "<html>"),
        PluginError::UpstreamUnavailable(_)
    ));
    assert!(matches!(error(401, &[], "nope"), PluginError::Auth(_)));
    assert!(matches!(
        error(400, &[], "{}"),
        PluginError::InvalidRequest(_)
    ));
}

#[test]
fn bad_2xx_bodies_are_upstream_errors() {
    for body in [
        &b"<!DOCTYPE html><html></html>"[..],
        b"{\"candidates\": [",
        b"\xff\xfe\x80",
        b"[]",
        b"{}",
        b"{\"candidates\": [1]}",
    ] {
        assert!(
            matches!(parse_ok(body), Err(PluginError::UpstreamUnavailable(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn blocked_prompts_are_content_filtered() {
    let blocked =
        br#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":5}}"#;
    assert!(matches!(
        parse_ok(blocked),
        Err(PluginError::ContentFiltered(_))
    ));
    let replay = replay(vec![data(std::str::from_utf8(blocked).unwrap())]);
    assert!(matches!(
        replay.error,
        Some(PluginError::ContentFiltered(_))
    ));
}

#[test]
fn safety_and_length_finishes_are_normalised() {
    let body = br#"{"candidates":[{"content":{"parts":[{"text":"partial"}],"role":"model"},"finishReason":"MAX_TOKENS"}]}"#;
    assert_eq!(
        finish(&parse_ok(body).unwrap().finish.unwrap()),
        ("length", "MAX_TOKENS")
    );
    let body = br#"{"candidates":[{"finishReason":"SAFETY"}]}"#;
    let parsed = parse_ok(body).unwrap();
    assert_eq!(
        finish(parsed.finish.as_ref().unwrap()),
        ("content_filter", "SAFETY")
    );
    assert_eq!(
        common::body(&parsed)["choices"][0]["message"]["content"],
        ""
    );
    let replay = replay(vec![data(
        r#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"MALFORMED_FUNCTION_CALL"}]}"#,
    )]);
    assert_eq!(
        finish(&replay.finishes[0]),
        ("error", "MALFORMED_FUNCTION_CALL")
    );
    assert!(replay.done);
}

#[test]
fn bad_stream_events_are_upstream_errors_and_nothing_panics() {
    for event in ["<html>", "[1,2]", "{\"candidates\": 5}", "\"text\""] {
        let replay = replay(vec![data(event)]);
        assert!(
            matches!(replay.error, Some(PluginError::UpstreamUnavailable(_))),
            "{event}: {:?}",
            replay.error
        );
    }
    // Odd but well-formed events never panic.
    let replay = replay(vec![
        data(
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.a.b","numberValue":1}]}}]}}]}"#,
        ),
        data(
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","willContinue":true}}]}}]}"#,
        ),
        data(
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$","stringValue":"x"},{"jsonPath":"$.a.b","boolValue":true},{"jsonPath":"$.a","nullValue":null}],"willContinue":true}}]}}]}"#,
        ),
        data(r#"{"usageMetadata":{"promptTokenCount":3}}"#),
        data(r#"{"candidates":[{"finishReason":"STOP"}]}"#),
    ]);
    assert!(replay.error.is_none(), "{:?}", replay.error);
    assert!(replay.done);
    let (_, _, calls) = assemble(&replay.chunks);
    assert_eq!(calls[&0].arguments, r#"{"a":null}"#);
    assert_eq!(counts(&replay.usage.unwrap()), [3, 0, 0, 0, 0]);
}
