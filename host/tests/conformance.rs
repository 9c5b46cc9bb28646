//! End to end: `switchyard plugin test` replays the shared recordings through every first-party
//! adapter in the gateway's sandbox and all pass; a broken adapter fails, with its failing cases
//! in the table and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixtures(folder: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(folder)
        .display()
        .to_string()
}

fn plugin_test(component: &str, folders: &[&str], options: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command.args(["plugin", "test", component]);
    for folder in folders {
        command.arg("--fixtures").arg(fixtures(folder));
    }
    for option in options {
        command.args(["--option", option]);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_first_party_adapter_passes_the_conformance_kit_on_the_shared_recordings() {
    // The Chat Completions recordings of `openai/` are `openai-text` only (the rest are
    // Responses API recordings); groq and deepseek are OpenAI-compatible Chat Completions.
    let cases: [(&str, &[&str], &[&str]); 7] = [
        ("openai", &["groq", "deepseek"], &[]),
        ("azure-openai", &["groq", "deepseek"], &[]),
        ("mistral", &["mistral"], &[]),
        ("anthropic", &["anthropic"], &[]),
        ("cohere", &["cohere"], &[]),
        ("gemini", &["google"], &[]),
        ("bedrock", &["bedrock"], &["region=us-east-1"]),
    ];
    for (adapter, folders, options) in cases {
        let output = plugin_test(&format!("builtin:{adapter}"), folders, options);
        let table = stdout(&output);
        assert!(
            output.status.success(),
            "{adapter}:\n{table}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(table.contains(" 0 failed\n"), "{adapter}:\n{table}");
        assert!(table.contains("(stream)\n  canonical chunks"), "{table}");
    }
}

#[test]
fn a_broken_adapter_fails_the_kit_naming_the_failing_cases() {
    let output = plugin_test(
        switchyard_tests::hostile::BROKEN_OPENAI,
        &["groq", "deepseek"],
        &[],
    );
    let table = stdout(&output);
    assert!(!output.status.success(), "{table}");
    assert!(table.contains("FAIL"), "{table}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("does not pass the conformance kit"),
        "{output:?}"
    );
}

#[test]
fn recordings_that_break_the_contract_are_reported_per_check() {
    // The Responses API recordings of `openai/` are not Chat Completions answers: the OpenAI
    // adapter refuses them, and the kit reports those fixtures, not the others.
    let output = plugin_test("builtin:openai", &["openai"], &[]);
    let table = stdout(&output);
    assert!(!output.status.success(), "{table}");
    let failing: Vec<&str> = table.lines().filter(|line| line.contains("FAIL")).collect();
    assert!(!failing.is_empty(), "{table}");
    assert!(
        table.contains("openai-text (stream)\n  canonical chunks       ok"),
        "{table}"
    );
}

#[test]
fn a_custom_wire_format_is_checked_against_recorded_exchanges_and_their_expectations() {
    // Ledger's recordings: its own answer and error shapes (`{"fault": ...}`), with the HTTP
    // status and headers, each whole and as the answer to a streamed request.
    let ledger_fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/plugins/ledger/fixtures")
        .display()
        .to_string();
    let run = |component: &str| {
        Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(["plugin", "test", component, "--fixtures", &ledger_fixtures])
            .output()
            .unwrap()
    };
    let output = run(switchyard_tests::hostile::LEDGER);
    let table = stdout(&output);
    assert!(output.status.success(), "{table}");
    assert!(
        table.contains("7 fixtures, 7 passed, 0 failed\n"),
        "{table}"
    );
    assert!(table.contains("quota-streamed (streamed)\n"), "{table}");
    assert!(table.contains("  expected retry-after   ok\n"), "{table}");
    assert!(table.contains("  expected error         ok\n"), "{table}");

    // An adapter that reads them as OpenAI answers fails where the expectations say otherwise:
    // Ledger's 500 says `overloaded`, its 200 is no chat completion.
    let output = run("builtin:openai");
    let table = stdout(&output);
    assert!(!output.status.success(), "{table}");
    assert!(
        table.contains("expected error overloaded, got upstream-unavailable"),
        "{table}"
    );
    assert!(table.contains("  parse-response         FAIL"), "{table}");
}
