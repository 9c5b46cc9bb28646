//! The response cache end to end: the real binary, the recording mock counting upstream calls.
//! A hit makes no upstream call; a whole answer serves a stream and back (chat, Responses,
//! Messages); tenants never read each other's entries; entries expire; Redis is shared by two
//! gateways, and a Redis that is down bypasses the cache; hits are billed and recorded as hits;
//! oversized answers and cut streams are not stored.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use std::time::Duration;

use accounts::*;
use common::*;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const MODEL: &str = "openai/gpt-4.1-nano";
const SCENARIO: &str = "fixture=openai/openai-text";

/// A gateway with one OpenAI-speaking endpoint on `scenario`, accounting off, and `cache`
/// lines in its `[cache]` section.
async fn cached_gateway(mock: &MockUpstream, scenario: &str, cache: &str) -> Gateway {
    let config = format!(
        "{}[[models]]\nid = \"{MODEL}\"\nendpoints = [{{ provider = \"oa\", upstream_model = \"up\", {TOKEN_PRICES} }}]\n\n[cache]\n{cache}\n",
        provider("oa", "openai", mock, scenario, ""),
    );
    Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await
}

/// A deterministic (`temperature: 0`) chat request saying `text`.
fn ask(text: &str, stream: bool) -> Value {
    json!({
        "model": MODEL,
        "stream": stream,
        "temperature": 0,
        "messages": [{ "role": "user", "content": text }]
    })
}

/// POSTs `body` to `path` with `headers` (and `secret` as the bearer, if any).
async fn send(
    gateway: &Gateway,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
    secret: Option<&str>,
) -> (u16, HeaderMap, String) {
    let mut request = gateway
        .client
        .post(format!("{}{path}", gateway.url))
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(secret) = secret {
        request = request.bearer_auth(secret);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn outcome(headers: &HeaderMap) -> &str {
    headers
        .get("x-switchyard-cache")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none")
}

/// The JSON `data:` payloads of a stream (`[DONE]` aside), and whether it ended with `[DONE]`.
fn events(text: &str) -> (Vec<Value>, bool) {
    let data: Vec<&str> = text
        .split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data: ")))
        .collect();
    let done = data.last() == Some(&"[DONE]");
    let values = data
        .iter()
        .filter(|data| **data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    (values, done)
}

fn text_of(answer: &str) -> String {
    let answer: Value = serde_json::from_str(answer).unwrap();
    answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn calls(mock: &MockUpstream, scenario: &str) -> usize {
    mock.requests_for(scenario).len()
}

#[tokio::test]
async fn a_hit_makes_no_upstream_call_and_streams_and_whole_answers_serve_each_other() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = cached_gateway(&mock, SCENARIO, "enabled = true").await;

    let (status, headers, first) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("one", false),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(outcome(&headers), "miss");
    assert_eq!(calls(&mock, SCENARIO), 1);
    let (status, headers, second) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("one", false),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(outcome(&headers), "hit");
    assert_eq!(calls(&mock, SCENARIO), 1, "a hit makes no upstream call");
    let (first, second): (Value, Value) = (
        serde_json::from_str(&first).unwrap(),
        serde_json::from_str(&second).unwrap(),
    );
    assert_eq!(first["choices"], second["choices"]);
    assert_ne!(
        first["id"], second["id"],
        "a hit is a generation of its own"
    );
    assert_eq!(
        headers["x-generation-id"].to_str().unwrap(),
        second["id"].as_str().unwrap()
    );
    assert_eq!(second["usage"]["cache_hit"], true);
    assert_eq!(
        second["usage"]["cost"].as_f64(),
        Some(0.0),
        "a hit costs nothing by default"
    );
    assert_eq!(
        second["usage"]["completion_tokens"],
        first["usage"]["completion_tokens"]
    );

    // The stored whole answer serves a stream.
    let (status, headers, streamed) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("one", true),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(outcome(&headers), "hit");
    assert_eq!(headers["content-type"], "text/event-stream");
    let (chunks, done) = events(&streamed);
    assert!(done, "{streamed}");
    assert_eq!(
        streamed_text(&chunks),
        first["choices"][0]["message"]["content"].as_str().unwrap()
    );
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["object"] == "chat.completion.chunk")
    );
    assert_eq!(chunks.last().unwrap()["usage"]["cache_hit"], true);
    assert_eq!(calls(&mock, SCENARIO), 1);

    // A stored stream serves a whole answer.
    let (_, headers, streamed) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("two", true),
        &[],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "miss");
    assert_eq!(calls(&mock, SCENARIO), 2);
    let (chunks, _) = events(&streamed);
    let (_, headers, whole) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("two", false),
        &[],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "hit", "{whole}");
    assert_eq!(text_of(&whole), streamed_text(&chunks));
    let (_, headers, _) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("two", true),
        &[],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "hit");
    assert_eq!(calls(&mock, SCENARIO), 2);

    // Without `temperature: 0` the request opts in or is not cached.
    let warm = json!({ "model": MODEL, "messages": [{ "role": "user", "content": "one" }] });
    let (_, headers, _) = send(&gateway, "/v1/chat/completions", &warm, &[], None).await;
    assert_eq!(outcome(&headers), "bypass");
    assert_eq!(calls(&mock, SCENARIO), 3);
    let opt_in = [("x-switchyard-cache", "true")];
    let (_, headers, _) = send(&gateway, "/v1/chat/completions", &warm, &opt_in, None).await;
    assert_eq!(outcome(&headers), "miss");
    let (_, headers, _) = send(
        &gateway,
        "/v1/chat/completions",
        &warm,
        &[("x-openrouter-cache", "true")],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "hit");
    assert_eq!(calls(&mock, SCENARIO), 4);

    // Cache-Control: no-store leaves the cache alone; no-cache fetches afresh and stores.
    let (_, headers, _) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("one", false),
        &[("cache-control", "no-store")],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "bypass");
    let (_, headers, _) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("one", false),
        &[("cache-control", "no-cache")],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "miss");
    assert_eq!(calls(&mock, SCENARIO), 6);

    // The admin route empties it.
    let response = gateway
        .client
        .delete(format!("{}/admin/cache", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = gateway
        .client
        .delete(format!("{}/admin/cache", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cleared: Value = response.json().await.unwrap();
    assert_eq!(cleared["data"]["removed"], 3, "{cleared}");
    let (_, headers, _) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("one", false),
        &[],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "miss");
    assert_eq!(calls(&mock, SCENARIO), 7);

    let metrics = gateway
        .client
        .get(format!("{}/metrics", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchyard_cache_lookups_total{switchyard_outcome=\"hit\""),
        "{metrics}"
    );
    assert!(metrics.contains("switchyard_cache_hit_ratio"), "{metrics}");
    assert!(metrics.contains("switchyard_cache_bytes"), "{metrics}");
    let figures: Value = gateway
        .client
        .get(format!("{}/admin/cache", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(figures["data"]["hits"], 5, "{figures}");
    assert_eq!(figures["data"]["entries"], 1, "{figures}");
    assert!(
        figures["data"]["bytes"].as_u64().unwrap() > 1000,
        "{figures}"
    );
    assert!(
        figures["data"]["saved_usd"].as_f64().unwrap() > 0.0,
        "{figures}"
    );
}

#[tokio::test]
async fn responses_messages_and_embeddings_are_served_from_the_cache() {
    let mock = MockUpstream::start().await.unwrap();
    let embedding = "[[models]]\nid = \"e/embed\"\noutput_modalities = [\"embeddings\"]\nendpoints = [{ provider = \"oa\", upstream_model = \"up-e\", prompt_price = \"0.02\" }]\n";
    let config = format!(
        "{}[[models]]\nid = \"{MODEL}\"\nendpoints = [{{ provider = \"oa\", upstream_model = \"up\", {TOKEN_PRICES} }}]\n{embedding}\n[cache]\nenabled = true\n",
        provider("oa", "openai", &mock, SCENARIO, ""),
    );
    let gateway = Gateway::start(&config).await;

    let responses = json!({ "model": MODEL, "input": "Hello", "temperature": 0 });
    let (status, headers, first) = send(&gateway, "/v1/responses", &responses, &[], None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(outcome(&headers), "miss");
    let (_, headers, second) = send(&gateway, "/v1/responses", &responses, &[], None).await;
    assert_eq!(outcome(&headers), "hit");
    let (first, second): (Value, Value) = (
        serde_json::from_str(&first).unwrap(),
        serde_json::from_str(&second).unwrap(),
    );
    assert_eq!(first["object"], "response");
    assert_eq!(
        first["output"][0]["content"],
        second["output"][0]["content"]
    );
    assert_ne!(
        first["output"][0]["id"], second["output"][0]["id"],
        "items of its own generation"
    );
    let mut streamed = responses.clone();
    streamed["stream"] = json!(true);
    let (_, headers, events_text) = send(&gateway, "/v1/responses", &streamed, &[], None).await;
    assert_eq!(outcome(&headers), "hit");
    assert!(
        events_text.contains("event: response.completed"),
        "{events_text}"
    );
    assert_eq!(calls(&mock, SCENARIO), 1);

    let messages = json!({ "model": MODEL, "max_tokens": 500, "temperature": 0, "messages": [{ "role": "user", "content": "Hi" }] });
    let (status, headers, first) = send(&gateway, "/v1/messages", &messages, &[], None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(outcome(&headers), "miss");
    let (_, headers, second) = send(&gateway, "/v1/messages", &messages, &[], None).await;
    assert_eq!(outcome(&headers), "hit");
    let (first, second): (Value, Value) = (
        serde_json::from_str(&first).unwrap(),
        serde_json::from_str(&second).unwrap(),
    );
    assert_eq!(first["type"], "message");
    assert_eq!(first["content"], second["content"]);
    let mut streamed = messages.clone();
    streamed["stream"] = json!(true);
    let (_, headers, events_text) = send(&gateway, "/v1/messages", &streamed, &[], None).await;
    assert_eq!(outcome(&headers), "hit");
    assert!(events_text.contains("event: message_stop"), "{events_text}");
    assert_eq!(calls(&mock, SCENARIO), 2);

    let embed = json!({ "model": "e/embed", "input": ["one two", "three"], "dimensions": 3 });
    let (status, headers, first) = send(&gateway, "/v1/embeddings", &embed, &[], None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(outcome(&headers), "miss");
    let (_, headers, second) = send(&gateway, "/v1/embeddings", &embed, &[], None).await;
    assert_eq!(outcome(&headers), "hit");
    let (first, second): (Value, Value) = (
        serde_json::from_str(&first).unwrap(),
        serde_json::from_str(&second).unwrap(),
    );
    assert_eq!(first["data"], second["data"]);
    assert_ne!(first["id"], second["id"]);
    assert_eq!(second["usage"]["cost"].as_f64(), Some(0.0));
    assert_eq!(calls(&mock, SCENARIO), 3);
}

#[tokio::test]
async fn entries_expire_oversized_answers_and_cut_streams_are_not_stored() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = cached_gateway(&mock, SCENARIO, "enabled = true").await;
    let ttl = [("x-switchyard-cache-ttl", "1")];
    let (_, headers, _) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("short", false),
        &ttl,
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "miss");
    let (_, headers, _) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("short", false),
        &[],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "hit");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (_, headers, _) = send(
        &gateway,
        "/v1/chat/completions",
        &ask("short", false),
        &[],
        None,
    )
    .await;
    assert_eq!(outcome(&headers), "miss", "the entry expired");
    assert_eq!(calls(&mock, SCENARIO), 2);

    // openai-text's answer is about 2 KB: over a 1 KB cap it is served, never stored.
    let small = cached_gateway(&mock, SCENARIO, "enabled = true\nmax_entry_bytes = 1024").await;
    for stream in [false, true, false] {
        let (status, headers, _) = send(
            &small,
            "/v1/chat/completions",
            &ask("big", stream),
            &[],
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(outcome(&headers), "miss");
    }

    // A stream cut after its first events is never stored.
    let cut = "fixture=openai/openai-text,cut_after=3";
    let cutting = cached_gateway(&mock, cut, "enabled = true").await;
    for _ in 0..2 {
        let (status, headers, text) = send(
            &cutting,
            "/v1/chat/completions",
            &ask("cut", true),
            &[],
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(outcome(&headers), "miss");
        assert!(!events(&text).1, "the cut stream has no [DONE]: {text}");
    }
    assert_eq!(calls(&mock, cut), 2);
}

/// Accounting on: two accounts sending identical requests never read each other's entries,
/// whatever they send; a hit is charged its share of the stored price plus the fee, recorded
/// as a hit, and refused when the key may no longer use the model.
#[tokio::test]
async fn tenants_are_isolated_and_hits_are_billed_and_governed() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let config = format!(
        "{}[[models]]\nid = \"{MODEL}\"\nendpoints = [{{ provider = \"oa\", upstream_model = \"up\", {TOKEN_PRICES} }}]\n\n{}\n[cache]\nenabled = true\nhit_price_fraction = \"0.5\"\n",
        provider("oa", "openai", &mock, SCENARIO, ""),
        database.config()
    );
    let gateway =
        Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let (_, acme) = key_with_credits(&gateway, "acme", "10", json!({})).await;
    let (_, globex) = key_with_credits(&gateway, "globex", "10", json!({})).await;
    let body = ask("secret plans", false);
    let chat = "/v1/chat/completions";

    let (status, headers, first) = send(&gateway, chat, &body, &[], Some(&acme)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(outcome(&headers), "miss");
    let (_, headers, hit) = send(&gateway, chat, &body, &[], Some(&acme)).await;
    assert_eq!(outcome(&headers), "hit");
    assert_eq!(calls(&mock, SCENARIO), 1);

    // globex asks the same, with every cache header it could try: never acme's entry.
    let hostile = [
        ("x-switchyard-cache", "true"),
        ("x-openrouter-cache", "true"),
        ("x-switchyard-cache-ttl", "99999"),
        ("x-generation-id", "whatever"),
    ];
    let (status, headers, other) = send(&gateway, chat, &body, &hostile, Some(&globex)).await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(outcome(&headers), "miss");
    assert_eq!(calls(&mock, SCENARIO), 2);
    let mut with_user = body.clone();
    with_user["user"] = json!("acme");
    let (_, headers, _) = send(&gateway, chat, &with_user, &[], Some(&globex)).await;
    assert_eq!(outcome(&headers), "hit", "globex's own entry");
    assert_eq!(calls(&mock, SCENARIO), 2);

    // Billing: the stored answer cost 0.00015414 (upstream 0.0001468); the hit half the
    // upstream price plus the 5 % fee.
    let (first, hit): (Value, Value) = (
        serde_json::from_str(&first).unwrap(),
        serde_json::from_str(&hit).unwrap(),
    );
    assert_eq!(first["usage"]["cost"].as_f64(), Some(0.00015414));
    assert_eq!(hit["usage"]["cost"].as_f64(), Some(0.00007707));
    assert_eq!(hit["usage"]["cache_hit"], true);
    let id = hit["id"].as_str().unwrap();
    let (status, record) = get_as(&gateway, &acme, &format!("/api/v1/generation?id={id}")).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["data"]["cache_hit"], true);
    assert_eq!(record["data"]["total_cost"].as_f64(), Some(0.00007707));
    let first_id = first["id"].as_str().unwrap();
    let (_, record) = get_as(
        &gateway,
        &acme,
        &format!("/api/v1/generation?id={first_id}"),
    )
    .await;
    assert_eq!(record["data"]["cache_hit"], false);
    let (_, key) = get_as(&gateway, &acme, "/api/v1/key").await;
    assert_eq!(key["data"]["usage"].as_f64(), Some(0.00023121));
    // A hit passes the checks a real call passes: another acme key that may not use the
    // provider that served is refused, and so is one whose limit has no room for the hit.
    let (_, no_oa) =
        key_with_credits(&gateway, "acme", "0", json!({ "denied_providers": ["oa"] })).await;
    let (status, refused) = chat_as(&gateway, &no_oa, &body).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(
        refused["error"]["code"], "provider_not_allowed",
        "{refused}"
    );
    let (_, tight) = key_with_credits(&gateway, "acme", "0", json!({ "limit": "0.00001" })).await;
    let (status, refused) = chat_as(&gateway, &tight, &body).await;
    assert_eq!(status, 402, "{refused}");
    assert_eq!(refused["error"]["code"], "key_limit_exceeded", "{refused}");
    assert_eq!(calls(&mock, SCENARIO), 2);
    // globex sees nothing of acme's.
    let (status, _) = get_as(&gateway, &globex, &format!("/api/v1/generation?id={id}")).await;
    assert_eq!(status, 404);
    database
        .settled_books(&[&gateway])
        .await
        .assert_consistent();

    // An admin emptying globex's entries leaves acme's.
    let response = gateway
        .client
        .delete(format!("{}/admin/cache?account=globex", gateway.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, headers, _) = send(&gateway, chat, &body, &[], Some(&acme)).await;
    assert_eq!(outcome(&headers), "hit");
    let (_, headers, _) = send(&gateway, chat, &body, &[], Some(&globex)).await;
    assert_eq!(outcome(&headers), "miss");
    assert_eq!(calls(&mock, SCENARIO), 3);
}

#[tokio::test]
async fn redis_is_shared_by_gateways_and_a_redis_that_is_down_is_bypassed() {
    let mock = MockUpstream::start().await.unwrap();
    // Down: every request is served, the cache bypassed, the failure counted.
    let down = cached_gateway(
        &mock,
        SCENARIO,
        "enabled = true\nredis_url = \"redis://127.0.0.1:1\"",
    )
    .await;
    for _ in 0..2 {
        let (status, headers, answer) = send(
            &down,
            "/v1/chat/completions",
            &ask("down", false),
            &[],
            None,
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(outcome(&headers), "bypass");
    }
    assert_eq!(calls(&mock, SCENARIO), 2);
    let metrics = down
        .client
        .get(format!("{}/metrics", down.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let errors = metrics
        .lines()
        .find(|line| line.starts_with("switchyard_cache_errors_total"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(!errors.ends_with(" 0"), "{errors}");

    let Some(url) = test_redis_url("cache_redis_shared") else {
        return;
    };
    let cache = format!("enabled = true\nredis_url = {url:?}\nredis_timeout_ms = 5000");
    let first = cached_gateway(&mock, SCENARIO, &cache).await;
    let second = cached_gateway(&mock, SCENARIO, &cache).await;
    let nonce = format!("shared {}", rand_suffix());
    for stream in [false, true] {
        let text = format!("{nonce} {stream}");
        let (_, headers, _) = send(
            &first,
            "/v1/chat/completions",
            &ask(&text, stream),
            &[],
            None,
        )
        .await;
        assert_eq!(outcome(&headers), "miss");
        let (status, headers, answer) = send(
            &second,
            "/v1/chat/completions",
            &ask(&text, !stream),
            &[],
            None,
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(outcome(&headers), "hit", "the other gateway's entry");
    }
    assert_eq!(calls(&mock, SCENARIO), 4);
    let response = second
        .client
        .delete(format!("{}/admin/cache", second.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, headers, _) = send(
        &first,
        "/v1/chat/completions",
        &ask(&format!("{nonce} false"), false),
        &[],
        None,
    )
    .await;
    assert_eq!(
        outcome(&headers),
        "miss",
        "emptied through the other gateway"
    );
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
