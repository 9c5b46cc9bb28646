//! `response_format` on the Anthropic adapter: the schema goes upstream as a forced tool, and
//! the call comes back as JSON text content finishing with `stop`, whole and streamed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_plugin_anthropic::Anthropic;
use switchyard_sdk::provider::*;
use switchyard_sdk::structured::JSON_TOOL;

fn build(value: Value) -> Result<Value, PluginError> {
    let request: ChatRequest = serde_json::from_value(value).unwrap();
    let built = <Anthropic as Provider>::build_request(request, endpoint(), false)?;
    Ok(serde_json::from_slice(&built.body).unwrap())
}

fn schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

#[test]
fn a_json_schema_becomes_a_forced_tool_and_json_object_a_permissive_one() {
    let body = build(json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "place", "strict": true, "schema": schema()}}}))
    .unwrap();
    assert_eq!(body["tools"][0]["name"], JSON_TOOL);
    assert_eq!(body["tools"][0]["input_schema"], schema());
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": JSON_TOOL})
    );
    let body = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_object"}}),
    )
    .unwrap();
    assert_eq!(body["tools"][0]["input_schema"], json!({"type": "object"}));
    let text = build(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "text"}}),
    )
    .unwrap();
    assert!(text.get("tools").is_none() && text.get("tool_choice").is_none());
}

#[test]
fn a_format_with_reasoning_or_tools_is_refused_by_name() {
    for extra in [
        json!({"reasoning": {"effort": "high"}, "max_tokens": 4000}),
        json!({"tools": [{"type": "function", "function": {"name": "f"}}]}),
    ] {
        let mut request = json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_object"}});
        for (key, value) in extra.as_object().unwrap() {
            request[key] = value.clone();
        }
        match build(request) {
            Err(PluginError::InvalidRequest(message)) => {
                assert!(message.contains("response_format"), "{message}");
            }
            other => panic!("refused, not {other:?}"),
        }
    }
}

#[test]
fn the_forced_call_answers_as_json_text_with_stop() {
    let answer = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": JSON_TOOL, "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5}
    });
    let parsed = parse_ok(answer.to_string().as_bytes()).unwrap();
    let body = body(&parsed);
    let message = &body["choices"][0]["message"];
    assert_eq!(
        serde_json::from_str::<Value>(message["content"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    assert!(
        message
            .get("tool_calls")
            .is_none_or(|calls| calls == &json!([]))
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[test]
fn the_forced_call_streams_as_json_text_with_stop() {
    let replay = replay(vec![
        typed(
            r#"{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":10,"output_tokens":1}}}"#,
        ),
        typed(&format!(
            r#"{{"type":"content_block_start","index":0,"content_block":{{"type":"tool_use","id":"toolu_1","name":"{JSON_TOOL}","input":{{}}}}}}"#
        )),
        typed(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}"#,
        ),
        typed(
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}"#,
        ),
        typed(r#"{"type":"content_block_stop","index":0}"#),
        typed(
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":5}}"#,
        ),
        typed(r#"{"type":"message_stop"}"#),
    ]);
    assert!(replay.error.is_none(), "{:?}", replay.error);
    let text: String = replay
        .chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"city": "Paris"})
    );
    assert!(
        replay
            .chunks
            .iter()
            .all(|c| c["choices"][0]["delta"].get("tool_calls").is_none())
    );
    let last = replay.chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
}
