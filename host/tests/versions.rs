//! End to end: the contract is versioned and old plugins keep working. Adapters built against
//! the frozen `switchyard:plugin@0.1.0` to `@0.4.0` (with wit-bindgen directly, no SDK) load
//! beside the 0.5.0 first-party plugins and serve non-stream and stream requests.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use switchyard_tests::MockUpstream;

#[tokio::test]
async fn plugins_built_against_previous_contracts_still_serve() {
    let mock = MockUpstream::start().await.unwrap();
    let legacy = [
        ("v010", "legacy-v010", "0.1.0"),
        ("v020", "legacy-v020", "0.2.0"),
        ("v030", "legacy-v030", "0.3.0"),
        ("v040", "legacy-v040", "0.4.0"),
    ];
    let mut config = String::new();
    for (name, plugin, _) in legacy {
        config.push_str(&provider(
            name,
            plugin,
            &mock,
            "fixture=openai/openai-text",
            "",
        ));
        config.push_str(&model(&format!("m/{name}"), &[(name, "0.10", "0.40")]));
    }
    // The harness's plugins folder holds the hostile plugins; add the legacy ones beside them.
    let gateway = Gateway::start_with_plugins(
        &config,
        &[
            switchyard_tests::hostile::LEGACY_V0_1_0,
            switchyard_tests::hostile::LEGACY_V0_2_0,
            switchyard_tests::hostile::LEGACY_V0_3_0,
            switchyard_tests::hostile::LEGACY_V0_4_0,
        ],
    )
    .await;

    let (_, health) = gateway.get("/health").await;
    let providers = health["plugins"]["providers"].as_array().unwrap();
    let contract_of =
        |name: &str| providers.iter().find(|p| p["name"] == name).unwrap()["contract"].clone();
    assert_eq!(contract_of("openai"), "0.5.0");
    for (name, plugin, contract) in legacy {
        assert_eq!(contract_of(plugin), contract);
        let model = format!("m/{name}");

        let (status, _, body) = gateway.chat(&request(&model, false)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["provider"], name);
        assert_eq!(body["usage"]["completion_tokens"], 363);
        assert!(
            body["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .starts_with("**Holiday Name:**")
        );

        let (status, events) = gateway.stream(&request(&model, true)).await;
        assert_eq!(status, 200);
        assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
        assert!(streamed_text(&chunks(&events)).starts_with("**Holiday Name:**"));
    }
}
