//! Request fields end to end through the real binary: OpenRouter features Switchyard does not
//! serve (web search is `web_search.rs`'s) are refused by name on every ingress (never dropped) with no upstream call; the
//! efforts above `high` get at least its thinking budget; `reasoning.exclude` leaves the
//! reasoning out of the answer and the stream; `reasoning.max_tokens` is a thinking budget where
//! the upstream has one and refused by name where it has not.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const OPENAI_TEXT: &str = "fixture=openai/openai-text";

async fn post(gateway: &Gateway, path: &str, body: &Value) -> (u16, Value) {
    let response = gateway
        .client
        .post(format!("{}{path}", gateway.url))
        .header("x-api-key", "sk-anything")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, json)
}

#[tokio::test]
async fn unserved_openrouter_features_are_refused_by_name_on_every_ingress() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("oa", "openai", &mock, OPENAI_TEXT, ""),
        model("m/a", &[("oa", "1", "2")]),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let chat = |extra: Value| {
        let mut body = json!({"model": "m/a", "messages": [{"role": "user", "content": "Hi"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let responses = |extra: Value| {
        let mut body = json!({"model": "m/a", "input": "Hi"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let messages = |extra: Value| {
        let mut body = json!({"model": "m/a", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    // Web search is tested in `web_search.rs`; the other ids name transforms, which this gateway
    // does not allow (no `[transforms] allow`).
    let not_allowed = "transform_not_allowed";
    let features = [
        (
            json!({"plugins": [{"id": "file-parser", "pdf": {"engine": "pdf-text"}}]}),
            "`file-parser`",
            not_allowed,
        ),
        (
            json!({"plugins": [{"id": "response-healing"}]}),
            "`response-healing`",
            not_allowed,
        ),
        (
            json!({"plugins": [{"id": "moderation"}]}),
            "`moderation`",
            not_allowed,
        ),
        (
            json!({"transforms": ["middle-out"]}),
            "`middle-out`",
            not_allowed,
        ),
        // OpenRouter's newer `provider` field the catalog has no data for.
        (
            json!({"provider": {"enforce_distillable_text": true}}),
            "`provider.enforce_distillable_text`",
            "invalid_provider_preferences",
        ),
    ];
    for (feature, named, code) in &features {
        for (path, body) in [
            ("/v1/chat/completions", chat(feature.clone())),
            ("/v1/responses", responses(feature.clone())),
            ("/v1/messages", messages(feature.clone())),
        ] {
            let (status, answer) = post(&gateway, path, &body).await;
            assert_eq!(status, 400, "{path} {feature}: {answer}");
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(message.contains(named), "{path} {feature}: {message}");
            if path == "/v1/messages" {
                assert_eq!(answer["type"], "error", "{answer}");
                assert_eq!(answer["error"]["type"], "invalid_request_error");
            } else {
                assert_eq!(answer["error"]["code"], *code, "{answer}");
            }
        }
    }
    assert!(
        mock.requests_for(OPENAI_TEXT).is_empty(),
        "no upstream call"
    );
    // Empty lists ask for nothing, nor does a restriction turned off.
    let empty = json!({"plugins": [], "transforms": [],
        "provider": {"enforce_distillable_text": false}});
    for (path, body) in [
        ("/v1/chat/completions", chat(empty.clone())),
        ("/v1/responses", responses(empty.clone())),
        ("/v1/messages", messages(empty.clone())),
    ] {
        let (status, answer) = post(&gateway, path, &body).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
}

const CLAUDE_THINK: &str = "fixture=anthropic/anthropic-clear-thinking.1";

fn claude(mock: &MockUpstream) -> String {
    [
        provider("think", "anthropic", mock, CLAUDE_THINK, ""),
        model("m/think", &[("think", "3", "15")]),
    ]
    .concat()
}

#[tokio::test]
async fn efforts_above_high_get_at_least_highs_thinking_budget() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&claude(&mock)).await;
    let mut budgets = Vec::new();
    for effort in ["high", "xhigh", "max"] {
        let body = json!({"model": "m/think", "max_tokens": 10000,
            "messages": [{"role": "user", "content": "Think."}], "reasoning": {"effort": effort}});
        let (status, answer) = post(&gateway, "/v1/chat/completions", &body).await;
        assert_eq!(status, 200, "{answer}");
        let upstream = mock.requests_for(CLAUDE_THINK).pop().unwrap().json.unwrap();
        budgets.push(upstream["thinking"]["budget_tokens"].as_u64().unwrap());
    }
    assert_eq!(budgets, [8000, 9500, 9500]);
}

#[tokio::test]
async fn excluded_reasoning_is_used_upstream_but_left_out_of_the_answer_and_stream() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&claude(&mock)).await;
    let body = |stream: bool, exclude: bool| {
        json!({"model": "m/think", "max_tokens": 4000, "stream": stream,
            "messages": [{"role": "user", "content": "Think."}],
            "reasoning": {"effort": "medium", "exclude": exclude}})
    };
    // Without `exclude` the recorded answer carries its reasoning: the check below can fail.
    let (status, kept) = post(&gateway, "/v1/chat/completions", &body(false, false)).await;
    assert_eq!(status, 200, "{kept}");
    assert!(
        kept["choices"][0]["message"]["reasoning"].is_string(),
        "{kept}"
    );

    let (status, answer) = post(&gateway, "/v1/chat/completions", &body(false, true)).await;
    assert_eq!(status, 200, "{answer}");
    let message = &answer["choices"][0]["message"];
    assert!(message.get("reasoning").is_none(), "{message}");
    assert!(message.get("reasoning_details").is_none(), "{message}");
    assert_eq!(message["content"], kept["choices"][0]["message"]["content"]);
    let upstream = mock.requests_for(CLAUDE_THINK).pop().unwrap().json.unwrap();
    assert_eq!(
        upstream["thinking"]["type"], "enabled",
        "the model still thinks"
    );

    let (status, events) = gateway.stream(&body(true, true)).await;
    assert_eq!(status, 200);
    let excluded = chunks(&events);
    assert!(!streamed_text(&excluded).is_empty());
    for chunk in &excluded {
        let delta = &chunk["choices"][0]["delta"];
        assert!(
            delta.get("reasoning").is_none() && delta.get("reasoning_details").is_none(),
            "{chunk}"
        );
    }
    let (_, events) = gateway.stream(&body(true, false)).await;
    assert!(
        chunks(&events)
            .iter()
            .any(|c| c["choices"][0]["delta"].get("reasoning").is_some()),
        "the recorded stream reasons"
    );
}

#[tokio::test]
async fn a_reasoning_budget_is_mapped_where_the_upstream_has_one_and_refused_by_name_elsewhere() {
    let mock = MockUpstream::start().await.unwrap();
    const QWEN: &str = "fixture=groq/groq-text";
    let config = [
        claude(&mock),
        provider("oa", "openai", &mock, OPENAI_TEXT, ""),
        provider(
            "qwen",
            "openai",
            &mock,
            QWEN,
            "options = { reasoning_budget_field = \"thinking_budget\" }",
        ),
        model("m/a", &[("oa", "1", "2")]),
        model("m/qwen", &[("qwen", "1", "2")]),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let body = |model: &str| {
        json!({"model": model, "max_tokens": 8000,
            "messages": [{"role": "user", "content": "Think."}], "reasoning": {"max_tokens": 3000}})
    };
    let (status, answer) = post(&gateway, "/v1/chat/completions", &body("m/think")).await;
    assert_eq!(status, 200, "{answer}");
    let upstream = mock.requests_for(CLAUDE_THINK).pop().unwrap().json.unwrap();
    assert_eq!(upstream["thinking"]["budget_tokens"], 3000);

    let (status, answer) = post(&gateway, "/v1/chat/completions", &body("m/qwen")).await;
    assert_eq!(status, 200, "{answer}");
    let upstream = mock.requests_for(QWEN).pop().unwrap().json.unwrap();
    assert_eq!(upstream["thinking_budget"], 3000, "{upstream}");
    assert!(upstream.get("reasoning").is_none(), "{upstream}");

    let (status, answer) = post(&gateway, "/v1/chat/completions", &body("m/a")).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("`reasoning.max_tokens`"), "{message}");
    assert!(
        mock.requests_for(OPENAI_TEXT).is_empty(),
        "refused before any upstream call"
    );
}
