//! End to end: `switchyard serve --demo` serves the demo models from its built-in upstream
//! through the openai adapter, routing, failover and pricing, with no provider key.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

async fn demo_gateway() -> Gateway {
    Gateway::start_with_args("", &[], &["--demo"]).await
}

/// The cost in USD of `usage` at `prompt`/`completion` USD per million tokens, 5% fee included.
fn expected_cost(usage: &Value, prompt: &str, completion: &str) -> Decimal {
    let tokens = |field: &str| Decimal::from(usage[field].as_u64().expect(field));
    let price = |text: &str| text.parse::<Decimal>().unwrap();
    let upstream = (tokens("prompt_tokens") * price(prompt)
        + tokens("completion_tokens") * price(completion))
        / Decimal::from(1_000_000);
    (upstream * Decimal::new(105, 2)).round_dp(12)
}

fn cost_of(usage: &Value) -> Decimal {
    usage["cost"].to_string().parse().unwrap()
}

#[tokio::test]
async fn demo_models_are_listed_and_answer_whole_and_streamed() {
    let gateway = demo_gateway().await;
    let (status, models) = gateway.get("/v1/models").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert!(ids.contains(&"demo/swift-chat"), "{ids:?}");
    assert!(ids.contains(&"demo/steady-chat"), "{ids:?}");

    let (status, headers, body) = gateway.chat(&request("demo/steady-chat", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "demo-steady");
    assert!(
        headers["x-switchyard-adapter"]
            .to_str()
            .unwrap()
            .starts_with("openai@")
    );
    let text = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.starts_with("Hello from steady-1"), "{text}");
    let usage = &body["usage"];
    assert_eq!(
        usage["completion_tokens"].as_u64().unwrap(),
        text.split(' ').count() as u64
    );
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(cost_of(usage), expected_cost(usage, "1.00", "3.00"));

    let (status, events) = gateway.stream(&request("demo/steady-chat", true)).await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = chunks(&events);
    assert_eq!(
        streamed_text(&chunks),
        text,
        "the stream says what the whole answer said"
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(cost_of(usage), expected_cost(usage, "1.00", "3.00"));
}

#[tokio::test]
async fn demo_models_call_tools() {
    let gateway = demo_gateway().await;
    let tools = json!([{ "type": "function", "function": {
        "name": "get_weather",
        "parameters": { "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] },
    }}]);
    let mut ask = request("demo/steady-chat", false);
    ask["tools"] = tools.clone();
    let (status, _, body) = gateway.chat(&ask).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({ "city": "demo" }));

    ask["stream"] = json!(true);
    let (status, events) = gateway.stream(&ask).await;
    assert_eq!(status, 200);
    let chunks = chunks(&events);
    let finish = chunks
        .iter()
        .find_map(|chunk| chunk["choices"][0]["finish_reason"].as_str());
    assert_eq!(finish, Some("tool_calls"));
}

#[tokio::test]
async fn the_swift_demo_provider_fails_now_and_then_and_requests_fail_over() {
    let gateway = demo_gateway().await;
    let mut ask = request("demo/swift-chat", false);
    ask["provider"] = json!({ "order": ["demo-swift", "demo-steady"] });
    let mut failovers = 0;
    for _ in 0..switchyard::demo::SWIFT_FAILURE_EVERY {
        let (status, _, body) = gateway
            .post_with_headers(&ask, &[("x-switchyard-debug", "routing")])
            .await;
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let attempts = body["routing"]["attempts"].as_array().unwrap();
        if attempts.len() > 1 {
            failovers += 1;
            assert_eq!(attempts[0]["provider"], "demo-swift");
            assert_ne!(attempts[0]["outcome"], "success", "{attempts:?}");
            assert_eq!(body["provider"], "demo-steady");
            let usage = &body["usage"];
            assert_eq!(cost_of(usage), expected_cost(usage, "0.50", "1.50"));
        } else {
            assert_eq!(body["provider"], "demo-swift");
            let usage = &body["usage"];
            assert_eq!(cost_of(usage), expected_cost(usage, "0.10", "0.40"));
        }
    }
    assert_eq!(
        failovers,
        1,
        "one request in {} fails over",
        switchyard::demo::SWIFT_FAILURE_EVERY
    );
}
