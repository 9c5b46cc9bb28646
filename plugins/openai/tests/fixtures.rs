//! Every recorded response in `tests/fixtures/openai` plus the OpenAI-compatible recordings in
//! `groq/`, `deepseek/` and `mistral/`, through `parse-response`, `parse-error` and the stream
//! decoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_openai::OpenAi;
use switchyard_sdk::provider::*;

/// Fixture files this suite covers; the listing test below fails when a new one appears.
const COVERED: &[&str] = &[
    "openai/openai-error.1.chunks.txt",
    "openai/openai-error.1.json",
    "openai/openai-reasoning-encrypted-content.1.chunks.txt",
    "openai/openai-reasoning-encrypted-content.1.json",
    "openai/openai-text.chunks.txt",
    "openai/openai-text.json",
    "openai/reasoning-model-legacy-parameter-error.json",
    "groq/groq-reasoning.json",
    "groq/groq-text.json",
    "groq/groq-tool-call.chunks.txt",
    "groq/groq-tool-call.json",
    "deepseek/deepseek-json.json",
    "deepseek/deepseek-reasoning.chunks.txt",
    "deepseek/deepseek-reasoning.json",
    "deepseek/deepseek-text.json",
    "deepseek/deepseek-tool-call.chunks.txt",
    "deepseek/deepseek-tool-call.json",
    "mistral/mistral-reasoning.chunks.txt",
    "mistral/mistral-reasoning.json",
    "mistral/mistral-text.chunks.txt",
    "mistral/mistral-text.json",
    "mistral/mistral-tool-call.chunks.txt",
    "mistral/mistral-tool-call.json",
];

#[test]
fn every_fixture_in_the_covered_folders_is_tested() {
    for folder in ["openai", "groq", "deepseek", "mistral"] {
        let dir = format!(
            "{}/../../tests/fixtures/{folder}",
            env!("CARGO_MANIFEST_DIR")
        );
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name == "SOURCES.md" {
                continue;
            }
            let path = format!("{folder}/{name}");
            assert!(
                COVERED.contains(&path.as_str()),
                "fixture {path} is not tested"
            );
        }
    }
}

/// Every fixture is answered without a panic; 2xx bodies either parse or give a typed error.
#[test]
fn every_covered_fixture_is_answered_without_panic() {
    for path in COVERED {
        if path.ends_with(".json") {
            let _ = parse_ok(&fixture(path));
            let _ = <OpenAi as Provider>::parse_error(http(500, &[], &fixture(path)));
        } else {
            let _ = replay_fixture(path);
        }
    }
}

/// The raw text, reasoning and usage-free shape of a chunk fixture, read independently of the
/// adapter (content strings, Mistral text parts; `reasoning_content`/`reasoning`, Mistral
/// thinking parts).
fn raw_stream_text(path: &str) -> (String, String) {
    let mut text = String::new();
    let mut reasoning = String::new();
    for line in lines(path) {
        let chunk: Value = serde_json::from_str(&line).unwrap();
        for choice in chunk["choices"].as_array().unwrap() {
            let delta = &choice["delta"];
            match &delta["content"] {
                Value::String(s) => text.push_str(s),
                Value::Array(parts) => {
                    for part in parts {
                        if part["type"] == "text" {
                            text.push_str(part["text"].as_str().unwrap());
                        } else {
                            for t in part["thinking"].as_array().unwrap() {
                                reasoning.push_str(t["text"].as_str().unwrap());
                            }
                        }
                    }
                }
                _ => {}
            }
            for key in ["reasoning_content", "reasoning"] {
                reasoning.push_str(delta[key].as_str().unwrap_or(""));
            }
        }
    }
    (text, reasoning)
}

/// Checks invariants every forwarded chunk must meet.
fn assert_clean_chunks(replay: &Replay) {
    assert!(!replay.chunks.is_empty());
    assert_eq!(replay.chunks[0]["choices"][0]["delta"]["role"], "assistant");
    for chunk in &replay.chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk.get("usage").is_none(), "usage forwarded: {chunk}");
        assert!(
            chunk.get("obfuscation").is_none(),
            "padding forwarded: {chunk}"
        );
        assert!(chunk.get("p").is_none(), "padding forwarded: {chunk}");
        assert!(
            chunk["x_groq"].get("usage").is_none(),
            "usage forwarded: {chunk}"
        );
        assert!(
            !chunk["choices"].as_array().unwrap().is_empty(),
            "empty chunk: {chunk}"
        );
        let delta = &chunk["choices"][0]["delta"];
        assert!(delta.get("reasoning_content").is_none());
        assert!(!delta["content"].is_array());
    }
}

// ---------------------------------------------------------------- openai/

#[test]
fn openai_text_response() {
    let raw: Value = serde_json::from_slice(&fixture("openai/openai-text.json")).unwrap();
    let parsed = parse_ok(&fixture("openai/openai-text.json")).unwrap();
    let body = body(&parsed);
    assert!(body.get("usage").is_none());
    assert_eq!(
        body["choices"][0]["message"]["content"],
        raw["choices"][0]["message"]["content"]
    );
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday Name:** Galaxy Day")
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["choices"][0]["native_finish_reason"], "stop");
    assert_eq!(body["object"], "chat.completion");
    // Unknown fields pass through.
    assert_eq!(body["system_fingerprint"], "fp_de604bd877");
    assert_eq!(body["choices"][0]["message"]["annotations"], json!([]));
    assert_eq!(counts(&parsed.usage.unwrap()), [16, 363, 0, 0, 0]);
    assert_eq!(finish(&parsed.finish.unwrap()), ("stop", "stop"));
}

#[test]
fn openai_text_stream() {
    let path = "openai/openai-text.chunks.txt";
    let replay = replay_fixture(path);
    assert!(replay.error.is_none(), "{:?}", replay.error);
    assert!(replay.done);
    assert_clean_chunks(&replay);
    // The usage-only last chunk is consumed, every other line forwarded.
    assert_eq!(replay.chunks.len(), lines(path).len() - 1);
    let (text, reasoning, calls) = assemble(&replay.chunks);
    let (raw_text, _) = raw_stream_text(path);
    assert_eq!(text, raw_text);
    assert!(text.starts_with("**Holiday Name:** Harmony Day"));
    assert!(reasoning.is_empty() && calls.is_empty());
    assert_eq!(counts(&replay.usage.unwrap()), [16, 300, 0, 0, 0]);
    assert_eq!(replay.finishes.len(), 1);
    assert_eq!(finish(&replay.finishes[0]), ("stop", "stop"));
    let last = replay.chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
}

#[test]
fn openai_text_stream_cut_before_done_never_reports_done() {
    let mut events: Vec<SseEvent> = lines("openai/openai-text.chunks.txt")
        .iter()
        .map(|l| data(l))
        .collect();
    events.truncate(100);
    let replay = common::replay(events);
    assert!(replay.error.is_none());
    assert!(!replay.done);
    assert!(replay.finishes.is_empty());
    // Cut after the finish chunk and the usage chunk, but before [DONE]: still not done.
    let events: Vec<SseEvent> = lines("openai/openai-text.chunks.txt")
        .iter()
        .map(|l| data(l))
        .collect();
    let replay = common::replay(events);
    assert!(!replay.done);
    assert_eq!(replay.finishes.len(), 1);
}

#[test]
fn openai_quota_error_body_maps_to_auth() {
    let body = fixture("openai/openai-error.1.json");
    // Recorded as an HTTP 429; insufficient_quota is a billing problem, not a transient limit.
    let error = <OpenAi as Provider>::parse_error(http(429, &[("retry-after", "3")], &body));
    match error {
        PluginError::Auth(message) => {
            assert!(message.starts_with("You exceeded your current quota"))
        }
        other => panic!("expected auth, got {other:?}"),
    }
    // The same body with a 200 status is still that error, never a success.
    assert!(matches!(parse_ok(&body), Err(PluginError::Auth(_))));
}

#[test]
fn openai_responses_api_error_stream_is_a_clean_typed_error() {
    let path = "openai/openai-error.1.chunks.txt";
    // Fed as a whole: the first Responses API event is not a chat.completion.chunk.
    let replay = replay_fixture(path);
    assert!(matches!(
        replay.error,
        Some(PluginError::UpstreamUnavailable(_))
    ));
    assert!(replay.chunks.is_empty() && !replay.done);
    // Each event alone: the `error` event maps to the quota error, the others are rejected.
    for line in lines(path) {
        let replay = common::replay(vec![data(&line)]);
        let error = replay.error.expect("every Responses API event is rejected");
        if line.starts_with(r#"{"type":"error""#) {
            assert!(matches!(error, PluginError::Auth(_)), "{error:?}");
        } else {
            assert!(
                matches!(error, PluginError::UpstreamUnavailable(_)),
                "{error:?}"
            );
        }
    }
}

#[test]
fn openai_responses_api_recordings_are_not_fake_successes() {
    let body = fixture("openai/openai-reasoning-encrypted-content.1.json");
    assert!(matches!(
        parse_ok(&body),
        Err(PluginError::UpstreamUnavailable(_))
    ));
    for line in lines("openai/openai-reasoning-encrypted-content.1.chunks.txt") {
        let replay = common::replay(vec![data(&line), data("[DONE]")]);
        assert!(
            matches!(replay.error, Some(PluginError::UpstreamUnavailable(_))),
            "{line}"
        );
        assert!(replay.chunks.is_empty());
    }
}

#[test]
fn openai_legacy_parameter_error_is_invalid_request() {
    let body = fixture("openai/reasoning-model-legacy-parameter-error.json");
    match <OpenAi as Provider>::parse_error(http(400, &[], &body)) {
        PluginError::InvalidRequest(message) => assert!(message.contains("max_completion_tokens")),
        other => panic!("expected invalid request, got {other:?}"),
    }
}

// ---------------------------------------------------------------- groq/

#[test]
fn groq_tool_call_response() {
    let parsed = parse_ok(&fixture("groq/groq-tool-call.json")).unwrap();
    let body = body(&parsed);
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "ax9fskhev");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "weather");
    assert_eq!(call["function"]["arguments"], "{}");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert!(body.get("usage").is_none());
    assert_eq!(counts(&parsed.usage.unwrap()), [218, 15, 0, 0, 0]);
    assert_eq!(
        finish(&parsed.finish.unwrap()),
        ("tool_calls", "tool_calls")
    );
}

#[test]
fn groq_tool_call_stream() {
    let replay = replay_fixture("groq/groq-tool-call.chunks.txt");
    assert!(replay.error.is_none() && replay.done);
    assert_clean_chunks(&replay);
    let (text, _, calls) = assemble(&replay.chunks);
    assert_eq!(text, "");
    assert_eq!(calls.len(), 1);
    let call = &calls[&0];
    assert_eq!(
        (call.id.as_str(), call.name.as_str()),
        ("tk85n1k4m", "weather")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&call.arguments).unwrap(),
        json!({})
    );
    assert_eq!(counts(&replay.usage.unwrap()), [210, 15, 0, 0, 0]);
    assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "tool_calls"));
}

#[test]
fn groq_reasoning_and_text_responses() {
    let raw: Value = serde_json::from_slice(&fixture("groq/groq-reasoning.json")).unwrap();
    let parsed = parse_ok(&fixture("groq/groq-reasoning.json")).unwrap();
    let completion = body(&parsed);
    let message = &completion["choices"][0]["message"];
    assert_eq!(
        message["reasoning"],
        raw["choices"][0]["message"]["reasoning"]
    );
    assert!(
        message["reasoning"]
            .as_str()
            .unwrap()
            .starts_with("Okay, so the user")
    );
    assert!(message["content"].as_str().unwrap().contains("**3**"));
    let usage = parsed.usage.unwrap();
    assert_eq!(
        usage.prompt_tokens,
        raw["usage"]["prompt_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        usage.completion_tokens,
        raw["usage"]["completion_tokens"].as_u64().unwrap()
    );

    let raw: Value = serde_json::from_slice(&fixture("groq/groq-text.json")).unwrap();
    let parsed = parse_ok(&fixture("groq/groq-text.json")).unwrap();
    let body = body(&parsed);
    assert_eq!(
        body["choices"][0]["message"]["content"],
        raw["choices"][0]["message"]["content"]
    );
    assert_eq!(
        parsed.usage.unwrap().completion_tokens,
        raw["usage"]["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(finish(&parsed.finish.unwrap()).0, "stop");
}

// ---------------------------------------------------------------- deepseek/

#[test]
fn deepseek_tool_call_response_moves_reasoning_content() {
    let parsed = parse_ok(&fixture("deepseek/deepseek-tool-call.json")).unwrap();
    let body = body(&parsed);
    let message = &body["choices"][0]["message"];
    assert!(message.get("reasoning_content").is_none());
    assert!(
        message["reasoning"]
            .as_str()
            .unwrap()
            .starts_with("The user is asking for the weather in San Francisco.")
    );
    let call = &message["tool_calls"][0];
    assert_eq!(call["id"], "call_00_9V0vrf86Pc9aelHCJMZqnJBo");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"location": "San Francisco"})
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [339, 92, 320, 0, 48]);
    assert_eq!(
        finish(&parsed.finish.unwrap()),
        ("tool_calls", "tool_calls")
    );
}

#[test]
fn deepseek_tool_call_stream() {
    let path = "deepseek/deepseek-tool-call.chunks.txt";
    let replay = replay_fixture(path);
    assert!(replay.error.is_none() && replay.done);
    assert_clean_chunks(&replay);
    let (text, reasoning, calls) = assemble(&replay.chunks);
    let (raw_text, raw_reasoning) = raw_stream_text(path);
    assert_eq!(
        (text.as_str(), reasoning.as_str()),
        (raw_text.as_str(), raw_reasoning.as_str())
    );
    assert!(reasoning.starts_with("The user is asking"));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[&0].name, "weather");
    assert!(calls[&0].id.starts_with("call_"));
    assert_eq!(
        serde_json::from_str::<Value>(&calls[&0].arguments).unwrap(),
        json!({"location": "San Francisco"})
    );
    assert_eq!(counts(&replay.usage.unwrap()), [339, 83, 320, 0, 39]);
    assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "tool_calls"));
}

#[test]
fn deepseek_reasoning_response_and_stream() {
    let raw: Value = serde_json::from_slice(&fixture("deepseek/deepseek-reasoning.json")).unwrap();
    let parsed = parse_ok(&fixture("deepseek/deepseek-reasoning.json")).unwrap();
    let body = body(&parsed);
    assert_eq!(
        body["choices"][0]["message"]["reasoning"],
        raw["choices"][0]["message"]["reasoning_content"]
    );
    assert_eq!(
        parsed.usage.unwrap().reasoning_tokens,
        raw["usage"]["completion_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap()
    );

    let path = "deepseek/deepseek-reasoning.chunks.txt";
    let replay = replay_fixture(path);
    assert!(replay.error.is_none() && replay.done);
    assert_clean_chunks(&replay);
    let (text, reasoning, _) = assemble(&replay.chunks);
    let (raw_text, raw_reasoning) = raw_stream_text(path);
    assert_eq!(text, raw_text);
    assert_eq!(reasoning, raw_reasoning);
    assert_eq!(text, "The word \"strawberry\" contains three \"r\"s.");
    assert!(reasoning.starts_with("We need to count"));
    assert_eq!(counts(&replay.usage.unwrap()), [18, 219, 0, 0, 205]);
    assert_eq!(finish(&replay.finishes[0]), ("stop", "stop"));
}

#[test]
fn deepseek_text_and_json_responses() {
    for path in ["deepseek/deepseek-text.json", "deepseek/deepseek-json.json"] {
        let raw: Value = serde_json::from_slice(&fixture(path)).unwrap();
        let parsed = parse_ok(&fixture(path)).unwrap();
        let body = body(&parsed);
        assert_eq!(
            body["choices"][0]["message"]["content"], raw["choices"][0]["message"]["content"],
            "{path}"
        );
        let usage = parsed.usage.unwrap();
        assert_eq!(
            usage.prompt_tokens,
            raw["usage"]["prompt_tokens"].as_u64().unwrap()
        );
        assert_eq!(
            usage.cached_tokens,
            raw["usage"]["prompt_cache_hit_tokens"].as_u64().unwrap()
        );
        let native = raw["choices"][0]["finish_reason"].as_str().unwrap();
        let finish = parsed.finish.unwrap();
        assert_eq!(finish.native, native);
        assert_eq!(
            finish.reason.as_openai(),
            if native == "length" { "length" } else { "stop" }
        );
    }
}

// ---------------------------------------------------------------- mistral/

#[test]
fn mistral_text_response_and_stream() {
    let parsed = parse_ok(&fixture("mistral/mistral-text.json")).unwrap();
    let raw: Value = serde_json::from_slice(&fixture("mistral/mistral-text.json")).unwrap();
    assert_eq!(
        body(&parsed)["choices"][0]["message"]["content"],
        raw["choices"][0]["message"]["content"]
    );
    assert_eq!(
        parsed.usage.unwrap().completion_tokens,
        raw["usage"]["completion_tokens"].as_u64().unwrap()
    );

    let replay = replay_fixture("mistral/mistral-text.chunks.txt");
    assert!(replay.error.is_none() && replay.done);
    assert_clean_chunks(&replay);
    let (text, _, _) = assemble(&replay.chunks);
    assert_eq!(text, "Hello, world! This is a test response.");
    assert_eq!(counts(&replay.usage.unwrap()), [13, 8, 0, 0, 0]);
    assert_eq!(finish(&replay.finishes[0]), ("stop", "stop"));
}

#[test]
fn mistral_thinking_parts_become_reasoning() {
    let parsed = parse_ok(&fixture("mistral/mistral-reasoning.json")).unwrap();
    let completion = body(&parsed);
    let message = &completion["choices"][0]["message"];
    assert_eq!(message["content"], "2 + 2 = 4");
    assert_eq!(
        message["reasoning"],
        "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [10, 46, 0, 0, 0]);

    let replay = replay_fixture("mistral/mistral-reasoning.chunks.txt");
    assert!(replay.error.is_none() && replay.done);
    assert_clean_chunks(&replay);
    let (text, reasoning, _) = assemble(&replay.chunks);
    assert_eq!(text, "2 + 2 = 4");
    assert_eq!(
        reasoning,
        "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    );
    assert_eq!(counts(&replay.usage.unwrap()), [10, 46, 0, 0, 0]);
}

#[test]
fn mistral_tool_calls_get_type_and_index() {
    let parsed = parse_ok(&fixture("mistral/mistral-tool-call.json")).unwrap();
    let completion = body(&parsed);
    let call = &completion["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["id"], "gSIMJiOkT");
    assert_eq!(
        finish(&parsed.finish.unwrap()),
        ("tool_calls", "tool_calls")
    );
    assert_eq!(counts(&parsed.usage.unwrap()), [124, 22, 0, 0, 0]);

    let replay = replay_fixture("mistral/mistral-tool-call.chunks.txt");
    assert!(replay.error.is_none() && replay.done);
    assert_clean_chunks(&replay);
    let delta_call = &replay.chunks[1]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(delta_call["index"], 0);
    assert_eq!(delta_call["type"], "function");
    let (_, _, calls) = assemble(&replay.chunks);
    assert_eq!(calls[&0].name, "weather");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[&0].arguments).unwrap(),
        json!({"location": "San Francisco"})
    );
    assert_eq!(counts(&replay.usage.unwrap()), [124, 22, 0, 0, 0]);
    assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "tool_calls"));
}
