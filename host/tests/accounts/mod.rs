//! Helpers of the accounting tests: a ledger database (SQLite or PostgreSQL), a gateway keeping
//! its books there, keys with credits, and the books read back from the database itself.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod cut;

use serde_json::{Value, json};
use sqlx::Row;
use switchyard_tests::MockUpstream;

use super::common::{Gateway, fresh_postgres_database, provider, request};

pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// Where the ledger lives.
pub enum Database {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Database {
    pub fn sqlite() -> Database {
        Database::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh database on the test PostgreSQL server; `None` (and a note) without one.
    pub async fn postgres(test: &str) -> Option<Database> {
        fresh_postgres_database(test).await.map(Database::Postgres)
    }

    pub fn config(&self) -> String {
        match self {
            Database::Sqlite(dir) => format!(
                "[accounting]\nenabled = true\nsqlite_path = {:?}\n",
                dir.path().join("ledger.db").display().to_string()
            ),
            Database::Postgres(url) => {
                format!("[accounting]\nenabled = true\npostgres_url = {url:?}\n")
            }
        }
    }

    pub fn url(&self) -> String {
        match self {
            Database::Sqlite(dir) => format!("sqlite://{}", dir.path().join("ledger.db").display()),
            Database::Postgres(url) => url.clone(),
        }
    }

    /// The books as stored once every settlement `gateways` queued is committed (an admin
    /// read waits for that).
    pub async fn settled_books(&self, gateways: &[&Gateway]) -> Books {
        for gateway in gateways {
            let (status, keys) = admin(gateway, "GET", "/keys", json!({})).await;
            assert_eq!(status, 200, "{keys}");
        }
        self.books().await
    }

    /// The books as stored: (key usage, key reserved, account usage, account reserved,
    /// generation count, sum of generation costs), all in nano-USD. One statement reads them
    /// all, so they come from one snapshot even while a gateway changes a lease.
    pub async fn books(&self) -> Books {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.url()).await.unwrap();
        let row = sqlx::query(
            "SELECT \
             (SELECT CAST(COALESCE(SUM(usage), 0) AS BIGINT) FROM api_keys), \
             (SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) FROM api_keys), \
             (SELECT CAST(COALESCE(SUM(window_usage), 0) AS BIGINT) FROM api_keys), \
             (SELECT CAST(COALESCE(SUM(usage), 0) AS BIGINT) FROM accounts), \
             (SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) FROM accounts), \
             (SELECT CAST(COUNT(*) AS BIGINT) FROM reservations), \
             (SELECT CAST(COUNT(*) AS BIGINT) FROM generations), \
             (SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) FROM generations)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let column = |index: usize| row.try_get::<i64, _>(index).unwrap();
        let books = Books {
            key_usage: column(0),
            key_reserved: column(1),
            key_window_usage: column(2),
            account_usage: column(3),
            account_reserved: column(4),
            reservations: column(5),
            generations: column(6),
            generation_costs: column(7),
        };
        pool.close().await;
        books
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Books {
    pub key_usage: i64,
    pub key_reserved: i64,
    pub key_window_usage: i64,
    pub account_usage: i64,
    pub account_reserved: i64,
    pub reservations: i64,
    pub generations: i64,
    pub generation_costs: i64,
}

impl Books {
    /// Usage on the key and the account equals the generation records, and nothing is held.
    pub fn assert_consistent(&self) {
        assert_eq!(self.key_usage, self.generation_costs, "{self:?}");
        assert_eq!(self.account_usage, self.generation_costs, "{self:?}");
        assert_eq!(
            (self.key_reserved, self.account_reserved, self.reservations),
            (0, 0, 0),
            "{self:?}"
        );
    }
}

/// A gateway on `database` serving `openai/gpt-4.1-nano` from `scenario` at `prices` (TOML
/// fields of the endpoint).
pub async fn gateway(
    database: &Database,
    mock: &MockUpstream,
    scenario: &str,
    prices: &str,
) -> Gateway {
    gateway_with_redis(database, mock, scenario, prices, None).await
}

/// [`gateway`], keeping rate limits in Redis at `redis` when given.
pub async fn gateway_with_redis(
    database: &Database,
    mock: &MockUpstream,
    scenario: &str,
    prices: &str,
    redis: Option<&str>,
) -> Gateway {
    // A patient wait for Redis: a debug gateway on a loaded test machine can miss the default
    // 500 ms, and the limiter then lets the request through, as it must when Redis is down.
    let redis = redis.map_or(String::new(), |url| {
        format!("redis_url = {url:?}\nredis_timeout_ms = 10000\n")
    });
    let config = format!(
        "{}[[models]]\nid = \"openai/gpt-4.1-nano\"\nendpoints = [{{ provider = \"oa\", upstream_model = \"up\", {prices} }}]\n\n{}{redis}",
        provider("oa", "openai", mock, scenario, ""),
        database.config()
    );
    Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await
}

pub async fn admin(gateway: &Gateway, method: &str, path: &str, body: Value) -> (u16, Value) {
    let response = gateway
        .client
        .request(
            method.parse().unwrap(),
            format!("{}/admin{path}", gateway.url),
        )
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Creates a key with `settings` on account `account` holding `credits` USD; returns
/// (key id, secret).
pub async fn key_with_credits(
    gateway: &Gateway,
    account: &str,
    credits: &str,
    settings: Value,
) -> (String, String) {
    let mut body = json!({ "label": "test", "account": account });
    body.as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    let (status, created) = admin(gateway, "POST", "/keys", body).await;
    assert_eq!(status, 201, "{created}");
    let (status, account) = admin(
        gateway,
        "POST",
        &format!("/accounts/{account}/credits"),
        json!({ "amount": credits }),
    )
    .await;
    assert_eq!(status, 200, "{account}");
    (
        created["data"]["id"].as_str().unwrap().to_owned(),
        created["data"]["key"].as_str().unwrap().to_owned(),
    )
}

pub async fn chat_as(gateway: &Gateway, secret: &str, body: &Value) -> (u16, Value) {
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(secret)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

pub async fn get_as(gateway: &Gateway, secret: &str, path: &str) -> (u16, Value) {
    let response = gateway
        .client
        .get(format!("{}{path}", gateway.url))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Starts a streamed request for `model` and returns once its headers arrived (its hold is
/// taken), with the response left open.
pub async fn chat_as_stream_start(
    gateway: &Gateway,
    secret: &str,
    model: &str,
) -> (u16, reqwest::Response) {
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(secret)
        .json(&request(model, true))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response)
}

/// openai-text reports 16 prompt + 363 completion tokens.
pub const TOKEN_PRICES: &str = "prompt_price = \"0.10\", completion_price = \"0.40\"";

/// Runs `switchyard <args>` against `gateway` with the admin token; returns its JSON output.
pub async fn cli(gateway: &Gateway, args: &[&str]) -> Value {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .args(["--gateway", &gateway.url])
        .env("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{args:?} printed {stdout}"))
}
