//! End to end: a plugin that panics, loops forever or allocates without bound costs only its
//! own request (502 naming the plugin) and the gateway keeps serving; with another endpoint
//! configured, the request fails over to it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchyard_tests::MockUpstream;

async fn hostile_gateway(mock: &MockUpstream) -> Gateway {
    let config = format!(
        "{}{}{}{}{}{}{}{}{}",
        provider("panics", "test-panic", mock, "", ""),
        provider("spins", "test-spin", mock, "", ""),
        provider("hogs", "test-hog", mock, "", ""),
        provider("good", "openai", mock, "fixture=openai/openai-text", ""),
        model("m/panic", &[("panics", "0", "0")]),
        model("m/spin", &[("spins", "0", "0")]),
        model("m/hog", &[("hogs", "0", "0")]),
        model("m/good", &[("good", "1", "1")]),
        model("m/hog-then-good", &[("hogs", "0", "0"), ("good", "1", "1")]),
    );
    Gateway::start(&config).await
}

async fn assert_costs_only_its_request(gateway: &Gateway, model: &str, plugin: &str, reason: &str) {
    for stream in [false, true] {
        let (status, _, body) = gateway.chat(&request(model, stream)).await;
        assert_eq!(status, 502, "{body}");
        assert_eq!(body["error"]["code"], "plugin_failed");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(plugin),
            "the error names the plugin: {message}"
        );
        assert!(message.contains(reason), "{message}");
        let (status, _, body) = gateway.chat(&request("m/good", false)).await;
        assert_eq!(status, 200, "the gateway keeps serving: {body}");
    }
}

#[tokio::test]
async fn a_panicking_plugin_costs_only_its_request() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = hostile_gateway(&mock).await;
    assert_costs_only_its_request(&gateway, "m/panic", "test-panic", "trapped").await;
    // The plugin's panic message, written to its sandboxed stderr, reaches the operator's log.
    assert!(
        gateway
            .log()
            .contains("test-panic plugin panics on purpose"),
        "{}",
        gateway.log()
    );
}

#[tokio::test]
async fn a_looping_plugin_is_stopped_by_its_deadline() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = hostile_gateway(&mock).await;
    assert_costs_only_its_request(&gateway, "m/spin", "test-spin", "500 ms call deadline").await;
}

#[tokio::test]
async fn an_allocating_plugin_is_stopped_by_its_memory_limit() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = hostile_gateway(&mock).await;
    assert_costs_only_its_request(&gateway, "m/hog", "test-hog", "memory").await;
}

#[tokio::test]
async fn a_failing_plugin_fails_over_to_the_next_endpoint() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = hostile_gateway(&mock).await;
    let (status, _, body) = gateway.chat(&request("m/hog-then-good", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "good");
    assert!(
        mock.requests().len() == 1,
        "hostile plugins never reach the upstream"
    );
}
