//! Keys, credits and usage accounting end to end: the real binary with accounting on SQLite or
//! PostgreSQL, the mock upstream, and the ledger read back from the database itself.
//!
//! PostgreSQL tests need `SWITCHYARD_TEST_POSTGRES_URL` (a role that may create databases, e.g.
//! `postgres://postgres:pw@127.0.0.1:5432/postgres`; `.ci/run` sets it) and say they are
//! skipped without it. Each test gets a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use std::time::Duration;

use accounts::*;
use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

#[tokio::test]
async fn keys_gate_requests_and_usage_is_reported_in_openrouter_shapes() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", TOKEN_PRICES).await;
    let body = request("openai/gpt-4.1-nano", false);

    let (status, _, error) = gateway.chat(&body).await;
    assert_eq!(status, 401, "{error}");
    assert_eq!(error["error"]["code"], "invalid_api_key");
    let (status, _) = chat_as(&gateway, "sk-sy-v1-not-a-key", &body).await;
    assert_eq!(status, 401);

    let (key_id, secret) = key_with_credits(&gateway, "acme", "0", json!({ "limit": 1 })).await;
    let (status, error) = chat_as(&gateway, &secret, &body).await;
    assert_eq!(status, 402, "{error}");
    assert_eq!(error["error"]["code"], "insufficient_credits");
    assert_eq!(mock.requests_for("fixture=openai/openai-text").len(), 0);

    let (status, _) = admin(
        &gateway,
        "POST",
        "/accounts/acme/credits",
        json!({ "amount": 2.5 }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = chat_as(&gateway, &secret, &body).await;
    assert_eq!(status, 200, "{answer}");
    // 16 × 0.10 + 363 × 0.40 = 146.8 per million, + 5%
    assert_eq!(answer["usage"]["cost"].as_f64(), Some(0.00015414));

    let id = answer["id"].as_str().unwrap();
    let (status, record) = get_as(&gateway, &secret, &format!("/api/v1/generation?id={id}")).await;
    assert_eq!(status, 200, "{record}");
    let record = &record["data"];
    assert_eq!(record["model"], "openai/gpt-4.1-nano");
    assert_eq!(record["provider_name"], "oa");
    assert_eq!(record["native_tokens_prompt"], 16);
    assert_eq!(record["native_tokens_completion"], 363);
    assert_eq!(record["total_cost"].as_f64(), Some(0.00015414));
    assert_eq!(record["finish_reason"], "stop");
    assert_eq!(record["streamed"], false);
    assert_eq!(record["cancelled"], false);
    assert_eq!(record["attempts"], json!([]));

    let (status, key) = get_as(&gateway, &secret, "/api/v1/key").await;
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["data"]["usage"].as_f64(), Some(0.00015414));
    assert_eq!(key["data"]["usage_daily"].as_f64(), Some(0.00015414));
    assert_eq!(key["data"]["usage_monthly"].as_f64(), Some(0.00015414));
    assert_eq!(key["data"]["limit"].as_f64(), Some(1.0));
    assert_eq!(key["data"]["limit_remaining"].as_f64(), Some(0.99984586));
    let (status, credits) = get_as(&gateway, &secret, "/api/v1/credits").await;
    assert_eq!(status, 200);
    assert_eq!(credits["data"]["total_credits"].as_f64(), Some(2.5));
    assert_eq!(credits["data"]["total_usage"].as_f64(), Some(0.00015414));

    database
        .settled_books(&[&gateway])
        .await
        .assert_consistent();

    // Disabled, then deleted: refused. The secret is never listed.
    let (status, updated) = admin(
        &gateway,
        "PATCH",
        &format!("/keys/{key_id}"),
        json!({ "disabled": true, "label": "off" }),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["label"], "off");
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 401);
    let (_, listed) = admin(&gateway, "GET", "/keys", json!({})).await;
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(
        admin(&gateway, "DELETE", &format!("/keys/{key_id}"), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 401);
}

/// Per-request price 0.001 plus 363 completion tokens at $1 per million, + 5%: 0.00143115 a
/// call. With `max_tokens` = 363 and free prompts the worst case equals the actual cost, so a
/// limit of 50 calls admits exactly 50 whatever the timing.
const CALL_PRICES: &str =
    "prompt_price = \"0\", completion_price = \"1\", request_price = \"0.001\"";
const CALL_NANOS: i64 = 1_431_150;

async fn limit_holds_under_parallel_load(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", CALL_PRICES).await;
    let (_, secret) = key_with_credits(
        &gateway,
        "acme",
        "100",
        json!({ "limit": "0.0715575", "limit_reset": "monthly" }),
    )
    .await;
    let mut body = request("openai/gpt-4.1-nano", false);
    body["max_tokens"] = json!(363);

    let calls = (0..200).map(|_| chat_as(&gateway, &secret, &body));
    let results = futures_util::future::join_all(calls).await;
    let served: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    let refused = results
        .iter()
        .filter(|(s, b)| *s == 402 && b["error"]["code"] == "key_limit_exceeded")
        .count();
    assert_eq!(
        (served.len(), refused),
        (50, 150),
        "{:?}",
        results.iter().find(|(s, _)| *s != 200 && *s != 402)
    );

    let books = database.settled_books(&[&gateway]).await;
    books.assert_consistent();
    assert_eq!(
        (books.generations, books.generation_costs),
        (50, 50 * CALL_NANOS)
    );
    for answer in served {
        let id = answer["id"].as_str().unwrap();
        let (status, record) =
            get_as(&gateway, &secret, &format!("/api/v1/generation?id={id}")).await;
        assert_eq!(status, 200, "{record}");
        assert_eq!(record["data"]["total_cost"].as_f64(), Some(0.00143115));
    }
    let (_, key) = get_as(&gateway, &secret, "/api/v1/key").await;
    assert_eq!(key["data"]["limit_remaining"].as_f64(), Some(0.0));
}

#[tokio::test]
async fn two_hundred_parallel_requests_never_pass_the_limit_on_sqlite() {
    limit_holds_under_parallel_load(Database::sqlite()).await;
}

#[tokio::test]
async fn two_hundred_parallel_requests_never_pass_the_limit_on_postgres() {
    if let Some(database) =
        Database::postgres("two_hundred_parallel_requests_never_pass_the_limit_on_postgres").await
    {
        limit_holds_under_parallel_load(database).await;
    }
}

/// Two gateways on one fresh PostgreSQL database, serving OpenAI's recorded text answer.
struct TwoGateways {
    database: Database,
    /// Kept alive for the gateways.
    _mock: MockUpstream,
    first: Gateway,
    second: Gateway,
}

/// [`TwoGateways`], or `None` (the test is skipped) without a PostgreSQL server.
async fn two_gateways_on_postgres(test: &str) -> Option<TwoGateways> {
    let database = Database::postgres(test).await?;
    let mock = MockUpstream::start().await.unwrap();
    let scenario = "fixture=openai/openai-text";
    let first = gateway(&database, &mock, scenario, CALL_PRICES).await;
    let second = gateway(&database, &mock, scenario, CALL_PRICES).await;
    Some(TwoGateways {
        database,
        _mock: mock,
        first,
        second,
    })
}

#[tokio::test]
async fn two_gateways_on_one_postgres_share_a_key_limit_exactly() {
    let test = "two_gateways_on_one_postgres_share_a_key_limit_exactly";
    let Some(two) = two_gateways_on_postgres(test).await else {
        return;
    };
    let TwoGateways {
        database,
        first,
        second,
        ..
    } = &two;
    let (_, secret) = key_with_credits(first, "acme", "100", json!({ "limit": "0.0715575" })).await;
    let mut body = request("openai/gpt-4.1-nano", false);
    body["max_tokens"] = json!(363);

    let calls = (0..200).map(|i| chat_as(if i % 2 == 0 { first } else { second }, &secret, &body));
    let results = futures_util::future::join_all(calls).await;
    let served = results.iter().filter(|(status, _)| *status == 200).count();
    let refused = results.iter().filter(|(status, _)| *status == 402).count();
    assert_eq!((served, refused), (50, 150));
    let books = database.settled_books(&[first, second]).await;
    books.assert_consistent();
    assert_eq!(
        (books.generations, books.generation_costs),
        (50, 50 * CALL_NANOS)
    );
}

/// How long a gateway trusts a key and its lease without reading the database (1 s), with
/// room for a slow debug gateway.
const TRUST_WITH_SLACK: Duration = Duration::from_secs(5);

/// Sends `body` as `secret` to `gateway`, 20 times a second at most, until it is answered
/// `status`; returns that answer and how many were answered otherwise before. Panics after
/// [`TRUST_WITH_SLACK`].
async fn until_answered(
    gateway: &Gateway,
    secret: &str,
    body: &Value,
    status: u16,
) -> (Value, usize) {
    let started = std::time::Instant::now();
    for before in 0.. {
        let (answered, answer) = chat_as(gateway, secret, body).await;
        if answered == status {
            return (answer, before);
        }
        assert!(
            started.elapsed() < TRUST_WITH_SLACK,
            "still {answered} after {:?}: {answer}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    unreachable!("the loop ends by returning or panicking")
}

#[tokio::test]
async fn a_key_disabled_through_one_gateway_is_refused_by_another_within_a_second() {
    let test = "a_key_disabled_through_one_gateway_is_refused_by_another_within_a_second";
    let Some(two) = two_gateways_on_postgres(test).await else {
        return;
    };
    let TwoGateways { first, second, .. } = &two;
    let (id, secret) = key_with_credits(first, "acme", "100", json!({})).await;
    let body = request("openai/gpt-4.1-nano", false);
    // The second gateway has just read (and remembers) the key, and leased room for it.
    assert_eq!(chat_as(second, &secret, &body).await.0, 200);

    let (status, _) = admin(
        first,
        "PATCH",
        &format!("/keys/{id}"),
        json!({ "disabled": true }),
    )
    .await;
    assert_eq!(status, 200);
    let (answer, _) = until_answered(second, &secret, &body, 401).await;
    assert_eq!(answer["error"]["code"], "invalid_api_key", "{answer}");
}

#[tokio::test]
async fn a_lease_gives_back_unused_room_and_heeds_a_limit_lowered_elsewhere() {
    let test = "a_lease_gives_back_unused_room_and_heeds_a_limit_lowered_elsewhere";
    let Some(database) = Database::postgres(test).await else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", CALL_PRICES).await;
    let (id, secret) = key_with_credits(&gateway, "acme", "100", json!({})).await;
    let body = request("openai/gpt-4.1-nano", false);
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 200);

    // The gateway leased room for more holds than the one it served: the database shows it
    // held (read directly: an admin read would give it back).
    let leased = database.books().await;
    assert_eq!(leased.reservations, 1, "{leased:?}");
    assert!(leased.key_reserved > CALL_NANOS, "{leased:?}");
    assert_eq!(leased.key_reserved, leased.account_reserved, "{leased:?}");
    // Unused, the room goes back on its own: wait until the books show it.
    let started = std::time::Instant::now();
    loop {
        let books = database.books().await;
        if (
            books.key_reserved,
            books.account_reserved,
            books.reservations,
        ) == (0, 0, 0)
        {
            books.assert_consistent();
            break;
        }
        assert!(started.elapsed() < TRUST_WITH_SLACK, "{books:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Another gateway (here: the database directly) lowers the key's limit to what it spent:
    // the lease, with room for 63 more requests, is no longer trusted after a second of them.
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 200);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url()).await.unwrap();
    sqlx::query("UPDATE api_keys SET usd_limit = usage WHERE id = $1")
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
    let (answer, served) = until_answered(&gateway, &secret, &body, 402).await;
    assert_eq!(answer["error"]["code"], "key_limit_exceeded", "{answer}");
    assert!(served < 40, "{served} served past the new limit");
    let books = database.settled_books(&[&gateway]).await;
    books.assert_consistent();
}

#[tokio::test]
async fn the_generation_record_lists_the_failed_attempts_before_the_one_that_served() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let config = format!(
        "{}{}[[models]]\nid = \"openai/gpt-4.1-nano\"\nendpoints = [{{ provider = \"bad\", upstream_model = \"up\", prompt_price = \"0.05\", completion_price = \"0.2\" }}, {{ provider = \"good\", upstream_model = \"up\", {TOKEN_PRICES} }}]\n\n{}",
        provider("bad", "openai", &mock, "status=503", ""),
        provider("good", "openai", &mock, "fixture=openai/openai-text", ""),
        database.config()
    );
    // The price policy puts failed endpoints last: only the first request may try `bad` first,
    // so it is the one checked.
    let gateway =
        Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let (_, secret) = key_with_credits(&gateway, "acme", "1", json!({})).await;
    let mut checked = false;
    for _ in 0..20 {
        let (status, answer) =
            chat_as(&gateway, &secret, &request("openai/gpt-4.1-nano", false)).await;
        assert_eq!(status, 200, "{answer}");
        let id = answer["id"].as_str().unwrap();
        let (_, record) = get_as(&gateway, &secret, &format!("/api/v1/generation?id={id}")).await;
        let attempts = record["data"]["attempts"].as_array().unwrap().clone();
        assert_eq!(record["data"]["provider_name"], "good");
        if let [attempt] = attempts.as_slice() {
            assert_eq!(attempt["provider"], "bad");
            assert_eq!(attempt["model"], "openai/gpt-4.1-nano");
            checked = true;
            break;
        }
        assert_eq!(attempts, Vec::<Value>::new());
    }
    assert!(checked, "`bad` was never tried first");
    database
        .settled_books(&[&gateway])
        .await
        .assert_consistent();
}

#[tokio::test]
async fn rate_limits_refuse_requests_past_a_keys_requests_and_tokens_per_minute() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", TOKEN_PRICES).await;
    let body = request("openai/gpt-4.1-nano", false);

    // Two requests a minute: the bucket holds two, and refills one every 30 s.
    let (_, secret) =
        key_with_credits(&gateway, "acme", "1", json!({ "requests_per_minute": 2 })).await;
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 200);
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 200);
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(&secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "rate_limited");

    // 100 tokens a minute: the first call (379 tokens) runs the bucket into debt for minutes.
    let (_, secret) =
        key_with_credits(&gateway, "acme", "1", json!({ "tokens_per_minute": 100 })).await;
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 200);
    assert_eq!(chat_as(&gateway, &secret, &body).await.0, 429);
}

#[tokio::test]
async fn two_gateways_share_a_rate_limit_through_redis() {
    let test = "two_gateways_share_a_rate_limit_through_redis";
    let (Some(redis), Some(database)) = (test_redis_url(test), Database::postgres(test).await)
    else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let scenario = "fixture=openai/openai-text";
    let first = gateway_with_redis(&database, &mock, scenario, TOKEN_PRICES, Some(&redis)).await;
    let second = gateway_with_redis(&database, &mock, scenario, TOKEN_PRICES, Some(&redis)).await;
    let (_, secret) =
        key_with_credits(&first, "acme", "10", json!({ "requests_per_minute": 10 })).await;
    let body = request("openai/gpt-4.1-nano", false);

    let started = std::time::Instant::now();
    let calls = (0..30).map(|i| chat_as(if i % 2 == 0 { &first } else { &second }, &secret, &body));
    let results = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed().as_secs();
    let served = results.iter().filter(|(status, _)| *status == 200).count() as u64;
    let limited = results.iter().filter(|(status, _)| *status == 429).count() as u64;
    assert_eq!(served + limited, 30);
    // Ten at once, plus one per 6 s the burst took to run: never ten per gateway.
    assert!(
        (10..=10 + elapsed / 6).contains(&served),
        "{served} served in {elapsed} s"
    );
}

#[tokio::test]
async fn a_client_gone_mid_stream_is_charged_for_what_it_got_and_the_record_says_cancelled() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    // The upstream sends 5 chunks, then nothing: the client leaves after reading them.
    let gateway = gateway(
        &database,
        &mock,
        "fixture=openai/openai-text,stall_after=5",
        TOKEN_PRICES,
    )
    .await;
    let (_, secret) = key_with_credits(&gateway, "acme", "1", json!({})).await;
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(&secret)
        .json(&request("openai/gpt-4.1-nano", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-generation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut body = response.bytes_stream();
    let mut received = Vec::new();
    while received.windows(2).filter(|w| w == b"\n\n").count() < 3 {
        received.extend_from_slice(&body.next().await.unwrap().unwrap());
    }
    drop(body);

    let record = loop {
        let (status, record) =
            get_as(&gateway, &secret, &format!("/api/v1/generation?id={id}")).await;
        if status == 200 {
            break record["data"].clone();
        }
        assert_eq!(status, 404, "{record}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(record["streamed"], true);
    assert_eq!(record["cancelled"], true);
    // Charged: the prompt estimated from the body, and at least the chunks relayed.
    let completion = record["native_tokens_completion"].as_i64().unwrap();
    assert!((3..=5).contains(&completion), "{record}");
    assert!(record["total_cost"].as_f64().unwrap() > 0.0, "{record}");
    database
        .settled_books(&[&gateway])
        .await
        .assert_consistent();
}

/// What the durability guarantee promises (README, "Accounting"): a settlement is durable
/// within this long of its response.
const SETTLEMENT_DURABLE_WITHIN: Duration = Duration::from_secs(2);

/// Kills a gateway (SIGKILL) while requests are in flight and streams are open, then starts
/// another on the same database: every response older than [`SETTLEMENT_DURABLE_WITHIN`] at
/// the kill has its record, the books balance, and no hold is left.
async fn killed_under_load(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    // Each answer takes a while, so requests are in flight when the gateway dies; and two
    // streams stall after their first chunks, so some surely are. Holds a killed gateway left
    // in PostgreSQL are swept after a second (whole seconds: two at most).
    let config = format!(
        "{}{}[[models]]\nid = \"openai/gpt-4.1-nano\"\nendpoints = [{{ provider = \"oa\", upstream_model = \"up\", {TOKEN_PRICES} }}]\n[[models]]\nid = \"openai/stalled\"\nendpoints = [{{ provider = \"st\", upstream_model = \"up\", {TOKEN_PRICES} }}]\n\n{}reservation_timeout_secs = 1\n",
        provider(
            "oa",
            "openai",
            &mock,
            "fixture=openai/openai-text,delay_ms=100",
            ""
        ),
        provider(
            "st",
            "openai",
            &mock,
            "fixture=openai/openai-text,stall_after=2",
            ""
        ),
        database.config()
    );
    let start = || Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]);
    let gateway_a = start().await;
    let (_, secret) = key_with_credits(&gateway_a, "acme", "10", json!({})).await;
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let (status, response) = chat_as_stream_start(&gateway_a, &secret, "openai/stalled").await;
        assert_eq!(status, 200);
        stalled.push(response);
    }
    let body = request("openai/gpt-4.1-nano", false);

    let (served_tx, mut served_rx) =
        tokio::sync::mpsc::unbounded_channel::<(String, std::time::Instant)>();
    let mut load = Vec::new();
    for _ in 0..8 {
        let client = gateway_a.client.clone();
        let url = format!("{}/v1/chat/completions", gateway_a.url);
        let (secret, body, served_tx) = (secret.clone(), body.clone(), served_tx.clone());
        load.push(tokio::spawn(async move {
            loop {
                let Ok(response) = client
                    .post(&url)
                    .bearer_auth(&secret)
                    .json(&body)
                    .send()
                    .await
                else {
                    return;
                };
                let Ok(answer) = response.json::<Value>().await else {
                    return;
                };
                if let Some(id) = answer["id"].as_str() {
                    let _ = served_tx.send((id.to_owned(), std::time::Instant::now()));
                }
            }
        }));
    }
    let mut served = Vec::new();
    while served.len() < 320 {
        served.push(served_rx.recv().await.unwrap());
    }
    let killed = std::time::Instant::now();
    drop(gateway_a); // SIGKILL
    for task in load {
        task.await.unwrap();
    }
    drop(stalled);
    tokio::time::sleep(Duration::from_millis(2_100)).await;

    let gateway_b = start().await;
    database
        .settled_books(&[&gateway_b])
        .await
        .assert_consistent();
    let old_enough = served
        .iter()
        .filter(|(_, at)| killed.duration_since(*at) >= SETTLEMENT_DURABLE_WITHIN)
        .collect::<Vec<_>>();
    assert!(old_enough.len() >= 10, "{} old enough", old_enough.len());
    for (id, _) in old_enough {
        let (status, record) =
            get_as(&gateway_b, &secret, &format!("/api/v1/generation?id={id}")).await;
        assert_eq!(status, 200, "served {id} but its record is lost: {record}");
    }
    let (status, _) = chat_as(&gateway_b, &secret, &body).await;
    assert_eq!(status, 200);
    database
        .settled_books(&[&gateway_b])
        .await
        .assert_consistent();
}

#[tokio::test]
async fn a_gateway_killed_under_load_on_sqlite_loses_no_durable_record_and_leaks_no_hold() {
    killed_under_load(Database::sqlite()).await;
}

#[tokio::test]
async fn a_gateway_killed_under_load_on_postgres_loses_no_durable_record_and_leaks_no_hold() {
    let test = "a_gateway_killed_under_load_on_postgres";
    if let Some(database) = Database::postgres(test).await {
        killed_under_load(database).await;
    }
}

#[tokio::test]
async fn the_cli_creates_lists_updates_and_deletes_keys_and_adds_credits() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", TOKEN_PRICES).await;

    let created = cli(
        &gateway,
        &[
            "keys",
            "create",
            "--label",
            "ci",
            "--account",
            "team",
            "--limit",
            "5",
            "--limit-reset",
            "daily",
        ],
    )
    .await;
    let id = created["data"]["id"].as_str().unwrap();
    let secret = created["data"]["key"].as_str().unwrap();
    assert_eq!(created["data"]["limit_reset"], "daily");
    let account = cli(&gateway, &["credits", "add", "team", "3.5"]).await;
    assert_eq!(account["data"]["total_credits"].as_f64(), Some(3.5));
    let (status, _) = chat_as(&gateway, secret, &request("openai/gpt-4.1-nano", false)).await;
    assert_eq!(status, 200);

    let listed = cli(&gateway, &["keys", "list"]).await;
    assert_eq!(listed["data"][0]["id"], id);
    assert_eq!(listed["data"][0]["usage"].as_f64(), Some(0.00015414));
    assert!(!listed.to_string().contains(secret));
    let updated = cli(
        &gateway,
        &[
            "keys",
            "update",
            id,
            "--no-limit",
            "--label",
            "renamed",
            "--disable",
        ],
    )
    .await;
    assert_eq!(updated["data"]["limit"], Value::Null);
    assert_eq!(updated["data"]["label"], "renamed");
    assert_eq!(updated["data"]["disabled"], true);
    assert_eq!(cli(&gateway, &["keys", "delete", id]).await["deleted"], id);
    assert_eq!(cli(&gateway, &["keys", "list"]).await["data"], json!([]));
}

#[tokio::test]
async fn a_keys_routing_policy_replaces_the_models_policy() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let slow = "fixture=openai/openai-text,delay_ms=300";
    let fast = "fixture=openai/openai-text,delay_ms=1";
    let config = format!(
        "{}{}[[models]]\nid = \"m/k\"\nendpoints = [{{ provider = \"slow\", upstream_model = \"up\", prompt_price = \"0.01\", completion_price = \"0.01\" }}, {{ provider = \"fast\", upstream_model = \"up\", prompt_price = \"10\", completion_price = \"10\" }}]\n\n{}",
        provider("slow", "openai", &mock, slow, ""),
        provider("fast", "openai", &mock, fast, ""),
        database.config()
    );
    let gateway =
        Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let (_, default_key) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let (id, latency_key) = key_with_credits(
        &gateway,
        "acme",
        "10",
        json!({ "routing_policy": "latency" }),
    )
    .await;
    // Measure both endpoints once.
    for provider in ["slow", "fast"] {
        let mut body = request("m/k", false);
        body["provider"] = json!({ "only": [provider] });
        let (status, answer) = chat_as(&gateway, &default_key, &body).await;
        assert_eq!(status, 200, "{answer}");
    }
    for _ in 0..3 {
        // The model's policy (price) picks the cheap, slow endpoint; the key's picks the fast.
        let (_, answer) = chat_as(&gateway, &default_key, &request("m/k", false)).await;
        assert_eq!(answer["provider"], "slow", "{answer}");
        let (_, answer) = chat_as(&gateway, &latency_key, &request("m/k", false)).await;
        assert_eq!(answer["provider"], "fast", "{answer}");
    }
    // A sort in the request still wins over the key's policy.
    let mut body = request("m/k", false);
    body["provider"] = json!({ "sort": "price" });
    let (_, answer) = chat_as(&gateway, &latency_key, &body).await;
    assert_eq!(answer["provider"], "slow", "{answer}");

    // Unknown policies are refused; null gives the model's policy back.
    let path = format!("/keys/{id}");
    let (status, error) = admin(
        &gateway,
        "PATCH",
        &path,
        json!({ "routing_policy": "fastest" }),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("fastest")
    );
    let (status, updated) =
        admin(&gateway, "PATCH", &path, json!({ "routing_policy": null })).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["routing_policy"], Value::Null);
    let (_, answer) = chat_as(&gateway, &latency_key, &request("m/k", false)).await;
    assert_eq!(answer["provider"], "slow", "{answer}");
    database
        .settled_books(&[&gateway])
        .await
        .assert_consistent();
}

#[tokio::test]
async fn updating_a_key_under_load_keeps_every_charge_in_its_window() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", TOKEN_PRICES).await;
    let (key_id, secret) = key_with_credits(
        &gateway,
        "acme",
        "100",
        json!({ "limit": 50, "limit_reset": "monthly" }),
    )
    .await;
    let body = request("openai/gpt-4.1-nano", false);
    let calls = futures_util::future::join_all((0..100).map(|_| chat_as(&gateway, &secret, &body)));
    let updates = async {
        for i in 0..40 {
            let path = format!("/keys/{key_id}");
            let (status, updated) = admin(
                &gateway,
                "PATCH",
                &path,
                json!({ "label": format!("l{i}") }),
            )
            .await;
            assert_eq!(status, 200, "{updated}");
        }
    };
    let (results, ()) = tokio::join!(calls, updates);
    let refused = results.iter().find(|(status, _)| *status != 200);
    assert!(refused.is_none(), "{refused:?}");
    let books = database.settled_books(&[&gateway]).await;
    books.assert_consistent();
    assert_eq!(books.generations, 100);
    assert_eq!(books.key_window_usage, books.generation_costs, "{books:?}");
}

#[tokio::test]
async fn a_key_reads_only_its_own_accounts_generations() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", TOKEN_PRICES).await;
    let (_, alice) = key_with_credits(&gateway, "alice", "1", json!({})).await;
    let (_, alice_too) = key_with_credits(&gateway, "alice", "1", json!({})).await;
    let (_, bob) = key_with_credits(&gateway, "bob", "1", json!({})).await;
    let (status, answer) = chat_as(&gateway, &alice, &request("openai/gpt-4.1-nano", false)).await;
    assert_eq!(status, 200, "{answer}");
    let path = format!("/api/v1/generation?id={}", answer["id"].as_str().unwrap());
    assert_eq!(get_as(&gateway, &alice, &path).await.0, 200);
    assert_eq!(get_as(&gateway, &alice_too, &path).await.0, 200);
    let (status, error) = get_as(&gateway, &bob, &path).await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["error"]["code"], "not_found");
    assert!(!error.to_string().contains("alice"), "{error}");
}

#[tokio::test]
async fn a_stopping_gateway_settles_its_open_requests_before_it_exits() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let mut gateway = gateway(
        &database,
        &mock,
        "fixture=openai/openai-text,delay_ms=1000",
        TOKEN_PRICES,
    )
    .await;
    let (_, secret) = key_with_credits(&gateway, "acme", "1", json!({})).await;
    let (client, url) = (gateway.client.clone(), gateway.url.clone());
    let open = tokio::spawn(async move {
        client
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(secret)
            .json(&request("openai/gpt-4.1-nano", false))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    while mock.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = gateway.terminate().await;
    assert!(status.success(), "{status}");
    let answer = open.await.unwrap();
    assert!(answer["id"].is_string(), "{answer}");
    let books = database.books().await;
    books.assert_consistent();
    assert_eq!(books.generations, 1, "{books:?}");
    assert!(books.generation_costs > 0, "{books:?}");
}
