//! A client that forces timeouts (here: a `max_tokens` the upstream takes longer to generate
//! than the endpoint's timeout) does not open the endpoint's breaker for other clients: a
//! timeout while the endpoint served other requests to their end is the request's, not the
//! endpoint's. A timeout while nothing is served still counts: a hung upstream opens the
//! breaker. Through the real binary and the mock, which takes `max_tokens` × 20 ms to answer.
//! Each timeout counted against the request shows in `switchyard_client_timeouts_total`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// The admin token `/metrics` needs on the main listener.
const ADMIN_TOKEN: &str = "client-timeouts-admin-token";

/// Three consecutive failures open the breaker for ten minutes; the endpoint answers in
/// `max_tokens` × 20 ms and times out after 600 ms.
async fn slow_endpoint() -> (Gateway, MockUpstream) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[routing.circuit_breaker]\nfailures = 3\ncooldown_ms = 600000\n\n{}{}",
        provider(
            "slow",
            "openai",
            &mock,
            "ms_per_max_token=20",
            "timeouts = { first_byte_ms = 600 }",
        ),
        model("m/slow", &[("slow", "1", "1")]),
    );
    let env = [("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)];
    (Gateway::start_with_env(&config, &env).await, mock)
}

fn asking(max_tokens: u64) -> Value {
    let mut body = request("m/slow", false);
    body["max_tokens"] = json!(max_tokens);
    body
}

/// A wave of requests asking for 2,000 tokens (40 s of generation): each times out.
async fn timeouts(gateway: &Gateway, count: usize) {
    let body = asking(2_000);
    let wave = (0..count).map(|_| gateway.chat(&body));
    for (status, _, body) in futures_util::future::join_all(wave).await {
        assert_eq!(status, 504, "{body}");
    }
}

async fn circuit(gateway: &Gateway) -> Value {
    let (status, endpoints) = gateway.get("/api/v1/models/m/slow/endpoints").await;
    assert_eq!(status, 200, "{endpoints}");
    endpoints["data"]["endpoints"][0]["circuit"].clone()
}

/// The timeouts `/metrics` counts against the requests to the `slow` provider (0 when it shows
/// none).
async fn client_timeouts(gateway: &Gateway) -> f64 {
    let response = gateway
        .client
        .get(format!("{}/metrics", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let provider = "gen_ai_provider_name=\"slow\"";
    sample(&text, "switchyard_client_timeouts_total", &[provider]).unwrap_or(0.0)
}

#[tokio::test]
async fn a_client_forcing_timeouts_does_not_open_the_breaker_for_others() {
    let (gateway, _mock) = slow_endpoint().await;
    let others = async {
        let mut statuses = Vec::new();
        let until = tokio::time::Instant::now() + Duration::from_secs(3);
        while tokio::time::Instant::now() < until {
            let (status, _, body) = gateway.chat(&asking(5)).await;
            statuses.push((status, body));
        }
        statuses
    };
    let attacker = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        timeouts(&gateway, 6).await;
        timeouts(&gateway, 6).await;
    };
    let (statuses, ()) = tokio::join!(others, attacker);
    assert!(statuses.len() > 5, "{statuses:?}");
    let failed: Vec<_> = statuses
        .iter()
        .filter(|(status, _)| *status != 200)
        .collect();
    assert!(failed.is_empty(), "{failed:?}\n{}", gateway.log());
    assert_eq!(circuit(&gateway).await, "closed");
    // The breaker stayed closed because (nearly) every forced timeout was the client's, and
    // each of those is counted.
    let counted = client_timeouts(&gateway).await;
    assert!((10.0..=12.0).contains(&counted), "{counted}");
    let (status, _, body) = gateway.chat(&asking(5)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn timeouts_while_nothing_is_served_still_open_the_breaker() {
    let (gateway, _mock) = slow_endpoint().await;
    timeouts(&gateway, 3).await;
    assert_eq!(circuit(&gateway).await, "open");
    assert_eq!(client_timeouts(&gateway).await, 0.0);
    let (status, _, body) = gateway.chat(&asking(5)).await;
    assert_ne!(status, 200, "the open breaker refuses: {body}");
}
