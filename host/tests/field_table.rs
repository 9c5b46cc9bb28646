//! The request field table: every field of the official request types, as the SDKs' own
//! schemas list them (the `openai` package's chat and Responses create params, the `anthropic`
//! package's Messages create params), is served or mapped, or refused with a 400 that names it:
//! none is silently dropped. Chat fields are walked for each adapter family (`openai` passes
//! fields through, `anthropic` and `gemini` translate); the Responses and Messages fields at
//! their ingress (they become chat fields). A field the SDK adds and the table does not list
//! fails the test. README.md "Request fields" shows the same table.
//!
//! Needs `SWITCHYARD_TEST_PYTHON` (a Python with `openai` and `anthropic`); without it the test
//! prints `SKIPPED`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const PYTHON_ENV: &str = "SWITCHYARD_TEST_PYTHON";

/// Served (or mapped, or served by the gateway) / refused by name.
const S: bool = true;
const R: bool = false;

/// Chat fields: (field, sample value, openai, anthropic, gemini).
const CHAT: &[(&str, &str, bool, bool, bool)] = &[
    ("audio", r#"{"voice": "alloy", "format": "wav"}"#, S, R, R),
    ("frequency_penalty", "0.1", S, R, S),
    ("function_call", r#""auto""#, S, R, R),
    (
        "functions",
        r#"[{"name": "f", "parameters": {"type": "object"}}]"#,
        S,
        R,
        R,
    ),
    ("logit_bias", r#"{"50256": -100}"#, S, R, R),
    ("logprobs", "true", S, R, R),
    ("max_completion_tokens", "64", S, S, S),
    ("max_tokens", "64", S, S, S),
    ("metadata", r#"{"k": "v"}"#, S, S, S),
    ("modalities", r#"["text"]"#, S, R, R),
    ("moderation", r#"{}"#, S, R, R),
    ("n", "2", S, R, R),
    ("parallel_tool_calls", "false", S, S, R),
    (
        "prediction",
        r#"{"type": "content", "content": "x"}"#,
        S,
        R,
        R,
    ),
    ("presence_penalty", "0.1", S, R, S),
    ("prompt_cache_key", r#""k""#, S, S, S),
    ("prompt_cache_options", r#"{}"#, S, R, R),
    ("prompt_cache_retention", r#""24h""#, S, R, R),
    ("reasoning_effort", r#""low""#, S, S, S),
    ("response_format", r#"{"type": "json_object"}"#, S, S, S),
    ("safety_identifier", r#""s""#, S, S, S),
    ("seed", "1", S, R, S),
    ("service_tier", r#""auto""#, S, S, S),
    ("stop", r#"["END"]"#, S, S, S),
    ("store", "false", S, S, S),
    ("stream_options", r#"{"include_usage": true}"#, S, S, S),
    ("temperature", "0.5", S, S, S),
    ("tool_choice", r#""auto""#, S, S, S),
    ("tools", TOOLS, S, S, S),
    ("top_logprobs", "2", S, R, R),
    ("top_p", "0.9", S, S, S),
    ("user", r#""u""#, S, S, S),
    ("verbosity", r#""low""#, S, R, R),
    // Served where the upstream searches at a known price (the openai adapter does not).
    ("web_search_options", r#"{}"#, R, S, S),
];

const TOOLS: &str = r#"[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]"#;

/// Responses fields: (field, sample value, accepted).
const RESPONSES: &[(&str, &str, bool)] = &[
    ("access_programs", "{}", R),
    ("background", "false", S),
    ("background_options", "{}", R),
    ("context_management", "[]", R),
    ("conversation", r#""conv_1""#, R),
    ("image", "{}", R),
    ("include", r#"["reasoning.encrypted_content"]"#, S),
    ("input", r#""Hi""#, S),
    ("instructions", r#""Be brief.""#, S),
    ("max_output_tokens", "64", S),
    ("max_tool_calls", "3", S),
    ("metadata", r#"{"k": "v"}"#, S),
    ("model", r#""m/openai""#, S),
    ("moderation", "{}", R),
    ("parallel_tool_calls", "true", S),
    ("previous_response_id", r#""resp_1""#, R),
    ("prompt", r#"{"id": "p"}"#, R),
    ("prompt_cache_key", r#""k""#, S),
    ("prompt_cache_options", "{}", R),
    ("prompt_cache_retention", r#""24h""#, R),
    ("reasoning", r#"{"effort": "low"}"#, S),
    ("safety_identifier", r#""s""#, S),
    ("service_tier", r#""auto""#, S),
    ("store", "false", S),
    ("stream_options", r#"{"include_obfuscation": false}"#, S),
    ("temperature", "0.5", S),
    ("text", r#"{"format": {"type": "text"}}"#, S),
    ("tool_choice", r#""auto""#, S),
    (
        "tools",
        r#"[{"type": "function", "name": "f", "parameters": {"type": "object"}}]"#,
        S,
    ),
    ("top_logprobs", "2", S),
    ("top_p", "0.9", S),
    ("truncation", r#""disabled""#, S),
    ("user", r#""u""#, S),
];

/// Messages fields: (field, sample value, accepted).
const MESSAGES: &[(&str, &str, bool)] = &[
    ("cache_control", r#"{"type": "ephemeral"}"#, R),
    ("container", r#""c""#, R),
    ("diagnostics", "{}", R),
    ("inference_geo", r#""us""#, R),
    ("max_tokens", "64", S),
    ("messages", r#"[{"role": "user", "content": "Hi"}]"#, S),
    ("metadata", r#"{"user_id": "u"}"#, S),
    ("model", r#""m/anthropic""#, S),
    ("output_config", r#"{"effort": "low"}"#, S),
    ("service_tier", r#""auto""#, S),
    ("speed", r#""fast""#, R),
    ("stop_sequences", r#"["END"]"#, S),
    ("system", r#""Be brief.""#, S),
    ("thinking", r#"{"type": "adaptive"}"#, S),
    ("tool_choice", r#"{"type": "auto"}"#, S),
    (
        "tools",
        r#"[{"name": "f", "input_schema": {"type": "object"}}]"#,
        S,
    ),
    ("user_profile_id", r#""p""#, R),
    ("workspace_id", r#""w""#, R),
];

/// The field lists of the SDKs' create params: `{"chat": [...], "responses": [...],
/// "messages": [...]}`.
fn sdk_fields(python: &str) -> Value {
    let script = "import json\n\
        from openai.types.chat import completion_create_params as c\n\
        from openai.types.responses import response_create_params as r\n\
        from anthropic.types import message_create_params as m\n\
        keys = lambda t: sorted(t.__required_keys__ | t.__optional_keys__)\n\
        print(json.dumps({'chat': keys(c.CompletionCreateParamsBase),\n\
            'responses': keys(r.ResponseCreateParamsBase),\n\
            'messages': keys(m.MessageCreateParamsBase)}))\n";
    let output = std::process::Command::new(python)
        .args(["-c", script])
        .output()
        .expect("python ran");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("field lists")
}

/// The SDK's fields `kind` that the table does not list, and the table's that the SDK lacks.
fn unlisted(fields: &Value, kind: &str, listed: &[&str], skipped: &[&str]) {
    let sdk: Vec<&str> = fields[kind]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|field| !skipped.contains(field))
        .collect();
    let missing: Vec<&&str> = sdk.iter().filter(|f| !listed.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "{kind} fields the table does not list: {missing:?}"
    );
    let stale: Vec<&&str> = listed.iter().filter(|f| !sdk.contains(f)).collect();
    assert!(
        stale.is_empty(),
        "{kind} fields the SDK no longer has: {stale:?}"
    );
}

async fn post(gateway: &Gateway, path: &str, body: &Value) -> (u16, String) {
    let response = gateway
        .client
        .post(format!("{}{path}", gateway.url))
        .header("x-api-key", "sk-anything")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Checks one answer against the table: served is a 200, refused a 400 naming `field` (or, for
/// web search, saying that no endpoint searches).
fn check(label: &str, field: &str, served: bool, status: u16, body: &str) {
    if served {
        assert_eq!(status, 200, "{label} `{field}` should be served: {body}");
    } else {
        assert_eq!(status, 400, "{label} `{field}` should be refused: {body}");
        let named =
            body.contains(field) || (field == "web_search_options" && body.contains("web search"));
        assert!(
            named,
            "{label} `{field}`: the refusal does not name it: {body}"
        );
    }
}

#[tokio::test]
async fn every_sdk_field_is_served_or_refused_by_name_for_each_adapter() {
    let Some(python) = std::env::var(PYTHON_ENV).ok().filter(|p| !p.is_empty()) else {
        eprintln!("SKIPPED: set {PYTHON_ENV} to a Python with openai and anthropic");
        return;
    };
    let fields = sdk_fields(&python);
    let chat_fields: Vec<&str> = CHAT.iter().map(|row| row.0).collect();
    unlisted(&fields, "chat", &chat_fields, &["messages", "model"]);
    let responses_fields: Vec<&str> = RESPONSES.iter().map(|row| row.0).collect();
    unlisted(&fields, "responses", &responses_fields, &[]);
    let messages_fields: Vec<&str> = MESSAGES.iter().map(|row| row.0).collect();
    unlisted(&fields, "messages", &messages_fields, &[]);

    let mock = MockUpstream::start().await.unwrap();
    let priced = ", web_search_price = \"0.01\"";
    let mut config = String::new();
    for (name, plugin, fixture) in [
        ("openai", "openai", "fixture=openai/openai-text"),
        ("anthropic", "anthropic", "fixture=anthropic/anthropic-text"),
        ("gemini", "gemini", "fixture=google/google-text"),
    ] {
        config.push_str(&provider(name, plugin, &mock, fixture, ""));
        config.push_str(&format!(
            "[[models]]\nid = \"m/{name}\"\nendpoints = [{{ provider = \"{name}\", \
             upstream_model = \"up-{name}\", prompt_price = \"1\", completion_price = \"2\"{priced} }}]\n"
        ));
    }
    let gateway = Gateway::start(&config).await;
    for (field, sample, openai, anthropic, gemini) in CHAT {
        let sample: Value = serde_json::from_str(sample).unwrap();
        for (adapter, served) in [
            ("openai", openai),
            ("anthropic", anthropic),
            ("gemini", gemini),
        ] {
            let mut body = json!({"model": format!("m/{adapter}"),
                "messages": [{"role": "user", "content": "Hi"}]});
            body[*field] = sample.clone();
            if matches!(*field, "tool_choice" | "parallel_tool_calls") {
                body["tools"] = serde_json::from_str(TOOLS).unwrap();
            }
            if *field == "top_logprobs" && adapter == "openai" {
                body["logprobs"] = json!(true);
            }
            if *field == "stream_options" {
                body["stream"] = json!(true);
            }
            let (status, answer) = post(&gateway, "/v1/chat/completions", &body).await;
            check(
                &format!("chat via {adapter}"),
                field,
                *served,
                status,
                &answer,
            );
        }
    }
    for (field, sample, accepted) in RESPONSES {
        let mut body = json!({"model": "m/openai", "input": "Hi"});
        body[*field] = serde_json::from_str(sample).unwrap();
        let (status, answer) = post(&gateway, "/v1/responses", &body).await;
        check("responses", field, *accepted, status, &answer);
    }
    for (field, sample, accepted) in MESSAGES {
        let mut body = json!({"model": "m/anthropic", "max_tokens": 64,
            "messages": [{"role": "user", "content": "Hi"}]});
        body[*field] = serde_json::from_str(sample).unwrap();
        let (status, answer) = post(&gateway, "/v1/messages", &body).await;
        check("messages", field, *accepted, status, &answer);
    }
}
