//! The recorded Responses API answers in `tests/fixtures/openai` (`*.1.*`) through
//! `parse-response`, `parse-error` and the stream decoder, and requests built for them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_plugin_openai_responses::{OpenAiResponses, ResponsesDecoder};
use switchyard_sdk::provider::*;
use switchyard_sdk::testing::{Replay, assemble, counts, data, endpoint, http, replay};

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

/// The fixture's events split into one list per response (the recording holds several).
fn responses(path: &str) -> Vec<Vec<SseEvent>> {
    let mut responses: Vec<Vec<SseEvent>> = Vec::new();
    for line in switchyard_sdk::testing::chunk_lines(&fixture(path)) {
        if line.contains("\"type\":\"response.created\"") {
            responses.push(Vec::new());
        }
        if let Some(events) = responses.last_mut() {
            events.push(data(&line));
        }
    }
    responses
}

fn run(events: Vec<SseEvent>) -> Replay {
    replay::<ResponsesDecoder>(
        endpoint("https://api.openai.com/v1", "gpt-5-mini", &[]),
        events,
    )
}

#[test]
fn a_whole_answer_keeps_text_summary_encrypted_reasoning_and_usage() {
    let body = fixture("openai/openai-reasoning-encrypted-content.1.json");
    let parsed = OpenAiResponses::parse_response(http(200, &[], &body)).unwrap();
    let completion: Value = serde_json::from_slice(&parsed.body).unwrap();
    let message = &completion["choices"][0]["message"];
    assert_eq!(
        message["content"],
        "12 + 7 = 19\n19 × 3 = 57\n57 × 10 = 570\n\nFinal result: 570"
    );
    assert!(
        message["reasoning"]
            .as_str()
            .unwrap()
            .starts_with("**Reporting final result**")
    );
    let details = message["reasoning_details"].as_array().unwrap();
    assert_eq!(details[0]["type"], "reasoning.summary");
    assert_eq!(details[1]["type"], "reasoning.encrypted");
    assert!(
        details[1]["data"]
            .as_str()
            .unwrap()
            .starts_with("gAAAAABpPMlc")
    );
    assert_eq!(details[1]["format"], "openai-responses-v1");
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
    assert_eq!(counts(&parsed.usage.unwrap()), [865, 163, 0, 0, 128]);
}

#[test]
fn an_error_body_is_typed_by_its_code() {
    let body = fixture("openai/openai-error.1.json");
    let error = OpenAiResponses::parse_error(http(429, &[("retry-after", "2")], &body));
    match error {
        PluginError::RateLimited(limit) => {
            assert!(
                limit.message.starts_with("insufficient_quota"),
                "{}",
                limit.message
            );
            assert_eq!(limit.retry_after_ms, Some(2000));
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[test]
fn a_stream_that_fails_before_output_is_a_typed_error_with_nothing_sent() {
    let mut all = responses("openai/openai-error.1.chunks.txt");
    let replay = run(all.remove(0));
    assert!(replay.chunks.is_empty(), "{:?}", replay.chunks);
    assert!(
        matches!(replay.error, Some(PluginError::RateLimited(_))),
        "{:?}",
        replay.error
    );
}

#[test]
fn streamed_agent_turns_decode_reasoning_calls_text_and_usage() {
    let turns = responses("openai/openai-reasoning-encrypted-content.1.chunks.txt");
    assert_eq!(turns.len(), 4);
    let replays: Vec<Replay> = turns.into_iter().map(run).collect();
    for replay in &replays {
        assert!(replay.done && replay.error.is_none(), "{:?}", replay.error);
    }

    let first = &replays[0];
    let (text, reasoning, calls) = assemble(&first.chunks);
    assert!(text.is_empty());
    assert!(
        reasoning.starts_with("**Calculating step-by-step using calculator**"),
        "{reasoning}"
    );
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[&0].name, "calculator");
    assert_eq!(calls[&0].id, "call_AB6AaRZ1FYZB2RwS6A5vbdqn");
    assert_eq!(calls[&0].arguments, r#"{"a":12,"b":7,"op":"add"}"#);
    let encrypted: Vec<&Value> = first
        .chunks
        .iter()
        .flat_map(|c| {
            c["choices"][0]["delta"]["reasoning_details"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter(|d| d["type"] == "reasoning.encrypted")
        .collect();
    assert_eq!(encrypted.len(), 1);
    assert_eq!(
        encrypted[0]["id"],
        "rs_01830d662ab3856501693c321405c88190be3ab04d5782d5f9"
    );
    assert_eq!(first.finishes[0].reason, FinishReason::ToolCalls);
    assert_eq!(counts(&first.usage.unwrap()), [134, 28, 0, 0, 0]);

    let last = &replays[3];
    assert_eq!(assemble(&last.chunks).0, "The final result is **570**.");
    assert_eq!(last.finishes[0].reason, FinishReason::Stop);
}

#[test]
fn an_incomplete_stream_finishes_with_length() {
    let events = vec![
        data(r#"{"type":"response.created","response":{"id":"r","model":"m"}}"#),
        data(r#"{"type":"response.output_text.delta","item_id":"msg","delta":"cut"}"#),
        data(
            r#"{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":3,"output_tokens":1}}}"#,
        ),
    ];
    let replay = run(events);
    assert!(replay.done);
    assert_eq!(replay.finishes[0].reason, FinishReason::Length);
    assert_eq!(replay.finishes[0].native, "max_output_tokens");
}

#[test]
fn the_request_carries_history_with_encrypted_reasoning_tools_and_format() {
    let request: ChatRequest = serde_json::from_value(json!({
        "model": "openai/gpt-5-pro",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "12+7?"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "assistant", "content": null,
             "reasoning_details": [
                {"type": "reasoning.summary", "summary": "Adding", "id": "rs_1", "format": "openai-responses-v1", "index": 0},
                {"type": "reasoning.encrypted", "data": "gAAA", "id": "rs_1", "format": "openai-responses-v1", "index": 1},
                {"type": "reasoning.text", "text": "other provider", "format": "anthropic-claude-v1", "index": 2}
             ],
             "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "calculator", "arguments": "{\"a\":12}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "19"}
        ],
        "tools": [{"type": "function", "function": {"name": "calculator", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "calculator"}},
        "max_tokens": 100,
        "reasoning": {"effort": "high"},
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}, "strict": true}},
        "provider": {"sort": "price"}
    }))
    .unwrap();
    let built = OpenAiResponses::build_request(
        request,
        endpoint("https://api.openai.com/v1", "gpt-5-pro", &[]),
        true,
    )
    .unwrap();
    assert_eq!(built.url, "https://api.openai.com/v1/responses");
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    assert_eq!(
        body["input"],
        json!([
            {"type": "message", "role": "system", "content": "Be brief."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "12+7?"},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}
            ]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Adding"}], "encrypted_content": "gAAA"},
            {"type": "function_call", "call_id": "call_1", "name": "calculator", "arguments": "{\"a\":12}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "19"}
        ])
    );
    assert_eq!(body["model"], "gpt-5-pro");
    assert_eq!(body["store"], false);
    assert_eq!(body["stream"], true);
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["max_output_tokens"], 100);
    assert_eq!(
        body["reasoning"],
        json!({"effort": "high", "summary": "auto"})
    );
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "name": "calculator", "parameters": {"type": "object"}}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "name": "calculator"})
    );
    assert_eq!(
        body["text"]["format"],
        json!({"type": "json_schema", "name": "n", "schema": {"type": "object"}, "strict": true})
    );
    assert!(body.get("provider").is_none());
}

#[test]
fn a_responses_clients_own_items_and_settings_are_sent_as_they_came() {
    let items = json!([
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Plot it."}]},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Plotting"}], "encrypted_content": "gAAA"},
        {"type": "message", "id": "msg_1", "role": "assistant", "phase": "commentary",
         "content": [{"type": "output_text", "text": "Calling the plotter.", "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "plot", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": [
            {"type": "input_text", "text": "here"},
            {"type": "input_image", "image_url": "https://example.com/plot.png"}
        ]}
    ]);
    let mut sent = items.as_array().unwrap().clone();
    // Reasoning without encrypted content cannot be taken back by a stateless upstream.
    sent.push(json!({"type": "reasoning", "id": "rs_2", "summary": []}));
    let request: ChatRequest = serde_json::from_value(json!({
        "model": "openai/gpt-5-pro",
        "messages": [{"role": "user", "content": "Plot it."}],
        "reasoning": {"effort": "low"},
        "openai_responses": {
            "input": sent,
            "instructions": "Be brief.",
            "reasoning": {"effort": "low", "summary": "detailed"},
            "text": {"verbosity": "low", "format": {"type": "text"}}
        }
    }))
    .unwrap();
    let built = OpenAiResponses::build_request(
        request,
        endpoint("https://api.openai.com/v1", "gpt-5-pro", &[]),
        false,
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&built.body).unwrap();
    assert_eq!(body["input"], items);
    assert_eq!(body["instructions"], "Be brief.");
    assert_eq!(
        body["reasoning"],
        json!({"effort": "low", "summary": "detailed"})
    );
    assert_eq!(
        body["text"],
        json!({"format": {"type": "text"}, "verbosity": "low"})
    );
    assert!(body.get("openai_responses").is_none());
}

#[test]
fn item_markers_wait_for_output_so_an_early_error_still_fails_over() {
    let mut decoder =
        ResponsesDecoder::new(endpoint("https://api.openai.com/v1", "gpt-5-pro", &[]));
    let added = decoder
        .decode(data(r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","status":"in_progress","content":[]}}"#))
        .unwrap();
    assert!(added.chunks.is_empty(), "nothing is output yet");
    let delta = decoder
        .decode(data(r#"{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}"#))
        .unwrap();
    assert_eq!(delta.chunks.len(), 2);
    let marker: Value = serde_json::from_slice(&delta.chunks[0]).unwrap();
    assert_eq!(marker["openai_responses"]["added"]["id"], "msg_1");
    assert_eq!(marker["choices"], json!([]));
    let text: Value = serde_json::from_slice(&delta.chunks[1]).unwrap();
    assert_eq!(text["choices"][0]["delta"]["content"], "Hi");

    let mut early = ResponsesDecoder::new(endpoint("https://api.openai.com/v1", "gpt-5-pro", &[]));
    let added = early
        .decode(data(r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[]}}"#))
        .unwrap();
    assert!(added.chunks.is_empty());
    assert!(
        early
            .decode(data(
                r#"{"type":"error","code":"server_error","message":"overloaded"}"#
            ))
            .is_err()
    );

    // An item with nothing streamed is marked with the next output: here the finish.
    let mut empty = ResponsesDecoder::new(endpoint("https://api.openai.com/v1", "gpt-5-pro", &[]));
    let item =
        r#"{"type":"message","id":"msg_2","role":"assistant","status":"completed","content":[]}"#;
    for kind in ["response.output_item.added", "response.output_item.done"] {
        let event = format!(r#"{{"type":"{kind}","output_index":0,"item":{item}}}"#);
        assert!(
            empty.decode(data(&event)).unwrap().chunks.is_empty(),
            "{kind}"
        );
    }
    let finished = empty
        .decode(data(r#"{"type":"response.completed","response":{"status":"completed","output":[],"usage":{"input_tokens":1,"output_tokens":0}}}"#))
        .unwrap();
    let stages: Vec<Value> = finished
        .chunks
        .iter()
        .map(|chunk| serde_json::from_slice::<Value>(chunk).unwrap())
        .map(|chunk| match chunk["openai_responses"].as_object() {
            Some(marker) => json!(marker.keys().collect::<Vec<_>>()),
            None => json!("finish"),
        })
        .collect();
    assert_eq!(stages, [json!(["added"]), json!(["done"]), json!("finish")]);
}
