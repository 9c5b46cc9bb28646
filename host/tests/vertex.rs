//! Vertex AI end to end: the real binary with the `vertex` adapter against the mock's Vertex AI
//! routes (recorded Gemini and Anthropic answers) and its Google OAuth side. The host mints the
//! access tokens from a service account key (a JWT the mock checks with the key's public half)
//! or from the metadata server, caches them, refreshes them before expiry and once after a 401.
//! The official `openai` (strict) and `anthropic` Python SDKs run when `SWITCHYARD_TEST_PYTHON`
//! names a Python with both.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const EMAIL: &str = "switchyard-test@test-project.iam.gserviceaccount.com";
const GEMINI_PATH: &str =
    "/v1/projects/test-project/locations/us-east5/publishers/google/models/gemini-2.5-flash";
const CLAUDE_PATH: &str = "/v1/projects/test-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929";

fn key_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/google")
        .join(name)
}

/// A service account key file for the test key pair, its token endpoint the mock's, with
/// `field` removed when given.
fn service_account(dir: &Path, mock: &MockUpstream, without: Option<&str>) -> PathBuf {
    let private_key = std::fs::read_to_string(key_file("test-service-account.key.pem")).unwrap();
    let mut key = json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "k1",
        "private_key": private_key,
        "client_email": EMAIL,
        "client_id": "1",
        "token_uri": format!("{}/token", mock.url()),
    });
    if let Some(field) = without {
        key.as_object_mut().unwrap().remove(field);
    }
    let path = dir.join("service-account.json");
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

/// The mock trusts the test key pair's service account.
fn trust(mock: &MockUpstream) {
    let public = std::fs::read(key_file("test-service-account.pub.pem")).unwrap();
    mock.google().trust_service_account(EMAIL, &public);
}

/// A `vertex` provider at the mock with `credentials`, its Gemini, Claude and embedding models,
/// and `v/fallback`: Claude on Vertex, then an OpenAI-compatible provider.
fn config(mock: &MockUpstream, credentials: &str) -> String {
    let vertex = |model: &str| {
        format!(
            "{{ provider = \"vertex\", upstream_model = \"{model}\", prompt_price = \"1\", completion_price = \"2\" }}"
        )
    };
    format!(
        "[providers.vertex]\nplugin = \"vertex\"\nbase_url = \"{}\"\n\
         options = {{ project = \"test-project\", region = \"us-east5\" }}\n\
         google_credentials = {credentials}\n\n{}\
         [[models]]\nid = \"v/gemini\"\nendpoints = [{}]\n\n\
         [[models]]\nid = \"v/claude\"\nendpoints = [{}]\n\n\
         [[models]]\nid = \"v/fallback\"\nendpoints = [{}, {{ provider = \"backup\", upstream_model = \"up\", prompt_price = \"5\", completion_price = \"5\" }}]\n\n\
         [[models]]\nid = \"v/embed\"\noutput_modalities = [\"embeddings\"]\n\
         endpoints = [{{ provider = \"vertex\", upstream_model = \"text-embedding-005\", prompt_price = \"0.02\" }}]\n",
        mock.base_url(""),
        provider("backup", "openai", mock, "fixture=openai/openai-text", ""),
        vertex("gemini-2.5-flash"),
        vertex("claude-sonnet-4-5@20250929"),
        vertex("claude-sonnet-4-5@20250929"),
    )
}

fn service_account_credentials(path: &Path) -> String {
    format!(
        "{{ source = \"service-account\", file = {:?} }}",
        path.display().to_string()
    )
}

fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 50})
}

/// The requests that reached `path` (a Vertex AI model path) with any method suffix.
fn vertex_requests(mock: &MockUpstream, path: &str) -> Vec<switchyard_tests::RecordedRequest> {
    mock.requests()
        .into_iter()
        .filter(|r| r.path.starts_with(path))
        .collect()
}

fn bearer(request: &switchyard_tests::RecordedRequest) -> String {
    request
        .headers
        .iter()
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn gemini_claude_and_embeddings_on_vertex_with_one_service_account_token() {
    let mock = MockUpstream::start().await.unwrap();
    trust(&mock);
    let dir = tempfile::tempdir().unwrap();
    let key = service_account(dir.path(), &mock, None);
    let gateway = Gateway::start(&config(&mock, &service_account_credentials(&key))).await;

    let (status, _, body) = gateway.chat(&hello("v/gemini")).await;
    assert_eq!(status, 200, "{body}");
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.contains("strawberry"), "{body}");
    let (status, _, body) = gateway.chat(&hello("v/claude")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Hello!")
    );
    for model in ["v/gemini", "v/claude"] {
        let mut request = hello(model);
        request["stream"] = json!(true);
        let (status, lines) = gateway.stream(&request).await;
        assert_eq!(status, 200, "{lines:?}");
        assert_eq!(
            lines.last().map(String::as_str),
            Some("[DONE]"),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("\"content\":\"")),
            "{lines:?}"
        );
    }
    let (status, body) = gateway
        .embed(&json!({"model": "v/embed", "input": ["one two", "three"], "dimensions": 4}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"][1]["embedding"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(body["usage"]["prompt_tokens"], 3, "{body}");

    // One token served every request; the JWT passed the mock's checks.
    assert_eq!(
        mock.google().issued(),
        (1, 0),
        "{:?}",
        mock.google().refusals()
    );
    let gemini = vertex_requests(&mock, GEMINI_PATH);
    assert!(gemini.iter().any(|r| r.path.ends_with(":generateContent")));
    assert!(gemini.iter().any(
        |r| r.path.ends_with(":streamGenerateContent") && r.query.as_deref() == Some("alt=sse")
    ));
    let claude = vertex_requests(&mock, CLAUDE_PATH);
    let paths: Vec<&str> = claude.iter().map(|r| r.path.as_str()).collect();
    assert!(
        paths.iter().any(|p| p.ends_with(":rawPredict")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with(":streamRawPredict")),
        "{paths:?}"
    );
    for request in gemini.iter().chain(&claude) {
        assert_eq!(bearer(request), "Bearer ya29.mock-1");
    }
    let claude_body = claude[0].json.clone().unwrap();
    assert_eq!(claude_body["anthropic_version"], "vertex-2023-10-16");
    assert!(claude_body.get("model").is_none(), "{claude_body}");
    // The secret never shows in the log.
    assert!(!gateway.log().contains("ya29.mock"), "{}", gateway.log());
}

#[tokio::test]
async fn tokens_are_refreshed_before_expiry_and_once_after_a_refusal_then_fail_over() {
    let mock = MockUpstream::start().await.unwrap();
    trust(&mock);
    mock.google().set_token_lifetime(Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let key = service_account(dir.path(), &mock, None);
    let gateway = Gateway::start(&config(&mock, &service_account_credentials(&key))).await;

    let (status, _, body) = gateway.chat(&hello("v/claude")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.google().issued().0, 1);
    // Across the first token's expiry: a fresh token, never the expired one.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let (status, _, body) = gateway.chat(&hello("v/gemini")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.google().issued().0, 2);
    let sent: Vec<String> = vertex_requests(&mock, "/v1/projects/")
        .iter()
        .map(bearer)
        .collect();
    assert_eq!(sent, ["Bearer ya29.mock-1", "Bearer ya29.mock-2"]);

    // Revoked: refused once (401), refreshed, sent again.
    mock.google().set_token_lifetime(Duration::from_secs(3600));
    mock.google().revoke_all();
    let (status, _, body) = gateway.chat(&hello("v/claude")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.google().issued().0, 3);
    let sent: Vec<String> = vertex_requests(&mock, "/v1/projects/")
        .iter()
        .map(bearer)
        .collect();
    assert_eq!(&sent[2..], ["Bearer ya29.mock-2", "Bearer ya29.mock-3"]);

    // Tokens refused every time: one refresh, then the next endpoint serves.
    mock.google().set_token_lifetime(Duration::ZERO);
    mock.google().revoke_all();
    let mut request = hello("v/fallback");
    request["provider"] = json!({"order": ["vertex", "backup"]});
    let (status, _, body) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday Name:**"),
        "{body}"
    );
    assert_eq!(mock.google().issued().0, 4, "one refresh, no more");
    assert_eq!(vertex_requests(&mock, "/v1/projects/").len(), 6);
}

#[tokio::test]
async fn a_field_a_publishers_translation_does_not_serve_is_refused_by_name_or_fails_over() {
    let mock = MockUpstream::start().await.unwrap();
    trust(&mock);
    let dir = tempfile::tempdir().unwrap();
    let key = service_account(dir.path(), &mock, None);
    let gateway = Gateway::start(&config(&mock, &service_account_credentials(&key))).await;
    let with = |model: &str, field: &str, value: Value| {
        let mut request = hello(model);
        request[field] = value;
        request
    };

    // Gemini translates `seed`; Claude has none.
    let (status, _, body) = gateway.chat(&with("v/gemini", "seed", json!(7))).await;
    assert_eq!(status, 200, "{body}");
    let sent = vertex_requests(&mock, GEMINI_PATH)
        .pop()
        .unwrap()
        .json
        .unwrap();
    assert_eq!(sent["generationConfig"]["seed"], 7, "{sent}");
    for (model, field, value) in [
        ("v/claude", "seed", json!(7)),
        ("v/gemini", "logit_bias", json!({"50256": -100})),
    ] {
        let before = vertex_requests(&mock, "/v1/projects/").len();
        let (status, _, body) = gateway.chat(&with(model, field, value)).await;
        assert_eq!(status, 400, "{model} {field}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{field}`")), "{message}");
        assert!(message.contains("vertex"), "{message}");
        assert_eq!(vertex_requests(&mock, "/v1/projects/").len(), before);
    }
    // Where another endpoint serves the field, it serves the request.
    let mut request = with("v/fallback", "seed", json!(7));
    request["provider"] = json!({"order": ["vertex", "backup"]});
    let (status, _, body) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday Name:**"),
        "{body}"
    );
}

#[tokio::test]
async fn the_metadata_server_mints_tokens_for_workload_identity() {
    let mock = MockUpstream::start().await.unwrap();
    mock.google().serve_metadata();
    let host = mock.addr().to_string();
    let gateway = Gateway::start_with_env(
        &config(&mock, "{ source = \"metadata\" }"),
        &[("GCE_METADATA_HOST", host.as_str())],
    )
    .await;
    for model in ["v/gemini", "v/claude"] {
        let (status, _, body) = gateway.chat(&hello(model)).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(mock.google().issued(), (0, 1));
    let token_requests: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/computeMetadata/"))
        .collect();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(token_requests[0].method, "GET");
}

#[tokio::test]
async fn a_malformed_service_account_file_stops_the_start_naming_the_field() {
    let mock = MockUpstream::start().await.unwrap();
    for field in ["client_email", "private_key"] {
        let dir = tempfile::tempdir().unwrap();
        let key = service_account(dir.path(), &mock, Some(field));
        let config_path = dir.path().join("switchyard.toml");
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n{}",
            config(&mock, &service_account_credentials(&key))
        );
        std::fs::write(&config_path, text).unwrap();
        let output = tokio::process::Command::new(switchyard_bin())
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env(KEY_ENV, KEY)
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(300), output)
            .await
            .expect("the gateway must stop, not serve")
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(&format!("`{field}`")), "{stderr}");
    }
}

/// Vertex Gemini and Claude through the official SDKs: `openai` in strict validation mode and
/// `anthropic`, whole and streamed, across a token expiry.
#[tokio::test]
async fn the_official_sdks_talk_to_gemini_and_claude_on_vertex() {
    let Some(python) = std::env::var_os("SWITCHYARD_TEST_PYTHON") else {
        eprintln!("SKIPPED: SWITCHYARD_TEST_PYTHON is not set (.ci/run installs the SDKs)");
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    trust(&mock);
    mock.google().set_token_lifetime(Duration::from_secs(3));
    let dir = tempfile::tempdir().unwrap();
    let key = service_account(dir.path(), &mock, None);
    let gateway = Gateway::start(&config(&mock, &service_account_credentials(&key))).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/vertex_sdk_checks.py"
    );
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(&gateway.url)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        mock.google().issued().0 >= 2,
        "the script runs across an expiry"
    );
    assert!(mock.google().refusals().is_empty());
}
