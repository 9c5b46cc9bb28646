//! End to end: the dashboard in a real headless Chromium, driven over WebDriver
//! (chromedriver): log in with the admin token, see a request just made in the activity with
//! its cost, create a key and see it listed, roll back a plugin. Screenshots go to
//! `target/tmp/dashboard-*.png`. Chromium and chromedriver come from the variables
//! `SWITCHYARD_TEST_CHROMIUM` and `SWITCHYARD_TEST_CHROMEDRIVER` (paths, set by `.ci/run`);
//! without them the test prints SKIPPED and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod browser;
mod common;

use browser::Browser;
use common::*;
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "dashboard-admin-token";

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

/// A non-streamed chat request with `secret`, which must succeed.
async fn chat(gateway: &Gateway, secret: &str) -> Value {
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(secret)
        .json(&request("demo/steady-chat", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Uploads the broken `openai` adapter (9.9.9) through the admin API; `query` may make it a
/// canary.
async fn install_broken_openai(gateway: &Gateway, query: &str) {
    let broken = std::fs::read(switchyard_tests::hostile::BROKEN_OPENAI).unwrap();
    let response = gateway
        .client
        .post(format!("{}/admin/plugins{query}", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .body(broken)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn the_dashboard_shows_activity_creates_keys_and_rolls_back_plugins() {
    let (Ok(chromium), Ok(chromedriver)) = (
        std::env::var("SWITCHYARD_TEST_CHROMIUM"),
        std::env::var("SWITCHYARD_TEST_CHROMEDRIVER"),
    ) else {
        eprintln!(
            "SKIPPED dashboard: set SWITCHYARD_TEST_CHROMIUM and SWITCHYARD_TEST_CHROMEDRIVER"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[plugins.overrides.openai]\nreplace_builtin = true\n\n[accounting]\nenabled = true\nsqlite_path = {:?}\n",
        dir.path().join("books.db").display().to_string()
    );
    let gateway = Gateway::start_with_args(
        &config,
        &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)],
        &["--demo"],
    )
    .await;

    // A request with a key, as a client would make it.
    let created = admin(
        &gateway,
        "/keys",
        json!({ "label": "client", "account": "acme" }),
    )
    .await;
    admin(&gateway, "/accounts/acme/credits", json!({ "amount": "5" })).await;
    let secret = created["data"]["key"].as_str().unwrap();
    let answer = chat(&gateway, secret).await;
    let id = answer["id"].as_str().unwrap().to_owned();
    let cost = answer["usage"]["cost"].as_f64().unwrap();

    let browser = Browser::start(&chromium, &chromedriver, &dir.path().join("profile")).await;
    browser.open(&format!("{}/dashboard", gateway.url)).await;
    browser.type_into("#token", "wrong").await;
    browser.click("#login").await;
    let refused = browser
        .wait_for("const e = document.querySelector('#login-error'); return e.textContent ? e.textContent : null;")
        .await;
    assert!(
        refused.as_str().unwrap().contains("invalid admin token"),
        "{refused}"
    );
    browser
        .run("document.querySelector('#token').value = ''; return null;")
        .await;
    browser.type_into("#token", ADMIN_TOKEN).await;
    browser.click("#login").await;

    // Activity: the request just made, with its cost.
    let shown = browser
        .wait_for(&format!(
            "const row = document.querySelector('#activity-table tr[data-id=\"{id}\"]'); return row ? row.querySelector('.cost').textContent : null;"
        ))
        .await;
    let shown: f64 = shown.as_str().unwrap().parse().unwrap();
    assert!(
        (shown - cost).abs() < 1e-12,
        "dashboard {shown}, answer {cost}"
    );
    browser.screenshot("activity").await;

    // Keys: create one, its secret shown once, then listed.
    browser.click("#tabs button[data-tab=keys]").await;
    browser.type_into("#key-label", "made-in-browser").await;
    browser.click("#key-create").await;
    let secret_text = browser
        .wait_for("const e = document.querySelector('#key-secret'); return e.hidden ? null : e.textContent;")
        .await;
    assert!(
        secret_text.as_str().unwrap().contains("sk-sy-"),
        "{secret_text}"
    );
    let listed = browser
        .wait_for("const rows = [...document.querySelectorAll('#keys-table tbody tr')]; return rows.some(r => r.textContent.includes('made-in-browser')) ? true : null;")
        .await;
    assert_eq!(listed, json!(true));
    browser.screenshot("keys").await;

    // Plugins: a replacement adapter is rolled back from the page.
    install_broken_openai(&gateway, "").await;
    browser.click("#tabs button[data-tab=plugins]").await;
    let version_of_openai = "const row = document.querySelector('#plugins-table tr[data-plugin=openai]'); return row ? row.querySelector('.version').textContent : null;";
    assert_eq!(browser.wait_for(version_of_openai).await, json!("9.9.9"));
    browser
        .click("#plugins-table tr[data-plugin=openai] button.rollback")
        .await;
    browser
        .wait_for("const row = document.querySelector('#plugins-table tr[data-plugin=openai]'); return row && row.querySelector('.version').textContent === '0.1.0' ? true : null;")
        .await;
    let plugins: Value = gateway
        .client
        .get(format!("{}/admin/plugins", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let openai = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|plugin| plugin["name"] == "openai")
        .unwrap();
    assert_eq!(openai["current"]["version"], "0.1.0");

    // A broken canary taking all traffic: its failures are retried on the stable version (the
    // clients see none), the page shows its verdict so far, and rolling it back from the page
    // drops it while 0.1.0 keeps serving (not the previous version, the broken 9.9.9).
    install_broken_openai(&gateway, "?canary=1").await;
    for _ in 0..2 {
        chat(&gateway, secret).await;
    }
    browser.click("#tabs button[data-tab=plugins]").await;
    let canary_of_openai = "const row = document.querySelector('#plugins-table tr[data-plugin=openai]'); return row ? row.querySelector('.canary').textContent : null;";
    let verdict = browser
        .wait_for(&format!(
            "const text = (() => {{ {canary_of_openai} }})(); return text && text.includes('judged') ? text : null;"
        ))
        .await;
    assert!(
        verdict.as_str().unwrap().contains("9.9.9 (")
            && verdict
                .as_str()
                .unwrap()
                .contains("at 100% · 2 judged, 100.0% errors (stable 0.0%)"),
        "{verdict}"
    );
    browser.screenshot("plugins").await;
    browser
        .click("#plugins-table tr[data-plugin=openai] button.rollback")
        .await;
    browser
        .wait_for(&format!(
            "const text = (() => {{ {canary_of_openai} }})(); return text === '–' ? true : null;"
        ))
        .await;
    let version = browser.run(version_of_openai).await;
    assert_eq!(version, json!("0.1.0"));
    browser.close().await;
}
