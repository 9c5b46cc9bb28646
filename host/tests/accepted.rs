//! A failed attempt the upstream accepted is charged its estimated prompt
//! (`accounting.charge_accepted_failures`, `prompt` by default): success headers then a cut or a
//! stall, or the whole request sent and then no answer in time. On chat completions and on
//! embeddings alike. A refusal (429, 401, 403, 500)
//! or an upstream that cannot be reached is never charged. The client's generation record and
//! the error's attempts show the charge and why. On SQLite and on PostgreSQL (skipped, and said
//! so, without `SWITCHYARD_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use accounts::*;
use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// Short timeouts, so that hung and stalled upstreams fail fast.
const TIMEOUTS: &str = "timeouts = { first_byte_ms = 400, idle_ms = 400, total_ms = 5000 }";

/// The mock's scenario of each model `acc/<name>`, and whether the upstream accepted it.
const CASES: [(&str, &str, bool); 7] = [
    ("cut", "cut_after=0", true),
    ("stall", "stall_after=0", true),
    ("hang", "hang", true),
    ("limited", "status=429", false),
    ("unauthorized", "status=401", false),
    ("forbidden", "status=403", false),
    ("broken", "status=500", false),
];

/// A gateway on `database` with a chat model `acc/<name>` and an embedding model `emb/<name>`
/// per case, one endpoint each at $1 per million prompt tokens, and `acc/failover` and
/// `emb/failover`: the hanging endpoint, then a good one. `extra` goes into the configuration
/// (an `[accounting]` setting).
async fn gateway_with_cases(database: &Database, mock: &MockUpstream, extra: &str) -> Gateway {
    let mut config = String::new();
    for (name, scenario, _) in CASES {
        config.push_str(&provider(name, "openai", mock, scenario, TIMEOUTS));
        config.push_str(&format!(
            "[[models]]\nid = \"acc/{name}\"\nendpoints = [{{ provider = \"{name}\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }}]\n\n"
        ));
        config.push_str(&format!(
            "[[models]]\nid = \"emb/{name}\"\noutput_modalities = [\"embeddings\"]\nendpoints = [{{ provider = \"{name}\", upstream_model = \"up\", prompt_price = \"1\" }}]\n\n"
        ));
    }
    config.push_str(&provider("good", "openai", mock, "", ""));
    config.push_str("[[models]]\nid = \"acc/failover\"\nendpoints = [{ provider = \"hang\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }, { provider = \"good\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }]\n\n");
    config.push_str("[[models]]\nid = \"emb/failover\"\noutput_modalities = [\"embeddings\"]\nendpoints = [{ provider = \"hang\", upstream_model = \"up\", prompt_price = \"1\" }, { provider = \"good\", upstream_model = \"up\", prompt_price = \"1\" }]\n\n");
    config.push_str(&database.config());
    config.push_str(extra);
    Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await
}

/// A request to `model` whose body is long enough that its estimated prompt is not the
/// mock's usage; returns it and its estimated prompt tokens (four bytes a token).
fn long_request(model: &str) -> (Value, i64) {
    let body = json!({
        "model": model,
        "max_tokens": 16,
        "messages": [{ "role": "user", "content": "word ".repeat(400) }],
    });
    let bytes = serde_json::to_vec(&body).unwrap().len() as i64;
    (body, (bytes + 3) / 4)
}

/// The routes whose failed attempts are charged alike.
#[derive(Debug, Clone, Copy)]
enum Api {
    Chat,
    Embeddings,
}

impl Api {
    /// A long request to the route's model for case `name` (`acc/<name>` or `emb/<name>`),
    /// tried on the endpoints in `order` when given; returns it and its estimated prompt tokens:
    /// four bytes a token of the body the adapter is handed (the client's for chat, the
    /// canonical request without `provider` for embeddings).
    fn request(self, name: &str, order: Option<&[&str]>) -> (Value, i64) {
        let tokens = |body: &Value| (serde_json::to_vec(body).unwrap().len() as i64 + 3) / 4;
        let order = order.map(|order| json!({ "order": order }));
        match self {
            Api::Chat => {
                let (mut body, _) = long_request(&format!("acc/{name}"));
                if let Some(order) = order {
                    body["provider"] = order;
                }
                let estimated = tokens(&body);
                (body, estimated)
            }
            Api::Embeddings => {
                let mut body = json!({
                    "model": format!("emb/{name}"),
                    "input": "word ".repeat(400),
                });
                let estimated = tokens(&body);
                if let Some(order) = order {
                    body["provider"] = order;
                }
                (body, estimated)
            }
        }
    }

    /// Sends `body` to the route with key `secret`: the status and the JSON answer.
    async fn send_as(self, gateway: &Gateway, secret: &str, body: &Value) -> (u16, Value) {
        let path = match self {
            Api::Chat => "/v1/chat/completions",
            Api::Embeddings => "/v1/embeddings",
        };
        let response = gateway
            .client
            .post(format!("{}{path}", gateway.url))
            .bearer_auth(secret)
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

async fn record(gateway: &Gateway, secret: &str, id: &str) -> Value {
    let (status, record) = get_as(gateway, secret, &format!("/api/v1/generation?id={id}")).await;
    assert_eq!(status, 200, "{record}");
    record["data"].clone()
}

async fn accepted_failures_are_charged_their_prompt(database: Database) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with_cases(&database, &mock, "").await;
    let (_, secret) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    for api in [Api::Chat, Api::Embeddings] {
        let mut charged_ids = Vec::new();
        for (name, scenario, accepted) in CASES {
            let (body, prompt_tokens) = api.request(name, None);
            let (status, answer) = api.send_as(&gateway, &secret, &body).await;
            assert!(status >= 400, "{api:?} {name}: {status} {answer}");
            let attempt = &answer["error"]["metadata"]["attempts"][0];
            assert_eq!(attempt["provider"], name, "{api:?} {scenario}: {answer}");
            if !accepted {
                assert!(
                    attempt.get("charged").is_none(),
                    "{api:?} {scenario}: {answer}"
                );
                continue;
            }
            let charged = &attempt["charged"];
            assert_eq!(
                charged["reason"], "upstream_accepted",
                "{api:?} {scenario}: {answer}"
            );
            assert_eq!(
                charged["prompt_tokens"], prompt_tokens,
                "{api:?} {scenario}"
            );
            let id = charged["generation_id"].as_str().unwrap();
            let record = record(&gateway, &secret, id).await;
            assert_eq!(
                record["tokens_prompt"], prompt_tokens,
                "{api:?} {scenario}: {record}"
            );
            assert_eq!(record["tokens_completion"], 0, "{record}");
            assert_eq!(record["finish_reason"], "error", "{record}");
            assert_eq!(record["usage_estimated"], true, "{record}");
            assert_eq!(record["provider_name"], name, "{record}");
            assert_eq!(
                record["attempts"][0]["charged"]["reason"],
                "upstream_accepted"
            );
            // $1 per million tokens, plus the platform fee.
            let cost = record["total_cost"].as_f64().unwrap();
            let upstream = prompt_tokens as f64 / 1e6;
            assert!(
                cost >= upstream && cost < upstream * 1.2,
                "{cost} for {upstream}: {record}"
            );
            assert_eq!(
                charged["cost"].as_f64().unwrap(),
                cost,
                "{api:?} {scenario}"
            );
            charged_ids.push(id.to_owned());
        }
        assert_eq!(charged_ids.len(), 3, "{api:?}");

        // An accepted failure before a served attempt is charged with the served generation.
        let (body, prompt_tokens) = api.request("failover", Some(&["hang", "good"]));
        let (status, answer) = api.send_as(&gateway, &secret, &body).await;
        assert_eq!(status, 200, "{api:?}: {answer}");
        let served = record(&gateway, &secret, answer["id"].as_str().unwrap()).await;
        let charged = &served["attempts"][0]["charged"];
        assert_eq!(charged["reason"], "upstream_accepted", "{api:?}: {served}");
        assert_eq!(charged["prompt_tokens"], prompt_tokens, "{api:?}: {served}");
        let answered = answer["usage"]["cost"].as_f64().unwrap();
        let total = served["total_cost"].as_f64().unwrap();
        let failed = charged["cost"].as_f64().unwrap();
        assert!(
            (total - answered - failed).abs() < 1e-9,
            "{api:?}: {total} = {answered} + {failed}: {served}"
        );
        assert_eq!(served["charge_note"], Value::Null, "{api:?}: {served}");
    }

    let books = database.settled_books(&[&gateway]).await;
    books.assert_consistent();
    // Three charged failures and one served failover on each route.
    assert_eq!(books.generations, 8, "{books:?}");
}

#[tokio::test]
async fn accepted_failures_are_charged_their_prompt_on_sqlite() {
    accepted_failures_are_charged_their_prompt(Database::sqlite()).await;
}

#[tokio::test]
async fn accepted_failures_are_charged_their_prompt_on_postgres() {
    let test = "accepted_failures_are_charged_their_prompt_on_postgres";
    let Some(database) = Database::postgres(test).await else {
        return;
    };
    accepted_failures_are_charged_their_prompt(database).await;
}

/// `charge_accepted_failures = "none"`: the operator pays for them; nothing is recorded.
#[tokio::test]
async fn accepted_failures_are_free_when_configured() {
    let database = Database::sqlite();
    let mock = MockUpstream::start().await.unwrap();
    let extra = "charge_accepted_failures = \"none\"\n";
    let gateway = gateway_with_cases(&database, &mock, extra).await;
    let (_, secret) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let (body, _) = long_request("acc/hang");
    let (status, answer) = chat_as(&gateway, &secret, &body).await;
    assert_eq!(status, 504, "{answer}");
    assert!(
        answer["error"]["metadata"]["attempts"][0]
            .get("charged")
            .is_none()
    );
    let books = database.settled_books(&[&gateway]).await;
    books.assert_consistent();
    assert_eq!(books.generations, 0, "{books:?}");
}

/// An upstream that cannot be reached never had the request: nothing is charged.
#[tokio::test]
async fn an_unreachable_upstream_is_not_charged() {
    let database = Database::sqlite();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = format!(
        "[providers.gone]\nplugin = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\n\n[[models]]\nid = \"acc/gone\"\nendpoints = [{{ provider = \"gone\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }}]\n\n{}",
        database.config()
    );
    let gateway =
        Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let (_, secret) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let (body, _) = long_request("acc/gone");
    let (status, answer) = chat_as(&gateway, &secret, &body).await;
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]["metadata"]["attempts"][0]
            .get("charged")
            .is_none()
    );
    let books = database.settled_books(&[&gateway]).await;
    assert_eq!(books.generations, 0, "{books:?}");
}

/// A stream the upstream accepted and then stalled before its first chunk is charged too.
#[tokio::test]
async fn a_stream_stalled_before_its_first_chunk_is_charged() {
    let database = Database::sqlite();
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway_with_cases(&database, &mock, "").await;
    let (_, secret) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let (mut body, _) = long_request("acc/stall");
    body["stream"] = json!(true);
    let prompt_tokens = (serde_json::to_vec(&body).unwrap().len() as i64 + 3) / 4;
    let (status, answer) = chat_as(&gateway, &secret, &body).await;
    assert_eq!(status, 504, "{answer}");
    let charged = &answer["error"]["metadata"]["attempts"][0]["charged"];
    assert_eq!(charged["prompt_tokens"], prompt_tokens, "{answer}");
    let record = record(
        &gateway,
        &secret,
        charged["generation_id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(record["tokens_prompt"], prompt_tokens, "{record}");
    database
        .settled_books(&[&gateway])
        .await
        .assert_consistent();
}

/// A client that leaves during failover, after an attempt the upstream accepted, still pays for
/// it: its record says `cancelled`.
#[tokio::test]
async fn a_client_leaving_during_failover_still_pays_for_accepted_attempts() {
    let database = Database::sqlite();
    let mock = MockUpstream::start().await.unwrap();
    let extra = format!(
        "\n{}[[models]]\nid = \"acc/leave\"\nendpoints = [{{ provider = \"hang\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }}, {{ provider = \"slowhang\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }}]\n",
        provider(
            "slowhang",
            "openai",
            &mock,
            "hang",
            "timeouts = { first_byte_ms = 30000 }"
        ),
    );
    let gateway = gateway_with_cases(&database, &mock, &extra).await;
    let (_, secret) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let (mut body, _) = long_request("acc/leave");
    body["provider"] = json!({ "order": ["hang", "slowhang"] });
    let prompt_tokens = (serde_json::to_vec(&body).unwrap().len() as i64 + 3) / 4;
    // The first endpoint times out after 400 ms; the client leaves while the second hangs.
    let sent = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(&secret)
        .json(&body)
        .timeout(std::time::Duration::from_millis(1500))
        .send()
        .await;
    assert!(sent.is_err(), "{sent:?}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let books = database.settled_books(&[&gateway]).await;
        if books.generations == 1 {
            books.assert_consistent();
            let upstream = prompt_tokens as f64 / 1e6 * 1e9;
            assert!(books.generation_costs as f64 >= upstream, "{books:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{books:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
