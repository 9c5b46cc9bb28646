//! Single sign-on end to end, through the real binary and a real OpenID provider: panva's
//! `oidc-provider` (npm), started by the test with its login and consent pages, which the test
//! fills in as a browser would (cookies kept, forms submitted). Claims map to roles and account
//! scopes; the gateway sets no cookie, hands a short-lived bearer token, refuses an unmapped
//! sign-in, a replayed or forged callback, and the token once expired. In headless Chromium
//! (as the dashboard test), the dashboard signs in through the provider's pages, shows the
//! identity and hides what a scoped billing role cannot do.
//!
//! The provider package comes from `SWITCHYARD_TEST_OIDC_PROVIDER` (its directory, set by
//! `.ci/run`) or `target/npm-oidc/node_modules/oidc-provider`; without it, or without `node`,
//! the tests print SKIPPED and pass. PostgreSQL tests need `SWITCHYARD_TEST_POSTGRES_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

mod accounts;
mod browser;
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use accounts::*;
use browser::Browser;
use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CLIENT_SECRET: &str = "sso-client-secret-for-tests";

/// A running OpenID provider.
pub struct Provider {
    _child: Child,
    pub issuer: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `oidc-provider` package directory, if installed.
pub fn provider_package() -> Option<PathBuf> {
    let dir = std::env::var("SWITCHYARD_TEST_OIDC_PROVIDER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/npm-oidc/node_modules/oidc-provider")
        });
    if dir.join("package.json").exists() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: no oidc-provider package at {}", dir.display());
        None
    }
}

/// Starts the provider with the gateway's callback `redirect` registered.
pub async fn start_provider(redirect: &str) -> Option<Provider> {
    let package = provider_package()?;
    let port = free_port();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/oidc/provider.mjs");
    let spawned = Command::new("node")
        .arg(script)
        .arg(package)
        .arg(port.to_string())
        .arg(redirect)
        .arg(CLIENT_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(mut child) = spawned else {
        eprintln!("SKIPPED: node cannot be started");
        return None;
    };
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
    assert!(
        matches!(&first, Ok(Ok(Some(line))) if line == "listening"),
        "the OpenID provider did not start: {first:?}"
    );
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some(Provider {
        _child: child,
        issuer: format!("http://127.0.0.1:{port}"),
    })
}

/// A gateway on `database` with single sign-on at a provider that is started for it; `None`
/// when the provider cannot run here.
pub async fn sso_gateway(database: &Database, ttl_secs: u64) -> Option<(Gateway, Provider)> {
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/auth/callback");
    let provider = start_provider(&callback).await?;
    let config = format!(
        "{}
[admin.sso]
issuer = {:?}
client_id = \"switchyard\"
client_secret_env = \"SSO_CLIENT_SECRET\"
redirect_url = {callback:?}
scopes = [\"email\", \"groups\"]
token_ttl_secs = {ttl_secs}

[[admin.sso.roles]]
value = \"switchyard-owners\"
role = \"owner\"

[[admin.sso.roles]]
value = \"acme-billing\"
role = \"billing\"
account = \"acme\"

[[admin.sso.roles]]
value = \"viewers\"
role = \"viewer\"
",
        database.config(),
        provider.issuer,
    );
    let sections = Sections {
        server: &format!("listen = \"127.0.0.1:{port}\"\nmax_body_bytes = 65536"),
        plugins: "call_timeout_ms = 500\nmemory_limit_mib = 32",
    };
    let env = [
        ("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN),
        ("SSO_CLIENT_SECRET", CLIENT_SECRET),
    ];
    let gateway = Gateway::start_with_sections(sections, &config, &env, &[]).await;
    Some((gateway, provider))
}

fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        format!("{}{location}", origin(base))
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).map(|at| at + start.len()).unwrap();
    let to = text[from..].find(end).unwrap();
    &text[from..from + to]
}

/// A finished sign-in: the callback URL the provider sent the browser to, and where the
/// gateway sent it from there.
pub struct SignIn {
    pub callback: String,
    pub location: String,
}

impl SignIn {
    /// The token handed in the fragment.
    pub fn token(&self) -> String {
        let fragment = self.location.split_once('#').unwrap().1;
        between(&format!("{fragment}&"), "token=", "&").to_owned()
    }
}

/// Signs `login` in from `/auth/login` through the provider's login and consent pages, as a
/// browser would; answers the sign-in, or the status and body of the answer that ended it.
pub async fn sign_in(gateway: &Gateway, login: &str) -> Result<SignIn, (u16, String)> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let mut next = (
        reqwest::Method::GET,
        format!("{}/auth/login", gateway.url),
        None::<String>,
    );
    for _ in 0..20 {
        let (method, url, form) = next;
        let mut request = client.request(method, &url);
        if !cookies.is_empty() {
            let header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("cookie", header.join("; "));
        }
        if let Some(form) = form {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form);
        }
        let response = request.send().await.unwrap();
        let from_gateway = url.starts_with(&gateway.url);
        for value in response.headers().get_all("set-cookie") {
            assert!(!from_gateway, "the gateway set a cookie: {value:?}");
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            cookies.insert(name.to_owned(), value.to_owned());
        }
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            if from_gateway && url.contains("/auth/callback") {
                return Ok(SignIn {
                    callback: url,
                    location,
                });
            }
            next = (reqwest::Method::GET, absolute(&url, &location), None);
            continue;
        }
        let body = response.text().await.unwrap();
        if status == 200 && body.contains("<form") {
            let action = between(&body, "action=\"", "\"").to_owned();
            let mut fields = Vec::new();
            for hidden in body.split("type=\"hidden\"").skip(1) {
                let name = between(hidden, "name=\"", "\"");
                let value = between(hidden, "value=\"", "\"");
                fields.push(format!("{name}={value}"));
            }
            if body.contains("name=\"login\"") {
                fields.push(format!("login={login}"));
                fields.push("password=anything".to_owned());
            }
            next = (
                reqwest::Method::POST,
                absolute(&url, &action),
                Some(fields.join("&")),
            );
            continue;
        }
        return Err((status, body));
    }
    panic!("the sign-in did not end");
}

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

async fn claims_map_to_roles(database: Database) {
    let Some((gateway, _provider)) = sso_gateway(&database, 900).await else {
        return;
    };
    // An owner.
    let alice = sign_in(&gateway, "alice").await.unwrap();
    assert!(
        alice.location.starts_with("/dashboard#token=sy-admin-"),
        "{}",
        alice.location
    );
    let token = alice.token();
    let (status, me) = admin_as(&gateway, &token, "GET", "/admin/whoami", json!({})).await;
    assert_eq!(status, 200, "{me}");
    let me = &me["data"];
    assert_eq!(me["role"], "owner");
    assert_eq!(me["actor"], "sso:alice");
    assert_eq!(me["label"], "alice@example.test");
    assert_eq!(me["account"], Value::Null);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires = me["expires_at"].as_i64().unwrap();
    assert!(
        (now + 800..=now + 960).contains(&expires),
        "{expires} vs {now}"
    );
    let (status, made) = admin_as(
        &gateway,
        &token,
        "POST",
        "/admin/tokens",
        json!({ "role": "viewer" }),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["data"]["created_by"], "sso:alice");
    // The token is a bearer token only: no cookie stands in for it.
    let (status, _) = admin_as(&gateway, "", "GET", "/admin/whoami", json!({})).await;
    assert_eq!(status, 401);

    // A billing member of acme: scoped.
    let bob = sign_in(&gateway, "bob").await.unwrap().token();
    let (_, me) = admin_as(&gateway, &bob, "GET", "/admin/whoami", json!({})).await;
    assert_eq!(
        (me["data"]["role"].clone(), me["data"]["account"].clone()),
        (json!("billing"), json!("acme"))
    );
    let (status, key) = admin_as(&gateway, &bob, "POST", "/admin/keys", json!({})).await;
    assert_eq!(status, 201, "{key}");
    assert_eq!(key["data"]["account"], "acme");
    for (method, path) in [
        ("GET", "/admin/plugins"),
        ("GET", "/admin/accounts/globex"),
        ("GET", "/admin/tokens"),
    ] {
        let (status, _) = admin_as(&gateway, &bob, method, path, json!({})).await;
        assert_eq!(status, 403, "{method} {path}");
    }
    let (_, audit) = admin(&gateway, "GET", "/audit?action=key.create", json!({})).await;
    assert_eq!(audit["data"][0]["actor"], "sso:bob");

    // A viewer reads only.
    let vera = sign_in(&gateway, "vera").await.unwrap().token();
    let (status, _) = admin_as(&gateway, &vera, "GET", "/admin/keys", json!({})).await;
    assert_eq!(status, 200);
    let (status, answer) = admin_as(&gateway, &vera, "POST", "/admin/keys", json!({})).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (403, json!("forbidden_role"))
    );

    // No mapped group: refused, and no token issued.
    let (status, body) = sign_in(&gateway, "eve").await.err().unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("sso_refused") && body.contains("groups"),
        "{body}"
    );

    // A callback replayed, forged, or carrying the provider's refusal.
    let again = sign_in(&gateway, "vera").await.unwrap();
    let replayed = reqwest::get(&again.callback).await.unwrap();
    assert_eq!(replayed.status(), 400);
    assert!(replayed.text().await.unwrap().contains("sso_unknown_state"));
    for (query, expected) in [
        ("code=x&state=forged", 400),
        ("error=access_denied&state=x", 403),
        ("state=x", 400),
    ] {
        let answer = reqwest::get(format!("{}/auth/callback?{query}", gateway.url))
            .await
            .unwrap();
        assert_eq!(answer.status(), expected, "{query}");
    }
}

#[tokio::test]
async fn claims_map_to_roles_on_sqlite() {
    claims_map_to_roles(Database::sqlite()).await;
}

#[tokio::test]
async fn claims_map_to_roles_on_postgres() {
    if let Some(database) = Database::postgres("sso_claims_map_to_roles").await {
        claims_map_to_roles(database).await;
    }
}

/// The token a sign-in issues stops working when its time is up.
#[tokio::test]
async fn a_sign_in_token_expires() {
    let database = Database::sqlite();
    let Some((gateway, _provider)) = sso_gateway(&database, 2).await else {
        return;
    };
    let token = sign_in(&gateway, "alice").await.unwrap().token();
    let (status, _) = admin_as(&gateway, &token, "GET", "/admin/whoami", json!({})).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, _) = admin_as(&gateway, &token, "GET", "/admin/whoami", json!({})).await;
    assert_eq!(status, 401);
}

/// Without `[admin.sso]` the sign-in routes are not there.
#[tokio::test]
async fn without_sso_the_sign_in_routes_answer_404() {
    let database = Database::sqlite();
    let gateway = Gateway::start_with_env(
        &database.config(),
        &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)],
    )
    .await;
    for path in ["/auth/login", "/auth/callback?code=x&state=y"] {
        let answer = reqwest::get(format!("{}{path}", gateway.url))
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
}

/// The dashboard signs in through the provider in a real browser: the token arrives in the
/// fragment, leaves the address bar, and the page shows the identity and only what the role may.
#[tokio::test]
async fn the_dashboard_signs_in_with_sso_in_chromium() {
    let (Ok(chromium), Ok(chromedriver)) = (
        std::env::var("SWITCHYARD_TEST_CHROMIUM"),
        std::env::var("SWITCHYARD_TEST_CHROMEDRIVER"),
    ) else {
        eprintln!("SKIPPED: set SWITCHYARD_TEST_CHROMIUM and SWITCHYARD_TEST_CHROMEDRIVER");
        return;
    };
    let database = Database::sqlite();
    let Some((gateway, _provider)) = sso_gateway(&database, 900).await else {
        return;
    };
    key_with_credits(&gateway, "acme", "5", json!({ "label": "acme key" })).await;
    key_with_credits(&gateway, "globex", "5", json!({ "label": "globex key" })).await;
    let dir = tempfile::tempdir().unwrap();
    let browser = Browser::start(&chromium, &chromedriver, &dir.path().join("profile")).await;
    browser.open(&format!("{}/dashboard", gateway.url)).await;
    browser.click("#sso-login").await;
    browser
        .wait_for("return document.querySelector('input[name=login]') ? true : null;")
        .await;
    browser.type_into("input[name=login]", "bob").await;
    browser.type_into("input[name=password]", "anything").await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for("return document.querySelector('input[value=consent]') ? true : null;")
        .await;
    browser.click("button[type=submit]").await;
    let identity = browser
        .wait_for("const e = document.querySelector('#identity'); return e && e.textContent ? e.textContent : null;")
        .await;
    assert_eq!(identity, "bob@example.test · billing · account acme");
    let address = browser.run("return location.href;").await;
    assert_eq!(
        address,
        format!("{}/dashboard", gateway.url),
        "the token stays in the address bar"
    );
    let stored = browser
        .run("return sessionStorage.getItem('switchyard-admin-token');")
        .await;
    assert!(
        stored.as_str().unwrap().starts_with("sy-admin-"),
        "{stored}"
    );
    // Scoped billing: the keys tab with acme's key only, key and credit forms, no gateway-wide tabs.
    let shown = |css: &str| {
        format!(
            "const e = document.querySelector('{css}'); return e && getComputedStyle(e).display !== 'none' && !e.closest('[hidden]');"
        )
    };
    let labels = browser
        .wait_for("const rows = [...document.querySelectorAll('#keys-table tbody tr')]; return rows.length ? rows.map((r) => r.children[1].textContent).join(',') : null;")
        .await;
    assert_eq!(labels, "acme key");
    assert_eq!(browser.run(&shown("#key-form")).await, true);
    assert_eq!(browser.run(&shown("#keys-table button")).await, true);
    assert_eq!(browser.run(&shown("[data-tab=plugins]")).await, false);
    assert_eq!(browser.run(&shown("[data-tab=activity]")).await, false);
    assert_eq!(browser.run(&shown("[data-tab=audit]")).await, true);
    browser.screenshot("sso-billing").await;
    browser.click("[data-tab=audit]").await;
    let actions = browser
        .wait_for("const rows = [...document.querySelectorAll('#audit-table tbody tr')]; return rows.length ? rows.map((r) => r.children[2].textContent).join(',') : null;")
        .await;
    assert!(
        actions.as_str().unwrap().contains("key.create"),
        "{actions}"
    );
    browser.close().await;
}
