//! Error mapping of the Anthropic adapter: statuses, `error.type`s, bad 2xx bodies and
//! in-stream errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use switchyard_plugin_anthropic::Anthropic;
use switchyard_sdk::provider::*;

fn body(kind: &str, message: &str) -> String {
    format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"{message}"}}}}"#)
}

fn error(status: u16, headers: &[(&str, &str)], body: &str) -> PluginError {
    <Anthropic as Provider>::parse_error(http(status, headers, body.as_bytes()))
}

#[test]
fn error_types_and_statuses_map_to_variants() {
    match error(
        429,
        &[("retry-after", "12")],
        &body(
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
        ),
    ) {
        PluginError::RateLimited(limit) => {
            assert_eq!(limit.retry_after_ms, Some(12_000));
            assert!(limit.message.starts_with("Number of requests"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(error(529, &[], &body("overloaded_error", "Overloaded")), PluginError::Overloaded(m) if m == "Overloaded")
    );
    assert!(matches!(
        error(529, &[], "<html>"),
        PluginError::Overloaded(_)
    ));
    assert!(matches!(
        error(401, &[], &body("authentication_error", "invalid x-api-key")),
        PluginError::Auth(_)
    ));
    assert!(matches!(
        error(403, &[], &body("permission_error", "no access")),
        PluginError::Auth(_)
    ));
    assert!(matches!(
        error(
            400,
            &[],
            &body("invalid_request_error", "messages: field required")
        ),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        error(
            400,
            &[],
            &body(
                "invalid_request_error",
                "prompt is too long: 208000 tokens > 200000 maximum"
            )
        ),
        PluginError::ContextLengthExceeded(_)
    ));
    assert!(matches!(
        error(
            400,
            &[],
            &body(
                "invalid_request_error",
                "input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000"
            )
        ),
        PluginError::ContextLengthExceeded(_)
    ));
    assert!(matches!(
        error(404, &[], &body("not_found_error", "model: claude-x")),
        PluginError::InvalidRequest(_)
    ));
    assert!(matches!(
        error(
            413,
            &[],
            &body(
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes"
            )
        ),
        PluginError::ContextLengthExceeded(_)
    ));
    assert!(matches!(
        error(500, &[], &body("api_error", "Internal server error")),
        PluginError::UpstreamUnavailable(_)
    ));
    assert!(
        matches!(error(502, &[], "bad gateway"), PluginError::UpstreamUnavailable(m) if m.contains("502"))
    );
    assert!(matches!(error(503, &[], ""), PluginError::Overloaded(_)));
    assert!(
        matches!(error(429, &[("retry-after-ms", "1500")], "{}"), PluginError::RateLimited(l) if l.retry_after_ms == Some(1500))
    );
}

#[test]
fn bad_2xx_bodies_are_upstream_errors_and_error_bodies_are_mapped() {
    for bad in [
        &b"<!DOCTYPE html><html>maintenance</html>"[..],
        b"{\"id\":\"msg\",\"content\":[{\"type\":\"text\",\"text\":\"Hel",
        b"\xc3\x28 not utf-8",
        b"",
        b"{\"id\":\"msg\",\"type\":\"message\"}",
        b"{\"content\":[{\"type\":\"tool_use\",\"input\":{}}]}",
    ] {
        assert!(
            matches!(parse_ok(bad), Err(PluginError::UpstreamUnavailable(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(matches!(
        parse_ok(body("overloaded_error", "Overloaded").as_bytes()),
        Err(PluginError::Overloaded(_))
    ));
}

#[test]
fn in_stream_errors_are_mapped() {
    let start = typed(
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"usage":{"input_tokens":5,"output_tokens":1}}}"#,
    );
    let delta = typed(
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
    );
    let failure = SseEvent {
        event: Some("error".to_owned()),
        data: body("overloaded_error", "Overloaded"),
    };
    let replay = replay(vec![
        start.clone(),
        delta,
        failure,
        typed(r#"{"type":"message_stop"}"#),
    ]);
    // message_start produces no chunk (the role rides on the first content), so only "Hi" is out.
    assert_eq!(replay.chunks.len(), 1);
    assert_eq!(replay.chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(replay.chunks[0]["choices"][0]["delta"]["content"], "Hi");
    assert!(matches!(replay.error, Some(PluginError::Overloaded(_))));
    assert!(!replay.done);
    // Without the event name, the payload type still says error.
    let replay = common::replay(vec![data(&body("rate_limit_error", "slow"))]);
    assert!(matches!(replay.error, Some(PluginError::RateLimited(_))));
    let replay = common::replay(vec![data(&body("api_error", "boom"))]);
    assert!(matches!(
        replay.error,
        Some(PluginError::UpstreamUnavailable(_))
    ));
    // Garbage in the stream.
    for garbage in ["<html>", "{\"type\":\"content_block_delta\"", "[1]", "7"] {
        let replay = common::replay(vec![start.clone(), data(garbage)]);
        assert!(
            matches!(replay.error, Some(PluginError::UpstreamUnavailable(_))),
            "{garbage}"
        );
    }
}

#[test]
fn pings_unknown_events_and_odd_deltas_produce_nothing() {
    let replay = replay(vec![
        typed(r#"{"type": "ping"}"#),
        typed(r#"{"type":"content_block_stop","index":0}"#),
        typed(r#"{"type":"some_future_event","x":1}"#),
        typed(
            r#"{"type":"content_block_delta","index":9,"delta":{"type":"input_json_delta","partial_json":"{"}}"#,
        ),
        data(""),
    ]);
    assert!(replay.error.is_none() && replay.chunks.is_empty() && !replay.done);
}

#[test]
fn thinking_signatures_and_redacted_thinking_stream_as_reasoning_details() {
    let replay = replay(vec![
        typed(
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
        ),
        typed(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm."}}"#,
        ),
        typed(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}"#,
        ),
        typed(
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"opaque"}}"#,
        ),
    ]);
    assert!(replay.error.is_none());
    let details: Vec<&serde_json::Value> = replay
        .chunks
        .iter()
        .map(|chunk| &chunk["choices"][0]["delta"]["reasoning_details"][0])
        .collect();
    assert_eq!(
        details,
        [
            &serde_json::json!({"type": "reasoning.text", "text": "Hmm.", "format": "anthropic-claude-v1", "index": 0}),
            &serde_json::json!({"type": "reasoning.text", "signature": "abc", "format": "anthropic-claude-v1", "index": 0}),
            &serde_json::json!({"type": "reasoning.encrypted", "data": "opaque", "format": "anthropic-claude-v1", "index": 1}),
        ]
    );
    assert_eq!(replay.chunks[0]["choices"][0]["delta"]["reasoning"], "Hmm.");
}

#[test]
fn cache_usage_and_stop_reasons() {
    let replay = replay(vec![
        typed(
            r#"{"type":"message_start","message":{"id":"m","model":"c","content":[],"usage":{"input_tokens":10,"cache_read_input_tokens":100,"cache_creation_input_tokens":50,"output_tokens":1}}}"#,
        ),
        typed(
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}}"#,
        ),
        typed(
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":42}}"#,
        ),
        typed(r#"{"type":"message_stop"}"#),
    ]);
    assert!(replay.done);
    assert_eq!(counts(&replay.usage.unwrap()), [160, 42, 100, 50, 0]);
    assert_eq!(finish(&replay.finishes[0]), ("length", "max_tokens"));
    assert_eq!(assemble(&replay.chunks).0, "Hi");
    for (native, normalised) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("max_tokens", "length"),
    ] {
        let body = format!(
            r#"{{"id":"m","model":"c","content":[{{"type":"text","text":"x"}}],"stop_reason":"{native}","usage":{{"input_tokens":1,"output_tokens":1}}}}"#
        );
        let parsed = parse_ok(body.as_bytes()).unwrap();
        assert_eq!(finish(&parsed.finish.unwrap()), (normalised, native));
    }
}
