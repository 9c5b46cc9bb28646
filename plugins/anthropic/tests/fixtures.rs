//! Every recorded response in `tests/fixtures/anthropic` through `parse-response` and the stream
//! decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_sdk::provider::*;

/// Fixture files this suite covers; the listing test below fails when a new one appears.
const COVERED: &[&str] = &[
    "anthropic-clear-thinking.1.chunks.txt",
    "anthropic-clear-thinking.1.json",
    "anthropic-json-other-tool.1.chunks.txt",
    "anthropic-json-other-tool.1.json",
    "anthropic-json-output-format.1.json",
    "anthropic-text.chunks.txt",
    "anthropic-text.json",
    "basic_response.txt",
    "tool_use_response.txt",
];

#[test]
fn every_anthropic_fixture_is_tested() {
    let dir = format!(
        "{}/../../tests/fixtures/anthropic",
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

/// Text, reasoning and tool calls of a Messages API body, read independently of the adapter.
fn raw_blocks(value: &Value) -> (String, String, Vec<(String, String, Value)>) {
    let mut text = String::new();
    let mut thinking = String::new();
    let mut tools = Vec::new();
    for block in value["content"].as_array().unwrap() {
        match block["type"].as_str().unwrap() {
            "text" => text.push_str(block["text"].as_str().unwrap()),
            "thinking" => thinking.push_str(block["thinking"].as_str().unwrap()),
            "tool_use" => tools.push((
                block["id"].as_str().unwrap().to_owned(),
                block["name"].as_str().unwrap().to_owned(),
                block["input"].clone(),
            )),
            _ => {}
        }
    }
    (text, thinking, tools)
}

/// Text and thinking of a chunks fixture, read independently of the adapter.
fn raw_stream_text(path: &str) -> (String, String) {
    let mut text = String::new();
    let mut thinking = String::new();
    for line in lines(path) {
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["type"] == "content_block_delta" {
            text.push_str(event["delta"]["text"].as_str().unwrap_or(""));
            thinking.push_str(event["delta"]["thinking"].as_str().unwrap_or(""));
        }
    }
    (text, thinking)
}

/// Checks invariants every stream must meet.
fn assert_clean(replay: &Replay) {
    assert!(replay.error.is_none(), "{:?}", replay.error);
    assert!(replay.done);
    assert_eq!(replay.chunks[0]["choices"][0]["delta"]["role"], "assistant");
    for (position, chunk) in replay.chunks.iter().enumerate() {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk.get("usage").is_none());
        if position > 0 {
            assert!(chunk["choices"][0]["delta"].get("role").is_none());
        }
    }
    assert_eq!(replay.finishes.len(), 1);
    let last = replay.chunks.last().unwrap();
    assert_eq!(
        last["choices"][0]["finish_reason"],
        replay.finishes[0].reason.as_openai()
    );
    assert_eq!(
        last["choices"][0]["native_finish_reason"],
        replay.finishes[0].native
    );
}

fn check_response(path: &str) -> (Value, ParsedResponse) {
    let raw: Value = serde_json::from_slice(&fixture(path)).unwrap();
    let parsed = parse_ok(&fixture(path)).unwrap();
    let completion = body(&parsed);
    assert!(completion.get("usage").is_none());
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["id"], raw["id"]);
    assert_eq!(completion["model"], raw["model"]);
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    let (text, thinking, tools) = raw_blocks(&raw);
    if tools.is_empty() {
        assert_eq!(message["content"], text.as_str());
    } else {
        assert_eq!(message["content"], Value::Null);
    }
    if thinking.is_empty() {
        assert!(message.get("reasoning").is_none());
    } else {
        assert_eq!(message["reasoning"], thinking.as_str());
    }
    for (call, (id, name, input)) in message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(&tools)
    {
        assert_eq!(call["id"], id.as_str());
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], name.as_str());
        let arguments = call["function"]["arguments"].as_str().unwrap();
        assert_eq!(&serde_json::from_str::<Value>(arguments).unwrap(), input);
        assert_eq!(arguments, input.to_string(), "arguments are compact JSON");
    }
    let usage = parsed.usage.as_ref().unwrap();
    let u = &raw["usage"];
    let read = u["cache_read_input_tokens"].as_u64().unwrap();
    let write = u["cache_creation_input_tokens"].as_u64().unwrap();
    assert_eq!(
        counts(usage),
        [
            u["input_tokens"].as_u64().unwrap() + read + write,
            u["output_tokens"].as_u64().unwrap(),
            read,
            write,
            0
        ]
    );
    let finish = parsed.finish.as_ref().unwrap();
    assert_eq!(finish.native, raw["stop_reason"].as_str().unwrap());
    assert_eq!(
        completion["choices"][0]["finish_reason"],
        finish.reason.as_openai()
    );
    assert_eq!(
        completion["choices"][0]["native_finish_reason"],
        finish.native
    );
    (completion, parsed)
}

#[test]
fn text_response() {
    let (completion, parsed) = check_response("anthropic-text.json");
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?"
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [12, 29, 0, 0, 0]);
    assert_eq!(finish(&parsed.finish.unwrap()), ("stop", "end_turn"));
}

#[test]
fn the_matched_stop_sequence_is_named_on_the_choice_whole_and_streamed() {
    let path = "../synthetic/anthropic-stop-sequence-cached";
    let (completion, parsed) = check_response(&format!("{path}.json"));
    assert_eq!(completion["choices"][0]["stop_reason"], "Is there");
    assert_eq!(counts(&parsed.usage.unwrap()), [3560, 20, 2048, 1500, 0]);
    assert_eq!(finish(&parsed.finish.unwrap()), ("stop", "stop_sequence"));

    let replay = replay_fixture(&format!("{path}.chunks.txt"));
    assert_clean(&replay);
    let last = replay.chunks.last().unwrap();
    assert_eq!(last["choices"][0]["stop_reason"], "Is there");
    assert_eq!(counts(&replay.usage.unwrap()), [3560, 20, 2048, 1500, 0]);
    // No other chunk names a stop sequence, and an answer that ended otherwise names none.
    for chunk in &replay.chunks[..replay.chunks.len() - 1] {
        assert!(chunk["choices"][0].get("stop_reason").is_none(), "{chunk}");
    }
    let (text, _) = check_response("anthropic-text.json");
    assert!(text["choices"][0].get("stop_reason").is_none());
}

#[test]
fn thinking_response() {
    let (completion, parsed) = check_response("anthropic-clear-thinking.1.json");
    assert_eq!(
        completion["choices"][0]["message"]["reasoning"],
        "925 divided by 5 = 185"
    );
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        "925 ÷ 5 = 185"
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [69, 33, 0, 0, 0]);
}

#[test]
fn tool_use_response() {
    let (completion, parsed) = check_response("anthropic-json-other-tool.1.json");
    let call = &completion["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "toolu_01PQjhxo3eirCdKNvCJrKc8f");
    assert_eq!(call["function"]["name"], "weather");
    assert_eq!(
        call["function"]["arguments"],
        r#"{"location":"San Francisco"}"#
    );
    assert_eq!(finish(&parsed.finish.unwrap()), ("tool_calls", "tool_use"));
    assert_eq!(counts(&parsed.usage.unwrap()), [843, 28, 0, 0, 0]);
}

#[test]
fn structured_output_response() {
    let (completion, parsed) = check_response("anthropic-json-output-format.1.json");
    let text = completion["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();
    let recipe: Value = serde_json::from_str(text).unwrap();
    assert_eq!(recipe["recipe"]["name"], "Classic Lasagna");
    assert_eq!(counts(&parsed.usage.unwrap()), [371, 629, 0, 0, 0]);
}

#[test]
fn text_stream() {
    let path = "anthropic-text.chunks.txt";
    let replay = replay_fixture(path);
    assert_clean(&replay);
    let (text, reasoning, calls) = assemble(&replay.chunks);
    assert_eq!(text, raw_stream_text(path).0);
    assert_eq!(
        text,
        "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?"
    );
    assert!(reasoning.is_empty() && calls.is_empty());
    assert_eq!(counts(&replay.usage.unwrap()), [12, 30, 0, 0, 0]);
    assert_eq!(finish(&replay.finishes[0]), ("stop", "end_turn"));
    // The upstream's id and model are copied into every chunk.
    for chunk in &replay.chunks {
        assert_eq!(chunk["id"], "msg_01QC4g3HwBThD4BaNtBckFDJ");
        assert_eq!(chunk["model"], "claude-sonnet-4-5-20250929");
    }
}

#[test]
fn thinking_stream() {
    let path = "anthropic-clear-thinking.1.chunks.txt";
    let replay = replay_fixture(path);
    assert_clean(&replay);
    let (text, reasoning, _) = assemble(&replay.chunks);
    let (raw_text, raw_thinking) = raw_stream_text(path);
    assert_eq!(
        (text.as_str(), reasoning.as_str()),
        (raw_text.as_str(), raw_thinking.as_str())
    );
    assert_eq!(text, "925 ÷ 5 = 185");
    assert_eq!(
        reasoning,
        "The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185"
    );
    // The signature comes back only as a reasoning detail, for the client to send back.
    let signed: Vec<_> = replay
        .chunks
        .iter()
        .filter(|chunk| chunk.to_string().contains("EvQBCkYICxgC"))
        .collect();
    assert_eq!(signed.len(), 1);
    let detail = &signed[0]["choices"][0]["delta"]["reasoning_details"][0];
    assert_eq!(detail["type"], "reasoning.text");
    assert!(
        detail["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with("EvQBCkYICxgC"))
    );
    assert_eq!(counts(&replay.usage.unwrap()), [69, 53, 0, 0, 0]);
}

#[test]
fn tool_use_stream() {
    let replay = replay_fixture("anthropic-json-other-tool.1.chunks.txt");
    assert_clean(&replay);
    let (text, _, calls) = assemble(&replay.chunks);
    assert_eq!(text, "");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[&0].id, "toolu_019Zvehfe1XQWweT1pm7okyt");
    assert_eq!(calls[&0].name, "weather");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[&0].arguments).unwrap(),
        json!({"location": "San Francisco"})
    );
    let first_tool = replay
        .chunks
        .iter()
        .find(|c| c["choices"][0]["delta"].get("tool_calls").is_some())
        .unwrap();
    assert_eq!(
        first_tool["choices"][0]["delta"]["tool_calls"][0],
        json!({"index": 0, "id": "toolu_019Zvehfe1XQWweT1pm7okyt", "type": "function",
               "function": {"name": "weather", "arguments": ""}})
    );
    assert_eq!(counts(&replay.usage.unwrap()), [843, 28, 0, 0, 0]);
    assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "tool_use"));
}

#[test]
fn raw_basic_stream_in_small_pieces() {
    for piece in [1, 3, 7, 64, 4096] {
        let replay = replay_raw("basic_response.txt", piece);
        assert_clean(&replay);
        let (text, _, _) = assemble(&replay.chunks);
        assert_eq!(text, "Hello there!", "piece {piece}");
        assert_eq!(counts(&replay.usage.unwrap()), [11, 6, 0, 0, 0]);
        assert_eq!(finish(&replay.finishes[0]), ("stop", "end_turn"));
    }
}

#[test]
fn raw_tool_use_stream_in_small_pieces() {
    for piece in [1, 5, 13, 4096] {
        let replay = replay_raw("tool_use_response.txt", piece);
        assert_clean(&replay);
        let (text, _, calls) = assemble(&replay.chunks);
        assert_eq!(text, "I'll check the current weather in Paris for you.");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[&0].id, "toolu_01NRLabsLyVHZPKxbKvkfSMn");
        assert_eq!(calls[&0].name, "get_weather");
        // Tool calls are numbered over tool blocks, not Anthropic's block index (1 here).
        assert!(calls.contains_key(&0));
        assert_eq!(
            serde_json::from_str::<Value>(&calls[&0].arguments).unwrap(),
            json!({"location": "Paris"})
        );
        assert_eq!(counts(&replay.usage.unwrap()), [377, 65, 0, 0, 0]);
        assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "tool_use"));
    }
}

#[test]
fn streams_cut_before_message_stop_never_report_done() {
    for path in [
        "anthropic-text.chunks.txt",
        "anthropic-clear-thinking.1.chunks.txt",
        "anthropic-json-other-tool.1.chunks.txt",
    ] {
        let all = lines(path);
        for cut in 0..all.len() {
            let replay = replay(all[..cut].iter().map(|l| typed(l)).collect::<Vec<_>>());
            assert!(replay.error.is_none());
            assert!(!replay.done, "{path} cut at {cut}");
        }
    }
    // Raw SSE cut mid-way through the final event.
    let bytes = fixture("basic_response.txt");
    let cut = &bytes[..bytes.len() - 10];
    let mut parser = switchyard_sdk::sse::SseParser::new();
    let mut events: Vec<SseEvent> = parser.push(cut).into_iter().map(SseEvent::from).collect();
    events.extend(parser.finish().map(SseEvent::from));
    let replay = common::replay(events);
    assert!(!replay.done);
    assert!(
        matches!(replay.error, Some(PluginError::UpstreamUnavailable(_))) || replay.error.is_none()
    );
}

#[test]
fn events_without_names_are_decoded_by_their_type() {
    let events: Vec<SseEvent> = lines("anthropic-text.chunks.txt")
        .iter()
        .map(|l| data(l))
        .collect();
    let replay = replay(events);
    assert_clean(&replay);
}
