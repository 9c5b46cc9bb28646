//! Every recorded response in `tests/fixtures/google` through `parse-response`, `parse-error`
//! and the stream decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_gemini::Gemini;
use switchyard_sdk::provider::*;

/// Fixture files this suite covers; the listing test below fails when a new one appears.
const COVERED: &[&str] = &[
    "google-429-retry-info.json",
    "google-reasoning.chunks.txt",
    "google-stream-no-args-tool-call.chunks.txt",
    "google-text.chunks.txt",
    "google-text.json",
    "google-tool-call.chunks.txt",
    "google-tool-call.json",
    "issue-8943-gemini-2.5-pro-error.json",
];

#[test]
fn every_google_fixture_is_tested() {
    let dir = format!("{}/../../tests/fixtures/google", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != "SOURCES.md" {
            assert!(
                COVERED.contains(&name.as_str()),
                "fixture {name} is not tested"
            );
        }
    }
}

/// Text of every non-thought part of a chunks fixture, read independently of the adapter.
fn raw_stream_text(path: &str) -> String {
    lines(path)
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .flat_map(|event| {
            event["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|part| part["thought"] != true)
        .filter_map(|part| part["text"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn text_response() {
    let parsed = parse_ok(&fixture("google-text.json")).unwrap();
    let completion = body(&parsed);
    assert!(completion.get("usage").is_none());
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["id"], "Un6LacrVMcjUxs0PmJfWoQc");
    assert_eq!(completion["model"], "gemini-3-pro-preview");
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert_eq!(
        message["content"],
        "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y."
    );
    assert!(message.get("tool_calls").is_none());
    // The thought signature is not text: it comes back only as a reasoning detail.
    assert!(!message["content"].to_string().contains("EtoFCtcF"));
    let detail = &message["reasoning_details"][0];
    assert_eq!(detail["type"], "reasoning.encrypted");
    assert_eq!(detail["format"], "google-gemini-v1");
    assert!(
        detail["data"]
            .as_str()
            .is_some_and(|d| d.starts_with("EtoFCtcF"))
    );
    assert!(detail.get("id").is_none());
    // 28 answer + 244 thought tokens.
    assert_eq!(counts(&parsed.usage.unwrap()), [9, 272, 0, 0, 244]);
    assert_eq!(finish(&parsed.finish.unwrap()), ("stop", "STOP"));
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(completion["choices"][0]["native_finish_reason"], "STOP");
}

#[test]
fn tool_call_response_synthesises_an_id_and_reports_tool_calls() {
    let parsed = parse_ok(&fixture("google-tool-call.json")).unwrap();
    let completion = body(&parsed);
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], Value::Null);
    assert_eq!(
        message["tool_calls"],
        json!([{"id": "call_0", "type": "function",
                "function": {"name": "weather", "arguments": "{\"location\":\"San Francisco\"}"}}])
    );
    assert_eq!(finish(&parsed.finish.unwrap()), ("tool_calls", "STOP"));
    assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(counts(&parsed.usage.unwrap()), [29, 908, 0, 0, 893]);
    // The call's thought signature, tied to it for the next turn.
    let detail = &message["reasoning_details"][0];
    assert_eq!(detail["id"], "call_0");
    assert!(
        detail["data"]
            .as_str()
            .is_some_and(|d| d.starts_with("EskgCsYg"))
    );
    // The same body parses to the same id: ids are stable.
    let again = body(&parse_ok(&fixture("google-tool-call.json")).unwrap());
    assert_eq!(
        again["choices"][0]["message"]["tool_calls"][0]["id"],
        "call_0"
    );
}

#[test]
fn text_stream() {
    for piece in [1, 7, 100, 1 << 20] {
        let replay = replay_wire("google-text.chunks.txt", piece);
        assert_clean(&replay);
        let (text, reasoning, calls) = assemble(&replay.chunks);
        assert_eq!(text, raw_stream_text("google-text.chunks.txt"));
        assert_eq!(
            text,
            "There are **3** \"r\"s in strawberry.\n\nst**r**awbe**rr**y"
        );
        assert!(reasoning.is_empty() && calls.is_empty());
        assert_eq!(counts(&replay.usage.unwrap()), [9, 208, 0, 0, 185]);
        assert_eq!(finish(&replay.finishes[0]), ("stop", "STOP"));
        for chunk in &replay.chunks {
            assert_eq!(chunk["id"], "bH6LaZW8Fp_3nsEPqtaSwQ4");
            assert_eq!(chunk["model"], "gemini-3-pro-preview");
            let delta = &chunk["choices"][0]["delta"];
            assert!(!delta["content"].to_string().contains("EqsFCqgF"));
        }
        let signed: Vec<&Value> = replay
            .chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["reasoning_details"].get(0))
            .collect();
        assert_eq!(signed.len(), 1);
        assert!(
            signed[0]["data"]
                .as_str()
                .is_some_and(|d| d.starts_with("EqsFCqgF"))
        );
    }
}

#[test]
fn usage_is_reported_cumulatively_on_every_event() {
    let events: Vec<SseEvent> = lines("google-text.chunks.txt")
        .iter()
        .map(|l| data(l))
        .collect();
    let mut decoder = <switchyard_plugin_gemini::GeminiDecoder as StreamDecoder>::new(endpoint());
    let mut seen = Vec::new();
    for event in events {
        let output = decoder.decode(event).unwrap();
        seen.push((
            output.usage.map(|u| counts(&u)),
            output.finish.is_some(),
            output.done,
        ));
    }
    assert_eq!(
        seen,
        vec![
            (Some([9, 190, 0, 0, 185]), false, false),
            (Some([9, 208, 0, 0, 185]), false, false),
            (Some([9, 208, 0, 0, 185]), true, true),
        ]
    );
}

#[test]
fn reasoning_stream_counts_thought_tokens() {
    let replay = replay_wire("google-reasoning.chunks.txt", 64);
    assert_clean(&replay);
    let (text, reasoning, _) = assemble(&replay.chunks);
    assert_eq!(text, raw_stream_text("google-reasoning.chunks.txt"));
    assert_eq!(
        text,
        "There are **3** \"r\"s in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y."
    );
    // Thinking was on but no thought text came back; the tokens are still counted.
    assert!(reasoning.is_empty());
    assert_eq!(counts(&replay.usage.unwrap()), [9, 285, 0, 0, 256]);
    assert_eq!(finish(&replay.finishes[0]), ("stop", "STOP"));
}

#[test]
fn tool_call_stream() {
    let replay = replay_wire("google-tool-call.chunks.txt", 5);
    assert_clean(&replay);
    let (text, _, calls) = assemble(&replay.chunks);
    assert_eq!(text, "");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[&0].id, "call_0");
    assert_eq!(calls[&0].name, "weather");
    assert_eq!(calls[&0].arguments, r#"{"location":"San Francisco"}"#);
    let first = &replay.chunks[0]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(
        first,
        &json!({"index": 0, "id": "call_0", "type": "function",
                "function": {"name": "weather", "arguments": "{\"location\":\"San Francisco\"}"}})
    );
    assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "STOP"));
    assert_eq!(counts(&replay.usage.unwrap()), [29, 60, 0, 0, 45]);
}

#[test]
fn vertex_streamed_arguments_and_parallel_calls() {
    let replay = replay_wire("google-stream-no-args-tool-call.chunks.txt", 4096);
    assert_clean(&replay);
    let (text, reasoning, calls) = assemble(&replay.chunks);
    assert_eq!(text, "");
    assert!(
        reasoning.starts_with("**Processing User Requests**"),
        "{reasoning}"
    );
    let summary: Vec<(String, String, String)> = calls
        .values()
        .map(|c| (c.id.clone(), c.name.clone(), c.arguments.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("call_0".into(), "read_theme".into(), "{}".into()),
            (
                "call_1".into(),
                "read_screen".into(),
                r#"{"id":"A"}"#.into()
            ),
            (
                "call_2".into(),
                "read_screen".into(),
                r#"{"id":"B"}"#.into()
            ),
            (
                "call_3".into(),
                "read_screen".into(),
                r#"{"id":"C"}"#.into()
            ),
        ]
    );
    // Intermediate Vertex events carry only `trafficType`: usage comes from the last event.
    assert_eq!(counts(&replay.usage.unwrap()), [249, 241, 0, 0, 183]);
    assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "STOP"));
}

#[test]
fn streams_cut_before_the_finish_reason_never_report_done() {
    for path in [
        "google-text.chunks.txt",
        "google-reasoning.chunks.txt",
        "google-tool-call.chunks.txt",
        "google-stream-no-args-tool-call.chunks.txt",
    ] {
        let all = lines(path);
        for cut in 0..all.len() {
            let replay = replay(all[..cut].iter().map(|l| data(l)).collect::<Vec<_>>());
            assert!(replay.error.is_none(), "{path} cut at {cut}");
            assert!(!replay.done, "{path} cut at {cut}");
            assert!(replay.finishes.is_empty());
        }
    }
}

#[test]
fn rate_limit_fixture_carries_the_retry_delay() {
    let error =
        <Gemini as Provider>::parse_error(http(429, &[], &fixture("google-429-retry-info.json")));
    match error {
        PluginError::RateLimited(limit) => {
            assert_eq!(limit.retry_after_ms, Some(34_400));
            assert_eq!(
                limit.message,
                "You exceeded your current quota, please check your plan."
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_argument_fixture_is_an_invalid_request() {
    let error = <Gemini as Provider>::parse_error(http(
        400,
        &[],
        &fixture("issue-8943-gemini-2.5-pro-error.json"),
    ));
    assert!(
        matches!(&error, PluginError::InvalidRequest(m) if m == "Penalty is not enabled for models/gemini-2.5-pro"),
        "{error:?}"
    );
}

#[test]
fn error_fixtures_in_a_2xx_body_or_a_stream_are_mapped() {
    let body = fixture("google-429-retry-info.json");
    assert!(matches!(parse_ok(&body), Err(PluginError::RateLimited(_))));
    let text = String::from_utf8(body).unwrap().replace('\n', " ");
    let replay = replay(vec![data(&text)]);
    assert!(matches!(replay.error, Some(PluginError::RateLimited(_))));
    assert!(!replay.done);
}
