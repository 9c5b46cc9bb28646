//! Every recorded response in `tests/fixtures/cohere` through `parse-response` and the stream
//! decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_sdk::provider::*;

/// Fixture files this suite covers; the listing test below fails when a new one appears.
const COVERED: &[&str] = &[
    "cohere-reasoning.chunks.txt",
    "cohere-reasoning.json",
    "cohere-text.chunks.txt",
    "cohere-text.json",
    "cohere-tool-call.chunks.txt",
    "cohere-tool-call.json",
];

#[test]
fn every_cohere_fixture_is_tested() {
    let dir = format!("{}/../../tests/fixtures/cohere", env!("CARGO_MANIFEST_DIR"));
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

/// Text and thinking of a chunks fixture, read independently of the adapter.
fn raw_stream(path: &str) -> (String, String) {
    let mut text = String::new();
    let mut thinking = String::new();
    for line in lines(path) {
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["type"] == "content-delta" {
            let content = &event["delta"]["message"]["content"];
            text.push_str(content["text"].as_str().unwrap_or(""));
            thinking.push_str(content["thinking"].as_str().unwrap_or(""));
        }
    }
    (text, thinking)
}

#[test]
fn text_response() {
    let parsed = parse_ok(&fixture("cohere-text.json")).unwrap();
    let completion = body(&parsed);
    assert!(completion.get("usage").is_none());
    assert_eq!(completion["id"], "e7592632-1e3d-424f-b129-bd5f9f980f7b");
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], "The capital of France is Paris.");
    assert!(message.get("reasoning").is_none());
    // The raw token counts (billed units are 12 and 7), 448 of the prompt from the cache.
    assert_eq!(counts(&parsed.usage.unwrap()), [507, 10, 448, 0, 0]);
    assert_eq!(finish(&parsed.finish.unwrap()), ("stop", "COMPLETE"));
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(completion["choices"][0]["native_finish_reason"], "COMPLETE");
}

#[test]
fn reasoning_response() {
    let parsed = parse_ok(&fixture("cohere-reasoning.json")).unwrap();
    let completion = body(&parsed);
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], "2 + 2 = 4");
    assert_eq!(
        message["reasoning"],
        "Okay, so I need to figure out what 2 + 2 is. Let me start by recalling what addition means."
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [1394, 582, 1344, 0, 0]);
}

#[test]
fn parallel_tool_call_response() {
    let parsed = parse_ok(&fixture("cohere-tool-call.json")).unwrap();
    let completion = body(&parsed);
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], Value::Null);
    assert!(
        message["reasoning"]
            .as_str()
            .unwrap()
            .starts_with("I will use the weather tool")
    );
    assert_eq!(
        message["tool_calls"],
        json!([
            {"id": "weather_dqgshstja6p9", "type": "function",
             "function": {"name": "weather", "arguments": "{\"location\":\"San Francisco\"}"}},
            {"id": "cityAttractions_dcxfx4myvx68", "type": "function",
             "function": {"name": "cityAttractions", "arguments": "{\"city\":\"San Francisco\"}"}}
        ])
    );
    assert_eq!(finish(&parsed.finish.unwrap()), ("tool_calls", "TOOL_CALL"));
    assert_eq!(counts(&parsed.usage.unwrap()), [1549, 103, 992, 0, 0]);
}

#[test]
fn text_stream() {
    for piece in [1, 9, 4096] {
        let replay = replay_wire("cohere-text.chunks.txt", piece);
        assert_clean(&replay);
        let (text, reasoning, calls) = assemble(&replay.chunks);
        assert_eq!(text, raw_stream("cohere-text.chunks.txt").0);
        assert_eq!(text, "The capital of France is Paris.");
        assert!(reasoning.is_empty() && calls.is_empty());
        assert_eq!(counts(&replay.usage.unwrap()), [507, 10, 448, 0, 0]);
        assert_eq!(finish(&replay.finishes[0]), ("stop", "COMPLETE"));
        for chunk in &replay.chunks {
            assert_eq!(chunk["id"], "321d178c-2c12-44d3-ae42-2f5510f6b1cc");
        }
    }
}

#[test]
fn reasoning_stream() {
    let path = "cohere-reasoning.chunks.txt";
    let replay = replay_wire(path, 64);
    assert_clean(&replay);
    let (text, reasoning, _) = assemble(&replay.chunks);
    let (raw_text, raw_thinking) = raw_stream(path);
    assert_eq!(
        (text.as_str(), reasoning.as_str()),
        (raw_text.as_str(), raw_thinking.as_str())
    );
    assert_eq!(text, "The answer to 2 + 2 is 4.");
    assert!(reasoning.starts_with("The user is asking for the sum of 2 and 2."));
    assert_eq!(counts(&replay.usage.unwrap()), [1394, 54, 1360, 0, 0]);
}

#[test]
fn tool_call_stream_with_argument_deltas() {
    let replay = replay_wire("cohere-tool-call.chunks.txt", 13);
    assert_clean(&replay);
    let (text, plan, calls) = assemble(&replay.chunks);
    assert_eq!(text, "");
    assert_eq!(
        plan,
        "I will use the weather tool to find the weather in San Francisco and the cityAttractions tool to find attractions in San Francisco."
    );
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[&0].id, "weather_e8p4pn45zt0t");
    assert_eq!(calls[&0].name, "weather");
    assert_eq!(calls[&0].arguments, "{\"location\": \"San Francisco\"}");
    assert_eq!(calls[&1].id, "cityAttractions_pyxssbwnq9fq");
    assert_eq!(calls[&1].name, "cityAttractions");
    assert_eq!(calls[&1].arguments, "{\"city\": \"San Francisco\"}");
    // Arguments arrive in several fragments.
    let fragments = replay
        .chunks
        .iter()
        .filter(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].is_string())
        .count();
    assert!(fragments > 4, "{fragments}");
    assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "TOOL_CALL"));
    assert_eq!(counts(&replay.usage.unwrap()), [1549, 95, 1504, 0, 0]);
}

#[test]
fn streams_cut_before_message_end_never_report_done() {
    for path in [
        "cohere-text.chunks.txt",
        "cohere-reasoning.chunks.txt",
        "cohere-tool-call.chunks.txt",
    ] {
        let all = lines(path);
        for cut in 0..all.len() {
            let replay = replay(all[..cut].iter().map(|l| typed(l)).collect::<Vec<_>>());
            assert!(replay.error.is_none());
            assert!(!replay.done, "{path} cut at {cut}");
        }
    }
}

#[test]
fn events_without_names_are_decoded_by_their_type() {
    let events: Vec<SseEvent> = lines("cohere-tool-call.chunks.txt")
        .iter()
        .map(|l| data(l))
        .collect();
    let replay = replay(events);
    assert_clean(&replay);
    assert_eq!(assemble(&replay.chunks).2.len(), 2);
}
