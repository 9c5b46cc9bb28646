//! End to end with the Codex CLI (`@openai/codex`) in its DEFAULT configuration (no flag turns a
//! feature off): `codex exec` with a custom model provider pointing at Switchyard
//! (`wire_api = "responses"`) completes a turn through `/v1/responses`, once against a Responses
//! API upstream and once against a chat completions upstream. Codex offers the model a
//! `namespace` tool (`multi_agent_v1`) and the built-in `web_search` tool: the namespace's
//! functions reach both upstreams flattened into function tools; the web search tool reaches
//! the Responses upstream (it searches, at a known price) and is left out for the chat one, the
//! answer naming it in `X-Switchyard-Omitted-Tools`.
//!
//! Needs `SWITCHYARD_TEST_CODEX`, the path of the `codex` executable (`.ci/run` installs it
//! under `target/npm-codex`); without it the test prints `SKIPPED`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const CODEX_ENV: &str = "SWITCHYARD_TEST_CODEX";
const CHAT_TEXT: &str = "fixture=openai/openai-text";
const RESPONSES_TEXT: &str = "fixture=synthetic/openai-responses-text";

/// Runs `codex exec "Say hello."` against `gateway` with model `model` and Codex's default
/// configuration; its stdout, once it succeeded (`None`: Codex is not installed).
async fn codex_exec(gateway: &Gateway, model: &str) -> Option<String> {
    let Some(codex) = std::env::var(CODEX_ENV).ok().filter(|p| !p.is_empty()) else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: set {CODEX_ENV} to the codex executable"
        );
        return None;
    };
    let home = tempfile::tempdir().unwrap();
    let workdir = tempfile::tempdir().unwrap();
    let provider = format!(
        "model_providers.switchyard={{name=\"Switchyard\", base_url=\"{}/v1\", wire_api=\"responses\", env_key=\"SWITCHYARD_CODEX_KEY\"}}",
        gateway.url
    );
    let run = tokio::process::Command::new(&codex)
        .args(["exec", "--skip-git-repo-check", "--color", "never"])
        .args(["-c", "model_provider=\"switchyard\""])
        .args(["-c", &provider])
        .args(["-c", &format!("model=\"{model}\"")])
        .arg("Say hello.")
        .current_dir(workdir.path())
        .env("CODEX_HOME", home.path())
        .env("HOME", home.path())
        .env("SWITCHYARD_CODEX_KEY", "sk-test")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("codex exec finished")
        .expect("codex exec ran");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "codex exec failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- gateway\n{}",
        gateway.log()
    );
    Some(stdout)
}

/// The names of the tools an upstream request offered (chat or Responses shape).
fn tool_names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tool| {
            let name = tool["function"]["name"].as_str().or(tool["name"].as_str());
            name.unwrap_or(tool["type"].as_str().unwrap_or_default())
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn codex_with_its_defaults_through_a_responses_upstream_searches_there() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("resp", "openai-responses", &mock, RESPONSES_TEXT, ""),
        "[[models]]\nid = \"m/resp\"\nendpoints = [{ provider = \"resp\", upstream_model = \"up\", \
         prompt_price = \"1\", completion_price = \"2\", web_search_price = \"0.01\" }]\n"
            .to_owned(),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let Some(stdout) = codex_exec(&gateway, "m/resp").await else {
        return;
    };
    assert!(stdout.contains("Final result: 570"), "--- stdout\n{stdout}");
    let upstream = mock
        .requests_for(RESPONSES_TEXT)
        .pop()
        .unwrap()
        .json
        .unwrap();
    let names = tool_names(&upstream);
    assert!(names.contains(&"web_search".to_owned()), "{names:?}");
    assert!(
        names.contains(&"multi_agent_v1__spawn_agent".to_owned()),
        "{names:?}"
    );
    assert_eq!(upstream["stream"], true);
}

#[tokio::test]
async fn codex_with_its_defaults_through_a_chat_upstream_leaves_web_search_out() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("text", "openai", &mock, CHAT_TEXT, ""),
        model("m/text", &[("text", "1", "2")]),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let Some(stdout) = codex_exec(&gateway, "m/text").await else {
        return;
    };
    // The mock's recorded answer is the turn's last message.
    assert!(stdout.contains("Holiday Name"), "--- stdout\n{stdout}");
    let upstream = mock.requests_for(CHAT_TEXT).pop().unwrap().json.unwrap();
    let names = tool_names(&upstream);
    assert!(!names.contains(&"web_search".to_owned()), "{names:?}");
    assert!(upstream.get("web_search_options").is_none(), "{upstream}");
    assert!(
        names.contains(&"multi_agent_v1__spawn_agent".to_owned()),
        "{names:?}"
    );
    // The answer says which offered tool the model did not see.
    let response = gateway
        .client
        .post(format!("{}/v1/responses", gateway.url))
        .json(&json!({"model": "m/text", "input": "Hi", "tools": [
            {"type": "web_search", "external_web_access": false},
            {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "f"}]},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-switchyard-omitted-tools"],
        "web_search"
    );
}
