//! End to end: warm plugin instances are reused, within a tenant only. The hostile adapter
//! `tests/plugins/stash` keeps each request's last message in a global and writes the previous
//! one into the next upstream body (`stashed`) and answer (`stashed: <text>`), so whatever an
//! instance carries from one request to the next shows. Reuse is proved by a positive control
//! (a tenant's second request carries its first); then no other account, no request after a trap,
//! no request under `isolation = "per-request"`, and no request after a hot swap or a canary
//! rollback may see it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use accounts::{ADMIN_TOKEN, Database, key_with_credits};
use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;
use switchyard_tests::hostile::STASH;

const SCENARIO: &str = "fixture=openai/openai-text";

/// A gateway serving `m/s` through the stash adapter, with `extra` configuration and the admin
/// API on.
async fn stash_gateway(mock: &MockUpstream, extra: &str) -> Gateway {
    let config = format!(
        "{extra}\n{}{}",
        provider("s", "stash", mock, SCENARIO, ""),
        model("m/s", &[("s", "1", "1")]),
    );
    let sections = Sections {
        server: "max_body_bytes = 65536",
        plugins: "call_timeout_ms = 500\nmemory_limit_mib = 32",
    };
    let env = [("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)];
    Gateway::start_with_sections(sections, &config, &env, &[STASH]).await
}

/// A one-message request whose text is `text`.
fn said(text: &str, stream: bool) -> Value {
    json!({ "model": "m/s", "stream": stream, "messages": [{ "role": "user", "content": text }] })
}

/// What the stash adapter sent upstream as the previous text, for the request saying `text`.
fn stashed_upstream(mock: &MockUpstream, text: &str) -> String {
    let found = mock.requests().into_iter().rev().find_map(|request| {
        let body = request.json?;
        let last = body["messages"].as_array()?.last()?["content"].as_str()? == text;
        last.then(|| body["stashed"].as_str().unwrap_or_default().to_owned())
    });
    found.unwrap_or_else(|| panic!("no upstream request said {text:?}"))
}

/// The previous text the answer tells (`stashed: <text>`).
fn stashed_answer(answer: &Value) -> String {
    let content = answer["choices"][0]["message"]["content"].as_str();
    let content = content.unwrap_or_else(|| panic!("no answer text: {answer}"));
    content.strip_prefix("stashed: ").unwrap().to_owned()
}

/// Sends `text` with key `secret` (no key: `None`); returns the previous text the instance
/// carried, as the upstream body and the answer tell it.
async fn ask(gateway: &Gateway, mock: &MockUpstream, secret: Option<&str>, text: &str) -> String {
    ask_version(gateway, mock, secret, text).await.1
}

/// [`ask`], also returning the adapter version that served.
async fn ask_version(
    gateway: &Gateway,
    mock: &MockUpstream,
    secret: Option<&str>,
    text: &str,
) -> (String, String) {
    let mut request = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .json(&said(text, false));
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{text}");
    let served = adapter(response.headers());
    let answer: Value = response.json().await.unwrap();
    let upstream = stashed_upstream(mock, text);
    assert_eq!(stashed_answer(&answer), upstream, "{text}: {answer}");
    (served, upstream)
}

#[tokio::test]
async fn warm_instances_never_serve_two_accounts() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = stash_gateway(&mock, &database.config()).await;
    let (_, alpha) = key_with_credits(&gateway, "alpha", "10", json!({})).await;
    let (_, beta) = key_with_credits(&gateway, "beta", "10", json!({})).await;

    assert_eq!(ask(&gateway, &mock, Some(&alpha), "alpha one").await, "");
    // Positive control: the account's next request runs in the same warm instance.
    assert_eq!(
        ask(&gateway, &mock, Some(&alpha), "alpha two").await,
        "alpha one",
        "instances are not reused: the test proves nothing"
    );
    // Another account gets an instance of its own, never alpha's.
    let beta_first = ask(&gateway, &mock, Some(&beta), "beta one").await;
    assert!(!beta_first.contains("alpha"), "beta saw {beta_first:?}");
    assert_eq!(
        ask(&gateway, &mock, Some(&beta), "beta two").await,
        "beta one"
    );
    assert_eq!(
        ask(&gateway, &mock, Some(&alpha), "alpha three").await,
        "alpha two"
    );
    let beta_third = ask(&gateway, &mock, Some(&beta), "beta three").await;
    assert_eq!(beta_third, "beta two");

    for request in mock.requests() {
        let body = request.json.unwrap_or_default();
        let text = body["messages"][0]["content"].as_str().unwrap_or_default();
        if text.starts_with("beta") {
            assert!(!body.to_string().contains("alpha"), "{body}");
        }
    }
}

#[tokio::test]
async fn an_instance_is_reused_after_a_stream_and_never_after_a_trap() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = stash_gateway(&mock, "").await;

    let (status, events) = gateway.stream(&said("one", true)).await;
    assert_eq!(status, 200);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    // The stream's decoder is dropped and the instance serves on.
    assert_eq!(ask(&gateway, &mock, None, "two").await, "one");

    let (status, _, body) = gateway.post(&said("three trap", false)).await;
    assert_ne!(status, 200, "{body}");
    // The instance that trapped (holding "three trap") is gone: a fresh one serves.
    assert_eq!(ask(&gateway, &mock, None, "four").await, "");
}

#[tokio::test]
async fn per_request_isolation_carries_nothing_over() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = stash_gateway(
        &mock,
        "[plugins.overrides.stash]\nisolation = \"per-request\"\n",
    )
    .await;
    for text in ["one", "two", "three"] {
        assert_eq!(ask(&gateway, &mock, None, text).await, "", "{text}");
    }
}

/// POSTs the admin API; returns the status and JSON body.
async fn admin(gateway: &Gateway, path: &str, body: Vec<u8>) -> (u16, Value) {
    let response = gateway
        .client
        .post(format!("{}/admin{path}", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// `name@version+digest` of the adapter version a response names.
fn adapter(headers: &reqwest::header::HeaderMap) -> String {
    headers["x-switchyard-adapter"].to_str().unwrap().to_owned()
}

/// One request of the swap test: its text, the version that served, what it carried over, and
/// whether it started after the swap returned.
struct Served {
    text: String,
    adapter: String,
    stashed: String,
    after_swap: bool,
}

#[tokio::test]
async fn no_request_after_a_hot_swap_gets_an_old_warm_instance() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Arc::new(stash_gateway(&mock, "").await);

    let swapped = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (gateway, swapped, stop) = (gateway.clone(), swapped.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut served = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Acquire) {
                n += 1;
                let text = format!("worker {worker} request {n}");
                let after_swap = swapped.load(Ordering::Acquire);
                let (status, headers, body) = gateway.post(&said(&text, false)).await;
                assert_eq!(status, 200, "{body}");
                let answer: Value = serde_json::from_str(&body).unwrap();
                served.push(Served {
                    adapter: adapter(&headers),
                    stashed: stashed_answer(&answer),
                    text,
                    after_swap,
                });
            }
            served
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let bytes = variant(std::fs::read(STASH).unwrap(), 1);
    let (status, body) = admin(&gateway, "/plugins", bytes).await;
    assert_eq!(status, 201, "{body}");
    swapped.store(true, Ordering::Release);
    let digest = body["current"]["digest"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Release);

    let mut served = Vec::new();
    for worker in workers {
        served.extend(worker.await.unwrap());
    }
    let new_version = format!("stash@1.0.0+{}", &digest[..12]);
    let by_text: HashMap<&str, &str> = (served.iter())
        .map(|s| (s.text.as_str(), s.adapter.as_str()))
        .collect();
    let (before, after): (Vec<&Served>, Vec<&Served>) = served.iter().partition(|s| !s.after_swap);
    assert!(
        before.len() >= 4 && after.len() >= 4,
        "too little load: {} before, {} after the swap",
        before.len(),
        after.len()
    );
    assert!(
        before.iter().any(|s| !s.stashed.is_empty()),
        "instances were not reused before the swap: the test proves nothing"
    );
    for request in after {
        assert_eq!(request.adapter, new_version, "{}", request.text);
        if !request.stashed.is_empty() {
            assert_eq!(
                by_text.get(request.stashed.as_str()).copied(),
                Some(new_version.as_str()),
                "{} carried {:?}, served by an old version",
                request.text,
                request.stashed
            );
        }
    }
}

#[tokio::test]
async fn a_canarys_warm_instances_go_with_its_rollback() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = stash_gateway(&mock, "").await;
    let (stable, carried) = ask_version(&gateway, &mock, None, "stable one").await;
    assert_eq!(carried, "");

    let canary_bytes = variant(std::fs::read(STASH).unwrap(), 1);
    let (status, body) = admin(&gateway, "/plugins?canary=1", canary_bytes.clone()).await;
    assert_eq!(status, 201, "{body}");
    let (canary, carried) = ask_version(&gateway, &mock, None, "canary one").await;
    assert_ne!(canary, stable, "the canary takes all traffic");
    assert_eq!(carried, "", "a new version starts from fresh instances");
    let (_, carried) = ask_version(&gateway, &mock, None, "canary two").await;
    assert_eq!(carried, "canary one", "the canary's instances are reused");

    let (status, body) = admin(&gateway, "/plugins/stash/rollback", Vec::new()).await;
    assert_eq!(status, 200, "{body}");
    let (served, carried) = ask_version(&gateway, &mock, None, "stable two").await;
    assert_eq!(served, stable);
    assert_eq!(
        carried, "stable one",
        "the stable version keeps its warm instance"
    );

    // The same canary again is a new load: nothing of the rolled-back one survives.
    let (status, body) = admin(&gateway, "/plugins?canary=1", canary_bytes).await;
    assert_eq!(status, 201, "{body}");
    let (served, carried) = ask_version(&gateway, &mock, None, "canary three").await;
    assert_eq!(served, canary);
    assert_eq!(
        carried, "",
        "a rolled-back canary's warm instance served again"
    );
}
