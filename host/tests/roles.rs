//! Roles and admin tokens, through the real binary on SQLite and PostgreSQL: every admin route
//! of the route table against every role (a route without a declared role fails the test),
//! tokens scoped to an account that see and change only their organisation, the token
//! lifecycle (shown once, listed without secret, removed at once on another gateway), and the
//! audit log: one entry per admin change, secrets redacted, filters, pages and retention.
//!
//! PostgreSQL tests need `SWITCHYARD_TEST_POSTGRES_URL` and say they are skipped without it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use std::time::{Duration, Instant};

use accounts::*;
use common::*;
use serde_json::{Value, json};
use switchyard_api::roles::Access;
use switchyard_tests::MockUpstream;

const ROLES: [&str; 4] = ["owner", "operator", "billing", "viewer"];

async fn role_gateway(database: &Database, mock: &MockUpstream) -> Gateway {
    role_gateway_with(database, mock, &[]).await
}

/// [`role_gateway`] with more environment variables.
async fn role_gateway_with(
    database: &Database,
    mock: &MockUpstream,
    env: &[(&str, &str)],
) -> Gateway {
    let config = format!(
        "{}{}{}",
        provider("oa", "openai", mock, "fixture=openai/openai-text", ""),
        model("openai/gpt-4.1-nano", &[("oa", "0.10", "0.40")]),
        database.config()
    );
    let mut env = env.to_vec();
    env.push(("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN));
    Gateway::start_with_env(&config, &env).await
}

/// The operator key sealing accounts' own provider keys (`id:base64`).
const SEAL: &str = "seal:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// An account's own provider key, which no audit entry may show.
const OWN_KEY: &str = "own-provider-key-secret-9876";

/// `method /admin{path}` with `token`.
async fn admin_as(
    gateway: &Gateway,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = gateway
        .client
        .request(method.parse().unwrap(), format!("{}{path}", gateway.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates a token of `role` (scoped to `account`) with the bootstrap owner token; answers
/// (id, secret).
async fn token(gateway: &Gateway, role: &str, account: Option<&str>) -> (String, String) {
    let (status, answer) = admin(
        gateway,
        "POST",
        "/tokens",
        json!({ "role": role, "account": account, "label": format!("{role} test") }),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let data = &answer["data"];
    assert_eq!(data["role"], role);
    let secret = data["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sy-admin-"), "{secret}");
    (data["id"].as_str().unwrap().to_owned(), secret)
}

/// What the test expects of `role` on a route of `access`: written out here, apart from the
/// gateway's own rule.
fn expected_allowed(role: &str, access: Access, method: &str) -> bool {
    let reads = method == "GET" || method == "HEAD";
    match (role, access) {
        ("owner", _) => true,
        (_, Access::Tokens) => false,
        (_, Access::Audit | Access::Session) => reads,
        ("operator", Access::Operations) => true,
        ("billing", Access::Billing) => true,
        (_, Access::Operations | Access::Billing) => reads,
    }
}

fn filled(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn every_admin_route_against_every_role(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = role_gateway(&database, &mock).await;
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push((role, token(&gateway, role, None).await.1));
    }
    let mut checked = 0;
    for route in switchyard_api::table::routes() {
        let path = route.path();
        let is_admin = path.starts_with("/admin");
        let Some(access) = route.access() else {
            assert!(!is_admin, "admin route {path} declares no role");
            continue;
        };
        assert!(
            is_admin || path.starts_with("/api/v1/keys"),
            "{path} declares a role but is not an admin nor a key management route"
        );
        for method in route.methods() {
            for (role, secret) in &tokens {
                let (status, answer) =
                    admin_as(&gateway, secret, method.as_str(), &filled(path), json!({})).await;
                let refused = status == 403 && answer["error"]["code"] == "forbidden_role";
                assert_ne!(status, 401, "{role} {method} {path}: {answer}");
                if expected_allowed(role, access, method.as_str()) {
                    assert!(!refused, "{role} refused {method} {path}: {answer}");
                } else {
                    assert!(refused, "{role} allowed {method} {path}: {status} {answer}");
                    assert!(answer["error"]["message"].as_str().unwrap().contains(role));
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 4 * 20, "only {checked} checks");
    // A wrong token is a 401, as before; none at all too.
    let (status, _) = admin_as(&gateway, "sy-admin-nope", "GET", "/admin/keys", json!({})).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn every_admin_route_against_every_role_on_sqlite() {
    every_admin_route_against_every_role(Database::sqlite()).await;
}

#[tokio::test]
async fn every_admin_route_against_every_role_on_postgres() {
    let test = "every_admin_route_against_every_role";
    if let Some(database) = Database::postgres(test).await {
        every_admin_route_against_every_role(database).await;
    }
}

async fn scoped_tokens_see_only_their_account(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = role_gateway(&database, &mock).await;
    for account in ["acme", "globex"] {
        let (status, team) = admin(
            &gateway,
            "POST",
            "/teams",
            json!({ "id": format!("{account}-ops"), "account": account }),
        )
        .await;
        assert_eq!(status, 201, "{team}");
        key_with_credits(&gateway, account, "5", json!({})).await;
    }
    let (globex_key, _) = key_with_credits(&gateway, "globex", "1", json!({})).await;
    let (_, billing) = token(&gateway, "billing", Some("acme")).await;
    let (_, viewer) = token(&gateway, "viewer", Some("acme")).await;

    // Lists hold acme's only.
    for secret in [&billing, &viewer] {
        let (status, keys) = admin_as(&gateway, secret, "GET", "/admin/keys", json!({})).await;
        assert_eq!(status, 200, "{keys}");
        let accounts: Vec<&str> = keys["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["account"].as_str().unwrap())
            .collect();
        assert!(
            !accounts.is_empty() && accounts.iter().all(|a| *a == "acme"),
            "{keys}"
        );
        let (status, teams) = admin_as(&gateway, secret, "GET", "/admin/teams", json!({})).await;
        assert_eq!(status, 200, "{teams}");
        assert_eq!(teams["data"].as_array().unwrap().len(), 1, "{teams}");
        assert_eq!(teams["data"][0]["id"], "acme-ops");
    }
    // Another account's things are out of reach, by name (403) or by id (404).
    let calls = [
        ("GET", "/admin/accounts/globex".to_owned(), json!({}), 403),
        (
            "GET",
            "/admin/teams?account=globex".to_owned(),
            json!({}),
            403,
        ),
        ("GET", "/admin/teams/globex-ops".to_owned(), json!({}), 404),
        (
            "PATCH",
            "/admin/teams/globex-ops".to_owned(),
            json!({ "requests_per_minute": 1 }),
            404,
        ),
        (
            "DELETE",
            "/admin/teams/globex-ops".to_owned(),
            json!({}),
            404,
        ),
        (
            "PATCH",
            format!("/admin/keys/{globex_key}"),
            json!({ "disabled": true }),
            404,
        ),
        (
            "DELETE",
            format!("/admin/keys/{globex_key}"),
            json!({}),
            404,
        ),
        (
            "POST",
            "/admin/keys".to_owned(),
            json!({ "account": "globex" }),
            403,
        ),
        (
            "POST",
            "/admin/teams".to_owned(),
            json!({ "id": "t2", "account": "globex" }),
            403,
        ),
        (
            "POST",
            "/admin/accounts/globex/credits".to_owned(),
            json!({ "amount": 5 }),
            403,
        ),
        (
            "PATCH",
            "/admin/accounts/globex".to_owned(),
            json!({ "requests_per_minute": 1 }),
            403,
        ),
        (
            "GET",
            "/admin/audit?account=globex".to_owned(),
            json!({}),
            403,
        ),
        ("GET", "/admin/plugins".to_owned(), json!({}), 403),
        (
            "GET",
            "/admin/usage?account=globex".to_owned(),
            json!({}),
            403,
        ),
        (
            "DELETE",
            "/admin/cache?account=globex".to_owned(),
            json!({}),
            403,
        ),
        (
            "GET",
            "/admin/accounts/globex/keys".to_owned(),
            json!({}),
            403,
        ),
        (
            "PUT",
            "/admin/accounts/globex/keys/oa".to_owned(),
            json!({ "key": "sk-globex-0123456789abcdef" }),
            403,
        ),
    ];
    for (method, path, body, expected) in calls {
        let (status, answer) = admin_as(&gateway, &billing, method, &path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
    }
    let (status, key) = admin(&gateway, "GET", "/keys", json!({})).await;
    assert_eq!(status, 200);
    let untouched = key["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["id"] == globex_key.as_str())
        .unwrap();
    assert_eq!(untouched["disabled"], false);

    // Its own account: a key made without naming an account lands there.
    let (status, created) = admin_as(&gateway, &billing, "POST", "/admin/keys", json!({})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["account"], "acme");
    let (status, _) = admin_as(
        &gateway,
        &billing,
        "POST",
        "/admin/accounts/acme/credits",
        json!({ "amount": 1 }),
    )
    .await;
    assert_eq!(status, 200);
    // Emptying the response cache without naming an account empties its own account's only.
    let (status, cleared) = admin_as(&gateway, &billing, "DELETE", "/admin/cache", json!({})).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["data"]["account"], "acme", "{cleared}");
    // The scoped viewer reads, never writes.
    let (status, answer) = admin_as(&gateway, &viewer, "POST", "/admin/keys", json!({})).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (403, json!("forbidden_role"))
    );
    // The audit log it reads is its account's.
    let (status, audit) = admin_as(&gateway, &viewer, "GET", "/admin/audit", json!({})).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["data"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|entry| entry["account"] == "acme"),
        "{audit}"
    );
}

#[tokio::test]
async fn scoped_tokens_see_only_their_account_on_sqlite() {
    scoped_tokens_see_only_their_account(Database::sqlite()).await;
}

#[tokio::test]
async fn scoped_tokens_see_only_their_account_on_postgres() {
    let test = "scoped_tokens_see_only_their_account";
    if let Some(database) = Database::postgres(test).await {
        scoped_tokens_see_only_their_account(database).await;
    }
}

/// A token is shown once, listed without its secret, refused bad shapes, and stops working at
/// once when removed; only owners manage tokens.
#[tokio::test]
async fn admin_token_lifecycle() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = role_gateway(&database, &mock).await;
    let (id, secret) = token(&gateway, "operator", None).await;
    let (status, list) = admin(&gateway, "GET", "/tokens", json!({})).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"][0]["id"], id.as_str());
    assert_eq!(list["data"][0]["created_by"], "env");
    assert!(!list.to_string().contains(&secret));
    assert!(list["data"][0].get("token").is_none());
    let (status, _) = admin_as(&gateway, &secret, "GET", "/admin/plugins", json!({})).await;
    assert_eq!(status, 200);

    for (body, expected) in [
        (json!({ "role": "root" }), 422),
        (json!({ "role": "owner", "account": "acme" }), 400),
        (json!({ "role": "operator", "account": "acme" }), 400),
        (json!({ "role": "viewer", "account": "" }), 400),
        (json!({ "role": "viewer", "extra": 1 }), 422),
    ] {
        let (status, answer) = admin(&gateway, "POST", "/tokens", body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    // An owner token made by the bootstrap one makes tokens too, named as their creator.
    let (owner_id, owner) = token(&gateway, "owner", None).await;
    let (status, made) = admin_as(
        &gateway,
        &owner,
        "POST",
        "/admin/tokens",
        json!({ "role": "viewer", "account": "acme" }),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["data"]["created_by"], owner_id.as_str());

    let (status, deleted) = admin(&gateway, "DELETE", &format!("/tokens/{id}"), json!({})).await;
    assert_eq!(status, 200, "{deleted}");
    let (status, _) = admin_as(&gateway, &secret, "GET", "/admin/plugins", json!({})).await;
    assert_eq!(status, 401);
    let (status, _) = admin(&gateway, "DELETE", &format!("/tokens/{id}"), json!({})).await;
    assert_eq!(status, 404);

    // The CLI makes one too.
    let made = cli(
        &gateway,
        &["tokens", "create", "--role", "billing", "--account", "acme"],
    )
    .await;
    assert_eq!(made["data"]["role"], "billing");
    assert_eq!(made["data"]["account"], "acme");
    assert!(
        made["data"]["token"]
            .as_str()
            .unwrap()
            .starts_with("sy-admin-")
    );
}

/// A token made through one gateway works on the other at once, and a removed one stops there
/// within a second.
#[tokio::test]
async fn a_token_change_shows_on_another_gateway_within_a_second() {
    let test = "a_token_change_shows_on_another_gateway";
    let Some(database) = Database::postgres(test).await else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let first = role_gateway(&database, &mock).await;
    let second = role_gateway(&database, &mock).await;
    let (id, secret) = token(&first, "viewer", None).await;
    let (status, _) = admin_as(&second, &secret, "GET", "/admin/keys", json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = admin(&first, "DELETE", &format!("/tokens/{id}"), json!({})).await;
    assert_eq!(status, 200);
    let removed = Instant::now();
    loop {
        let (status, _) = admin_as(&second, &secret, "GET", "/admin/keys", json!({})).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(removed.elapsed() < Duration::from_secs(1), "still accepted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The newest audit entry.
async fn newest_entry(gateway: &Gateway) -> (usize, Value) {
    let (status, audit) = admin(gateway, "GET", "/audit?limit=500", json!({})).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["data"].as_array().unwrap();
    (
        entries.len(),
        entries.first().cloned().unwrap_or(Value::Null),
    )
}

async fn each_admin_change_writes_one_audit_entry(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = role_gateway_with(&database, &mock, &[("SWITCHYARD_BYOK_KEYS", SEAL)]).await;
    let (billing_id, billing) = token(&gateway, "billing", None).await;
    let (mut count, first) = newest_entry(&gateway).await;
    assert_eq!(count, 1);
    assert_eq!(first["action"], "admin_token.create");
    assert_eq!(first["actor"], "env");
    assert_eq!(first["after"]["role"], "billing");
    assert_eq!(first["before"], Value::Null);

    let (status, key) = admin_as(
        &gateway,
        &billing,
        "POST",
        "/admin/keys",
        json!({ "account": "acme", "label": "k" }),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let key_id = key["data"]["id"].as_str().unwrap().to_owned();
    let key_secret = key["data"]["key"].as_str().unwrap().to_owned();
    let changes: Vec<(&str, String, Value, &str)> = vec![
        (
            "PATCH",
            format!("/admin/keys/{key_id}"),
            json!({ "label": "renamed" }),
            "key.update",
        ),
        (
            "POST",
            "/admin/teams".into(),
            json!({ "id": "ops", "account": "acme" }),
            "team.create",
        ),
        (
            "PATCH",
            "/admin/teams/ops".into(),
            json!({ "limit": 5 }),
            "team.update",
        ),
        (
            "DELETE",
            "/admin/teams/ops".into(),
            json!({}),
            "team.delete",
        ),
        (
            "PATCH",
            "/admin/accounts/acme".into(),
            json!({ "requests_per_minute": 9 }),
            "account.update",
        ),
        (
            "POST",
            "/admin/accounts/acme/credits".into(),
            json!({ "amount": 3 }),
            "account.credits",
        ),
        (
            "DELETE",
            format!("/admin/keys/{key_id}"),
            json!({}),
            "key.delete",
        ),
        (
            "PUT",
            "/admin/routing/shadow".into(),
            json!({ "shadows": [] }),
            "routing.shadow.set",
        ),
        (
            "DELETE",
            "/admin/routing/shadow".into(),
            json!({}),
            "routing.shadow.set",
        ),
        (
            "PUT",
            "/admin/accounts/acme/keys/oa".into(),
            json!({ "key": OWN_KEY }),
            "byok.upload",
        ),
        (
            "POST",
            "/admin/byok/rotate".into(),
            json!({}),
            "byok.rotate",
        ),
        (
            "DELETE",
            "/admin/accounts/acme/keys/oa".into(),
            json!({}),
            "byok.delete",
        ),
        (
            "DELETE",
            "/admin/cache?account=acme".into(),
            json!({}),
            "cache.clear",
        ),
        ("DELETE", "/admin/cache".into(), json!({}), "cache.clear"),
    ];
    let (_, entry) = newest_entry(&gateway).await;
    assert_eq!(entry["action"], "key.create");
    assert_eq!(entry["actor"], billing_id.as_str());
    assert_eq!(entry["account"], "acme");
    assert_eq!(entry["after"]["label"], "k");
    count += 1;
    for (method, path, body, action) in changes {
        let (status, answer) =
            admin(&gateway, method, path.trim_start_matches("/admin"), body).await;
        assert!(status < 300, "{method} {path}: {answer}");
        let (now, entry) = newest_entry(&gateway).await;
        assert_eq!(
            now,
            count + 1,
            "{method} {path} wrote {} entries",
            now - count
        );
        count = now;
        assert_eq!(entry["action"], action, "{entry}");
        assert_eq!(entry["actor"], "env");
        assert!(entry["at"].as_i64().unwrap() > 1_700_000_000);
    }
    // Before and after of an update.
    let (_, audit) = admin(&gateway, "GET", "/audit?action=key.update", json!({})).await;
    let update = &audit["data"][0];
    assert_eq!(
        (
            update["before"]["label"].clone(),
            update["after"]["label"].clone()
        ),
        (json!("k"), json!("renamed"))
    );
    let (_, audit) = admin(&gateway, "GET", "/audit?action=team.update", json!({})).await;
    assert_eq!(audit["data"][0]["before"]["limit"], Value::Null);
    assert_eq!(audit["data"][0]["after"]["limit"], 5.0);
    // An account's own key: named by account and provider, shown by its last four characters.
    let (_, audit) = admin(&gateway, "GET", "/audit?action=byok", json!({})).await;
    let byok: Vec<(&str, &str, Value)> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let target = e["target"].as_str().unwrap();
            (e["action"].as_str().unwrap(), target, e["account"].clone())
        })
        .collect();
    assert_eq!(
        byok,
        [
            ("byok.delete", "acme/oa", json!("acme")),
            ("byok.rotate", "*", Value::Null),
            ("byok.upload", "acme/oa", json!("acme")),
        ]
    );
    let upload = &audit["data"][2];
    assert_eq!(upload["before"], Value::Null);
    assert_eq!(upload["after"]["provider"], "oa");
    assert_eq!(upload["after"]["last_four"], &OWN_KEY[OWN_KEY.len() - 4..]);
    assert_eq!(upload["after"]["sealed_with"], "seal");
    // Sealed under the current operator key already: nothing to re-seal.
    assert_eq!(audit["data"][1]["after"], json!({ "resealed": 0 }));
    assert_eq!(
        (
            audit["data"][0]["before"].clone(),
            audit["data"][0]["after"].clone()
        ),
        (Value::Null, Value::Null)
    );
    // Emptying the cache: one account's entries, then every entry.
    let (_, audit) = admin(&gateway, "GET", "/audit?action=cache.clear", json!({})).await;
    let clears: Vec<(&str, Value, Value)> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let target = e["target"].as_str().unwrap();
            (target, e["account"].clone(), e["after"].clone())
        })
        .collect();
    assert_eq!(
        clears,
        [
            ("*", Value::Null, json!({ "removed": 0 })),
            ("acme", json!("acme"), json!({ "removed": 0 })),
        ]
    );
    // A refused change writes nothing.
    let (status, _) = admin(&gateway, "PATCH", "/teams/nope", json!({ "limit": 1 })).await;
    assert_eq!(status, 404);
    assert_eq!(newest_entry(&gateway).await.0, count);

    // No secret anywhere.
    let (_, everything) = admin(&gateway, "GET", "/audit?limit=500", json!({})).await;
    let text = everything.to_string();
    assert!(
        !text.contains(&key_secret) && !text.contains(&billing) && !text.contains(OWN_KEY),
        "a secret in {text}"
    );

    // Filters and pages.
    let (_, keys) = admin(&gateway, "GET", "/audit?action=key", json!({})).await;
    let actions: Vec<&str> = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["key.delete", "key.update", "key.create"]);
    let (_, by_billing) = admin(
        &gateway,
        "GET",
        &format!("/audit?actor={billing_id}"),
        json!({}),
    )
    .await;
    assert_eq!(by_billing["data"].as_array().unwrap().len(), 1);
    let (_, of_team) = admin(&gateway, "GET", "/audit?target=ops", json!({})).await;
    assert_eq!(of_team["data"].as_array().unwrap().len(), 3);
    let mut seen = Vec::new();
    let mut path = "/audit?limit=4".to_owned();
    loop {
        let (status, page) = admin(&gateway, "GET", &path, json!({})).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next"].as_str() {
            Some(next) => path = format!("/audit?limit=4&before={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), count);
    let (status, _) = admin(&gateway, "GET", "/audit?limit=x", json!({})).await;
    assert_eq!(status, 400);

    // Entries past the retention go as new ones are written.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url()).await.unwrap();
    sqlx::query("INSERT INTO audit_log (id, at, actor, action, target) VALUES ('0', 1000, 'env', 'key.create', 'old')")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(newest_entry(&gateway).await.0, count + 1);
    token(&gateway, "viewer", None).await;
    let (_, old) = admin(&gateway, "GET", "/audit?target=old", json!({})).await;
    assert_eq!(old["data"], json!([]));
    pool.close().await;
}

#[tokio::test]
async fn each_admin_change_writes_one_audit_entry_on_sqlite() {
    each_admin_change_writes_one_audit_entry(Database::sqlite()).await;
}

#[tokio::test]
async fn each_admin_change_writes_one_audit_entry_on_postgres() {
    let test = "each_admin_change_writes_one_audit_entry";
    if let Some(database) = Database::postgres(test).await {
        each_admin_change_writes_one_audit_entry(database).await;
    }
}

/// OpenRouter's key management routes with a provisioning key: a billing token scoped to an
/// account.
async fn provisioning_keys(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = role_gateway(&database, &mock).await;
    let (other, _) = key_with_credits(&gateway, "globex", "1", json!({})).await;
    let (_, provisioning) = token(&gateway, "billing", Some("acme")).await;
    let call = |method: &'static str, path: String, body: Value| {
        let provisioning = provisioning.clone();
        let gateway = &gateway;
        async move { admin_as(gateway, &provisioning, method, &path, body).await }
    };
    let (status, created) = call(
        "POST",
        "/api/v1/keys".into(),
        json!({ "name": "customer-1", "limit": 5, "limit_reset": "monthly",
                "include_byok_in_limit": false, "expires_at": "2099-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let data = &created["data"];
    let hash = data["hash"].as_str().unwrap().to_owned();
    assert_eq!(data["name"], "customer-1");
    assert_eq!(data["limit"], 5.0);
    assert_eq!(data["limit_reset"], "monthly");
    assert_eq!(data["expires_at"], "2099-01-01T00:00:00Z");
    assert_eq!(data["disabled"], false);
    assert!(data["created_at"].as_str().unwrap().ends_with('Z'));
    let secret = created["key"].as_str().unwrap().to_owned();
    let (status, _) = call(
        "POST",
        "/admin/accounts/acme/credits".into(),
        json!({ "amount": 2 }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = chat_as(&gateway, &secret, &request("openai/gpt-4.1-nano", false)).await;
    assert_eq!(status, 200, "{answer}");

    let (status, list) = call("GET", "/api/v1/keys".into(), json!({})).await;
    assert_eq!(status, 200, "{list}");
    let hashes: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["hash"].as_str().unwrap())
        .collect();
    assert_eq!(hashes, [hash.as_str()]);
    let (status, one) = call("GET", format!("/api/v1/keys/{hash}"), json!({})).await;
    assert_eq!((status, one["data"]["hash"].clone()), (200, json!(hash)));
    assert!(one["data"]["usage"].as_f64().unwrap() > 0.0, "{one}");
    for method in ["GET", "PATCH", "DELETE"] {
        let (status, _) = call(
            method,
            format!("/api/v1/keys/{other}"),
            json!({ "disabled": true }),
        )
        .await;
        assert_eq!(status, 404, "{method} of another account's key");
    }

    let (status, updated) = call(
        "PATCH",
        format!("/api/v1/keys/{hash}"),
        json!({ "name": "renamed", "disabled": true, "limit": null }),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["name"], "renamed");
    assert_eq!(updated["data"]["limit"], Value::Null);
    let (status, _) = chat_as(&gateway, &secret, &request("openai/gpt-4.1-nano", false)).await;
    assert!(status == 401 || status == 403, "{status}");
    let (_, list) = call("GET", "/api/v1/keys".into(), json!({})).await;
    assert_eq!(list["data"], json!([]));
    let (_, list) = call(
        "GET",
        "/api/v1/keys?include_disabled=true".into(),
        json!({}),
    )
    .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    for (body, expected) in [
        (json!({ "limit": 1 }), 422),
        (json!({ "name": "x", "expires_at": "next week" }), 400),
        (json!({ "name": "x", "limit": -1 }), 400),
    ] {
        let (status, answer) = call("POST", "/api/v1/keys".into(), body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    let (_, viewer) = token(&gateway, "viewer", Some("acme")).await;
    let (status, _) = admin_as(
        &gateway,
        &viewer,
        "POST",
        "/api/v1/keys",
        json!({ "name": "v" }),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = admin_as(&gateway, &secret, "GET", "/api/v1/keys", json!({})).await;
    assert_eq!(status, 401, "an API key is not a provisioning key");

    let (status, deleted) = call("DELETE", format!("/api/v1/keys/{hash}"), json!({})).await;
    assert_eq!((status, deleted), (200, json!({ "deleted": true })));
    let (status, _) = call("GET", format!("/api/v1/keys/{hash}"), json!({})).await;
    assert_eq!(status, 404);
    let (_, audit) = admin(&gateway, "GET", "/audit?action=key&account=acme", json!({})).await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["key.delete", "key.update", "key.create"]);
}

#[tokio::test]
async fn provisioning_keys_on_sqlite() {
    provisioning_keys(Database::sqlite()).await;
}

#[tokio::test]
async fn provisioning_keys_on_postgres() {
    if let Some(database) = Database::postgres("provisioning_keys_on_postgres").await {
        provisioning_keys(database).await;
    }
}
