//! Adapters that pass the conversation through (`passes-conversation`, contract 0.5.0), through
//! the real binary: the built-in `openai` adapter is handed the request without `messages` and
//! `tools`, and the upstream gets the client's, byte for byte (fields the typed round trip used
//! to drop, such as a tool's `strict`, now reach it); a hostile adapter that forges the
//! conversation has it replaced by the client's, and one that writes a body that is not JSON
//! fails the request as its own fault.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;
use switchyard_tests::hostile::FORGER;

const SCENARIO: &str = "fixture=openai/openai-text";

/// A conversation with what a round trip through typed messages could change: escapes,
/// non-ASCII text, content parts, a null content beside tool calls, and unknown fields.
fn conversation() -> Value {
    json!([
        {"role": "system", "content": "Be brief. \"Quote\" \\ café 東京 \u{1F600}"},
        {"role": "user", "content": [
            {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
        ]},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get", "arguments": "{\"q\":1}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21.5}"},
        {"role": "user", "content": "And now?", "x_vendor_field": [1, 2]}
    ])
}

fn tools() -> Value {
    json!([{"type": "function", "function": {
        "name": "get", "description": "Gets.", "strict": true,
        "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}, "required": ["q"], "additionalProperties": false}
    }}])
}

#[tokio::test]
async fn the_openai_adapter_sends_the_clients_conversation_and_tools_as_they_are() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("oa", "openai", &mock, SCENARIO, ""),
        model("m/a", &[("oa", "1", "2")]),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    for stream in [false, true] {
        let request = json!({
            "model": "m/a", "stream": stream, "messages": conversation(), "tools": tools(),
            "tool_choice": "auto", "temperature": 0.25, "provider": {"sort": "price"},
            "reasoning": {"effort": "low"}
        });
        let (status, _, text) = gateway.post(&request).await;
        assert_eq!(status, 200, "{text}");
        let upstream = mock.requests_for(SCENARIO).pop().unwrap().json.unwrap();
        assert_eq!(upstream["messages"], conversation(), "stream {stream}");
        assert_eq!(upstream["tools"], tools(), "stream {stream}");
        assert_eq!(upstream["tools"][0]["function"]["strict"], true);
        assert_eq!(upstream["model"], "up-oa");
        assert_eq!(upstream["tool_choice"], "auto");
        assert_eq!(upstream["temperature"], 0.25);
        assert_eq!(upstream["reasoning_effort"], "low", "{upstream}");
        assert!(upstream.get("provider").is_none(), "{upstream}");
        assert!(upstream.get("reasoning").is_none(), "{upstream}");
        match stream {
            true => assert_eq!(upstream["stream_options"]["include_usage"], true),
            false => assert!(upstream.get("stream_options").is_none(), "{upstream}"),
        }
    }
}

/// A gateway serving `m/f` through the forger adapter with endpoint `options`.
async fn forger_gateway(mock: &MockUpstream, options: &str) -> Gateway {
    let config = [
        provider("f", "forger", mock, SCENARIO, options),
        model("m/f", &[("f", "1", "2")]),
    ]
    .concat();
    Gateway::start_with_plugins(&config, &[FORGER]).await
}

#[tokio::test]
async fn the_host_puts_the_clients_conversation_in_place_of_the_one_the_adapter_forged() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = forger_gateway(&mock, "").await;
    let request = json!({"model": "m/f", "messages": conversation(), "tools": tools()});
    let (status, _, answer) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{answer}");
    let upstream = mock.requests_for(SCENARIO).pop().unwrap().json.unwrap();
    assert_eq!(upstream["messages"], conversation());
    assert_eq!(upstream["tools"], tools());
    assert_eq!(
        upstream["handed"],
        json!({"messages": 0, "tools": 0}),
        "the adapter was handed the request without the conversation"
    );

    // Without tools from the client, the adapter's own stand.
    let request = json!({"model": "m/f", "messages": conversation()});
    let (status, _, answer) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{answer}");
    let upstream = mock.requests_for(SCENARIO).pop().unwrap().json.unwrap();
    assert_eq!(upstream["messages"], conversation());
    assert_eq!(upstream["tools"][0]["function"]["name"], "forged");
    assert_eq!(upstream["handed"], json!({"messages": 0, "tools": null}));
}

#[tokio::test]
async fn a_body_that_is_not_json_from_an_adapter_passing_the_conversation_is_its_fault() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = forger_gateway(&mock, "options = { body = \"text\" }").await;
    let request = json!({"model": "m/f", "messages": conversation()});
    let (status, _, answer) = gateway.chat(&request).await;
    assert_eq!(status, 502, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("passes-conversation"), "{answer}");
    assert!(
        mock.requests_for(SCENARIO).is_empty(),
        "nothing was sent upstream"
    );
}
