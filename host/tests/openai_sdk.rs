//! End to end with OpenAI's official clients against the real binary and the mock upstream:
//! the `openai` Python SDK in strict response validation mode (Responses API plain, streamed,
//! with a function tool and its output, with a JSON schema; embeddings; chat answers carrying
//! non-standard enum values or Anthropic's citations), and an `openai-agents` one-tool agent on `/v1/responses`.
//!
//! Needs `SWITCHYARD_TEST_PYTHON`: a Python with `openai` and `openai-agents` installed (`.ci/run`
//! makes a virtual environment under `target/py-venv`); without it the tests print `SKIPPED`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// An Anthropic answer calling the tool that carries a `response_format` schema.
const CLAUDE_JSON: &str = "fixture=synthetic/anthropic-json-answer";
/// The same on Bedrock's Converse API.
const BEDROCK_JSON: &str = "fixture=synthetic/bedrock-json-answer";

/// The variable naming the Python that has the official SDKs.
const PYTHON_ENV: &str = "SWITCHYARD_TEST_PYTHON";

fn python(test: &str) -> Option<String> {
    let python = std::env::var(PYTHON_ENV).ok().filter(|p| !p.is_empty());
    if python.is_none() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: set {PYTHON_ENV} to a Python with `openai` and `openai-agents`"
        );
    }
    python
}

/// One provider per behaviour, each with one model (see `python/openai_sdk_checks.py`).
fn config(mock: &MockUpstream) -> String {
    let providers = [
        ("text", "fixture=openai/openai-text"),
        (
            "tools",
            "fixture=groq/groq-tool-call,after_tool=openai/openai-text",
        ),
        ("json", "fixture=deepseek/deepseek-json"),
        ("groq", "fixture=groq/groq-text"),
        ("groqstream", "fixture=groq/groq-tool-call"),
        ("embed", ""),
    ];
    let mut config = String::new();
    for (name, scenario) in providers {
        config.push_str(&provider(name, "openai", mock, scenario, ""));
    }
    let cite = "fixture=synthetic/anthropic-citations";
    config.push_str(&provider("cite", "anthropic", mock, cite, ""));
    config.push_str(&provider("claudejson", "anthropic", mock, CLAUDE_JSON, ""));
    config.push_str(&provider(
        "bedrockjson",
        "bedrock",
        mock,
        BEDROCK_JSON,
        BEDROCK_EXTRA,
    ));
    for (id, name) in [
        ("m/text", "text"),
        ("m/tools", "tools"),
        ("m/json", "json"),
        ("m/groq", "groq"),
        ("m/groq-stream", "groqstream"),
        ("m/cite", "cite"),
        ("m/claude-json", "claudejson"),
        ("m/bedrock-json", "bedrockjson"),
    ] {
        config.push_str(&model(id, &[(name, "1", "2")]));
    }
    let code = "fixture=synthetic/openai-responses-code-interpreter";
    let opted = "builtin_tools = [\"code_interpreter\"]";
    config.push_str(&provider("code", "openai-responses", mock, code, opted));
    config.push_str(
        "[[models]]\nid = \"m/code\"\nendpoints = [{ provider = \"code\", upstream_model = \"up-code\", \
         prompt_price = \"1\", completion_price = \"2\", builtin_tool_prices = { code_interpreter = \"0.03\" } }]\n",
    );
    config.push_str(
        "[[models]]\nid = \"m/embed\"\noutput_modalities = [\"embeddings\"]\n\
         endpoints = [{ provider = \"embed\", upstream_model = \"up-embed\", prompt_price = \"0.02\" }]\n",
    );
    config
}

/// Runs a check script; the mock upstream serves from this test's runtime meanwhile.
async fn run_python(python: &str, script: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let output = tokio::process::Command::new(python)
        .arg(&script)
        .args(args)
        .env("OPENAI_AGENTS_DISABLE_TRACING", "1")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script:?} {args:?} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    println!("{stdout}");
}

#[tokio::test]
async fn the_official_python_sdk_validates_every_answer_strictly() {
    let Some(python) = python("the_official_python_sdk_validates_every_answer_strictly") else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let base_url = format!("{}/v1", gateway.url);
    run_python(
        &python,
        "openai_sdk_checks.py",
        &[
            &base_url,
            "responses_plain",
            "responses_streamed",
            "responses_function_tool",
            "responses_json_schema",
            "responses_stateful_refused",
            "embeddings",
            "chat_non_standard_enums",
            "chat_citations",
            "responses_code_interpreter",
        ],
    )
    .await;

    // What reached the upstreams: the Responses requests as chat requests.
    let requests = mock.requests();
    let json_request = requests
        .iter()
        .find(|r| r.scenario == "fixture=deepseek/deepseek-json")
        .and_then(|r| r.json.clone())
        .expect("the JSON schema request");
    assert_eq!(
        json_request["response_format"]["type"], "json_schema",
        "{json_request}"
    );
    assert_eq!(
        json_request["response_format"]["json_schema"]["name"],
        "Weather"
    );
    let tool_turn = requests
        .iter()
        .filter_map(|r| r.json.clone())
        .find(|body| body["messages"].as_array().is_some_and(|m| m.len() == 3))
        .expect("the turn after the tool call");
    assert_eq!(
        tool_turn["messages"][1]["tool_calls"][0]["function"]["name"],
        "weather"
    );
    assert_eq!(
        tool_turn["messages"][2],
        json!({"role": "tool", "tool_call_id": "ax9fskhev", "content": "sunny"})
    );
    let embedding = requests
        .iter()
        .filter(|r| r.path.ends_with("/embeddings"))
        .filter_map(|r| r.json.clone())
        .collect::<Vec<Value>>();
    assert!(
        embedding
            .iter()
            .all(|body| body["model"] == "up-embed" && body.get("encoding_format").is_none())
    );
}

#[tokio::test]
async fn an_openai_agents_one_tool_agent_runs_on_the_responses_endpoint() {
    let Some(python) = python("an_openai_agents_one_tool_agent_runs_on_the_responses_endpoint")
    else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    run_python(
        &python,
        "agents_check.py",
        &[&format!("{}/v1", gateway.url)],
    )
    .await;
    let turns = mock
        .requests()
        .iter()
        .filter(|r| r.scenario.starts_with("fixture=groq/groq-tool-call,"))
        .count();
    assert!(turns >= 2, "the agent called the model {turns} times");
}

#[tokio::test]
async fn a_json_schema_answered_by_claude_or_bedrock_parses_strictly() {
    let Some(python) = python("a_json_schema_answered_by_claude_or_bedrock_parses_strictly") else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let base_url = format!("{}/v1", gateway.url);
    run_python(
        &python,
        "openai_sdk_checks.py",
        &[
            &base_url,
            "chat_json_schema_on_claude",
            "chat_json_schema_on_bedrock",
        ],
    )
    .await;
    // Each upstream got the schema as the one tool it must call (the `json_schema` request,
    // then the `json_object` one).
    let bodies = |scenario: &str| -> Vec<Value> {
        mock.requests_for(scenario)
            .into_iter()
            .filter_map(|r| r.json)
            .collect()
    };
    let claude = bodies(CLAUDE_JSON);
    assert_eq!(claude.len(), 2);
    assert_eq!(claude[0]["tools"][0]["name"], "json_answer");
    assert_eq!(
        claude[0]["tool_choice"],
        json!({"type": "tool", "name": "json_answer"})
    );
    let schema = &claude[0]["tools"][0]["input_schema"];
    assert_eq!(
        schema["properties"]["temperature_c"]["type"], "integer",
        "{schema}"
    );
    assert_eq!(schema["required"], json!(["city", "temperature_c"]));
    assert_eq!(
        claude[1]["tools"][0]["input_schema"],
        json!({"type": "object"})
    );
    let bedrock = bodies(BEDROCK_JSON);
    assert_eq!(bedrock.len(), 2);
    let spec = &bedrock[0]["toolConfig"]["tools"][0]["toolSpec"];
    assert_eq!(spec["name"], "json_answer");
    assert_eq!(spec["inputSchema"]["json"], *schema);
    assert_eq!(
        bedrock[0]["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "json_answer"}})
    );
    assert_eq!(
        bedrock[1]["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"],
        json!({"type": "object"})
    );
}
