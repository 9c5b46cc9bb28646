//! End to end: Claude Code itself (`claude -p`, print mode) through Switchyard, against an
//! Anthropic-native and an OpenAI-compatible mock upstream, and a turn where it runs a tool.
//! Needs `SWITCHYARD_TEST_CLAUDE`, the path of a `claude` executable (`.ci/run` installs
//! `@anthropic-ai/claude-code` and sets it); without it the tests print SKIPPED and pass.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::ffi::OsString;
use std::time::Duration;

use common::*;
use serde_json::Value;
use switchyard_tests::MockUpstream;

const NATIVE: &str = "fixture=anthropic/anthropic-text";
const OPENAI: &str = "fixture=openai/openai-text";
const BASH: &str = "fixture=synthetic/anthropic-bash-tool";

fn claude() -> Option<OsString> {
    let claude = std::env::var_os("SWITCHYARD_TEST_CLAUDE");
    if claude.is_none() {
        eprintln!("SKIPPED: SWITCHYARD_TEST_CLAUDE is not set (.ci/run installs Claude Code)");
    }
    claude
}

async fn gateway(mock: &MockUpstream) -> Gateway {
    let config = [
        provider("native", "anthropic", mock, NATIVE, ""),
        provider("compatible", "openai", mock, OPENAI, ""),
        provider("bash", "anthropic", mock, BASH, ""),
        model("anthropic/claude-sonnet-4.5", &[("native", "3", "15")]),
        model("openai/gpt-4.1-nano", &[("compatible", "0.10", "0.40")]),
        model("test/claude-bash", &[("bash", "3", "15")]),
    ]
    .concat();
    // Claude Code's requests carry its whole system prompt and tool list.
    Gateway::start_with_body_limit(&config, 4 << 20).await
}

/// Runs `claude -p <prompt> --model <model> <extra>` against the gateway in a fresh home
/// folder; returns (exit success, stdout, stderr).
async fn run(
    claude: &OsString,
    gateway: &Gateway,
    model: &str,
    prompt: &str,
    extra: &[&str],
) -> (bool, String, String) {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(claude)
        .args(["-p", prompt, "--model", model])
        .args(extra)
        .current_dir(work.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("ANTHROPIC_BASE_URL", &gateway.url)
        .env("ANTHROPIC_API_KEY", "sk-switchyard-test")
        .env("ANTHROPIC_SMALL_FAST_MODEL", model)
        .env("ANTHROPIC_DEFAULT_HAIKU_MODEL", model)
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("claude did not finish within 3 minutes")
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn claude_code_answers_through_both_kinds_of_upstream() {
    let Some(claude) = claude() else { return };
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock).await;
    for (model, scenario, expected) in [
        (
            "anthropic/claude-sonnet-4.5",
            NATIVE,
            "How are you doing today?",
        ),
        ("openai/gpt-4.1-nano", OPENAI, "Holiday"),
    ] {
        let (ok, stdout, stderr) = run(&claude, &gateway, model, "Hello!", &[]).await;
        assert!(
            ok && stdout.contains(expected),
            "{model}: {stdout}\n{stderr}\n{}",
            gateway.log()
        );
        // Its main request was a streamed Messages request with tools and beta headers.
        let upstream = mock.requests_for(scenario);
        assert!(
            !upstream.is_empty(),
            "{model}: nothing reached the upstream"
        );
        // Its betas reach the Anthropic upstream, never the OpenAI-compatible one.
        let betas: Vec<&str> = upstream
            .iter()
            .filter_map(|request| request.header("anthropic-beta"))
            .collect();
        if scenario == NATIVE {
            assert!(
                betas.iter().any(|b| b.contains("claude-code-")),
                "{betas:?}"
            );
        } else {
            assert!(betas.is_empty(), "{betas:?}");
        }
    }
    let log = gateway.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn claude_code_runs_a_tool_and_sends_its_result_back() {
    let Some(claude) = claude() else { return };
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock).await;
    // The upstream answers every turn with the same Bash tool use: the second turn carries the
    // tool's result, then the turn limit stops Claude Code.
    let (_, stdout, stderr) = run(
        &claude,
        &gateway,
        "test/claude-bash",
        "Print the marker with Bash.",
        &["--max-turns", "2", "--allowedTools", "Bash"],
    )
    .await;
    let results: Vec<Value> = mock
        .requests_for(BASH)
        .into_iter()
        .filter_map(|request| request.json)
        .flat_map(|body| body["messages"].as_array().cloned().unwrap_or_default())
        .flat_map(|message| message["content"].as_array().cloned().unwrap_or_default())
        .filter(|block| block["type"] == "tool_result")
        .collect();
    let ran = results.iter().any(|result| {
        result["tool_use_id"] == "toolu_01SwitchyardBashMarker"
            && result.to_string().contains("switchyard-tool-ok")
    });
    assert!(
        ran,
        "no tool result came back: {results:?}\n{stdout}\n{stderr}\n{}",
        gateway.log()
    );
}
