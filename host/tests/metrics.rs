//! End to end: `GET /metrics` of the real binary in demo mode with accounting on, checked by
//! `promtool check metrics` and scraped by a real Prometheus whose HTTP API must report the
//! requests and the cost the test saw. Prometheus and promtool come from the variables
//! `SWITCHYARD_TEST_PROMETHEUS` and `SWITCHYARD_TEST_PROMTOOL` (paths to the binaries, set by
//! `.ci/run`); without them those parts print SKIPPED.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const ADMIN_TOKEN: &str = "metrics-admin-token";

/// A demo gateway with accounting on (SQLite in `dir`), its metrics on the main listener (behind
/// the admin token) with key and account labels.
async fn gateway(dir: &tempfile::TempDir) -> Gateway {
    let config = format!(
        "[accounting]\nenabled = true\nsqlite_path = {:?}\n\n[metrics]\nkey_labels = true\n",
        dir.path().join("books.db").display().to_string()
    );
    Gateway::start_with_args(
        &config,
        &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)],
        &["--demo"],
    )
    .await
}

async fn admin(gateway: &Gateway, path: &str, body: Value) -> Value {
    let response = gateway
        .client
        .post(format!("{}/admin{path}", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}");
    response.json().await.unwrap()
}

/// Sends `count` requests (every other one streamed) as `secret`; returns the summed cost.
async fn spend(gateway: &Gateway, secret: &str, count: usize) -> f64 {
    let mut total = 0.0;
    for index in 0..count {
        let stream = index % 2 == 1;
        let response = gateway
            .client
            .post(format!("{}/v1/chat/completions", gateway.url))
            .bearer_auth(secret)
            .json(&request("demo/steady-chat", stream))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let usage = if stream {
            let events: Vec<String> = text
                .split("\n\n")
                .filter_map(|event| event.strip_prefix("data: "))
                .map(str::to_owned)
                .collect();
            chunks(&events).last().unwrap()["usage"].clone()
        } else {
            serde_json::from_str::<Value>(&text).unwrap()["usage"].clone()
        };
        total += usage["cost"].as_f64().unwrap();
    }
    total
}

async fn exposition(gateway: &Gateway) -> String {
    let response = gateway
        .client
        .get(format!("{}/metrics", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_tokens_cost_and_circuits() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = gateway(&dir).await;
    let created = admin(
        &gateway,
        "/keys",
        json!({ "label": "metrics", "account": "acme" }),
    )
    .await;
    admin(&gateway, "/accounts/acme/credits", json!({ "amount": "5" })).await;
    let key_id = created["data"]["id"].as_str().unwrap().to_owned();
    let secret = created["data"]["key"].as_str().unwrap().to_owned();
    let spent = spend(&gateway, &secret, 4).await;

    let text = exposition(&gateway).await;
    let steady = "gen_ai_provider_name=\"demo-steady\"";
    assert_eq!(
        sample(
            &text,
            "gen_ai_client_operation_duration_seconds_count",
            &[
                steady,
                "gen_ai_request_model=\"demo/steady-chat\"",
                "gen_ai_operation_name=\"chat\""
            ]
        ),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "gen_ai_client_token_usage_count",
            &[steady, "gen_ai_token_type=\"output\""]
        ),
        Some(4.0)
    );
    assert!(
        sample(
            &text,
            "gen_ai_server_time_to_first_token_seconds_count",
            &[steady]
        ) == Some(4.0)
    );
    let key_label = format!("switchyard_key_id=\"{key_id}\"");
    let cost: f64 = ["upstream", "fee"]
        .iter()
        .map(|part| {
            let part = format!("switchyard_cost_part=\"{part}\"");
            sample(
                &text,
                "switchyard_cost_usd_total",
                &[steady, &key_label, "switchyard_account_id=\"acme\"", &part],
            )
            .unwrap()
        })
        .sum();
    assert!(
        (cost - spent).abs() < 1e-12,
        "metrics say {cost}, answers said {spent}"
    );
    assert_eq!(
        sample(
            &text,
            "switchyard_attempts_total",
            &[steady, "switchyard_outcome=\"success\""]
        ),
        Some(4.0)
    );
    assert_eq!(
        sample(
            &text,
            "http_server_request_duration_seconds_count",
            &[
                "http_route=\"/v1/chat/completions\"",
                "http_response_status_code=\"200\""
            ]
        ),
        Some(4.0)
    );
    assert_eq!(
        sample(&text, "switchyard_endpoint_circuit_state", &[steady]),
        Some(0.0)
    );
    assert!(
        sample(
            &text,
            "switchyard_plugin_calls_total",
            &["switchyard_plugin_name=\"openai\""]
        )
        .unwrap()
            > 0.0
    );
    assert!(
        sample(
            &text,
            "switchyard_plugin_circuit_state",
            &["switchyard_plugin_name=\"price\""]
        )
        .is_some()
    );
    // Canary progress: the requests judged for the adapter version (the streamed ones are judged
    // when their stream ends, possibly after this scrape).
    let judged = |outcome: &str| {
        let outcome = format!("switchyard_outcome=\"{outcome}\"");
        sample(
            &text,
            "switchyard_plugin_judged_requests_total",
            &["switchyard_plugin_name=\"openai\"", &outcome],
        )
    };
    assert!(judged("success").is_some_and(|n| n >= 2.0), "{text}");
    assert_eq!(judged("failure"), Some(0.0));
    assert!(!text.contains("Hello"), "no request text in labels");
    let openai_call = |function: &str| {
        let function = format!("switchyard_plugin_function=\"{function}\"");
        let labels = [
            "switchyard_plugin_name=\"openai\"",
            "switchyard_outcome=\"success\"",
            &function,
        ];
        sample(
            &text,
            "switchyard_plugin_call_duration_seconds_count",
            &labels,
        )
    };
    assert_eq!(openai_call("build_request"), Some(4.0), "one per request");
    assert_eq!(openai_call("parse_response"), Some(2.0));
    assert_eq!(openai_call("start_stream"), Some(2.0));
    assert!(openai_call("decode").unwrap() > 2.0, "one per stream event");
    let text = settled(&gateway, 4.0).await;

    promtool_accepts(&text).await;
    prometheus_scrapes(&gateway, 4.0, spent).await;
}

/// The exposition once the settlement lag histogram counts `settlements` (the settler commits
/// off the request path, shortly after each answer).
async fn settled(gateway: &Gateway, settlements: f64) -> String {
    let name = "switchyard_settlement_lag_seconds_count";
    for _ in 0..100 {
        let text = exposition(gateway).await;
        if sample(&text, name, &[]) == Some(settlements) {
            let under_ten_seconds = sample(
                &text,
                "switchyard_settlement_lag_seconds_bucket",
                &["le=\"10\""],
            );
            assert_eq!(under_ten_seconds, Some(settlements), "{text}");
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} never reached {settlements}");
}

/// `promtool check metrics` finds no problem in the exposition.
async fn promtool_accepts(text: &str) {
    let Ok(promtool) = std::env::var("SWITCHYARD_TEST_PROMTOOL") else {
        eprintln!("SKIPPED promtool check: set SWITCHYARD_TEST_PROMTOOL to the promtool binary");
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A real Prometheus scrapes the gateway every second; its query API reports `requests`
/// served generations and `cost` USD.
async fn prometheus_scrapes(gateway: &Gateway, requests: f64, cost: f64) {
    let Ok(prometheus) = std::env::var("SWITCHYARD_TEST_PROMETHEUS") else {
        eprintln!(
            "SKIPPED Prometheus scrape: set SWITCHYARD_TEST_PROMETHEUS to the prometheus binary"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = gateway.url.trim_start_matches("http://");
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: switchyard\n    authorization:\n      credentials: {ADMIN_TOKEN}\n    static_configs:\n      - targets: [\"{target}\"]\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let _prometheus = Command::new(prometheus)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let api = format!("http://127.0.0.1:{port}/api/v1/query");
    let query = |promql: &'static str| {
        let api = api.clone();
        async move {
            let response = reqwest::Client::new()
                .get(&api)
                .query(&[("query", promql)])
                .send()
                .await
                .ok()?;
            let body: Value = response.json().await.ok()?;
            body["data"]["result"][0]["value"][1]
                .as_str()?
                .parse::<f64>()
                .ok()
        }
    };
    let mut seen = None;
    for _ in 0..60 {
        seen =
            query("sum(gen_ai_client_operation_duration_seconds_count{job=\"switchyard\"})").await;
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let log = || std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    assert_eq!(seen, Some(requests), "{}", log());
    let scraped_cost = query("sum(switchyard_cost_usd_total{job=\"switchyard\"})").await;
    let scraped_cost = scraped_cost.unwrap_or_else(|| panic!("no cost series\n{}", log()));
    assert!(
        (scraped_cost - cost).abs() < 1e-12,
        "Prometheus says {scraped_cost}, answers said {cost}"
    );
    let up = query("up{job=\"switchyard\"}").await;
    assert_eq!(up, Some(1.0));
}
