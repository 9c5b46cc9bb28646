//! The accounting store on its own, on SQLite (and PostgreSQL when
//! `SWITCHYARD_TEST_POSTGRES_URL` is set, in a fresh database): limit windows, credits and the recovery of holds.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::fresh_postgres_database;
use sqlx::Row;
use switchyard_accounting::lease::Leases;
use switchyard_accounting::settler::Settler;
use switchyard_accounting::spool::Spool;
use switchyard_accounting::store::Settlement;
use switchyard_accounting::store::{GenerationRecord, NewKey, Refusal, Reservation, Store};
use switchyard_domain::config::AccountingConfig;
use switchyard_domain::money::{LimitReset, now};

fn record(reservation: &Reservation, cost: i64) -> GenerationRecord {
    GenerationRecord {
        id: format!("gen-{}", reservation.id),
        key_id: reservation.key_id.clone(),
        account_id: reservation.account_id.clone(),
        team_id: None,
        end_user: None,
        budgets: Vec::new(),
        model: "m".to_owned(),
        provider: "p".to_owned(),
        prompt_tokens: 1,
        completion_tokens: 1,
        reasoning_tokens: 0,
        cached_tokens: 0,
        cache_write_tokens: 0,
        cost,
        upstream_cost: cost,
        latency_ms: 1,
        generation_ms: 2,
        finish_reason: Some("stop".to_owned()),
        streamed: false,
        cancelled: false,
        attempts: "[]".to_owned(),
        created_at: now(),
        usage_estimated: false,
        excess_cost: 0,
        charge_note: None,
        cache_hit: false,
        byok: false,
    }
}

/// A daily limit of 100 nano-USD on an account holding 1000.
async fn windows_credits_and_recovery(config: AccountingConfig, raw_url: String) {
    let store = Store::open(&config).await.unwrap();
    let account = format!("acct-{}", now());
    store.add_credits(&account, 1_000).await.unwrap();
    let new_key = NewKey {
        account_id: account.clone(),
        label: "daily".to_owned(),
        limit: Some(100),
        limit_reset: Some(LimitReset::Daily),
        expires_at: None,
        requests_per_minute: None,
        tokens_per_minute: None,
        routing_policy: None,
        team_id: None,
        policy: Default::default(),
        model_budgets: None,
    };
    let key = store
        .create_key(
            &format!("key-{account}"),
            &format!("hash-{account}"),
            &new_key,
        )
        .await
        .unwrap();

    let first = store.reserve(&key, 60).await.unwrap().unwrap();
    assert_eq!(
        store.reserve(&key, 50).await.unwrap(),
        Err(Refusal::KeyLimit)
    );
    store.settle(&first, &record(&first, 40)).await.unwrap();
    // 40 spent: 60 more fit exactly, one nano more does not.
    assert_eq!(
        store.reserve(&key, 61).await.unwrap(),
        Err(Refusal::KeyLimit)
    );
    let second = store.reserve(&key, 60).await.unwrap().unwrap();
    store.release(&second).await.unwrap();

    // The window began yesterday: the day's spending starts over.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&raw_url).await.unwrap();
    sqlx::query("UPDATE api_keys SET window_start = window_start - 86400 WHERE id = $1")
        .bind(&key.id)
        .execute(&pool)
        .await
        .unwrap();
    let third = store.reserve(&key, 100).await.unwrap().unwrap();
    let stored = store.key(&key.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.usage, stored.window_usage, stored.reserved),
        (40, 0, 100)
    );

    // Credits bound every key of the account: 1000 − 40 spent − 100 held leaves 860.
    let unlimited = NewKey {
        limit: None,
        limit_reset: None,
        label: "unlimited".to_owned(),
        ..new_key
    };
    let other = store
        .create_key(
            &format!("key2-{account}"),
            &format!("hash2-{account}"),
            &unlimited,
        )
        .await
        .unwrap();
    assert_eq!(
        store.reserve(&other, 861).await.unwrap(),
        Err(Refusal::Credits)
    );
    let held = store.reserve(&other, 860).await.unwrap().unwrap();

    // A gateway that stopped leaves holds; recovery releases them, and a late settlement of a
    // released hold still charges.
    assert_eq!(store.release_stale(i64::MAX).await.unwrap(), 2);
    store.settle(&held, &record(&held, 10)).await.unwrap();
    // The same settlement again, as a retry after a commit whose outcome the connection lost:
    // it is not charged twice.
    store.settle(&held, &record(&held, 10)).await.unwrap();
    let account = store.account(&account).await.unwrap().unwrap();
    assert_eq!(
        (account.credits, account.usage, account.reserved),
        (1_000, 50, 0)
    );
    let reserved: i64 = sqlx::query("SELECT reserved FROM api_keys WHERE id = $1")
        .bind(&third.key_id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(reserved, 0);
    assert_eq!(
        store
            .generation(&format!("gen-{}", held.id))
            .await
            .unwrap()
            .unwrap()
            .cost,
        10
    );

    // The same retry in a batch with a new settlement, as the settlement writer commits them:
    // the new one is charged, the retried one is not charged again.
    let fresh = store.reserve(&other, 20).await.unwrap().unwrap();
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Spool::new(spool_dir.path().join("spool"));
    let settler = Settler::start(store.clone(), spool, 1_000).await;
    settler
        .settle(Settlement::Held(held.clone(), record(&held, 10)))
        .await;
    settler
        .settle(Settlement::Held(fresh.clone(), record(&fresh, 20)))
        .await;
    settler.flush().await.unwrap();
    let account = store.account(&account.id).await.unwrap().unwrap();
    assert_eq!(
        (account.credits, account.usage, account.reserved),
        (1_000, 70, 0)
    );
}

#[tokio::test]
async fn limit_windows_credits_and_recovery_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let config = AccountingConfig {
        sqlite_path: path.clone(),
        ..AccountingConfig::default()
    };
    windows_credits_and_recovery(config, format!("sqlite://{}", path.display())).await;
}

#[tokio::test]
async fn limit_windows_credits_and_recovery_on_postgres() {
    let test = "limit_windows_credits_and_recovery_on_postgres";
    let Some(url) = fresh_postgres_database(test).await else {
        return;
    };
    let config = AccountingConfig {
        postgres_url: Some(url.clone()),
        ..AccountingConfig::default()
    };
    windows_credits_and_recovery(config, url).await;
}

/// Holds given up at every point of their way (a client gone mid-request drops its request's
/// future): whatever a lease's change had reached, the lease and the database agree, and once
/// every hold is released and the unused room given back, nothing stays held.
#[tokio::test]
async fn leases_given_up_mid_change_leave_nothing_held_on_postgres() {
    let test = "leases_given_up_mid_change_leave_nothing_held_on_postgres";
    let Some(url) = fresh_postgres_database(test).await else {
        return;
    };
    let config = AccountingConfig {
        postgres_url: Some(url),
        ..AccountingConfig::default()
    };
    let store = Store::open(&config).await.unwrap();
    let account = "acct-impatient";
    store.add_credits(account, 1_000_000).await.unwrap();
    let new_key = NewKey {
        account_id: account.to_owned(),
        label: "impatient".to_owned(),
        limit: None,
        limit_reset: None,
        expires_at: None,
        requests_per_minute: None,
        tokens_per_minute: None,
        routing_policy: None,
        team_id: None,
        policy: Default::default(),
        model_budgets: None,
    };
    let key = store
        .create_key("key-impatient", "hash-impatient", &new_key)
        .await
        .unwrap();
    let leases = Leases::new(store.clone());
    let mut given_up = 0;
    for i in 0..300u64 {
        // Empty, the lease must grow in the database for every hold; the wait ends anywhere
        // from before the first statement to after the commit.
        leases.give_back_unused(Duration::ZERO).await;
        let wait = Duration::from_micros(100 * (i % 60));
        match tokio::time::timeout(wait, leases.reserve(&key, 1_000, &key.scope.budgets)).await {
            Ok(held) => leases.release(&held.unwrap().unwrap()),
            Err(_) => given_up += 1,
        }
    }
    assert!(given_up > 0, "no hold was given up");
    // Changes still under way finish on their own.
    tokio::time::sleep(Duration::from_millis(500)).await;
    leases.give_back_unused(Duration::ZERO).await;
    let account = store.account(account).await.unwrap().unwrap();
    let key = store.key(&key.id).await.unwrap().unwrap();
    assert_eq!((account.reserved, key.reserved), (0, 0));
    assert_eq!(
        store.release_stale(i64::MAX).await.unwrap(),
        0,
        "a reservation stayed"
    );
}

/// A limit lowered by another gateway (here: the database directly) is found by the lease's
/// next growth in the background, which withdraws the lease's trust: the next hold asks the
/// database and is refused, though the lease still has room and its trust has most of a second
/// to run. (On a machine slow enough to spend that second, the trust runs out first and the
/// test passes either way.)
#[tokio::test]
async fn a_refusal_found_in_the_background_stops_a_lease_at_once_on_postgres() {
    let test = "a_refusal_found_in_the_background_stops_a_lease_at_once_on_postgres";
    let Some(url) = fresh_postgres_database(test).await else {
        return;
    };
    let config = AccountingConfig {
        postgres_url: Some(url.clone()),
        ..AccountingConfig::default()
    };
    let store = Store::open(&config).await.unwrap();
    let account = "acct-lowered";
    store.add_credits(account, 1_000_000).await.unwrap();
    let new_key = NewKey {
        account_id: account.to_owned(),
        label: "lowered".to_owned(),
        limit: Some(1_000_000),
        limit_reset: None,
        expires_at: None,
        requests_per_minute: None,
        tokens_per_minute: None,
        routing_policy: None,
        team_id: None,
        policy: Default::default(),
        model_budgets: None,
    };
    let key = store
        .create_key("key-lowered", "hash-lowered", &new_key)
        .await
        .unwrap();
    let leases = Leases::new(store.clone());
    // The first hold leases room for 64 holds of 10.
    let mut held = vec![
        leases
            .reserve(&key, 10, &key.scope.budgets)
            .await
            .unwrap()
            .unwrap(),
    ];
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE api_keys SET usd_limit = 0 WHERE id = $1")
        .bind(&key.id)
        .execute(&pool)
        .await
        .unwrap();
    // The 33rd hold passes half the room: the lease grows in the background, and the database
    // refuses.
    for _ in 1..33 {
        held.push(
            leases
                .reserve(&key, 10, &key.scope.budgets)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        leases.reserve(&key, 10, &key.scope.budgets).await.unwrap(),
        Err(Refusal::KeyLimit),
        "the lease still served after the database refused it"
    );
    for hold in &held {
        leases.release(hold);
    }
}
