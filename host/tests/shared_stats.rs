//! End to end: gateways sharing one Redis see each other's live endpoint statistics, route on
//! them, forget a stopped gateway's figures, and keep serving on their own when Redis is gone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// Answers 300 ms late.
const SLOW: &str = "fixture=openai/openai-text,delay_ms=300";
/// Answers at once (the delay only tells the scenarios apart).
const FAST: &str = "fixture=openai/openai-text,delay_ms=1";

/// How long the figures may take to travel: generous, as the machine may be busy.
const PATIENCE: Duration = Duration::from_secs(60);

/// `m/s` on a slow and a fast provider, sharing statistics through `redis` under `prefix`.
fn config(mock: &MockUpstream, redis: &str, prefix: &str) -> String {
    format!(
        "{}{}\n[routing.shared_stats]\nredis_url = {redis:?}\ninterval_ms = 200\nkey_prefix = {prefix:?}\n\n{}",
        provider("slow", "openai", mock, SLOW, ""),
        provider("fast", "openai", mock, FAST, ""),
        model("m/s", &[("slow", "1", "1"), ("fast", "1", "1")]),
    )
}

/// The endpoints API's entry for `provider` of `m/s`.
async fn endpoint(gateway: &Gateway, provider: &str) -> Value {
    let (status, body) = gateway.get("/api/v1/models/m/s/endpoints").await;
    assert_eq!(status, 200, "{body}");
    body["data"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|endpoint| endpoint["provider_name"] == provider)
        .unwrap()
        .clone()
}

/// Polls `gateway`'s endpoints until `ready` holds for (slow, fast), within [`PATIENCE`].
async fn wait_for(gateway: &Gateway, what: &str, ready: impl Fn(&Value, &Value) -> bool) {
    let started = Instant::now();
    loop {
        let (slow, fast) = (
            endpoint(gateway, "slow").await,
            endpoint(gateway, "fast").await,
        );
        if ready(&slow, &fast) {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{what}: not within {PATIENCE:?}\nslow: {slow}\nfast: {fast}\n{}",
            gateway.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn requests(endpoint: &Value) -> u64 {
    endpoint["requests"].as_u64().unwrap()
}

#[tokio::test]
async fn a_gateway_routes_on_the_figures_another_gateway_measured() {
    let test = "a_gateway_routes_on_the_figures_another_gateway_measured";
    let Some(redis) = test_redis_url(test) else {
        return;
    };
    // Only this run's gateways share figures.
    let prefix = format!("switchyard-test:{}:{}", std::process::id(), rand_suffix());
    let mock = MockUpstream::start().await.unwrap();
    let first = Gateway::start(&config(&mock, &redis, &prefix)).await;
    let second = Gateway::start(&config(&mock, &redis, &prefix)).await;
    assert_eq!(requests(&endpoint(&second, "slow").await), 0);

    for provider in ["slow", "slow", "fast", "fast", "fast"] {
        let mut body = request("m/s", false);
        body["provider"] = json!({ "only": [provider] });
        let (status, _, response) = first.chat(&body).await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["provider"], provider);
    }

    // The second gateway served nothing, yet shows the first one's figures...
    wait_for(&second, "the first gateway's figures", |slow, fast| {
        requests(slow) == 2 && requests(fast) == 3
    })
    .await;
    let slow = endpoint(&second, "slow").await;
    let fast = endpoint(&second, "fast").await;
    assert!(slow["latency"]["p50"].as_f64().unwrap() >= 300.0, "{slow}");
    assert!(fast["latency"]["p50"].as_f64().unwrap() < 300.0, "{fast}");
    assert_eq!(slow["uptime"], 100.0);
    // ...and routes on them: quickest first token first.
    let mut body = request("m/s", false);
    body["provider"] = json!({ "sort": "latency" });
    let (status, _, text) = second
        .post_with_headers(&body, &[("X-Switchyard-Debug", "routing")])
        .await;
    let response: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["provider"], "fast");
    let order: Vec<&str> = response["routing"]["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["provider"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["fast", "slow"]);
    // The first gateway counts the second's request.
    wait_for(&first, "the second gateway's request", |_, fast| {
        requests(fast) == 4
    })
    .await;

    // A stopped gateway's figures expire: the second one is left with its own request.
    drop(first);
    wait_for(
        &second,
        "the stopped gateway's figures expiring",
        |slow, fast| requests(slow) == 0 && requests(fast) == 1,
    )
    .await;
}

#[tokio::test]
async fn without_redis_a_gateway_serves_on_its_own_figures() {
    let mock = MockUpstream::start().await.unwrap();
    // Nothing listens on port 1.
    let gateway = Gateway::start(&config(&mock, "redis://127.0.0.1:1", "unused")).await;
    for _ in 0..3 {
        let (status, _, response) = gateway.chat(&request("m/s", false)).await;
        assert_eq!(status, 200, "{response}");
    }
    wait_for(&gateway, "the local figures", |slow, fast| {
        requests(slow) + requests(fast) == 3
    })
    .await;
    let started = Instant::now();
    while !gateway.log().contains("shared statistics unavailable") {
        assert!(started.elapsed() < PATIENCE, "{}", gateway.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A number unlikely to repeat across runs.
fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
