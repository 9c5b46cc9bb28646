//! Credential pools and bring-your-own-key end to end: the real binary, the mock upstream
//! refusing chosen keys (`refuse_key`), and the credential each upstream request carried, read
//! back from the mock's record. BYOK runs on SQLite and on PostgreSQL (with
//! `SWITCHYARD_TEST_POSTGRES_URL`, see `accounting.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use accounts::*;
use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const GOOD: &str = "sk-pool-good-key-0001";
const BAD: &str = "sk-pool-bad-key-00002";

/// The bearer credential of every request the mock got for `scenario`.
fn credentials_seen(mock: &MockUpstream, scenario: &str) -> Vec<String> {
    mock.requests_for(scenario)
        .iter()
        .map(|request| {
            let authorization = request.header("authorization").unwrap_or_default();
            authorization.trim_start_matches("Bearer ").to_owned()
        })
        .collect()
}

fn pooled_provider(mock: &MockUpstream, scenario: &str, members: &[(&str, &str)]) -> String {
    let mut text = format!(
        "[providers.oa]\nplugin = \"openai\"\nbase_url = \"{}\"\n",
        mock.base_url(scenario)
    );
    for (name, variable) in members {
        text.push_str(&format!(
            "[[providers.oa.credentials]]\nname = \"{name}\"\napi_key_env = \"{variable}\"\n"
        ));
    }
    text
}

#[tokio::test]
async fn a_pool_with_one_429ing_credential_keeps_serving_at_full_rate() {
    let mock = MockUpstream::start().await.unwrap();
    let scenario = format!("fixture=openai/openai-text,refuse_key={BAD}");
    let config = format!(
        "{}{}",
        pooled_provider(
            &mock,
            &scenario,
            &[("bad", "POOL_BAD"), ("good", "POOL_GOOD")]
        ),
        model("openai/gpt-4.1-nano", &[("oa", "0.1", "0.4")])
    );
    let gateway = Gateway::start_with_env(&config, &[("POOL_BAD", BAD), ("POOL_GOOD", GOOD)]).await;

    let mut body = request("openai/gpt-4.1-nano", false);
    body["provider"] = json!({ "allow_fallbacks": false });
    // Four at a time: until the bad key's first 429 is back, a few may pick it.
    let mut answers = Vec::new();
    for _ in 0..10 {
        let batch =
            (0..4).map(|_| gateway.post_with_headers(&body, &[("x-switchyard-debug", "routing")]));
        answers.extend(futures_util::future::join_all(batch).await);
    }
    for (status, _, text) in &answers {
        assert_eq!(*status, 200, "{text}");
        let answer: Value = serde_json::from_str(text).unwrap();
        let attempts = answer["routing"]["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "no failover: {answer}");
        assert_eq!(attempts[0]["credential"], "good", "{answer}");
        assert!(!text.contains(GOOD) && !text.contains(BAD));
    }
    let seen = credentials_seen(&mock, &scenario);
    let bad = seen.iter().filter(|key| *key == BAD).count();
    let good = seen.iter().filter(|key| *key == GOOD).count();
    assert_eq!(good, 40, "every request served by the good key: {seen:?}");
    assert!(
        (1..=4).contains(&bad),
        "the bad key is tried until it answers 429 once, then cools down: {seen:?}"
    );

    let (status, providers) = gateway.get("/api/v1/providers").await;
    assert_eq!(status, 200);
    let oa = providers["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "oa")
        .unwrap()
        .clone();
    let credentials = oa["credentials"].as_array().unwrap();
    assert_eq!(credentials[0]["name"], "bad");
    assert_eq!(credentials[0]["state"], "open");
    assert_eq!(credentials[0]["refused"], bad);
    assert_eq!(credentials[1]["name"], "good");
    assert_eq!(credentials[1]["served"], 40);
    assert!(!providers.to_string().contains(GOOD));
}

#[tokio::test]
async fn a_pool_whose_credentials_all_cool_down_fails_over_to_other_endpoints() {
    let mock = MockUpstream::start().await.unwrap();
    let refusing = format!("fixture=openai/openai-text,refuse_key={BAD}");
    let config = format!(
        "{}{}{}",
        pooled_provider(&mock, &refusing, &[("only", "POOL_BAD")]),
        provider("backup", "openai", &mock, "fixture=openai/openai-text", ""),
        model(
            "openai/gpt-4.1-nano",
            &[("oa", "0.1", "0.4"), ("backup", "0.2", "0.8")]
        )
    );
    let gateway = Gateway::start_with_env(&config, &[("POOL_BAD", BAD)]).await;
    let body = request("openai/gpt-4.1-nano", false);
    for _ in 0..5 {
        let (status, headers, answer) = gateway.chat(&body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["provider"], "backup", "{headers:?}");
    }
    // Refused once, then skipped while it cools down: the upstream is not asked again.
    assert_eq!(credentials_seen(&mock, &refusing), vec![BAD.to_owned()]);
    assert_eq!(
        credentials_seen(&mock, "fixture=openai/openai-text"),
        vec![KEY.to_owned(); 5]
    );
}

/// The operator key sealing accounts' keys (`id:base64`), and a second one to rotate to.
const SEAL_OLD: &str = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SEAL_NEW: &str = "new:Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

const ALICE_KEY: &str = "sk-alice-own-key-0001";
const BOB_KEY: &str = "sk-bob-own-key-000002";
const REVOKED: &str = "sk-revoked-own-key-03";
const SCENARIO: &str = "fixture=openai/openai-text,refuse_key=sk-revoked-own-key-03,status=401";

/// One provider named `openai` (its keys start with `sk-`) on the mock, token prices, BYOK fee
/// 10 %, accounting on `database`, sealing with `seal`.
async fn byok_gateway(database: &Database, mock: &MockUpstream, seal: &str) -> Gateway {
    let config = format!(
        "{}[[models]]\nid = \"openai/gpt-4.1-nano\"\nendpoints = [{{ provider = \"openai\", upstream_model = \"up\", {TOKEN_PRICES} }}]\n\n{}[accounting.byok]\nfee_percent = \"10\"\n",
        provider("openai", "openai", mock, SCENARIO, ""),
        database.config()
    );
    Gateway::start_with_env(
        &config,
        &[
            ("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN),
            ("SWITCHYARD_BYOK_KEYS", seal),
        ],
    )
    .await
}

async fn put_key(gateway: &Gateway, account: &str, key: &str, fallback: bool) -> (u16, Value) {
    admin(
        gateway,
        "PUT",
        &format!("/accounts/{account}/keys/openai"),
        json!({ "key": key, "fallback": fallback }),
    )
    .await
}

/// A chat as `secret` with a bounded worst case; returns (status, answer, the credential the
/// upstream saw, if it was asked).
async fn chat_seen(
    gateway: &Gateway,
    mock: &MockUpstream,
    secret: &str,
) -> (u16, Value, Option<String>) {
    let before = mock.requests_for(SCENARIO).len();
    let mut body = request("openai/gpt-4.1-nano", false);
    body["max_tokens"] = json!(363);
    let (status, answer) = chat_as(gateway, secret, &body).await;
    let seen = credentials_seen(mock, SCENARIO);
    (status, answer, seen.get(before).cloned())
}

async fn byok_serves_each_account_on_its_own_key(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = byok_gateway(&database, &mock, SEAL_OLD).await;
    // Alice: her key only. Bob: his key, the operator's when it is refused. Carol: none.
    let (_, alice) = key_with_credits(&gateway, "alice", "0.0001", json!({})).await;
    let (_, bob) = key_with_credits(&gateway, "bob", "1", json!({})).await;
    let (_, carol) = key_with_credits(&gateway, "carol", "1", json!({})).await;

    // Refused at upload: a key of another shape, an unknown provider, an unknown account.
    let (status, error) = put_key(&gateway, "alice", "gsk_not-an-openai-key-1", false).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "invalid_key");
    assert!(!error.to_string().contains("gsk_not"), "{error}");
    assert_eq!(put_key(&gateway, "alice", "sk-short", false).await.0, 422);
    let (status, _) = admin(
        &gateway,
        "PUT",
        "/accounts/alice/keys/nope",
        json!({ "key": ALICE_KEY }),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(put_key(&gateway, "nobody", ALICE_KEY, false).await.0, 404);

    let (status, stored) = put_key(&gateway, "alice", ALICE_KEY, false).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["data"]["last_four"], "0001");
    assert_eq!(put_key(&gateway, "bob", BOB_KEY, true).await.0, 200);
    let (status, listed) = admin(&gateway, "GET", "/accounts/alice/keys", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"][0]["provider"], "openai");
    assert!(!listed.to_string().contains(ALICE_KEY), "{listed}");

    // 16 × 0.10 + 363 × 0.40 = 146.8 per million, + 5 % platform fee = 0.00015414; BYOK 10 %.
    let full = 0.00015414;
    let fee = 0.000015414;
    // Alice's 0.0001 covers the fee but not the full price: her hold is the fee.
    let (status, answer, seen) = chat_seen(&gateway, &mock, &alice).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seen.as_deref(), Some(ALICE_KEY));
    assert_eq!(answer["usage"]["cost"].as_f64(), Some(fee));
    let (status, answer, seen) = chat_seen(&gateway, &mock, &bob).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seen.as_deref(), Some(BOB_KEY));
    assert_eq!(answer["usage"]["cost"].as_f64(), Some(fee));
    let id = answer["id"].as_str().unwrap().to_owned();
    let (_, record) = get_as(&gateway, &bob, &format!("/api/v1/generation?id={id}")).await;
    assert_eq!(record["data"]["is_byok"], true, "{record}");
    assert_eq!(
        record["data"]["upstream_inference_cost"].as_f64(),
        Some(0.0)
    );
    let (status, answer, seen) = chat_seen(&gateway, &mock, &carol).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seen.as_deref(), Some(KEY));
    assert_eq!(answer["usage"]["cost"].as_f64(), Some(full));
    let id = answer["id"].as_str().unwrap().to_owned();
    let (_, record) = get_as(&gateway, &carol, &format!("/api/v1/generation?id={id}")).await;
    assert_eq!(record["data"]["is_byok"], false, "{record}");

    // Revoked keys: Alice's request fails without the operator's key; Bob's falls back to it
    // and pays the full price.
    assert_eq!(put_key(&gateway, "alice", REVOKED, false).await.0, 200);
    assert_eq!(put_key(&gateway, "bob", REVOKED, true).await.0, 200);
    let before = credentials_seen(&mock, SCENARIO).len();
    let (status, answer, _) = chat_seen(&gateway, &mock, &alice).await;
    assert_ne!(status, 200, "{answer}");
    let seen = credentials_seen(&mock, SCENARIO);
    assert_eq!(
        seen[before..],
        [REVOKED.to_owned()],
        "no fallback for Alice"
    );
    let (status, answer, _) = chat_seen(&gateway, &mock, &bob).await;
    assert_eq!(status, 200, "{answer}");
    let seen = credentials_seen(&mock, SCENARIO);
    assert_eq!(seen[before + 1..], [REVOKED.to_owned(), KEY.to_owned()]);
    assert_eq!(answer["usage"]["cost"].as_f64(), Some(full));

    // Deleted: Alice's requests are the operator's again, at full price her credits lack.
    let (status, _) = admin(&gateway, "DELETE", "/accounts/alice/keys/openai", json!({})).await;
    assert_eq!(status, 200);
    let (status, answer, seen) = chat_seen(&gateway, &mock, &alice).await;
    assert_eq!(status, 402, "{answer}");
    assert_eq!(seen, None);
    let (status, _) = admin(&gateway, "DELETE", "/accounts/alice/keys/openai", json!({})).await;
    assert_eq!(status, 404);
    database
        .settled_books(&[&gateway])
        .await
        .assert_consistent();
}

#[tokio::test]
async fn byok_serves_each_account_on_its_own_key_on_sqlite() {
    byok_serves_each_account_on_its_own_key(Database::sqlite()).await;
}

#[tokio::test]
async fn byok_serves_each_account_on_its_own_key_on_postgres() {
    let Some(database) = Database::postgres("byok_serves_each_account").await else {
        return;
    };
    byok_serves_each_account_on_its_own_key(database).await;
}

#[tokio::test]
async fn stored_keys_survive_an_operator_key_rotation() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let mut gateway = byok_gateway(&database, &mock, SEAL_OLD).await;
    let (_, alice) = key_with_credits(&gateway, "alice", "1", json!({})).await;
    // Through the CLI, the key on standard input.
    let output = byok_cli(&gateway, &["set", "alice", "openai"], Some(ALICE_KEY)).await;
    assert_eq!(output["data"]["sealed_with"], "old", "{output}");
    gateway.terminate().await;

    // The new key first: the old one still opens what it sealed; rotation re-seals it.
    let sealing = format!("{SEAL_NEW},{SEAL_OLD}");
    let mut gateway = byok_gateway(&database, &mock, &sealing).await;
    assert_eq!(
        chat_seen(&gateway, &mock, &alice).await.2.as_deref(),
        Some(ALICE_KEY)
    );
    let rotated = byok_cli(&gateway, &["rotate"], None).await;
    assert_eq!(rotated["data"]["resealed"], 1, "{rotated}");
    let listed = byok_cli(&gateway, &["list", "alice"], None).await;
    assert_eq!(listed["data"][0]["sealed_with"], "new", "{listed}");
    assert!(!listed.to_string().contains(ALICE_KEY));
    gateway.terminate().await;

    // The old key dropped: nothing needed it any more.
    let gateway = byok_gateway(&database, &mock, SEAL_NEW).await;
    let (status, answer, seen) = chat_seen(&gateway, &mock, &alice).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(seen.as_deref(), Some(ALICE_KEY));
    let ciphertexts = sqlite_ciphertexts(&database).await;
    assert!(!ciphertexts.contains(ALICE_KEY) && !ciphertexts.is_empty());
}

/// `switchyard byok <args>` against `gateway`, `stdin` on its standard input.
async fn byok_cli(gateway: &Gateway, args: &[&str], stdin: Option<&str>) -> Value {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("byok")
        .args(args)
        .args(["--gateway", &gateway.url])
        .env("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input
            .write_all(format!("{text}\n").as_bytes())
            .await
            .unwrap();
    }
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{args:?} printed {stdout}"))
}

/// Every stored ciphertext, as read from the database file.
async fn sqlite_ciphertexts(database: &Database) -> String {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url()).await.unwrap();
    let rows = sqlx::query("SELECT ciphertext FROM byok_keys")
        .fetch_all(&pool)
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.get::<String, _>("ciphertext"))
        .collect::<Vec<_>>()
        .join(",")
}
