//! The canary judges the adapter's own refusals against the stable version on the same
//! traffic: a canary whose `build_request` refuses about one request in ten that the stable
//! version serves is rolled back, and no client sees its refusals (each is retried on the
//! stable version); a canary that refuses exactly what the stable version refuses (the
//! upstream refuses those requests too) is the client's fault and stays. Through the real
//! binary, the mock, and the `refusing` test adapter (`openai` 9.5.0) uploaded as a canary.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::Value;
use switchyard_tests::MockUpstream;
use switchyard_tests::scenario::fnv1a;

const ADMIN: &str = "canary-admin-3";

/// A gateway serving `m/oa` through the built-in `openai` adapter from the mock's `scenario`,
/// judging canaries after 20 requests with a 5 % margin.
async fn gateway(mock: &MockUpstream, scenario: &str) -> Gateway {
    let config = format!(
        "[plugins.canary]\nmin_requests = 20\nmargin = 0.05\n\n[plugins.overrides.openai]\nreplace_builtin = true\n{}{}",
        provider("oa", "openai", mock, scenario, ""),
        model("m/oa", &[("oa", "1", "1")]),
    );
    Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await
}

async fn admin(
    gateway: &Gateway,
    method: reqwest::Method,
    path: &str,
    body: Option<Vec<u8>>,
) -> Value {
    let mut request = gateway
        .client
        .request(method, format!("{}/admin{path}", gateway.url))
        .bearer_auth(ADMIN);
    if let Some(body) = body {
        request = request.body(body);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// Installs the refusing adapter as a canary taking half the traffic.
async fn install_refusing_canary(gateway: &Gateway) {
    let refusing = std::fs::read(switchyard_tests::hostile::REFUSING).unwrap();
    let body = admin(
        gateway,
        reqwest::Method::POST,
        "/plugins?canary=0.5",
        Some(refusing),
    )
    .await;
    assert_eq!(body["canary"][0]["version"], "9.5.0", "{body}");
}

async fn rolled_back(gateway: &Gateway) -> bool {
    let events = admin(gateway, reqwest::Method::GET, "/events", None).await;
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|event| event["action"] == "canary_rolled_back")
}

/// Question `i`, and whether the refusing adapter (and `refuse_one_in=10`) refuses it.
fn question(i: usize) -> (Value, bool) {
    let text = format!("Question number {i}?");
    let refused = fnv1a(text.as_bytes()).is_multiple_of(10);
    let mut body = request("m/oa", i.is_multiple_of(4));
    body["messages"][1]["content"] = Value::String(text);
    (body, refused)
}

/// Sends questions `range` ten at a time; returns (status, adapter, refused) per question.
async fn ask(gateway: &Gateway, range: std::ops::Range<usize>) -> Vec<(u16, String, bool)> {
    let questions: Vec<(Value, bool)> = range.map(question).collect();
    let mut answers = Vec::new();
    for round in questions.chunks(10) {
        let sent = round.iter().map(|(body, _)| gateway.post(body));
        let replies = futures_util::future::join_all(sent).await;
        for ((status, headers, body), (_, refused)) in replies.into_iter().zip(round) {
            let served = status == 200 && !body.contains("\"error\"");
            let adapter = headers
                .get("x-switchyard-adapter")
                .map(|value| value.to_str().unwrap().to_owned())
                .unwrap_or_default();
            answers.push((if served { 200 } else { status }, adapter, *refused));
        }
    }
    answers
}

#[tokio::test]
async fn a_canary_refusing_a_tenth_of_what_stable_serves_is_rolled_back_with_no_client_error() {
    let refused = (0..1000).filter(|i| question(*i).1).count();
    assert!((60..=140).contains(&refused), "about one in ten: {refused}");
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "fixture=openai/openai-text").await;
    install_refusing_canary(&gateway).await;
    let mut asked = 0;
    while !rolled_back(&gateway).await {
        assert!(asked < 1000, "never rolled back\n{}", gateway.log());
        let answers = ask(&gateway, asked..asked + 50).await;
        let failed: Vec<_> = answers
            .iter()
            .filter(|(status, ..)| *status != 200)
            .collect();
        assert!(failed.is_empty(), "clients saw refusals: {failed:?}");
        asked += 50;
    }
    assert!(
        gateway
            .log()
            .contains("canary refused a request the stable version serves")
    );
    let list = admin(&gateway, reqwest::Method::GET, "/plugins", None).await;
    let openai = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|plugin| plugin["name"] == "openai")
        .unwrap()
        .clone();
    assert!(openai["canary"].is_null(), "{openai}");
}

#[tokio::test]
async fn a_canary_refusing_exactly_what_stable_refuses_stays() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "fixture=openai/openai-text,refuse_one_in=10").await;
    install_refusing_canary(&gateway).await;
    let answers = ask(&gateway, 0..300).await;
    for (i, (status, _, refused)) in answers.iter().enumerate() {
        let expected = if *refused { 400 } else { 200 };
        assert_eq!(*status, expected, "question {i}");
    }
    let canary_served = answers
        .iter()
        .filter(|(status, adapter, _)| *status == 200 && adapter.starts_with("openai@9.5.0+"))
        .count();
    assert!(
        canary_served >= 40,
        "the canary was judged: {canary_served}"
    );
    assert!(!rolled_back(&gateway).await, "{}", gateway.log());
}
