//! End to end: a shadow routing policy evaluated beside the live one. Two mock endpoints serve
//! each model at prices 1/2 and 5/10 USD per M; the live policy is `cheapest`, the shadow one
//! `weighted`, whose first choice the endpoint weights decide: the dear endpoint on `t/split`
//! (always a disagreement), the cheap one on `t/agree`. The admin API and `/metrics` report it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const ADMIN: &str = "shadow-admin-token";

/// The models, with the `weighted` shadow policy configured when `shadowed`.
fn config(mock: &MockUpstream, shadowed: bool) -> String {
    let scenario = "fixture=openai/openai-text";
    let shadow = if shadowed {
        "[[routing.shadow]]\npolicy = \"weighted\"\nmodels = [\"t/split\", \"t/agree\", \"t/single\"]\n"
    } else {
        ""
    };
    format!(
        r#"{cheap}{dear}
{shadow}
[[models]]
id = "t/split"
policy = "cheapest"
endpoints = [
  {{ provider = "cheap", upstream_model = "up", prompt_price = "1", completion_price = "2", weight = 0.0 }},
  {{ provider = "dear", upstream_model = "up", prompt_price = "5", completion_price = "10", weight = 1.0 }},
]

[[models]]
id = "t/agree"
policy = "cheapest"
endpoints = [
  {{ provider = "cheap", upstream_model = "up", prompt_price = "1", completion_price = "2", weight = 1.0 }},
  {{ provider = "dear", upstream_model = "up", prompt_price = "5", completion_price = "10", weight = 0.0 }},
]

[[models]]
id = "t/single"
policy = "cheapest"
endpoints = [{{ provider = "cheap", upstream_model = "up", prompt_price = "1", completion_price = "2" }}]
"#,
        cheap = provider("cheap", "openai", mock, scenario, ""),
        dear = provider("dear", "openai", mock, scenario, ""),
    )
}

async fn shadow_report(gateway: &Gateway, token: Option<&str>) -> (u16, Value) {
    shadow_admin(gateway, reqwest::Method::GET, token, None).await
}

async fn shadow_admin(
    gateway: &Gateway,
    method: reqwest::Method,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/admin/routing/shadow", gateway.url);
    let mut request = gateway.client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    // axum's own rejections (a body of the wrong shape) are plain text.
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The report's row for `model`, if any.
fn row<'a>(report: &'a Value, model: &str) -> Option<&'a Value> {
    report["shadows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["policy"] == "weighted" && row["model"] == model)
}

/// The report once each `(model, evaluated)` holds; panics after 30 s.
async fn report_once(gateway: &Gateway, expected: &[(&str, u64)]) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, report) = shadow_report(gateway, Some(ADMIN)).await;
        assert_eq!(status, 200, "{report}");
        let evaluated = |model| row(&report, model).map(|row| row["evaluated"].as_u64().unwrap());
        if (expected.iter()).all(|(model, count)| evaluated(model) == Some(*count)) {
            return report;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "shadow evaluations did not arrive: {report}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `count` chat requests for `model`, each answered by the cheap endpoint.
async fn send(gateway: &Gateway, model: &str, count: u64) {
    for _ in 0..count {
        let (status, _, body) = gateway.chat(&request(model, false)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["provider"], "cheap", "{body}");
    }
}

/// A decimal the report writes as a string.
fn usd(value: &Value) -> f64 {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn shadow_disagreement_and_projected_cost_show_up_in_the_admin_api_and_metrics() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway =
        Gateway::start_with_env(&config(&mock, true), &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await;

    const SPLIT: u64 = 5;
    const AGREE: u64 = 3;
    for (model, count) in [("t/split", SPLIT), ("t/agree", AGREE), ("t/single", 2)] {
        for n in 0..count {
            let stream = n == 0;
            let (status, _, text) = gateway.post(&request(model, stream)).await;
            assert_eq!(status, 200, "{text}");
            if !stream {
                let body: Value = serde_json::from_str(&text).unwrap();
                // The live policy decides: the shadow one never changes the answer.
                assert_eq!(body["provider"], "cheap", "{body}");
            }
        }
    }

    let report = report_once(&gateway, &[("t/split", SPLIT), ("t/agree", AGREE)]).await;
    assert_eq!(report["enabled"], true);

    let split = row(&report, "t/split").unwrap();
    assert_eq!(split["disagreed"], SPLIT, "{split}");
    assert_eq!(split["disagreement_rate"], 1.0, "{split}");
    assert_eq!(
        (&split["faults"], &split["skipped"]),
        (&0.into(), &0.into())
    );
    assert_eq!(split["live"]["chosen"], SPLIT);
    assert_eq!(split["shadow"]["chosen"], SPLIT);
    let live_cost = usd(&split["live"]["mean_expected_cost_usd"]);
    let shadow_cost = usd(&split["shadow"]["mean_expected_cost_usd"]);
    assert!(live_cost > 0.0, "{split}");
    // The dear endpoint's prices are five times the cheap one's, for the same request.
    assert!(
        (shadow_cost - 5.0 * live_cost).abs() < 1e-9,
        "shadow {shadow_cost} vs live {live_cost}: {split}"
    );
    let live_total = usd(&split["live"]["total_expected_cost_usd"]);
    assert!(
        (live_total - SPLIT as f64 * live_cost).abs() < 1e-9,
        "{split}"
    );
    // The dear endpoint never served, so it has no latency figures.
    assert_eq!(split["shadow"]["unmeasured"], SPLIT, "{split}");
    assert!(split["shadow"]["mean_p50_latency_ms"].is_null(), "{split}");

    let agree = row(&report, "t/agree").unwrap();
    assert_eq!(agree["disagreed"], 0, "{agree}");
    assert_eq!(agree["disagreement_rate"], 0.0, "{agree}");
    assert_eq!(agree["faults"], 0, "{agree}");
    assert_eq!(
        agree["live"]["mean_expected_cost_usd"], agree["shadow"]["mean_expected_cost_usd"],
        "{agree}"
    );
    assert_eq!(
        agree["live"]["mean_p50_latency_ms"], agree["shadow"]["mean_p50_latency_ms"],
        "{agree}"
    );

    // One endpoint has nothing to order: never shadowed.
    assert!(row(&report, "t/single").is_none(), "{report}");

    let metrics = gateway
        .client
        .get(format!("{}/metrics", gateway.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let evaluations = "switchyard_routing_shadow_evaluations_total";
    let split_labels = [
        "switchyard_plugin_name=\"weighted\"",
        "gen_ai_request_model=\"t/split\"",
    ];
    let with = |outcome: &'static str| {
        let mut labels = split_labels.to_vec();
        labels.push(outcome);
        labels
    };
    let count = |outcome: &'static str| sample(&metrics, evaluations, &with(outcome));
    assert_eq!(
        count("switchyard_outcome=\"disagree\""),
        Some(SPLIT as f64),
        "{metrics}"
    );
    assert_eq!(count("switchyard_outcome=\"agree\""), Some(0.0));
    assert_eq!(count("switchyard_outcome=\"fault\""), Some(0.0));
    let agreed = [
        "gen_ai_request_model=\"t/agree\"",
        "switchyard_outcome=\"agree\"",
    ];
    assert_eq!(
        sample(&metrics, evaluations, &agreed),
        Some(AGREE as f64),
        "{metrics}"
    );
    let cost = "switchyard_routing_shadow_expected_cost_usd_total";
    let live = sample(&metrics, cost, &with("switchyard_routing_choice=\"live\"")).unwrap();
    let shadow = sample(
        &metrics,
        cost,
        &with("switchyard_routing_choice=\"shadow\""),
    )
    .unwrap();
    assert!(shadow > live && live > 0.0, "{metrics}");
}

#[tokio::test]
async fn the_shadow_admin_routes_need_the_admin_token() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway =
        Gateway::start_with_env(&config(&mock, true), &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await;
    let (status, body) = shadow_report(&gateway, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = shadow_report(&gateway, Some("wrong-token")).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = shadow_admin(&gateway, reqwest::Method::DELETE, None, None).await;
    assert_eq!(status, 401, "{body}");
    let clear = json!({ "shadows": [] });
    let (status, body) = shadow_admin(&gateway, reqwest::Method::PUT, None, Some(clear)).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = shadow_report(&gateway, Some(ADMIN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["enabled"], true,
        "unauthorised calls changed nothing: {body}"
    );
    assert_eq!(body["shadows"], json!([]));
}

#[tokio::test]
async fn shadow_policies_are_set_and_cleared_through_the_admin_api() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway =
        Gateway::start_with_env(&config(&mock, false), &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await;
    let (status, report) = shadow_report(&gateway, Some(ADMIN)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["enabled"], false, "{report}");
    send(&gateway, "t/split", 1).await;

    let put = |body: Value| shadow_admin(&gateway, reqwest::Method::PUT, Some(ADMIN), Some(body));
    let split_only = json!({ "shadows": [{ "policy": "weighted", "models": ["t/split"] }] });
    let (status, body) = put(split_only).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enabled"], true, "{body}");
    assert_eq!(body["entries"][0]["policy"], "weighted", "{body}");

    // Refused changes leave the shadow policies in force.
    let (status, body) = put(json!({ "shadows": [{ "policy": "no-such-policy" }] })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "shadow_rejected", "{body}");
    let unknown_model = json!({ "shadows": [{ "policy": "weighted", "models": ["t/nope"] }] });
    assert_eq!(put(unknown_model).await.0, 422);
    let typo = json!({ "shadows": [{ "policy": "weighted", "model": ["t/split"] }] });
    assert!(put(typo).await.0 >= 400);

    send(&gateway, "t/split", 3).await;
    send(&gateway, "t/agree", 2).await;
    let report = report_once(&gateway, &[("t/split", 3)]).await;
    assert_eq!(row(&report, "t/split").unwrap()["disagreed"], 3, "{report}");
    assert!(row(&report, "t/agree").is_none(), "not shadowed: {report}");

    // Adding a model keeps the figures of the pair that stays.
    let both = json!({ "shadows": [{ "policy": "weighted", "models": ["t/split", "t/agree"] }] });
    assert_eq!(put(both).await.0, 200);
    send(&gateway, "t/agree", 2).await;
    let report = report_once(&gateway, &[("t/split", 3), ("t/agree", 2)]).await;
    assert_eq!(row(&report, "t/agree").unwrap()["disagreed"], 0, "{report}");

    let (status, body) = shadow_admin(&gateway, reqwest::Method::DELETE, Some(ADMIN), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enabled"], false, "{body}");
    assert_eq!(body["shadows"], json!([]), "{body}");
    send(&gateway, "t/split", 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, report) = shadow_report(&gateway, Some(ADMIN)).await;
    assert_eq!(report["shadows"], json!([]), "{report}");
}
