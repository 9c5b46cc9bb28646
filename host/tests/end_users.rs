//! End users, budgets on models and data policies, through the real binary: an end user named
//! on every ingress (the `X-Switchyard-User` header over the body), its budget never overspent
//! by 200 parallel requests (SQLite and PostgreSQL), the account's cap on end user ids, usage
//! listed by end user, team and key, a key's and a team's budgets on models, and a data policy
//! refusing providers that keep prompts.
//!
//! PostgreSQL tests need `SWITCHYARD_TEST_POSTGRES_URL` and say they are skipped without it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use accounts::*;
use common::*;
use serde_json::{Value, json};
use sqlx::Row;
use switchyard_tests::MockUpstream;

const CHEAP: &str = "openai/gpt-4.1-nano";
const CLAUDE: &str = "anthropic/claude-haiku";

/// A gateway on `database` with `oa` (cheap, zero data retention) and `ob` (dearer) serving
/// [`CHEAP`], and `oa` serving [`CLAUDE`].
async fn org_gateway(database: &Database, mock: &MockUpstream) -> Gateway {
    let scenario = "fixture=openai/openai-text";
    let config = format!(
        "{}{}{}{}{}",
        provider("oa", "openai", mock, scenario, "zdr = true"),
        provider("ob", "openai", mock, scenario, ""),
        model(CHEAP, &[("oa", "0.10", "0.40"), ("ob", "2", "8")]),
        model(CLAUDE, &[("oa", "0.10", "0.40")]),
        database.config()
    );
    Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await
}

/// A request of `model` whose hold is bounded by `max_tokens`.
fn bounded(model: &str) -> Value {
    let mut body = request(model, false);
    body["max_tokens"] = json!(400);
    body
}

/// POSTs `body` to `path` with `secret`, and `user` as the `X-Switchyard-User` header.
async fn post_as(
    gateway: &Gateway,
    secret: &str,
    path: &str,
    body: &Value,
    user: Option<&str>,
) -> (u16, Value) {
    let mut request = gateway
        .client
        .post(format!("{}{path}", gateway.url))
        .bearer_auth(secret)
        .json(body);
    if let Some(user) = user {
        request = request.header("x-switchyard-user", user);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Asserts a refusal with `status`, `code` and `level`.
fn assert_refused(answer: &(u16, Value), status: u16, code: &str, level: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["metadata"]["level"], level, "{body}");
}

/// The end user budget rows: (their count, usage, reserved) summed, and the generations of
/// `user`: (cost, count).
async fn end_user_books(database: &Database, user: &str) -> ((i64, i64, i64), (i64, i64)) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url()).await.unwrap();
    let budgets = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS rows, CAST(COALESCE(SUM(usage), 0) AS BIGINT) AS usage,
         CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS reserved
         FROM budgets WHERE id >= 'user:' AND id < 'user;'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let generations = sqlx::query(
        "SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS costs, CAST(COUNT(*) AS BIGINT) AS count
         FROM generations WHERE end_user = $1",
    )
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    let books = (
        (
            budgets.try_get("rows").unwrap(),
            budgets.try_get("usage").unwrap(),
            budgets.try_get("reserved").unwrap(),
        ),
        (
            generations.try_get("costs").unwrap(),
            generations.try_get("count").unwrap(),
        ),
    );
    pool.close().await;
    books
}

/// Each end user of `acme` may spend $0.003 a month (about 18 requests): 200 parallel requests
/// naming `alice` (by header for half of them, over a body naming someone else) spend at most
/// that, the rest are refused with 402 naming the end user, `bob` is still served, the usage
/// listings filter by end user, and a budget lowered below what was spent refuses at once.
async fn end_user_budget_never_overspent(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = org_gateway(&database, &mock).await;
    let (status, account) = admin(
        &gateway,
        "PATCH",
        "/accounts/acme",
        json!({ "end_users": { "limit": "0.003", "limit_reset": "monthly" } }),
    )
    .await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["data"]["end_users"]["limit"], json!(0.003));
    assert_eq!(account["data"]["end_users"]["max"], 100_000);
    let (key_id, secret) = key_with_credits(
        &gateway,
        "acme",
        "100",
        json!({ "allowed_providers": ["oa"] }),
    )
    .await;
    let calls = (0..200).map(|i| {
        let (body, header) = if i % 2 == 0 {
            let mut body = bounded(CHEAP);
            body["user"] = json!("alice");
            (body, None)
        } else {
            let mut body = bounded(CHEAP);
            body["user"] = json!("someone-else");
            (body, Some("alice"))
        };
        let gateway = &gateway;
        let secret = &secret;
        async move { post_as(gateway, secret, "/v1/chat/completions", &body, header).await }
    });
    let results = futures_util::future::join_all(calls).await;
    let served = results.iter().filter(|(status, _)| *status == 200).count();
    assert!(served > 0, "nothing served: {:?}", results.first());
    assert!(served < 200, "nothing refused");
    for answer in results.iter().filter(|(status, _)| *status != 200) {
        assert_refused(answer, 402, "end_user_budget_exceeded", "end_user");
    }
    let mut bob = bounded(CHEAP);
    bob["user"] = json!("bob");
    let (status, answer) = post_as(&gateway, &secret, "/v1/chat/completions", &bob, None).await;
    assert_eq!(status, 200, "{answer}");

    // The listings wait for the settlements: then the books can be read.
    let (status, listed) = get_as(&gateway, &secret, "/api/v1/generation?user=alice").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["totals"]["requests"], served as i64, "{listed}");
    let records = listed["data"].as_array().unwrap();
    assert_eq!(records.len(), served.min(100));
    assert!(records.iter().all(|record| record["user"] == "alice"));
    assert!(
        records
            .iter()
            .all(|record| record["key_id"] == key_id.as_str())
    );
    let (status, listed) = admin(
        &gateway,
        "GET",
        &format!("/usage?account=acme&user=bob&key={key_id}"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["totals"]["requests"], 1, "{listed}");
    let (status, listed) = admin(&gateway, "GET", "/usage?user=someone-else", json!({})).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["totals"]["requests"], 0, "the header wins: {listed}");

    let ((rows, usage, reserved), (costs, count)) = end_user_books(&database, "alice").await;
    assert_eq!(rows, 2, "a budget row for alice and bob only");
    assert_eq!(count, served as i64);
    let ((_, _, _), (bob_costs, _)) = end_user_books(&database, "bob").await;
    assert_eq!(
        usage,
        costs + bob_costs,
        "the budgets are charged every generation"
    );
    assert_eq!(reserved, 0, "nothing held once settled");
    assert!(
        costs <= 3_000_000,
        "alice spent {costs} nano-USD past her $0.003 budget"
    );

    // A budget lowered below what bob spent refuses his next request at once.
    let (status, account) = admin(
        &gateway,
        "PATCH",
        "/accounts/acme",
        json!({ "end_users": { "limit": "0.0000001" } }),
    )
    .await;
    assert_eq!(status, 200, "{account}");
    let answer = post_as(&gateway, &secret, "/v1/chat/completions", &bob, None).await;
    assert_refused(&answer, 402, "end_user_budget_exceeded", "end_user");
}

#[tokio::test]
async fn end_user_budget_never_overspent_on_sqlite() {
    end_user_budget_never_overspent(Database::sqlite()).await;
}

#[tokio::test]
async fn end_user_budget_never_overspent_on_postgres() {
    let test = "end_user_budget_never_overspent_on_postgres";
    if let Some(database) = Database::postgres(test).await {
        end_user_budget_never_overspent(database).await;
    }
}

/// The end user of each ingress is stored with its generation, within the account's cap.
#[tokio::test]
async fn every_ingress_names_an_end_user_within_the_cap() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = org_gateway(&Database::sqlite(), &mock).await;
    let (status, account) = admin(
        &gateway,
        "PATCH",
        "/accounts/acme",
        json!({ "end_users": { "max": 3 } }),
    )
    .await;
    assert_eq!(status, 200, "{account}");
    let (_, secret) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let user_of = |answer: Value| {
        let gateway = &gateway;
        let secret = &secret;
        async move {
            let id = answer["id"].as_str().unwrap().to_owned();
            let path = format!("/api/v1/generation?id={id}");
            let (status, record) = get_as(gateway, secret, &path).await;
            assert_eq!(status, 200, "{record}");
            record["data"]["user"].clone()
        }
    };

    let mut chat = bounded(CHEAP);
    chat["user"] = json!("u-chat");
    let (status, answer) = post_as(&gateway, &secret, "/v1/chat/completions", &chat, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(user_of(answer).await, "u-chat");

    let messages = json!({
        "model": CHEAP, "max_tokens": 100, "metadata": { "user_id": "u-messages" },
        "messages": [{ "role": "user", "content": "Hello!" }],
    });
    let (status, answer) = post_as(&gateway, &secret, "/v1/messages", &messages, None).await;
    assert_eq!(status, 200, "{answer}");
    let (status, listed) = get_as(&gateway, &secret, "/api/v1/generation?user=u-messages").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["totals"]["requests"], 1, "{listed}");

    let responses = json!({ "model": CHEAP, "input": "Hello!", "user": "u-body" });
    let (status, answer) = post_as(
        &gateway,
        &secret,
        "/v1/responses",
        &responses,
        Some("u-responses"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, listed) = get_as(&gateway, &secret, "/api/v1/generation?user=u-responses").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["totals"]["requests"], 1, "the header wins: {listed}");

    // Three end users: a fourth id is refused, a known one still served.
    let completion = json!({ "model": CHEAP, "prompt": "Say hi", "max_tokens": 50, "user": "u-4" });
    let answer = post_as(&gateway, &secret, "/v1/completions", &completion, None).await;
    assert_eq!(answer.0, 403, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], "end_user_limit", "{}", answer.1);
    let (status, answer) = post_as(
        &gateway,
        &secret,
        "/v1/completions",
        &completion,
        Some("u-chat"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(user_of(answer).await, "u-chat");
    let (status, account) = admin(&gateway, "GET", "/accounts/acme", json!({})).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["data"]["end_users"]["count"], 3, "{account}");
    assert_eq!(account["data"]["end_users"]["max"], 3, "{account}");

    // An id past 256 bytes is refused.
    let long = "x".repeat(300);
    let answer = post_as(
        &gateway,
        &secret,
        "/v1/chat/completions",
        &chat,
        Some(&long),
    )
    .await;
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], "end_user_id_too_long");
}

/// A key's budget on CHEAP stops CHEAP requests (402 naming the key) and leaves CLAUDE served;
/// a team's budget on `anthropic/*` stops its keys' Claude requests only; unknown globs are
/// refused, and the CLI sets a budget on models.
async fn budgets_on_models(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = org_gateway(&database, &mock).await;
    let (status, error) = admin(
        &gateway,
        "POST",
        "/keys",
        json!({ "account": "acme", "model_budgets": { "mistral/*": { "limit": 1 } } }),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mistral/*")
    );

    let (key_id, secret) = key_with_credits(
        &gateway,
        "acme",
        "100",
        json!({
            "allowed_providers": ["oa"],
            "model_budgets": { CHEAP: { "limit": "0.003", "limit_reset": "monthly" } },
        }),
    )
    .await;
    let body = bounded(CHEAP);
    let calls = (0..200).map(|_| chat_as(&gateway, &secret, &body));
    let results = futures_util::future::join_all(calls).await;
    let served = results.iter().filter(|(status, _)| *status == 200).count();
    assert!(served > 0 && served < 200, "{served} served");
    for answer in results.iter().filter(|(status, _)| *status != 200) {
        assert_refused(answer, 402, "model_budget_exceeded", "key");
    }
    let (status, answer) = chat_as(&gateway, &secret, &bounded(CLAUDE)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, keys) = admin(&gateway, "GET", "/keys", json!({})).await;
    assert_eq!(status, 200);
    let key = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["id"] == key_id.as_str())
        .unwrap();
    let budget = &key["model_budgets"][CHEAP];
    assert_eq!(budget["limit"], json!(0.003), "{key}");
    assert!(budget["usage"].as_f64().unwrap() <= 0.003, "{key}");
    assert_eq!(budget["reserved"], json!(0), "{key}");
    // The Claude request was not charged to the budget on CHEAP.
    let (status, listed) = get_as(
        &gateway,
        &secret,
        &format!("/api/v1/generation?key={key_id}&limit=1000"),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let cheap_cost: f64 = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record["model"] == CHEAP)
        .map(|record| record["total_cost"].as_f64().unwrap())
        .sum();
    assert!((budget["usage"].as_f64().unwrap() - cheap_cost).abs() < 1e-9);

    // A team's budget on Anthropic models.
    let (status, team) = admin(
        &gateway,
        "POST",
        "/teams",
        json!({ "id": "research", "account": "acme",
                "model_budgets": { "anthropic/*": { "limit": 0 } } }),
    )
    .await;
    assert_eq!(status, 201, "{team}");
    assert_eq!(team["data"]["model_budgets"]["anthropic/*"]["limit"], 0);
    let (_, member) = key_with_credits(
        &gateway,
        "acme",
        "0",
        json!({ "team": "research", "allowed_providers": ["oa"] }),
    )
    .await;
    let answer = chat_as(&gateway, &member, &bounded(CLAUDE)).await;
    assert_refused(&answer, 402, "model_budget_exceeded", "team");
    let (status, answer) = chat_as(&gateway, &member, &bounded(CHEAP)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, team) = admin(
        &gateway,
        "PATCH",
        "/teams/research",
        json!({ "model_budgets": null }),
    )
    .await;
    assert_eq!(status, 200, "{team}");
    let (status, answer) = chat_as(&gateway, &member, &bounded(CLAUDE)).await;
    assert_eq!(status, 200, "{answer}");

    // The CLI.
    let created = cli(
        &gateway,
        &[
            "keys",
            "create",
            "--account",
            "acme",
            "--model-budget",
            "openai/*=50/monthly",
            "--require-zdr",
        ],
    )
    .await;
    assert_eq!(created["data"]["model_budgets"]["openai/*"]["limit"], 50);
    assert_eq!(
        created["data"]["model_budgets"]["openai/*"]["limit_reset"],
        "monthly"
    );
    assert_eq!(created["data"]["data_policy"], json!({ "zdr": true }));
}

#[tokio::test]
async fn budgets_on_models_on_sqlite() {
    budgets_on_models(Database::sqlite()).await;
}

#[tokio::test]
async fn budgets_on_models_on_postgres() {
    if let Some(database) = Database::postgres("budgets_on_models_on_postgres").await {
        budgets_on_models(database).await;
    }
}

/// An account that requires zero data retention is served by `oa` only: a key allowing `ob`
/// only is refused, naming the account and the rule.
#[tokio::test]
async fn a_data_policy_leaves_out_providers_that_keep_prompts() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = org_gateway(&Database::sqlite(), &mock).await;
    let (status, account) = admin(
        &gateway,
        "PATCH",
        "/accounts/acme",
        json!({ "data_policy": { "zdr": true } }),
    )
    .await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["data"]["data_policy"], json!({ "zdr": true }));
    let (_, only_ob) = key_with_credits(
        &gateway,
        "acme",
        "10",
        json!({ "allowed_providers": ["ob"] }),
    )
    .await;
    let answer = chat_as(&gateway, &only_ob, &bounded(CHEAP)).await;
    assert_eq!(answer.0, 403, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], "data_policy_not_met");
    assert_eq!(answer.1["error"]["metadata"]["rule"], "data_policy");
    assert_eq!(answer.1["error"]["metadata"]["level"], "account");
    let (_, any) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let (status, answer) = chat_as(&gateway, &any, &bounded(CHEAP)).await;
    assert_eq!(status, 200, "{answer}");
}

/// An account's end user budget set through one gateway applies on the other within a second.
#[tokio::test]
async fn an_end_user_budget_shows_on_another_gateway_within_a_second() {
    let test = "an_end_user_budget_shows_on_another_gateway";
    let Some(database) = Database::postgres(test).await else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let first = org_gateway(&database, &mock).await;
    let second = org_gateway(&database, &mock).await;
    let (_, secret) =
        key_with_credits(&first, "acme", "10", json!({ "allowed_providers": ["oa"] })).await;
    let mut body = bounded(CHEAP);
    body["user"] = json!("carol");
    let (status, answer) = chat_as(&second, &secret, &body).await;
    assert_eq!(status, 200, "{answer}");
    let (status, account) = admin(
        &first,
        "PATCH",
        "/accounts/acme",
        json!({ "end_users": { "limit": 0 } }),
    )
    .await;
    assert_eq!(status, 200, "{account}");
    let changed = std::time::Instant::now();
    loop {
        let answer = chat_as(&second, &secret, &body).await;
        if answer.0 == 402 {
            assert_refused(&answer, 402, "end_user_budget_exceeded", "end_user");
            break;
        }
        assert_eq!(answer.0, 200, "{}", answer.1);
        assert!(
            changed.elapsed() < std::time::Duration::from_millis(1_500),
            "the change did not reach the other gateway"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(changed.elapsed() <= std::time::Duration::from_millis(1_200));
}

/// Each end user has its own rate limit, set by the account: one past it gets 429, another end
/// user of the same key is still served.
#[tokio::test]
async fn each_end_user_has_its_own_rate_limit() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = org_gateway(&Database::sqlite(), &mock).await;
    let (status, account) = admin(
        &gateway,
        "PATCH",
        "/accounts/acme",
        json!({ "end_users": { "requests_per_minute": 2 } }),
    )
    .await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["data"]["end_users"]["requests_per_minute"], 2);
    let (_, secret) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let body = bounded(CHEAP);
    let path = "/v1/chat/completions";
    for _ in 0..2 {
        let (status, answer) = post_as(&gateway, &secret, path, &body, Some("dave")).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = post_as(&gateway, &secret, path, &body, Some("dave")).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(answer["error"]["code"], "end_user_rate_limited", "{answer}");
    let (status, answer) = post_as(&gateway, &secret, path, &body, Some("erin")).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post_as(&gateway, &secret, path, &body, None).await;
    assert_eq!(status, 200, "no end user, no end user limit: {answer}");
}
