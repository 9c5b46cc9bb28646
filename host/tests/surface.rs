//! OpenRouter surface end to end: `/api/v1/messages`, the legacy completions API, presets,
//! `/api/v1/providers`, and routing on the catalog's data policies.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const TRAINS: &str = "fixture=openai/openai-text";
const PRIVATE: &str = "fixture=groq/groq-text";

/// `trains` (cheap, trains on prompts) and `private` (dear, does not), each with its published
/// policy; `m/both` served by both, `m/text` by `trains`; preset `terse`.
fn config(mock: &MockUpstream) -> String {
    let mut config = String::new();
    config.push_str(&provider(
        "trains",
        "openai",
        mock,
        TRAINS,
        "data_policy = { training = true, retains_prompts = true, prompt_retention_days = 30, source = \"https://example.com/trains\" }",
    ));
    config.push_str(&provider(
        "private",
        "openai",
        mock,
        PRIVATE,
        "data_policy = { training = false, retains_prompts = false, zdr_available = true, source = \"https://example.com/private\" }",
    ));
    config.push_str(&model(
        "m/both",
        &[("trains", "1", "1"), ("private", "5", "5")],
    ));
    config.push_str(&model("m/text", &[("trains", "1", "2")]));
    config.push_str(
        "[presets.terse]\ndescription = \"Short answers\"\nmodels = [\"m/text\"]\n\
         system_prompt = \"Be terse.\"\nprovider = { sort = \"price\" }\n\
         parameters = { temperature = 0.2, max_tokens = 7 }\n",
    );
    config
}

fn upstream_bodies(mock: &MockUpstream, scenario: &str) -> Vec<Value> {
    mock.requests()
        .into_iter()
        .filter(|r| r.scenario == scenario)
        .filter_map(|r| r.json)
        .collect()
}

#[tokio::test]
async fn data_collection_deny_routes_to_providers_whose_policy_allows_it() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    for _ in 0..6 {
        let (status, _, body) = gateway
            .chat(
                &json!({"model": "m/both", "messages": [{"role": "user", "content": "hi"}],
                "provider": {"data_collection": "deny"}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(upstream_bodies(&mock, PRIVATE).len(), 6);
    assert!(upstream_bodies(&mock, TRAINS).is_empty());
    // "ZDR can be arranged" is not ZDR: no endpoint passes `zdr: true`.
    let (status, _, body) = gateway
        .chat(
            &json!({"model": "m/both", "messages": [{"role": "user", "content": "hi"}],
            "provider": {"zdr": true}}),
        )
        .await;
    assert_ne!(status, 200, "{body}");
    assert_eq!(mock.requests().len(), 6);

    let (status, providers) = gateway.get("/api/v1/providers").await;
    assert_eq!(status, 200, "{providers}");
    let data = providers["data"].as_array().unwrap();
    let private = data.iter().find(|p| p["slug"] == "private").unwrap();
    assert_eq!(private["privacy_policy_url"], "https://example.com/private");
    assert_eq!(private["data_policy"]["training"], false);
    assert_eq!(private["data_policy"]["zdr_available"], true);
    assert_eq!(private["data_collection"], "deny");
    assert_eq!(private["zdr"], false);
    let trains = data.iter().find(|p| p["slug"] == "trains").unwrap();
    assert_eq!(trains["data_policy"]["prompt_retention_days"], 30);
    assert_eq!(trains["data_collection"], "allow");
}

#[tokio::test]
async fn presets_are_listed_applied_under_the_request_and_unknown_ones_are_404() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let (status, presets) = gateway.get("/api/v1/presets").await;
    assert_eq!(status, 200, "{presets}");
    assert_eq!(presets["data"][0]["name"], "terse");
    assert_eq!(presets["data"][0]["slug"], "@preset/terse");
    assert_eq!(presets["data"][0]["description"], "Short answers");

    let (status, _, body) = gateway
        .chat(&json!({"model": "@preset/terse", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = gateway
        .chat(&json!({"model": "m/both", "preset": "terse", "temperature": 0.9,
            "messages": [{"role": "user", "content": "hi"}], "provider": {"data_collection": "deny"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let sent = upstream_bodies(&mock, TRAINS);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["model"], "up-trains");
    assert_eq!(
        sent[0]["messages"][0],
        json!({"role": "system", "content": "Be terse."})
    );
    assert_eq!(sent[0]["temperature"], 0.2);
    assert_eq!(sent[0]["max_tokens"], 7);
    let sent = upstream_bodies(&mock, PRIVATE);
    assert_eq!(sent.len(), 1, "the request's own model and preferences win");
    assert_eq!(sent[0]["temperature"], 0.9);
    assert!(sent[0].get("preset").is_none(), "{}", sent[0]);

    for body in [
        json!({"model": "@preset/nope", "messages": [{"role": "user", "content": "hi"}]}),
        json!({"model": "m/text", "preset": "nope", "messages": [{"role": "user", "content": "hi"}]}),
    ] {
        let (status, _, answer) = gateway.chat(&body).await;
        assert_eq!(status, 404, "{answer}");
        assert_eq!(answer["error"]["code"], "preset_not_found", "{answer}");
    }
}

#[tokio::test]
async fn presets_are_reloaded_when_the_configuration_file_changes() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let names = || async {
        let (status, presets) = gateway.get("/api/v1/presets").await;
        assert_eq!(status, 200, "{presets}");
        let names: Vec<String> = (presets["data"].as_array().unwrap().iter())
            .map(|preset| preset["name"].as_str().unwrap().to_owned())
            .collect();
        names
    };
    let wait_for = |wanted: &'static [&'static str]| async move {
        for _ in 0..100 {
            if names().await == wanted {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("presets never became {wanted:?}: {:?}", names().await);
    };
    assert_eq!(names().await, ["terse"]);
    let path = gateway.config_path();
    let original = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        original.replace("[presets.terse]", "[presets.brief]"),
    )
    .unwrap();
    wait_for(&["brief"]).await;
    let ask = |name: &str| json!({"model": format!("@preset/{name}"), "messages": [{"role": "user", "content": "hi"}]});
    let (status, _, answer) = gateway.chat(&ask("terse")).await;
    assert_eq!(status, 404, "{answer}");
    let (status, _, answer) = gateway.chat(&ask("brief")).await;
    assert_eq!(status, 200, "{answer}");

    // A file that does not load keeps the presets, and the log says why.
    std::fs::write(&path, format!("{original}\n[presets.broken]\n")).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(names().await, ["brief"]);
    assert!(
        gateway.log().contains("presets unchanged"),
        "{}",
        gateway.log()
    );
    std::fs::write(&path, &original).unwrap();
    wait_for(&["terse"]).await;
}

#[tokio::test]
async fn legacy_completions_and_api_v1_messages_go_through_the_chat_path() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let url = |path: &str| format!("{}{path}", gateway.url);

    let answer: Value = gateway
        .client
        .post(url("/v1/completions"))
        .json(&json!({"model": "m/text", "prompt": "Say hi", "max_tokens": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["object"], "text_completion", "{answer}");
    assert!(
        answer["choices"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday Name:**")
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert!(answer["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let sent = upstream_bodies(&mock, TRAINS);
    assert_eq!(
        sent[0]["messages"],
        json!([{"role": "user", "content": "Say hi"}])
    );
    assert!(sent[0].get("prompt").is_none());

    let streamed = gateway
        .client
        .post(url("/api/v1/completions"))
        .json(&json!({"model": "@preset/terse", "prompt": "Say hi", "stream": true}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Vec<&str> = streamed
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"), "{streamed}");
    let mut text = String::new();
    for event in &events[..events.len() - 1] {
        let chunk: Value = serde_json::from_str(event).unwrap();
        assert_eq!(chunk["object"], "text_completion", "{chunk}");
        if let Some(piece) = chunk["choices"][0]["text"].as_str() {
            text.push_str(piece);
        }
    }
    assert!(text.starts_with("**Holiday Name:**"), "{text}");
    assert_eq!(
        upstream_bodies(&mock, TRAINS)[1]["messages"][0]["content"],
        "Be terse."
    );

    let refused = gateway
        .client
        .post(url("/v1/completions"))
        .json(&json!({"model": "m/text", "prompt": ["a", "b"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    let message: Value = gateway
        .client
        .post(url("/api/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "m/text", "max_tokens": 50,
            "messages": [{"role": "user", "content": "Hello"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(message["type"], "message", "{message}");
    assert!(
        message["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday Name:**")
    );
}
