//! End to end: a provider with a replay gate refuses a new adapter version that fails the
//! conformance kit on the gate's recordings, whether uploaded through the admin API (as a
//! replacement or a canary) or dropped into the watched plugins folder; the failing cases are in
//! the admin API's answer and the log, and the running version keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use switchyard_plugin_runtime::builtin::BUILTIN_PLUGINS;
use switchyard_tests::MockUpstream;
use tokio::io::{AsyncBufReadExt, BufReader};

const ADMIN: &str = "gate-admin-7";

async fn upload(gateway: &Gateway, query: &str, component: Vec<u8>) -> (u16, Value) {
    let response = gateway
        .client
        .post(format!("{}/admin/plugins{query}", gateway.url))
        .bearer_auth(ADMIN)
        .body(component)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn admin_get(gateway: &Gateway, path: &str) -> Value {
    let response = gateway
        .client
        .get(format!("{}/admin{path}", gateway.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

async fn openai_versions(gateway: &Gateway) -> Value {
    admin_get(gateway, "/plugins").await["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|plugin| plugin["name"] == "openai")
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_gated_provider_refuses_an_adapter_version_that_fails_its_recordings() {
    let mock = MockUpstream::start().await.unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/groq");
    let gate = format!("replay_gate = {:?}", fixtures.display().to_string());
    let config = format!(
        "[plugins.overrides.openai]\nreplace_builtin = true\n\n{}{}",
        provider("oa", "openai", &mock, "fixture=openai/openai-text", &gate),
        model("m/oa", &[("oa", "1", "1")]),
    );
    let gateway = Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await;
    let broken = std::fs::read(switchyard_tests::hostile::BROKEN_OPENAI).unwrap();

    for query in ["", "?canary=0.2"] {
        let (status, answer) = upload(&gateway, query, broken.clone()).await;
        assert_eq!(status, 422, "{query}: {answer}");
        assert_eq!(answer["error"]["code"], "plugin_rejected");
        let gate = &answer["error"]["metadata"]["replay_gate"];
        assert_eq!(gate["provider"], "oa");
        let failures: Vec<&str> = gate["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with("groq-text: parse-response: internal: broken-openai")),
            "{failures:?}"
        );
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with("groq-tool-call (stream): stream terminated")),
            "{failures:?}"
        );
        // The gate has it build the client request each recording answers, too.
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with("groq-text (request): build-request: internal")),
            "{failures:?}"
        );
    }
    let versions = openai_versions(&gateway).await;
    assert_eq!(versions["current"]["version"], "0.1.0", "{versions}");
    assert!(versions["canary"].is_null(), "{versions}");
    assert!(
        gateway
            .log()
            .contains("replay gate refused a new adapter version")
    );
    let events = admin_get(&gateway, "/events").await;
    assert!(events.to_string().contains("refused"), "{events}");

    // The same refusal for a version dropped into the watched plugins folder.
    std::fs::copy(
        switchyard_tests::hostile::BROKEN_OPENAI,
        gateway.plugins_dir().join("openai-9.9.9.wasm"),
    )
    .unwrap();
    let refusals = |log: &str| {
        log.matches("replay gate refused a new adapter version")
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while refusals(&gateway.log()) < 3 {
        assert!(tokio::time::Instant::now() < deadline, "{}", gateway.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        openai_versions(&gateway).await["current"]["version"],
        "0.1.0"
    );

    // The gate lets a conforming version through (the built-in adapter itself: it passes the
    // gate, then is refused only as already installed).
    let good = BUILTIN_PLUGINS
        .iter()
        .find(|(package, _)| *package == "switchyard-plugin-openai")
        .map(|(_, bytes)| bytes.to_vec())
        .unwrap();
    let (status, answer) = upload(&gateway, "", good).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already installed")
    );

    let (status, _, _) = gateway.chat(&request("m/oa", false)).await;
    assert_eq!(status, 200);
}

/// An adapter that builds requests and parses answers as the built-in one does but reports zero
/// usage would have the gateway charge nothing for what the upstream bills: the gate refuses it
/// on usage alone (the requests it builds pass the gate's request checks), and the built-in
/// version keeps serving.
#[tokio::test]
async fn a_gated_provider_refuses_an_adapter_version_that_reports_zero_usage() {
    let mock = MockUpstream::start().await.unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/groq");
    let gate = format!("replay_gate = {:?}", fixtures.display().to_string());
    let config = format!(
        "[plugins.overrides.openai]\nreplace_builtin = true\n\n{}{}",
        provider("oa", "openai", &mock, "fixture=openai/openai-text", &gate),
        model("m/oa", &[("oa", "1", "1")]),
    );
    let gateway = Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await;
    let zero = std::fs::read(switchyard_tests::hostile::ZERO_USAGE).unwrap();
    for query in ["", "?canary=0.5"] {
        let (status, answer) = upload(&gateway, query, zero.clone()).await;
        assert_eq!(status, 422, "{query}: {answer}");
        let failures: Vec<&str> = answer["error"]["metadata"]["replay_gate"]["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        for recording in ["groq-text", "groq-reasoning", "groq-tool-call (stream)"] {
            let usage = format!("{recording}: usage covers what the recording bills: ");
            assert!(
                failures.iter().any(|f| f.starts_with(&usage)),
                "{recording}: {failures:?}"
            );
        }
        assert!(
            failures.iter().all(|f| f.contains(": usage")),
            "only usage fails: {failures:?}"
        );
        assert!(
            !failures.iter().any(|f| f.contains("(request)")),
            "the requests it builds pass: {failures:?}"
        );
    }
    let versions = openai_versions(&gateway).await;
    assert_eq!(versions["current"]["version"], "0.1.0", "{versions}");
    assert!(versions["canary"].is_null(), "{versions}");
    let (status, _, body) = gateway.chat(&request("m/oa", false)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
        "{body}"
    );
}

/// The configuration of a provider `oa` on the openai adapter (which the plugins folder may
/// replace), gated by the groq recordings when `gated`.
fn openai_provider(mock: &MockUpstream, gated: bool) -> String {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/groq");
    let gate = match gated {
        true => format!("replay_gate = {:?}", fixtures.display().to_string()),
        false => String::new(),
    };
    format!(
        "[plugins.overrides.openai]\nreplace_builtin = true\n\n{}{}",
        provider("oa", "openai", mock, "fixture=openai/openai-text", &gate),
        model("m/oa", &[("oa", "1", "1")]),
    )
}

/// An adapter already in the plugins folder when the gateway starts passes the same gate as one
/// uploaded or dropped in later: a failing one stops the start, naming the gate. The control:
/// the same folder without the gate starts.
#[tokio::test]
async fn an_adapter_in_the_plugins_folder_at_start_is_gated() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(
        switchyard_tests::hostile::BROKEN_OPENAI,
        plugins.join("openai-9.9.9.wasm"),
    )
    .unwrap();
    let config = dir.path().join("switchyard.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[plugins]\ndir = {:?}\n\n{}",
        plugins.display().to_string(),
        openai_provider(&mock, true)
    );
    std::fs::write(&config, text).unwrap();
    let log = dir.path().join("gateway.log");
    let mut child = tokio::process::Command::new(switchyard_bin())
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .env(KEY_ENV, KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // A gateway that starts says so on its first line; one refusing to start ends its output.
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(600), lines.next_line())
        .await
        .expect("the gateway starts or exits")
        .unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(first, None, "the gateway started: {stderr}");
    assert!(!child.wait().await.unwrap().success(), "{stderr}");
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("failed the replay gate of provider oa"),
        "{stderr}"
    );

    let ungated = Gateway::start_with_plugins(
        &openai_provider(&mock, false),
        &[switchyard_tests::hostile::BROKEN_OPENAI],
    )
    .await;
    assert!(!ungated.log().contains("replay gate"), "{}", ungated.log());
}
