//! End to end: plugins change at runtime without a failed request. Replacing the adapter ten
//! times under constant load (streams included), canary rollout with automatic rollback, manual
//! rollback, the watched plugins folder, the circuit breaker and per-plugin limits.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use serde_json::Value;
use switchyard_tests::MockUpstream;

const ADMIN: &str = "admin-secret-42";

/// A gateway serving `m/oa` through the built-in `openai` adapter, which the tests replace:
/// the configuration allows that.
async fn gateway(mock: &MockUpstream, extra: &str) -> Gateway {
    let config = format!(
        "{extra}\n[plugins.overrides.openai]\nreplace_builtin = true\n{}{}",
        provider("oa", "openai", mock, "fixture=openai/openai-text", ""),
        model("m/oa", &[("oa", "1", "1")]),
    );
    Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await
}

async fn admin(
    gateway: &Gateway,
    method: reqwest::Method,
    path: &str,
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut request = gateway
        .client
        .request(method, format!("{}/admin{path}", gateway.url))
        .bearer_auth(ADMIN);
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn adapter_header(headers: &reqwest::header::HeaderMap) -> String {
    headers["x-switchyard-adapter"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn replacing_the_adapter_ten_times_under_load_fails_no_request() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Arc::new(gateway(&mock, "").await);
    let original = openai_component();

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..6 {
        let gateway = gateway.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut served = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let stream = worker % 2 == 0;
                let (status, headers, text) = gateway.post(&request("m/oa", stream)).await;
                assert_eq!(status, 200, "{text}");
                if stream {
                    assert!(
                        text.trim_end().ends_with("data: [DONE]"),
                        "stream did not finish: {text}"
                    );
                } else {
                    serde_json::from_str::<Value>(&text).unwrap();
                }
                served.push(adapter_header(&headers));
            }
            served
        }));
    }

    let mut installed = BTreeSet::new();
    installed.insert(switchyard_digest_prefix(&original));
    for n in 1..=10 {
        let bytes = variant(original.clone(), n);
        installed.insert(switchyard_digest_prefix(&bytes));
        let (status, body) = admin(&gateway, reqwest::Method::POST, "/plugins", Some(bytes)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["name"], "openai");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let mut served = Vec::new();
    for worker in workers {
        served.extend(worker.await.unwrap());
    }
    assert!(served.len() > 30, "too little load: {}", served.len());
    let versions: BTreeSet<String> = served
        .iter()
        .map(|header| {
            let digest = header.rsplit('+').next().unwrap().to_owned();
            assert!(
                installed.contains(&digest),
                "{header} is not a version that was installed"
            );
            digest
        })
        .collect();
    assert!(
        versions.len() >= 3,
        "load should have crossed several versions: {versions:?}"
    );

    // Drained: only the plugins' current versions and openai's previous one stay alive. A
    // stream's relay task lets go of its version just after the client read `[DONE]`, so give
    // the last ones a moment.
    let mut list = Value::Null;
    for _ in 0..50 {
        list = admin(&gateway, reqwest::Method::GET, "/plugins", None)
            .await
            .1;
        let plugins = list["plugins"].as_array().unwrap().len();
        if list["versions_alive"].as_u64().unwrap() as usize == plugins + 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let plugins = list["plugins"].as_array().unwrap();
    let openai = plugins.iter().find(|p| p["name"] == "openai").unwrap();
    assert_eq!(openai["current"]["in_flight"], 0);
    assert_eq!(
        openai["current"]["digest"].as_str().unwrap()[..12],
        *switchyard_digest_prefix(&variant(original, 10))
    );
    assert_eq!(
        list["versions_alive"].as_u64().unwrap() as usize,
        plugins.len() + 1,
        "{list}"
    );
}

/// The first 12 hex digits of the SHA-256 of `bytes`, as the gateway reports digests.
fn switchyard_digest_prefix(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..12]
        .to_owned()
}

#[tokio::test]
async fn a_failing_canary_is_rolled_back_under_load_with_no_client_error() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "[plugins.canary]\nmin_requests = 10\nmargin = 0.2\n").await;
    let broken = std::fs::read(switchyard_tests::hostile::BROKEN_OPENAI).unwrap();
    let (status, body) = admin(
        &gateway,
        reqwest::Method::POST,
        "/plugins?canary=0.5",
        Some(broken),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["canary"][0]["version"], "9.9.9");

    // Under load (ten requests at a time, streamed and not) until the canary is judged: every
    // request it fails is retried on the stable version, so no client sees an error.
    let mut failures = Vec::new();
    let mut rolled_back = false;
    for _ in 0..40 {
        let bodies: Vec<_> = (0..10).map(|i| request("m/oa", i % 3 == 0)).collect();
        let round = bodies.iter().map(|body| gateway.post(body));
        for (status, _, body) in futures_util::future::join_all(round).await {
            if status != 200 || body.contains("\"error\"") {
                failures.push(format!("{status}: {body}"));
            }
        }
        let (_, events) = admin(&gateway, reqwest::Method::GET, "/events", None).await;
        rolled_back = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "canary_rolled_back");
        if rolled_back {
            break;
        }
    }
    assert!(rolled_back, "the broken canary was never rolled back");
    assert!(failures.is_empty(), "clients saw errors: {failures:?}");
    let (_, list) = admin(&gateway, reqwest::Method::GET, "/plugins", None).await;
    let openai = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "openai")
        .unwrap()
        .clone();
    assert!(
        openai["canary"].is_null(),
        "canary still installed: {openai}"
    );
    for _ in 0..20 {
        let (status, headers, body) = gateway.post(&request("m/oa", false)).await;
        assert_eq!(
            status, 200,
            "after the rollback every request is served: {body}"
        );
        assert!(adapter_header(&headers).starts_with("openai@0.1.0+"));
    }
}

#[tokio::test]
async fn a_bad_replacement_can_be_rolled_back_and_bad_uploads_are_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let broken = std::fs::read(switchyard_tests::hostile::BROKEN_OPENAI).unwrap();
    let (status, _) = admin(&gateway, reqwest::Method::POST, "/plugins", Some(broken)).await;
    assert_eq!(status, 201);
    let (status, _, _) = gateway.post(&request("m/oa", false)).await;
    assert_eq!(status, 502);

    // Roll back with the command line, as an operator would.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["plugin", "rollback", "openai", "--gateway", &gateway.url])
        .env("SWITCHYARD_ADMIN_TOKEN", ADMIN)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let body: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["current"]["version"], "0.1.0");
    let (status, _, _) = gateway.post(&request("m/oa", false)).await;
    assert_eq!(status, 200);

    // Through the API: a second rollback swaps back to the broken version, a third restores.
    for expected in ["9.9.9", "0.1.0"] {
        let (status, body) = admin(
            &gateway,
            reqwest::Method::POST,
            "/plugins/openai/rollback",
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["current"]["version"], expected);
    }

    // Not a component, a wrong token, an unknown plugin.
    let (status, body) = admin(
        &gateway,
        reqwest::Method::POST,
        "/plugins",
        Some(b"not wasm".to_vec()),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let response = gateway
        .client
        .get(format!("{}/admin/plugins", gateway.url))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let (status, _) = admin(&gateway, reqwest::Method::DELETE, "/plugins/nope", None).await;
    assert_eq!(status, 404);
    let (status, _, _) = gateway.post(&request("m/oa", false)).await;
    assert_eq!(status, 200, "still serving");
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider("oa", "openai", &mock, "", ""),
        model("m/oa", &[("oa", "1", "1")])
    );
    let gateway = Gateway::start(&config).await;
    let response = gateway
        .client
        .get(format!("{}/admin/plugins", gateway.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn the_plugins_folder_is_watched() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "").await;
    let original = switchyard_digest_prefix(&openai_component());
    let (_, headers, _) = gateway.post(&request("m/oa", false)).await;
    assert!(adapter_header(&headers).ends_with(&original));

    let replacement = variant(openai_component(), 77);
    let expected = switchyard_digest_prefix(&replacement);
    let file = gateway.plugins_dir().join("openai-custom.wasm");
    std::fs::write(&file, &replacement).unwrap();
    assert!(
        serves(&gateway, &expected).await,
        "the file's version was not installed\n{}",
        gateway.log()
    );

    std::fs::remove_file(&file).unwrap();
    assert!(
        serves(&gateway, &original).await,
        "the built-in version was not restored\n{}",
        gateway.log()
    );
}

/// Waits (up to 20 s) until requests are served by the adapter version with this digest prefix.
async fn serves(gateway: &Gateway, digest: &str) -> bool {
    for _ in 0..100 {
        let (status, headers, _) = gateway.post(&request("m/oa", false)).await;
        if status == 200 && adapter_header(&headers).ends_with(digest) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn a_plugin_that_keeps_faulting_is_cut_off_by_its_circuit_breaker() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[plugins.circuit_breaker]\nfailures = 2\ncooldown_ms = 600000\n{}{}",
        provider("panics", "test-panic", &mock, "", ""),
        model("m/panic", &[("panics", "0", "0")]),
    );
    let gateway = Gateway::start(&config).await;
    for _ in 0..2 {
        let (status, _, body) = gateway.chat(&request("m/panic", false)).await;
        assert_eq!(status, 502);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("trapped"),
            "{body}"
        );
    }
    let (status, _, body) = gateway.chat(&request("m/panic", false)).await;
    assert_eq!(status, 502);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("circuit open"),
        "{body}"
    );
    let (_, health) = gateway.get("/health").await;
    assert_eq!(health["status"], "degraded");
    let panic = health["plugins"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "test-panic")
        .unwrap()
        .clone();
    assert_eq!(panic["health"], "open");
}

#[tokio::test]
async fn per_plugin_limits_override_the_defaults() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[plugins.overrides.test-spin]\ncall_timeout_ms = 100\n[plugins.overrides.openai]\nmax_instances = 1\n{}{}{}{}",
        provider("spins", "test-spin", &mock, "", ""),
        provider(
            "slow",
            "openai",
            &mock,
            "hang",
            "timeouts = { first_byte_ms = 3000 }"
        ),
        model("m/spin", &[("spins", "0", "0")]),
        model("m/slow", &[("slow", "0", "0")]),
    );
    let gateway = Arc::new(Gateway::start(&config).await);
    let (status, _, body) = gateway.chat(&request("m/spin", false)).await;
    assert_eq!(status, 502);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("100 ms call deadline"),
        "{body}"
    );

    // One openai instance at a time: while one request waits on the upstream, the next is refused.
    let first = {
        let gateway = gateway.clone();
        tokio::spawn(async move { gateway.chat(&request("m/slow", false)).await })
    };
    while mock.requests_for("hang").is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _, body) = gateway.chat(&request("m/slow", false)).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 1 concurrent instances"),
        "{body}"
    );
    let (status, _, _) = first.await.unwrap();
    assert_eq!(status, 504);
}
