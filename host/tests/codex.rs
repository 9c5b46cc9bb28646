//! End to end with the Codex CLI (`@openai/codex`): `codex exec` with a custom model provider
//! pointing at Switchyard (`wire_api = "responses"`) completes a turn through `/v1/responses`
//! against the mock upstream.
//!
//! Needs `SWITCHYARD_TEST_CODEX`, the path of the `codex` executable (`.ci/run` installs it
//! under `target/npm-codex`); without it the test prints `SKIPPED`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use switchyard_tests::MockUpstream;

const CODEX_ENV: &str = "SWITCHYARD_TEST_CODEX";

#[tokio::test]
async fn codex_exec_completes_a_turn_through_the_responses_endpoint() {
    let Some(codex) = std::env::var(CODEX_ENV).ok().filter(|p| !p.is_empty()) else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED codex_exec_completes_a_turn_through_the_responses_endpoint: set {CODEX_ENV} to the codex executable"
        );
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider("text", "openai", &mock, "fixture=openai/openai-text", ""),
        model("m/text", &[("text", "1", "2")])
    );
    let gateway = Gateway::start(&config).await;
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
        .args(["-c", "model=\"m/text\""])
        // Built-in tools are not served: no web search, no multi-agent namespace tools.
        .args(["-c", "web_search=\"disabled\"", "--disable", "multi_agent"])
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
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "codex exec failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- gateway\n{}",
        gateway.log()
    );
    // The mock's recorded answer is the turn's last message.
    assert!(
        stdout.contains("Holiday Name"),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let requests = mock.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.json.as_ref().is_some_and(|b| b["stream"] == true)),
        "codex streamed through the gateway"
    );
}
