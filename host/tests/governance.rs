//! Organisation → team → key, through the real binary: allow-lists and price ceilings at each
//! level (the narrowest wins, a refusal names the level and the rule), teams of one account
//! only, a team with keys removed only when its keys move, and a team budget that 200 parallel
//! requests never overspend — on SQLite, on PostgreSQL, and with two gateways sharing
//! PostgreSQL (where a change made through one shows on the other within a second).
//!
//! PostgreSQL tests need `SWITCHYARD_TEST_POSTGRES_URL` and say they are skipped without it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use std::time::{Duration, Instant};

use accounts::*;
use common::*;
use serde_json::{Value, json};
use sqlx::Row;
use switchyard_tests::MockUpstream;

const CHEAP: &str = "openai/gpt-4.1-nano";
const CLAUDE: &str = "anthropic/claude-haiku";

/// A gateway on `database` with two providers: `oa` (cheap) and `ob` (dearer) serve
/// [`CHEAP`]; only `oa` serves [`CLAUDE`].
async fn org_gateway(database: &Database, mock: &MockUpstream) -> Gateway {
    let scenario = "fixture=openai/openai-text";
    let config = format!(
        "{}{}{}{}{}",
        provider("oa", "openai", mock, scenario, ""),
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

async fn create_team(gateway: &Gateway, body: Value) -> Value {
    let (status, team) = admin(gateway, "POST", "/teams", body).await;
    assert_eq!(status, 201, "{team}");
    team["data"].clone()
}

/// Asserts a 403 naming `level`, `rule` and `code`.
fn assert_refused(answer: &(u16, Value), level: &str, rule: &str, code: &str) {
    let (status, body) = answer;
    assert_eq!(*status, 403, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["metadata"]["level"], level, "{body}");
    assert_eq!(error["metadata"]["rule"], rule, "{body}");
    assert!(error["message"].as_str().unwrap().contains(level), "{body}");
}

async fn provider_of(gateway: &Gateway, secret: &str, answer: &Value) -> String {
    let id = answer["id"].as_str().unwrap();
    let (status, record) = get_as(gateway, secret, &format!("/api/v1/generation?id={id}")).await;
    assert_eq!(status, 200, "{record}");
    record["data"]["provider_name"]
        .as_str()
        .or(record["data"]["provider"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn allow_lists_at_each_level(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = org_gateway(&database, &mock).await;

    // An unknown model or glob is refused when the rule is made, at every level.
    let (status, error) = admin(
        &gateway,
        "POST",
        "/keys",
        json!({ "account": "acme", "allowed_models": ["mistral/*"] }),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mistral/*")
    );
    let (status, error) = admin(
        &gateway,
        "POST",
        "/teams",
        json!({ "account": "acme", "allowed_models": ["openai/gpt-9"] }),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    let (status, error) = admin(
        &gateway,
        "PATCH",
        "/accounts/acme",
        json!({ "allowed_models": ["nobody/*"] }),
    )
    .await;
    assert_eq!(status, 400, "{error}");

    // Team level: research may use Anthropic models only.
    let research = create_team(
        &gateway,
        json!({ "id": "research", "account": "acme", "name": "Research", "allowed_models": ["anthropic/*"] }),
    )
    .await;
    assert_eq!(research["allowed_models"], json!(["anthropic/*"]));
    let (_, researcher) =
        key_with_credits(&gateway, "acme", "10", json!({ "team": "research" })).await;
    let answer = chat_as(&gateway, &researcher, &bounded(CLAUDE)).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let refused = chat_as(&gateway, &researcher, &bounded(CHEAP)).await;
    assert_refused(&refused, "team", "allowed_models", "model_not_allowed");

    // Key level: only provider ob; a key that denies oa cannot reach Claude at all.
    let (_, only_ob) = key_with_credits(
        &gateway,
        "acme",
        "10",
        json!({ "allowed_providers": ["ob"] }),
    )
    .await;
    let (status, answer) = chat_as(&gateway, &only_ob, &bounded(CHEAP)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(provider_of(&gateway, &only_ob, &answer).await, "ob");
    let (_, no_oa) = key_with_credits(
        &gateway,
        "acme",
        "10",
        json!({ "denied_providers": ["oa"] }),
    )
    .await;
    let refused = chat_as(&gateway, &no_oa, &bounded(CLAUDE)).await;
    assert_refused(&refused, "key", "denied_providers", "provider_not_allowed");

    // Account level: a prompt price ceiling of $1 per million leaves ob out, so a key that
    // allows only ob is refused, naming the account; the narrowest level (the team) is named
    // first when several refuse.
    let (status, account) = admin(
        &gateway,
        "PATCH",
        "/accounts/acme",
        json!({ "max_price": { "prompt": 1 } }),
    )
    .await;
    assert_eq!(status, 200, "{account}");
    let refused = chat_as(&gateway, &only_ob, &bounded(CHEAP)).await;
    assert_refused(&refused, "account", "max_price", "price_above_ceiling");
    let refused = chat_as(&gateway, &researcher, &bounded(CHEAP)).await;
    assert_refused(&refused, "team", "allowed_models", "model_not_allowed");

    // A change of a team applies to its keys' next request.
    let (status, team) = admin(
        &gateway,
        "PATCH",
        "/teams/research",
        json!({ "allowed_models": null }),
    )
    .await;
    assert_eq!(status, 200, "{team}");
    let (status, answer) = chat_as(&gateway, &researcher, &bounded(CHEAP)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(provider_of(&gateway, &researcher, &answer).await, "oa");

    // A team of another account is refused, for a new key and for a moved one.
    create_team(&gateway, json!({ "id": "globex-ops", "account": "globex" })).await;
    let (status, error) = admin(
        &gateway,
        "POST",
        "/keys",
        json!({ "account": "acme", "team": "globex-ops" }),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "foreign_team", "{error}");
    let (status, keys) = admin(&gateway, "GET", "/keys", json!({})).await;
    assert_eq!(status, 200);
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, error) = admin(
        &gateway,
        "PATCH",
        &format!("/keys/{key_id}"),
        json!({ "team": "globex-ops" }),
    )
    .await;
    assert_eq!(status, 400, "{error}");

    // A team with keys is removed only when asked where its keys go.
    let (status, error) = admin(&gateway, "DELETE", "/teams/research", json!({})).await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"]["code"], "team_has_keys");
    let (status, error) = admin(
        &gateway,
        "DELETE",
        "/teams/research?move_keys_to=globex-ops",
        json!({}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    let (status, removed) = admin(
        &gateway,
        "DELETE",
        "/teams/research?move_keys_to=none",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["keys_moved"], 1);
    let (status, key) = admin(&gateway, "GET", "/keys", json!({})).await;
    assert_eq!(status, 200);
    assert!(
        key["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|key| key["team"].is_null())
    );
    let (status, answer) = chat_as(&gateway, &researcher, &bounded(CLAUDE)).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn allow_lists_at_each_level_on_sqlite() {
    allow_lists_at_each_level(Database::sqlite()).await;
}

#[tokio::test]
async fn allow_lists_at_each_level_on_postgres() {
    if let Some(database) = Database::postgres("allow_lists_at_each_level_on_postgres").await {
        allow_lists_at_each_level(database).await;
    }
}

/// The team budget's row and the generations of its keys, in nano-USD: (usage, reserved,
/// generation costs, generations, reservations).
async fn team_books(database: &Database, team: &str) -> (i64, i64, i64, i64, i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url()).await.unwrap();
    let budget = sqlx::query("SELECT usage, reserved FROM budgets WHERE id = $1")
        .bind(format!("team:{team}"))
        .fetch_one(&pool)
        .await
        .unwrap();
    let generations = sqlx::query(
        "SELECT CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS costs, COUNT(*) AS count
         FROM generations WHERE team_id = $1",
    )
    .bind(team)
    .fetch_one(&pool)
    .await
    .unwrap();
    let reservations = sqlx::query("SELECT COUNT(*) AS count FROM reservations")
        .fetch_one(&pool)
        .await
        .unwrap();
    let books = (
        budget.try_get("usage").unwrap(),
        budget.try_get("reserved").unwrap(),
        generations.try_get("costs").unwrap(),
        generations.try_get("count").unwrap(),
        reservations.try_get("count").unwrap(),
    );
    pool.close().await;
    books
}

/// A team budget of $0.003 (about 18 requests; the team allows provider `oa` only, so a hold
/// is priced at `oa`'s prices), two keys in the team without limits of their
/// own, an account with plenty of credits: 200 parallel requests spread over both keys (and
/// both gateways) spend at most the budget, and the rest are refused with 402 naming the team.
async fn team_budget_never_overspent(database: Database, two_gateways: bool) {
    let mock = MockUpstream::start().await.unwrap();
    let first = org_gateway(&database, &mock).await;
    let second = match two_gateways {
        true => Some(org_gateway(&database, &mock).await),
        false => None,
    };
    create_team(
        &first,
        json!({
            "id": "ops", "account": "acme", "limit": "0.003", "limit_reset": "monthly",
            "allowed_providers": ["oa"],
        }),
    )
    .await;
    let (_, one) = key_with_credits(&first, "acme", "100", json!({ "team": "ops" })).await;
    let (_, two) = key_with_credits(&first, "acme", "0", json!({ "team": "ops" })).await;
    let body = bounded(CHEAP);
    let calls = (0..200).map(|i| {
        let gateway = match &second {
            Some(second) if i % 3 == 1 => second,
            _ => &first,
        };
        let secret = if i % 2 == 0 { &one } else { &two };
        chat_as(gateway, secret, &body)
    });
    let results = futures_util::future::join_all(calls).await;
    let served = results.iter().filter(|(status, _)| *status == 200).count();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|(status, _)| *status != 200)
        .map(|(status, body)| {
            assert_eq!(*status, 402, "{body}");
            body
        })
        .collect();
    assert!(served > 0, "nothing served: {:?}", refused.first());
    assert!(!refused.is_empty(), "nothing refused");
    for body in &refused {
        assert_eq!(body["error"]["code"], "team_budget_exceeded", "{body}");
        assert_eq!(body["error"]["metadata"]["level"], "team", "{body}");
    }
    let mut gateways = vec![&first];
    gateways.extend(second.as_ref());
    for gateway in &gateways {
        let (status, team) = admin(gateway, "GET", "/teams/ops", json!({})).await;
        assert_eq!(status, 200, "{team}");
    }
    let (usage, reserved, costs, generations, reservations) = team_books(&database, "ops").await;
    assert_eq!(generations, served as i64);
    assert_eq!(usage, costs, "the budget is charged every generation");
    assert_eq!(
        (reserved, reservations),
        (0, 0),
        "nothing held once settled"
    );
    assert!(
        usage <= 3_000_000,
        "spent {usage} nano-USD past the $0.003 budget"
    );
    // What room is left (holds are dearer than the costs) runs out a request or two later.
    let mut more = 0;
    loop {
        let (status, answer) = chat_as(&first, &one, &body).await;
        if status == 402 {
            assert_eq!(answer["error"]["code"], "team_budget_exceeded", "{answer}");
            break;
        }
        assert_eq!(status, 200, "{answer}");
        more += 1;
        assert!(more < 5, "the budget keeps serving");
    }
    // Raising it lets requests through at once.
    let (status, team) = admin(&first, "PATCH", "/teams/ops", json!({ "limit": "1" })).await;
    assert_eq!(status, 200, "{team}");
    assert_eq!(team["data"]["limit"], json!(1));
    let (status, answer) = chat_as(&first, &one, &body).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn team_budget_never_overspent_on_sqlite() {
    team_budget_never_overspent(Database::sqlite(), false).await;
}

#[tokio::test]
async fn team_budget_never_overspent_on_postgres() {
    if let Some(database) = Database::postgres("team_budget_never_overspent_on_postgres").await {
        team_budget_never_overspent(database, false).await;
    }
}

#[tokio::test]
async fn team_budget_never_overspent_by_two_gateways_on_one_postgres() {
    let test = "team_budget_two_gateways_postgres";
    if let Some(database) = Database::postgres(test).await {
        team_budget_never_overspent(database, true).await;
    }
}

/// A team's rule changed through one gateway applies on the other within a second.
#[tokio::test]
async fn a_team_change_shows_on_another_gateway_within_a_second() {
    let test = "a_team_change_shows_on_another_gateway";
    let Some(database) = Database::postgres(test).await else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let first = org_gateway(&database, &mock).await;
    let second = org_gateway(&database, &mock).await;
    create_team(&first, json!({ "id": "ops", "account": "acme" })).await;
    let (_, secret) = key_with_credits(&first, "acme", "10", json!({ "team": "ops" })).await;
    let (status, answer) = chat_as(&second, &secret, &bounded(CHEAP)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, team) = admin(
        &first,
        "PATCH",
        "/teams/ops",
        json!({ "allowed_models": [CLAUDE] }),
    )
    .await;
    assert_eq!(status, 200, "{team}");
    let changed = Instant::now();
    loop {
        let answer = chat_as(&second, &secret, &bounded(CHEAP)).await;
        if answer.0 == 403 {
            assert_refused(&answer, "team", "allowed_models", "model_not_allowed");
            break;
        }
        assert_eq!(answer.0, 200, "{}", answer.1);
        assert!(
            changed.elapsed() < Duration::from_millis(1_500),
            "the change did not reach the other gateway"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(changed.elapsed() <= Duration::from_millis(1_200));
}

/// The CLI creates a key in a team with an allow-list, and an unknown glob fails it.
#[tokio::test]
async fn the_cli_creates_a_key_with_a_team_and_an_allow_list() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = org_gateway(&database, &mock).await;
    create_team(&gateway, json!({ "id": "research", "account": "acme" })).await;
    let created = cli(
        &gateway,
        &[
            "keys",
            "create",
            "--account",
            "acme",
            "--team",
            "research",
            "--allowed-models",
            "anthropic/*",
            "--denied-providers",
            "ob",
        ],
    )
    .await;
    assert_eq!(created["data"]["team"], "research");
    assert_eq!(created["data"]["allowed_models"], json!(["anthropic/*"]));
    assert_eq!(created["data"]["denied_providers"], json!(["ob"]));
    let secret = created["data"]["key"].as_str().unwrap().to_owned();
    admin(
        &gateway,
        "POST",
        "/accounts/acme/credits",
        json!({ "amount": 5 }),
    )
    .await;
    let refused = chat_as(&gateway, &secret, &bounded(CHEAP)).await;
    assert_refused(&refused, "key", "allowed_models", "model_not_allowed");
    let (status, answer) = chat_as(&gateway, &secret, &bounded(CLAUDE)).await;
    assert_eq!(status, 200, "{answer}");
    let id = created["data"]["id"].as_str().unwrap();
    let updated = cli(&gateway, &["keys", "update", id, "--no-team"]).await;
    assert_eq!(updated["data"]["team"], Value::Null);
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["keys", "create", "--allowed-models", "mistral/*"])
        .args(["--gateway", &gateway.url])
        .env("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("mistral/*"));
}
