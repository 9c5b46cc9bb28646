//! Keys on: what accounting costs. The same gateway configuration with `[accounting]` enabled
//! (the default SQLite file, and PostgreSQL when `SWITCHYARD_BENCH_POSTGRES_URL` is set), one key
//! with ample credits, against the keys-off gateway: added p50 at concurrency 1, the ratio of
//! closed-loop throughput at N connections (interleaved rounds), and the settlement lag (a
//! settlement queued to its durable commit) the gateway reports at `GET /admin/accounting`.
//!
//! On SQLite it is also measured governed: the key in a team, with a budget (monthly reset) and
//! an allow-list of models and providers at each level (account, team, key), and a budget on
//! the model the load asks for: every request checks every rule and holds against four
//! budgets, the key's limit and the credits.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::contenders::gateway::{self, Gateway};
use crate::contenders::models;
use crate::load::{self, Outcome, Payload, Target};
use crate::scenarios::{Plan, latency};

/// The admin token of the keyed gateways.
const ADMIN_TOKEN: &str = "bench-admin-token";

/// The issue's goals: throughput ratio on SQLite and on PostgreSQL, added p50 µs.
const GOALS: (f64, f64, i64) = (0.9, 0.8, 30);

/// One database's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeysOnRow {
    /// `sqlite` or `postgres`.
    pub database: String,
    /// p50 at concurrency 1 with keys off / on, µs.
    pub p50_off_us: u64,
    /// p50 at concurrency 1 with keys on, µs.
    pub p50_on_us: u64,
    /// Keys on minus keys off, µs.
    pub added_p50_us: i64,
    /// Closed-loop throughput with keys off, RPS.
    pub rps_off: f64,
    /// Closed-loop throughput with keys on, RPS.
    pub rps_on: f64,
    /// `rps_on / rps_off`.
    pub ratio: f64,
    /// Settlement lag p50, ms.
    pub lag_p50_ms: Option<f64>,
    /// Settlement lag p99, ms.
    pub lag_p99_ms: Option<f64>,
    /// Failed requests with keys on.
    pub errors: u64,
}

/// Measures each database against the keys-off gateway at `keys_off`; a database that fails is
/// reported in the returned errors, the others still run.
pub async fn run(
    mock: SocketAddr,
    keys_off: &Target,
    plan: &Plan,
    work: &Path,
) -> (Vec<KeysOnRow>, Vec<String>) {
    let mut databases = vec![Database::Sqlite];
    if std::env::var_os(POSTGRES_URL).is_some() {
        databases.push(Database::Postgres);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for database in databases {
        let measured = match start_keyed(database, mock, work).await {
            Ok(keyed) => measure(database.name(), keyed, keys_off, plan).await,
            Err(error) => Err(error),
        };
        match measured {
            Ok(row) => rows.push(row),
            Err(error) => errors.push(format!("keys on ({}): {error:#}", database.name())),
        }
    }
    let measured = match start_governed(mock, work).await {
        Ok(keyed) => measure(GOVERNED, keyed, keys_off, plan).await,
        Err(error) => Err(error),
    };
    match measured {
        Ok(row) => rows.push(row),
        Err(error) => errors.push(format!("keys on ({GOVERNED}): {error:#}")),
    }
    (rows, errors)
}

/// The row of the governed key (SQLite).
pub const GOVERNED: &str = "sqlite, key in a team, budgets and allow-lists at every level";

/// Starts a gateway with accounting on SQLite and one key governed at every level: the
/// account, its team and the key each with a budget and allow-lists of models and providers,
/// and the key with a budget on the model the load asks for.
pub async fn start_governed(mock: SocketAddr, work: &Path) -> anyhow::Result<(Gateway, Target)> {
    let work = work.join("governed");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let keyed = gateway::start_as(
        "switchyard-keys-governed",
        mock,
        &work,
        &Database::Sqlite.section(&work)?,
        &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)],
    )
    .await?;
    let addr = keyed.contender.target.addr;
    let rules = serde_json::json!({
        "limit": 1_000_000, "limit_reset": "monthly",
        "allowed_models": ["bench/*"], "allowed_providers": ["mock_a", "mock_b"],
    });
    admin(
        addr,
        "PATCH",
        "/admin/accounts/bench-org",
        &rules.to_string(),
    )
    .await?;
    let mut team = rules.clone();
    team["id"] = "bench-team".into();
    team["account"] = "bench-org".into();
    team["allowed_models"] = serde_json::json!([models::PLAIN]);
    admin(addr, "POST", "/admin/teams", &team.to_string()).await?;
    let mut key = rules;
    key["account"] = "bench-org".into();
    key["team"] = "bench-team".into();
    key["denied_providers"] = serde_json::json!(["nobody"]);
    key["model_budgets"] =
        serde_json::json!({ models::PLAIN: { "limit": 1_000_000, "limit_reset": "daily" } });
    let created = admin(addr, "POST", "/admin/keys", &key.to_string()).await?;
    admin(
        addr,
        "POST",
        "/admin/accounts/bench-org/credits",
        r#"{"amount":1000000}"#,
    )
    .await?;
    let secret = created["data"]["key"]
        .as_str()
        .context("the gateway created no key")?;
    let mut target = keyed.contender.target.clone();
    target.name = format!("switchyard keys on ({GOVERNED})");
    target
        .headers
        .push(("authorization".to_owned(), format!("Bearer {secret}")));
    Ok((keyed, target))
}

/// Where the keyed gateway keeps its accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    /// The default embedded SQLite file.
    Sqlite,
    /// The PostgreSQL database at `SWITCHYARD_BENCH_POSTGRES_URL`.
    Postgres,
}

/// The environment variable naming the PostgreSQL database to measure.
const POSTGRES_URL: &str = "SWITCHYARD_BENCH_POSTGRES_URL";

impl Database {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
        }
    }

    /// The gateway's `[accounting]` section (its files in `work`).
    fn section(self, work: &Path) -> anyhow::Result<String> {
        Ok(match self {
            Database::Sqlite => format!(
                "\n[accounting]\nenabled = true\nsqlite_path = {:?}\n",
                work.join("keys-on.db").display().to_string()
            ),
            Database::Postgres => {
                let url = std::env::var(POSTGRES_URL)
                    .with_context(|| format!("set {POSTGRES_URL} to measure PostgreSQL"))?;
                format!("\n[accounting]\nenabled = true\npostgres_url = {url:?}\n")
            }
        })
    }
}

/// Starts a gateway with accounting on `database` against the mock at `mock` and makes one key
/// with ample credits; the target sends that key.
pub async fn start_keyed(
    database: Database,
    mock: SocketAddr,
    work: &Path,
) -> anyhow::Result<(Gateway, Target)> {
    let name = format!("switchyard-keys-{}", database.name());
    let keyed = gateway::start_as(
        &name,
        mock,
        work,
        &database.section(work)?,
        &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)],
    )
    .await?;
    let secret = create_key(keyed.contender.target.addr, "bench").await?;
    let mut target = keyed.contender.target.clone();
    target.name = format!("switchyard keys on ({})", database.name());
    target
        .headers
        .push(("authorization".to_owned(), format!("Bearer {secret}")));
    Ok((keyed, target))
}

/// Measures the keyed gateway `keyed` (row `name`) against the keys-off one.
async fn measure(
    name: &str,
    keyed: (Gateway, Target),
    keys_off: &Target,
    plan: &Plan,
) -> anyhow::Result<KeysOnRow> {
    let (_keyed, target) = keyed;
    let addr = target.addr;

    let serial = latency::run(
        &[keys_off.clone(), target.clone()],
        plan.warmup,
        plan.serial_requests,
    )
    .await?;
    let (off, on) = match serial.as_slice() {
        [off, on] => (off.dist.p50, on.dist.p50),
        _ => bail!("the latency run returned no rows"),
    };

    let payload = Payload::chat(models::PLAIN, false);
    let (mut closed_off, mut closed_on) = (Outcome::empty(), Outcome::empty());
    for _ in 0..plan.rounds {
        let outcome = load::closed_loop(keys_off, &payload, plan.connections, plan.round).await?;
        closed_off.merge(&outcome);
        let outcome = load::closed_loop(&target, &payload, plan.connections, plan.round).await?;
        closed_on.merge(&outcome);
    }
    let lag = settlement_lag(addr).await?;
    let (rps_off, rps_on) = (closed_off.rps(), closed_on.rps());
    Ok(KeysOnRow {
        database: name.to_owned(),
        p50_off_us: off,
        p50_on_us: on,
        added_p50_us: on as i64 - off as i64,
        rps_off,
        rps_on,
        ratio: rps_on / rps_off.max(1e-9),
        lag_p50_ms: lag["p50"].as_f64(),
        lag_p99_ms: lag["p99"].as_f64(),
        errors: closed_on.errors + serial.get(1).map_or(0, |row| row.errors),
    })
}

/// A target sending `accounts` keys in turn, one per account (`bench-01`, `bench-02`, …), each
/// account with ample credits, on the keyed gateway at `keyed` (from [`start_keyed`]).
pub async fn many_accounts(keyed: &Target, accounts: usize) -> anyhow::Result<Target> {
    let mut keys = Vec::with_capacity(accounts);
    for account in 1..=accounts {
        keys.push(create_key(keyed.addr, &format!("bench-{account:02}")).await?);
    }
    let mut target = keyed.clone();
    target
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
    target.keys = Some(std::sync::Arc::new(load::KeyRing::new(keys)));
    Ok(target)
}

/// Creates a key on `account` with a million USD of credits; returns its secret.
async fn create_key(gateway: SocketAddr, account: &str) -> anyhow::Result<String> {
    let created = admin(
        gateway,
        "POST",
        "/admin/keys",
        &serde_json::json!({"label": account, "account": account}).to_string(),
    )
    .await?;
    admin(
        gateway,
        "POST",
        &format!("/admin/accounts/{account}/credits"),
        r#"{"amount":1000000}"#,
    )
    .await?;
    created["data"]["key"]
        .as_str()
        .map(str::to_owned)
        .context("the gateway created no key")
}

/// `{p50, p99}` of the gateway's settlement lag, ms.
async fn settlement_lag(gateway: SocketAddr) -> anyhow::Result<serde_json::Value> {
    let status = admin(gateway, "GET", "/admin/accounting", "").await?;
    Ok(status["data"]["settlement_lag_ms"].clone())
}

/// One admin request over a fresh connection; the JSON answer. HTTP/1.0, so the answer's body
/// is the rest of the connection (never chunked).
async fn admin(
    gateway: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> anyhow::Result<serde_json::Value> {
    let mut stream = tokio::net::TcpStream::connect(gateway).await?;
    let request = format!(
        "{method} {path} HTTP/1.0\r\nhost: {gateway}\r\nauthorization: Bearer {ADMIN_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("no HTTP answer from the gateway")?;
    let status = head.split(' ').nth(1).unwrap_or_default();
    if !status.starts_with('2') {
        bail!("{method} {path}: {head} {body}");
    }
    serde_json::from_str(body).with_context(|| format!("{method} {path}: not JSON: {body}"))
}

/// The report's section.
pub fn markdown(rows: &[KeysOnRow], connections: usize) -> String {
    let mut md = format!(
        "\n## Keys on (accounting enabled, one key with ample credits)\n\n\
         Goals: c={connections} throughput ≥ {}× keys off on SQLite, ≥ {}× on PostgreSQL; added p50 at c=1 ≤ {} µs.\n\n\
         | database | c=1 p50 off µs | on µs | added µs | c={connections} RPS off | on | ratio | settlement lag p50 ms | p99 ms | errors |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        GOALS.0, GOALS.1, GOALS.2
    );
    for row in rows {
        let ms = |value: Option<f64>| value.map_or("-".to_owned(), |ms| format!("{ms:.2}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.0} | {:.0} | {:.2} | {} | {} | {} |",
            row.database,
            row.p50_off_us,
            row.p50_on_us,
            row.added_p50_us,
            row.rps_off,
            row.rps_on,
            row.ratio,
            ms(row.lag_p50_ms),
            ms(row.lag_p99_ms),
            row.errors
        );
    }
    md
}
