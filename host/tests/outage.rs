//! No charge lost to a database outage: under load, the accounting database becomes
//! unreachable (PostgreSQL behind a proxy the test cuts for 30 s; the SQLite file locked by
//! another writer for 10 s), then comes back. Every request is either served and charged
//! exactly once in the ledger once the database is back, or refused with 503; none is served
//! and left uncharged. A gateway killed during the outage stores the settlements it spooled at
//! its next start.
//!
//! PostgreSQL tests need `SWITCHYARD_TEST_POSTGRES_URL` and say they are skipped without it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accounts::cut::CuttableProxy;
use accounts::*;
use common::*;
use serde_json::{Value, json};
use sqlx::Row;
use switchyard_tests::MockUpstream;

/// Per-request price 0.001 plus completion tokens: every served request costs something.
const PRICES: &str = "prompt_price = \"0\", completion_price = \"1\", request_price = \"0.001\"";

/// Requests sent in parallel, each worker one after another.
const WORKERS: usize = 6;

/// What every request of a load got: its status and, when served, its generation id.
type Outcomes = Arc<Mutex<Vec<(u16, Value)>>>;

/// Requests sent by [`WORKERS`] workers until stopped.
struct Load {
    outcomes: Outcomes,
    stop: tokio::sync::watch::Sender<bool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(gateway: &Gateway, secret: &str) -> Load {
        let outcomes: Outcomes = Arc::default();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = (0..WORKERS)
            .map(|_| {
                let client = gateway.client.clone();
                let url = format!("{}/v1/chat/completions", gateway.url);
                let (secret, outcomes, stopped) =
                    (secret.to_owned(), outcomes.clone(), stopped.clone());
                let mut body = request("openai/gpt-4.1-nano", false);
                body["max_tokens"] = json!(363);
                tokio::spawn(async move {
                    while !*stopped.borrow() {
                        let response = client
                            .post(&url)
                            .bearer_auth(&secret)
                            .json(&body)
                            .send()
                            .await
                            .expect("the gateway answers");
                        let status = response.status().as_u16();
                        let answer: Value = response.json().await.expect("a JSON answer");
                        outcomes.lock().unwrap().push((status, answer));
                    }
                })
            })
            .collect();
        Load {
            outcomes,
            stop,
            workers,
        }
    }

    async fn stop(self) -> Vec<(u16, Value)> {
        self.stop.send(true).unwrap();
        for worker in self.workers {
            worker.await.unwrap();
        }
        Arc::try_unwrap(self.outcomes)
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// A gateway serving `openai/gpt-4.1-nano` with its ledger at `accounting` (an
/// `[accounting]` section).
async fn gateway_on(mock: &MockUpstream, accounting: &str) -> Gateway {
    let config = format!(
        "{}[[models]]\nid = \"openai/gpt-4.1-nano\"\nendpoints = [{{ provider = \"oa\", upstream_model = \"up\", {PRICES} }}]\n\n{accounting}",
        provider("oa", "openai", mock, "fixture=openai/openai-text", ""),
    );
    Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await
}

/// Waits (at most two minutes) until the gateway stored every settlement: an admin read
/// answers 200 only then.
async fn until_settled(gateway: &Gateway) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = admin(gateway, "GET", "/keys", json!({})).await;
        if status == 200 {
            return;
        }
        assert_eq!(status, 503, "{body}");
        assert!(
            Instant::now() < deadline,
            "settlements still not stored: {body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every outcome is a served request (200) or a refusal for the accounting (503), and every
/// served one has its generation record in `database`, exactly once, with books that balance.
/// The number served.
async fn assert_charged_exactly_once(database: &Database, outcomes: &[(u16, Value)]) -> usize {
    let mut served = HashSet::new();
    for (status, answer) in outcomes {
        match status {
            200 => assert!(served.insert(answer["id"].as_str().unwrap().to_owned())),
            503 => assert_eq!(
                answer["error"]["code"], "accounting_unavailable",
                "{answer}"
            ),
            _ => panic!("neither served nor refused for the accounting: {status} {answer}"),
        }
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url()).await.unwrap();
    let stored: Vec<String> = sqlx::query("SELECT id FROM generations")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String, _>(0).unwrap())
        .collect();
    pool.close().await;
    let stored_set: HashSet<String> = stored.iter().cloned().collect();
    let lost: Vec<&String> = served.difference(&stored_set).collect();
    assert!(lost.is_empty(), "served but not charged: {lost:?}");
    assert_eq!(
        stored.len(),
        served.len(),
        "records of requests never served"
    );
    let books = database.books().await;
    books.assert_consistent();
    assert_eq!(books.generations, i64::try_from(served.len()).unwrap());
    served.len()
}

/// Creates a key with credits enough for the test.
async fn key(gateway: &Gateway) -> String {
    key_with_credits(gateway, "acme", "1000", json!({})).await.1
}

#[tokio::test]
async fn postgres_cut_for_30_s_under_load_loses_no_charge() {
    let test = "postgres_cut_for_30_s_under_load_loses_no_charge";
    let Some(database) = Database::postgres(test).await else {
        return;
    };
    let url = database.url();
    let (prefix, rest) = url.split_once('@').unwrap();
    let (server, name) = rest.split_once('/').unwrap();
    let proxy = CuttableProxy::start(server.to_owned()).await;
    let spool = tempfile::tempdir().unwrap();
    let accounting = format!(
        "[accounting]\nenabled = true\npostgres_url = \"{prefix}@127.0.0.1:{}/{name}\"\nspool_path = {:?}\n",
        proxy.port,
        spool.path().join("spool").display().to_string(),
    );
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_on(&mock, &accounting).await;
    let secret = key(&gateway).await;

    let load = Load::start(&gateway, &secret);
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(30)).await;
    proxy.restore();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let outcomes = load.stop().await;

    until_settled(&gateway).await;
    let served = assert_charged_exactly_once(&database, &outcomes).await;
    let refused = outcomes.iter().filter(|(status, _)| *status == 503).count();
    assert!(
        served > 0 && refused > 0,
        "served {served}, refused {refused}"
    );
    // Served again once the database is back.
    let mut body = request("openai/gpt-4.1-nano", false);
    body["max_tokens"] = json!(363);
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 200);
}

/// Holds the SQLite file's write lock (as another writer would) until dropped.
async fn lock_sqlite(database: &Database) -> sqlx::pool::PoolConnection<sqlx::Any> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url()).await.unwrap();
    let mut connection = pool.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *connection)
        .await
        .unwrap();
    connection
}

/// The SQLite outage: the file locked for 10 s under load, with room for `spool_limit`
/// settlements waiting.
async fn sqlite_locked_under_load(spool_limit: usize) -> (Database, Gateway, Vec<(u16, Value)>) {
    let database = Database::sqlite();
    let accounting = format!("{}spool_limit = {spool_limit}\n", database.config());
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_on(&mock, &accounting).await;
    let secret = key(&gateway).await;
    let load = Load::start(&gateway, &secret);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lock = lock_sqlite(&database).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    drop(lock);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outcomes = load.stop().await;
    // The mock is kept for the answers in flight until here.
    drop(mock);
    (database, gateway, outcomes)
}

#[tokio::test]
async fn sqlite_locked_for_10_s_under_load_loses_no_charge_and_refuses_past_the_spool_limit() {
    let (database, gateway, outcomes) = sqlite_locked_under_load(40).await;
    until_settled(&gateway).await;
    let served = assert_charged_exactly_once(&database, &outcomes).await;
    let refused = outcomes.iter().filter(|(status, _)| *status == 503).count();
    assert!(
        served > 40 && refused > 0,
        "served {served}, refused {refused}"
    );
}

#[tokio::test]
async fn settlements_spooled_during_an_outage_are_stored_at_the_next_start() {
    let database = Database::sqlite();
    let accounting = database.config();
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_on(&mock, &accounting).await;
    let secret = key(&gateway).await;
    let lock = lock_sqlite(&database).await;
    let load = Load::start(&gateway, &secret);
    // Long enough for a failed commit (SQLite waits 5 s for a lock) and the spooling.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let outcomes = load.stop().await;
    let spool = format!(
        "{}-spool",
        database.url().strip_prefix("sqlite://").unwrap()
    );
    // Every served request's settlement reaches the spool (one line each) within a commit try.
    let served = outcomes.iter().filter(|(status, _)| *status == 200).count();
    assert!(served > 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&spool).map_or(0, |text| text.lines().count()) < served {
        assert!(Instant::now() < deadline, "not all spooled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(gateway); // SIGKILL, the database still locked
    drop(lock);

    let restarted = gateway_on(&mock, &accounting).await;
    until_settled(&restarted).await;
    assert_eq!(
        assert_charged_exactly_once(&database, &outcomes).await,
        served
    );
    assert!(std::fs::metadata(&spool).is_err(), "the spool stays");
}
