//! A hold bounds its charge: parallel requests whose actual cost differs from the naive worst
//! case (`n` choices, images by URL, absurd usage, no usage at all) never spend past a key's
//! limit, on SQLite, on PostgreSQL and with two gateways on one PostgreSQL; every generation is
//! recorded, and its record says how it was charged.
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

/// The recorded OpenAI answer with its `usage` replaced (removed when `None`), served as
/// fixture `ledger/answer`.
fn answer_fixtures(usage: Option<Value>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let recorded = switchyard_tests::fixtures_dir().join("openai/openai-text.json");
    let mut answer: Value = serde_json::from_slice(&std::fs::read(recorded).unwrap()).unwrap();
    match usage {
        Some(usage) => answer["usage"] = usage,
        None => {
            answer.as_object_mut().unwrap().remove("usage");
        }
    }
    std::fs::create_dir(dir.path().join("ledger")).unwrap();
    std::fs::write(
        dir.path().join("ledger/answer.json"),
        serde_json::to_vec(&answer).unwrap(),
    )
    .unwrap();
    dir
}

/// One overspend scenario: the upstream reports `usage`, endpoints cost `prices`, the key may
/// spend `limit` USD (its account holds as much) and 60 requests `body` are sent at once.
struct Scenario {
    usage: Option<Value>,
    prices: &'static str,
    body: Value,
    limit: &'static str,
}

/// What the scenario served (answers), once every settlement is committed.
struct Outcome {
    served: Vec<Value>,
    books: Books,
    limit_nanos: i64,
    gateway: Gateway,
    secret: String,
    _mock: MockUpstream,
    _fixtures: tempfile::TempDir,
}

impl Outcome {
    /// The generation record of each served answer.
    async fn records(&self) -> Vec<Value> {
        let mut records = Vec::new();
        for answer in &self.served {
            let id = answer["id"].as_str().unwrap();
            let path = format!("/api/v1/generation?id={id}");
            let (status, record) = get_as(&self.gateway, &self.secret, &path).await;
            assert_eq!(status, 200, "{record}");
            records.push(record["data"].clone());
        }
        records
    }
}

/// Runs `scenario` on one gateway (two when `two_gateways`, sharing the load) and checks the
/// books: consistent, and neither the key nor its account past the limit.
async fn never_overspends(database: Database, scenario: Scenario, two_gateways: bool) -> Outcome {
    let fixtures = answer_fixtures(scenario.usage);
    let mock = MockUpstream::start_with_fixtures(fixtures.path().to_owned())
        .await
        .unwrap();
    let first = gateway(&database, &mock, "fixture=ledger/answer", scenario.prices).await;
    let second = if two_gateways {
        Some(gateway(&database, &mock, "fixture=ledger/answer", scenario.prices).await)
    } else {
        None
    };
    let (_, secret) = key_with_credits(
        &first,
        "acme",
        scenario.limit,
        json!({ "limit": scenario.limit }),
    )
    .await;
    let calls = (0..60).map(|i| {
        let gateway = match &second {
            Some(second) if i % 2 == 1 => second,
            _ => &first,
        };
        chat_as(gateway, &secret, &scenario.body)
    });
    let results = futures_util::future::join_all(calls).await;
    let unexpected = results
        .iter()
        .find(|(status, _)| *status != 200 && *status != 402);
    assert!(unexpected.is_none(), "{unexpected:?}");
    let served: Vec<Value> = results
        .into_iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, answer)| answer)
        .collect();
    assert!(!served.is_empty(), "nothing served");
    let mut gateways = vec![&first];
    gateways.extend(second.as_ref());
    let books = database.settled_books(&gateways).await;
    books.assert_consistent();
    assert_eq!(books.generations, served.len() as i64, "{books:?}");
    let limit_nanos = (scenario.limit.parse::<f64>().unwrap() * 1e9).round() as i64;
    assert!(
        books.key_usage <= limit_nanos,
        "{books:?} past {limit_nanos}"
    );
    assert!(
        books.account_usage <= limit_nanos,
        "{books:?} past {limit_nanos}"
    );
    drop(second);
    Outcome {
        served,
        books,
        limit_nanos,
        gateway: first,
        secret,
        _mock: mock,
        _fixtures: fixtures,
    }
}

/// 8 choices of at most 100 tokens each, answered with 800 completion tokens at $1 per
/// million (+5 %): 0.00084 a call, exactly the hold. A limit of ten calls admits exactly ten.
fn eight_choices() -> Scenario {
    let mut body = request("openai/gpt-4.1-nano", false);
    body["n"] = json!(8);
    body["max_tokens"] = json!(100);
    Scenario {
        usage: Some(json!({ "prompt_tokens": 16, "completion_tokens": 800 })),
        prices: "prompt_price = \"0\", completion_price = \"1\"",
        body,
        limit: "0.0084",
    }
}

async fn n_choices_are_held(database: Database, two_gateways: bool) {
    let outcome = never_overspends(database, eight_choices(), two_gateways).await;
    assert_eq!(outcome.served.len(), 10);
    assert_eq!(outcome.books.key_usage, outcome.limit_nanos);
}

#[tokio::test]
async fn n_choices_are_held_on_sqlite() {
    n_choices_are_held(Database::sqlite(), false).await;
}

#[tokio::test]
async fn n_choices_are_held_on_postgres() {
    if let Some(database) = Database::postgres("n_choices_are_held_on_postgres").await {
        n_choices_are_held(database, false).await;
    }
}

#[tokio::test]
async fn n_choices_are_held_by_two_gateways_on_one_postgres() {
    let test = "n_choices_are_held_by_two_gateways_on_one_postgres";
    if let Some(database) = Database::postgres(test).await {
        n_choices_are_held(database, true).await;
    }
}

#[tokio::test]
async fn n_past_its_cap_is_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", TOKEN_PRICES).await;
    let (_, secret) = key_with_credits(&gateway, "acme", "1", json!({})).await;
    for n in [json!(129), json!(0), json!("2")] {
        let mut body = request("openai/gpt-4.1-nano", false);
        body["n"] = n;
        let (status, error) = chat_as(&gateway, &secret, &body).await;
        assert_eq!(status, 400, "{error}");
        assert!(
            error["error"]["message"].as_str().unwrap().contains("`n`"),
            "{error}"
        );
    }
    assert!(mock.requests().is_empty());
}

/// An image by URL billed 4,000 prompt tokens at $1 per million: far more than its URL's bytes.
fn image_by_url() -> Scenario {
    let mut body = request("openai/gpt-4.1-nano", false);
    body["messages"] = json!([{ "role": "user", "content": [
        { "type": "text", "text": "What is in this picture?" },
        { "type": "image_url", "image_url": { "url": "https://example.com/cat.png" } },
    ] }]);
    Scenario {
        usage: Some(json!({ "prompt_tokens": 4000, "completion_tokens": 10 })),
        prices: "prompt_price = \"1\", completion_price = \"0\"",
        body,
        limit: "0.042",
    }
}

async fn images_by_url_are_held(database: Database) {
    let outcome = never_overspends(database, image_by_url(), false).await;
    // 0.0042 a call: nine fit in the limit at once, and each leaves room as it settles.
    assert!(outcome.served.len() >= 9, "{}", outcome.served.len());
    for record in outcome.records().await {
        assert_eq!(record["total_cost"].as_f64(), Some(0.0042), "{record}");
        assert_eq!(record["charge_note"], Value::Null, "{record}");
    }
}

#[tokio::test]
async fn images_by_url_are_held_on_sqlite() {
    images_by_url_are_held(Database::sqlite()).await;
}

#[tokio::test]
async fn images_by_url_are_held_on_postgres() {
    if let Some(database) = Database::postgres("images_by_url_are_held_on_postgres").await {
        images_by_url_are_held(database).await;
    }
}

/// Usage of 10³⁰ prompt tokens: no amount of money; each call is charged its hold.
fn absurd_usage() -> Scenario {
    let mut body = request("openai/gpt-4.1-nano", false);
    body["max_tokens"] = json!(100);
    Scenario {
        usage: Some(json!({ "prompt_tokens": 1e30, "completion_tokens": 1e30 })),
        prices: "prompt_price = \"1\", completion_price = \"1\"",
        body,
        limit: "0.01",
    }
}

async fn absurd_usage_is_charged_its_hold(database: Database) {
    let outcome = never_overspends(database, absurd_usage(), false).await;
    let records = outcome.records().await;
    let hold = records[0]["total_cost"].as_f64().unwrap();
    assert!(hold > 0.0 && hold < 0.001, "{}", records[0]);
    for record in &records {
        assert_eq!(record["charge_note"], "cost_out_of_range", "{record}");
        assert_eq!(record["total_cost"].as_f64(), Some(hold), "{record}");
        assert_eq!(record["native_tokens_prompt"], i64::MAX, "{record}");
    }
    // Every call charged its hold: as many fit as the limit holds.
    let hold_nanos = (hold * 1e9).round() as i64;
    assert_eq!(
        outcome.served.len() as i64,
        outcome.limit_nanos / hold_nanos
    );
}

#[tokio::test]
async fn absurd_usage_is_charged_its_hold_on_sqlite() {
    absurd_usage_is_charged_its_hold(Database::sqlite()).await;
}

#[tokio::test]
async fn absurd_usage_is_charged_its_hold_on_postgres() {
    let test = "absurd_usage_is_charged_its_hold_on_postgres";
    if let Some(database) = Database::postgres(test).await {
        absurd_usage_is_charged_its_hold(database).await;
    }
}

/// An upstream that reports no usage at all.
fn missing_usage() -> Scenario {
    let mut body = request("openai/gpt-4.1-nano", false);
    body["max_tokens"] = json!(1000);
    Scenario {
        usage: None,
        prices: "prompt_price = \"1\", completion_price = \"1\"",
        body,
        limit: "0.01",
    }
}

async fn missing_usage_is_charged_an_estimate(database: Database) {
    let outcome = never_overspends(database, missing_usage(), false).await;
    for (answer, record) in outcome.served.iter().zip(outcome.records().await) {
        assert_eq!(record["usage_estimated"], true, "{record}");
        // The answer's text is about 1,900 bytes: some 470 tokens.
        let completion = record["native_tokens_completion"].as_i64().unwrap();
        assert!((400..=600).contains(&completion), "{record}");
        assert!(
            record["native_tokens_prompt"].as_i64().unwrap() > 0,
            "{record}"
        );
        assert!(record["total_cost"].as_f64().unwrap() > 0.0, "{record}");
        assert_eq!(answer["usage"]["cost"], record["total_cost"], "{answer}");
    }
}

#[tokio::test]
async fn missing_usage_is_charged_an_estimate_on_sqlite() {
    missing_usage_is_charged_an_estimate(Database::sqlite()).await;
}

#[tokio::test]
async fn missing_usage_is_charged_an_estimate_on_postgres() {
    let test = "missing_usage_is_charged_an_estimate_on_postgres";
    if let Some(database) = Database::postgres(test).await {
        missing_usage_is_charged_an_estimate(database).await;
    }
}

/// `max_completion_tokens` 10 beside `max_tokens` 800, answered with 800 completion tokens at
/// $1 per million (+5 %): an upstream honouring `max_tokens` bills 0.00084 a call, which the
/// hold must cover (a hold of `max_completion_tokens` would charge only 10 tokens of it).
fn both_output_limits() -> Scenario {
    let mut body = request("openai/gpt-4.1-nano", false);
    body["max_completion_tokens"] = json!(10);
    body["max_tokens"] = json!(800);
    Scenario {
        usage: Some(json!({ "prompt_tokens": 16, "completion_tokens": 800 })),
        prices: "prompt_price = \"0\", completion_price = \"1\"",
        body,
        limit: "0.0084",
    }
}

#[tokio::test]
async fn the_larger_output_limit_is_held_when_a_client_sends_both() {
    let outcome = never_overspends(Database::sqlite(), both_output_limits(), false).await;
    assert_eq!(outcome.served.len(), 10);
    for record in outcome.records().await {
        assert_eq!(record["total_cost"].as_f64(), Some(0.00084), "{record}");
        assert_eq!(record["charge_note"], Value::Null, "{record}");
    }
}

/// A Messages request whose tool result holds a PDF by URL, on an Anthropic upstream that bills
/// 150,000 prompt tokens for it at $1 per million (+5 %): 0.1575 a call, held whole although
/// the body is a few hundred bytes.
#[tokio::test]
async fn a_pdf_by_url_in_a_tool_result_is_held_whole() {
    a_pdf_by_url_is_held_whole(150_000, None).await;
}

/// The same with the client's `anthropic-beta: context-1m-…`, which lets the upstream read
/// (and bill) 600,000 tokens of a model whose catalog context is 200,000: the hold covers the
/// lifted window, so the whole 0.63 is charged (a hold of the catalog's window would have
/// clamped it to about 0.21, `cost_above_hold`).
#[tokio::test]
async fn a_beta_lifting_the_context_window_is_held() {
    a_pdf_by_url_is_held_whole(600_000, Some("context-1m-2025-08-07")).await;
}

/// One Messages request with a PDF by URL in a tool result (and `beta` in `anthropic-beta`),
/// answered with `billed` input tokens at $1 per million (+5 %) by a model whose context is
/// 200,000: it is charged exactly that, with no charge note.
async fn a_pdf_by_url_is_held_whole(billed: u64, beta: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let recorded = switchyard_tests::fixtures_dir().join("anthropic/anthropic-text.json");
    let mut answer: Value = serde_json::from_slice(&std::fs::read(recorded).unwrap()).unwrap();
    answer["usage"] = json!({ "input_tokens": billed, "output_tokens": 0 });
    std::fs::create_dir(dir.path().join("ledger")).unwrap();
    std::fs::write(
        dir.path().join("ledger/answer.json"),
        serde_json::to_vec(&answer).unwrap(),
    )
    .unwrap();
    let mock = MockUpstream::start_with_fixtures(dir.path().to_owned())
        .await
        .unwrap();
    let database = Database::sqlite();
    let config = format!(
        "{}[[models]]\nid = \"anthropic/claude\"\ncontext_length = 200000\nendpoints = [{{ provider = \"an\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"0\" }}]\n\n{}",
        provider("an", "anthropic", &mock, "fixture=ledger/answer", ""),
        database.config()
    );
    let gateway =
        Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let (_, secret) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let body = json!({
        "model": "anthropic/claude",
        "max_tokens": 16,
        "messages": [
            { "role": "user", "content": "Summarise the report." },
            { "role": "assistant", "content": [
                { "type": "tool_use", "id": "t", "name": "fetch", "input": {} },
            ] },
            { "role": "user", "content": [
                { "type": "tool_result", "tool_use_id": "t", "content": [
                    { "type": "document", "source": { "type": "url", "url": "https://example.com/big.pdf" } },
                ] },
            ] },
        ],
    });
    let mut request = gateway
        .client
        .post(format!("{}/v1/messages", gateway.url))
        .header("x-api-key", &secret);
    if let Some(beta) = beta {
        request = request.header("anthropic-beta", beta);
    }
    let response = request.json(&body).send().await.unwrap();
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
    let books = database.settled_books(&[&gateway]).await;
    books.assert_consistent();
    // $1 per million tokens plus 5 %, in nano-USD.
    let cost = i64::try_from(billed * 1050).unwrap();
    assert_eq!(
        (books.generations, books.generation_costs),
        (1, cost),
        "{books:?}"
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url()).await.unwrap();
    let note: Option<String> = sqlx::query("SELECT charge_note FROM generations")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(note, None);
}

/// What only Switchyard's own ingress writes, or what reads the operator's upstream files, is
/// refused on the chat route with a 400 naming the field, before any upstream call.
#[tokio::test]
async fn a_clients_anthropic_extension_and_file_ids_are_refused_on_chat() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let gateway = gateway(&database, &mock, "fixture=openai/openai-text", TOKEN_PRICES).await;
    let (_, secret) = key_with_credits(&gateway, "acme", "1", json!({})).await;
    let mut extension = request("openai/gpt-4.1-nano", false);
    extension["anthropic"] = json!({ "tool_results": { "t": { "content": [
        { "type": "document", "source": { "type": "url", "url": "https://example.com/big.pdf" } },
    ] } } });
    let mut file_id = request("openai/gpt-4.1-nano", false);
    file_id["messages"][1]["content"] = json!([
        { "type": "text", "text": "Read this." },
        { "type": "file", "file": { "file_id": "file-abc123" } },
    ]);
    for (body, field) in [(extension, "`anthropic`"), (file_id, "file_id")] {
        let (status, error) = chat_as(&gateway, &secret, &body).await;
        assert_eq!(status, 400, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{error}");
    }
    assert!(mock.requests().is_empty());
}

/// A Responses request offering the code interpreter, at $0.03 a call (tokens free, +5 %), is
/// held 5 calls ($0.1575): refused on $0.10 of credits with no upstream call, and on $1 served
/// and charged its one call ($0.0315) in the books.
#[tokio::test]
async fn built_in_tool_calls_are_held_and_charged() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let fixture = "fixture=synthetic/openai-responses-code-interpreter";
    let opted = "builtin_tools = [\"code_interpreter\"]";
    let config = format!(
        "{}[[models]]\nid = \"m/code\"\nendpoints = [{{ provider = \"code\", upstream_model = \"up\", prompt_price = \"0\", completion_price = \"0\", builtin_tool_prices = {{ code_interpreter = \"0.03\" }} }}]\n\n{}",
        provider("code", "openai-responses", &mock, fixture, opted),
        database.config()
    );
    let gateway =
        Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let body = json!({"model": "m/code", "input": "What is 20!?",
        "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]});
    let ask = |secret: String| {
        gateway
            .client
            .post(format!("{}/v1/responses", gateway.url))
            .bearer_auth(secret)
            .json(&body)
            .send()
    };
    let (_, poor) = key_with_credits(&gateway, "poor", "0.1", json!({})).await;
    let refused = ask(poor).await.unwrap();
    assert_eq!(refused.status(), 402, "{}", refused.text().await.unwrap());
    assert!(mock.requests_for(fixture).is_empty());

    let (_, rich) = key_with_credits(&gateway, "rich", "1", json!({})).await;
    let served = ask(rich).await.unwrap();
    assert_eq!(served.status(), 200, "{}", served.text().await.unwrap());
    let books = database.settled_books(&[&gateway]).await;
    books.assert_consistent();
    assert_eq!(
        (books.generations, books.generation_costs),
        (1, 31_500_000),
        "{books:?}"
    );
}
