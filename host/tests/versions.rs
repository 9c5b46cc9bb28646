//! End to end: the contract is versioned and old plugins keep working. An adapter built against
//! the frozen `switchyard:plugin@0.1.0` (with wit-bindgen directly, no SDK) loads beside the
//! 0.2.0 first-party plugins and serves non-stream and stream requests.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchyard_tests::MockUpstream;

#[tokio::test]
async fn a_plugin_built_against_the_previous_contract_still_serves() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider(
            "old",
            "legacy-v010",
            &mock,
            "fixture=openai/openai-text",
            ""
        ),
        model("m/old", &[("old", "0.10", "0.40")]),
    );
    // The harness's plugins folder holds the hostile plugins; add the legacy one beside them.
    let gateway =
        Gateway::start_with_plugins(&config, &[switchyard_tests::hostile::LEGACY_V0_1_0]).await;

    let (_, health) = gateway.get("/health").await;
    let providers = health["plugins"]["providers"].as_array().unwrap();
    let contract_of =
        |name: &str| providers.iter().find(|p| p["name"] == name).unwrap()["contract"].clone();
    assert_eq!(contract_of("legacy-v010"), "0.1.0");
    assert_eq!(contract_of("openai"), "0.2.0");

    let (status, _, body) = gateway.chat(&request("m/old", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "old");
    assert_eq!(body["usage"]["completion_tokens"], 363);
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("**Holiday Name:**")
    );

    let (status, events) = gateway.stream(&request("m/old", true)).await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    assert!(streamed_text(&chunks(&events)).starts_with("**Holiday Name:**"));
}
