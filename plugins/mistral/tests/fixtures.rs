//! Every recorded response in `tests/fixtures/mistral` through `parse-response` and the stream
//! decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

/// Fixture files this suite covers; the listing test below fails when a new one appears.
const COVERED: &[&str] = &[
    "mistral-reasoning.chunks.txt",
    "mistral-reasoning.json",
    "mistral-text.chunks.txt",
    "mistral-text.json",
    "mistral-tool-call.chunks.txt",
    "mistral-tool-call.json",
];

#[test]
fn every_mistral_fixture_is_tested() {
    let dir = format!(
        "{}/../../tests/fixtures/mistral",
        env!("CARGO_MANIFEST_DIR")
    );
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

#[test]
fn text_response() {
    let raw: Value = serde_json::from_slice(&fixture("mistral-text.json")).unwrap();
    let parsed = parse_ok(&fixture("mistral-text.json")).unwrap();
    let completion = body(&parsed);
    assert!(completion.get("usage").is_none());
    assert_eq!(completion["id"], "5319bd0299614c679a0068a4f2c8ffd0");
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], raw["choices"][0]["message"]["content"]);
    assert!(
        message["content"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday Name: \"World Kindness Day of Sharing\"**")
    );
    assert!(
        message.get("tool_calls").is_none(),
        "a null tool_calls is dropped"
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [13, 434, 0, 0, 0]);
    assert_eq!(finish(&parsed.finish.unwrap()), ("stop", "stop"));
    assert_eq!(completion["choices"][0]["native_finish_reason"], "stop");
}

#[test]
fn reasoning_response_flattens_thinking_parts() {
    let parsed = parse_ok(&fixture("mistral-reasoning.json")).unwrap();
    let completion = body(&parsed);
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], "2 + 2 = 4");
    assert_eq!(
        message["reasoning"],
        "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [10, 46, 0, 0, 0]);
}

#[test]
fn tool_call_response_gets_its_type() {
    let parsed = parse_ok(&fixture("mistral-tool-call.json")).unwrap();
    let completion = body(&parsed);
    assert_eq!(
        completion["choices"][0]["message"]["tool_calls"],
        json!([{"id": "gSIMJiOkT", "type": "function",
                "function": {"name": "weather", "arguments": "{\"location\": \"San Francisco\"}"}}])
    );
    assert_eq!(
        finish(&parsed.finish.unwrap()),
        ("tool_calls", "tool_calls")
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [124, 22, 0, 0, 0]);
}

#[test]
fn text_stream_reports_usage_from_the_finish_chunk() {
    for piece in [1, 11, 4096] {
        let replay = replay_wire("mistral-text.chunks.txt", piece);
        assert_clean_openai(&replay);
        let (text, reasoning, calls) = assemble(&replay.chunks);
        assert_eq!(text, "Hello, world! This is a test response.");
        assert!(reasoning.is_empty() && calls.is_empty());
        assert_eq!(counts(&replay.usage.unwrap()), [13, 8, 0, 0, 0]);
        assert_eq!(finish(&replay.finishes[0]), ("stop", "stop"));
        for chunk in &replay.chunks {
            assert!(chunk.get("usage").is_none());
        }
    }
}

#[test]
fn reasoning_stream() {
    let replay = replay_wire("mistral-reasoning.chunks.txt", 64);
    assert_clean_openai(&replay);
    let (text, reasoning, _) = assemble(&replay.chunks);
    assert_eq!(text, "2 + 2 = 4");
    assert_eq!(
        reasoning,
        "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    );
    assert_eq!(counts(&replay.usage.unwrap()), [10, 46, 0, 0, 0]);
}

#[test]
fn tool_call_stream_gets_an_index_and_whole_arguments() {
    let replay = replay_wire("mistral-tool-call.chunks.txt", 7);
    assert_clean_openai(&replay);
    let (_, _, calls) = assemble(&replay.chunks);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[&0].id, "gSIMJiOkT");
    assert_eq!(calls[&0].name, "weather");
    assert_eq!(calls[&0].arguments, "{\"location\": \"San Francisco\"}");
    let delta = &replay.chunks[1]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(delta["index"], 0);
    assert_eq!(delta["type"], "function");
    assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "tool_calls"));
    assert_eq!(counts(&replay.usage.unwrap()), [124, 22, 0, 0, 0]);
}

#[test]
fn streams_without_done_never_report_done() {
    for path in [
        "mistral-text.chunks.txt",
        "mistral-reasoning.chunks.txt",
        "mistral-tool-call.chunks.txt",
    ] {
        let all = lines(path);
        for cut in 0..=all.len() {
            let replay = replay(all[..cut].iter().map(|l| data(l)).collect::<Vec<_>>());
            assert!(replay.error.is_none());
            assert!(!replay.done, "{path} cut at {cut}");
        }
    }
}

#[test]
fn model_length_is_a_length_finish_and_parallel_whole_calls_get_indexes() {
    let replay = replay(vec![
        data(
            r#"{"id":"a","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[
            {"id":"aaaaaaaaa","function":{"name":"f","arguments":"{}"}},
            {"id":"bbbbbbbbb","function":{"name":"g","arguments":{"x":1}}}]},"finish_reason":null}]}"#,
        ),
        data(
            r#"{"id":"a","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"finish_reason":"model_length"}],"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11},"p":"abc"}"#,
        ),
        data("[DONE]"),
    ]);
    assert!(replay.done);
    let (_, _, calls) = assemble(&replay.chunks);
    assert_eq!(calls[&0].id, "aaaaaaaaa");
    assert_eq!(calls[&1].id, "bbbbbbbbb");
    assert_eq!(calls[&1].arguments, r#"{"x":1}"#);
    assert_eq!(finish(&replay.finishes[0]), ("length", "model_length"));
    assert!(replay.chunks.iter().all(|c| c.get("p").is_none()));
    assert_eq!(counts(&replay.usage.unwrap()), [5, 6, 0, 0, 0]);
}
