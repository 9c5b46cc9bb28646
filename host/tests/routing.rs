//! End to end: OpenRouter's routing fields change which endpoint serves a request. Three mock
//! endpoints serve one model at different prices, latencies and failure modes; each test
//! asserts the endpoint chosen (the response's `provider`), what the mock received, and the
//! routing trace.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// Distinct scenarios (the delay tags them) so the mock counts each provider's requests.
const CHEAP: &str = "fixture=openai/openai-text,delay_ms=1";
const MID: &str = "fixture=openai/openai-text,delay_ms=2";
const PRICEY: &str = "fixture=openai/openai-text,delay_ms=3";
const SLOW: &str = "fixture=openai/openai-text,delay_ms=400";

/// `m/x` on cheap (1/2 USD per M, fp8, collects data), mid (2/4, bf16, no data collection)
/// and pricey (5/10, zero retention); `m/free` adds a free endpoint on mid; `m/other` is only
/// on pricey.
fn config(mock: &MockUpstream, breaker: &str) -> String {
    format!(
        r#"{cheap}{mid}{pricey}
[routing.circuit_breaker]
{breaker}

[[models]]
id = "m/x"
endpoints = [
  {{ provider = "cheap", upstream_model = "up", prompt_price = "1", completion_price = "2", quantization = "fp8" }},
  {{ provider = "mid", upstream_model = "up", prompt_price = "2", completion_price = "4", quantization = "bf16" }},
  {{ provider = "pricey", upstream_model = "up", prompt_price = "5", completion_price = "10" }},
]

[[models]]
id = "m/free"
endpoints = [
  {{ provider = "cheap", upstream_model = "up", prompt_price = "1", completion_price = "2" }},
  {{ provider = "mid", upstream_model = "up", prompt_price = "0", completion_price = "0" }},
]

[[models]]
id = "m/other"
endpoints = [{{ provider = "pricey", upstream_model = "up", prompt_price = "0.5", completion_price = "0.5" }}]
"#,
        cheap = provider("cheap", "openai", mock, CHEAP, ""),
        mid = provider("mid", "openai", mock, MID, "data_collection = \"deny\""),
        pricey = provider(
            "pricey",
            "openai",
            mock,
            PRICEY,
            "data_collection = \"deny\"\nzdr = true"
        ),
    )
}

async fn start() -> (Gateway, MockUpstream) {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock, "failures = 5")).await;
    (gateway, mock)
}

fn routed(model: &str, provider: Value) -> Value {
    let mut body = request(model, false);
    body["provider"] = provider;
    body
}

/// The provider that served `body`, asserting success.
async fn served_by(gateway: &Gateway, body: &Value) -> String {
    let (status, headers, response) = gateway.chat(body).await;
    assert_eq!(status, 200, "{response}");
    assert!(headers.contains_key("x-generation-id"));
    response["provider"].as_str().unwrap().to_owned()
}

/// POSTs with a routing-trace header and returns status and body.
async fn traced(gateway: &Gateway, body: &Value, header: (&str, &str)) -> (u16, Value) {
    let (status, _, text) = gateway.post_with_headers(body, &[header]).await;
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn sort_price_and_floor_pick_the_cheapest_every_time() {
    let (gateway, mock) = start().await;
    for _ in 0..5 {
        assert_eq!(
            served_by(&gateway, &request("m/x:floor", false)).await,
            "cheap"
        );
        let body = routed("m/x", json!({ "sort": "price" }));
        assert_eq!(served_by(&gateway, &body).await, "cheap");
    }
    assert_eq!(mock.requests_for(CHEAP).len(), 10);
    assert!(mock.requests_for(MID).is_empty() && mock.requests_for(PRICEY).is_empty());
}

#[tokio::test]
async fn order_goes_first_and_without_fallbacks_nothing_else_is_tried() {
    let mock = MockUpstream::start().await.unwrap();
    let bad = "status=503";
    let config = format!(
        "{}{}{}",
        provider("bad", "openai", &mock, bad, ""),
        provider("good", "openai", &mock, CHEAP, ""),
        "[[models]]\nid = \"m/y\"\nendpoints = [{ provider = \"good\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }, { provider = \"bad\", upstream_model = \"up\", prompt_price = \"9\", completion_price = \"9\" }]\n",
    );
    let gateway = Gateway::start(&config).await;

    // `order` puts the failing provider first; with fallbacks it fails over to the other.
    let body = routed("m/y", json!({ "order": ["bad"] }));
    assert_eq!(served_by(&gateway, &body).await, "good");
    assert_eq!(mock.requests_for(bad).len(), 1);

    // Without fallbacks only `bad` may serve: its 503 is the answer.
    let body = routed("m/y", json!({ "order": ["bad"], "allow_fallbacks": false }));
    let (status, _, response) = gateway.chat(&body).await;
    assert_eq!(status, 503, "{response}");
    assert_eq!(mock.requests_for(bad).len(), 2);
    assert_eq!(mock.requests_for(CHEAP).len(), 1, "good was not tried");
    let attempts = response["error"]["metadata"]["attempts"]
        .as_array()
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["provider"], "bad");
}

#[tokio::test]
async fn only_and_ignore_filter_providers() {
    let (gateway, _mock) = start().await;
    let body = routed("m/x", json!({ "only": ["pricey"] }));
    assert_eq!(served_by(&gateway, &body).await, "pricey");
    let body = routed(
        "m/x",
        json!({ "ignore": ["cheap", "MID"], "sort": "price" }),
    );
    assert_eq!(served_by(&gateway, &body).await, "pricey");
}

#[tokio::test]
async fn data_policy_quantization_and_price_caps_filter_endpoints() {
    let (gateway, _mock) = start().await;
    let cases = [
        (json!({ "data_collection": "deny", "sort": "price" }), "mid"),
        (json!({ "zdr": true }), "pricey"),
        (json!({ "quantizations": ["bf16"] }), "mid"),
        (json!({ "quantizations": ["unknown"] }), "pricey"),
        (
            json!({ "max_price": { "prompt": 3 }, "sort": { "by": "price" } }),
            "cheap",
        ),
        (
            json!({ "max_price": { "completion": 10 }, "ignore": ["cheap"], "sort": "price" }),
            "mid",
        ),
    ];
    for (preferences, expected) in cases {
        let body = routed("m/x", preferences.clone());
        assert_eq!(served_by(&gateway, &body).await, expected, "{preferences}");
    }
}

#[tokio::test]
async fn free_variant_uses_only_free_endpoints() {
    let (gateway, _mock) = start().await;
    for _ in 0..3 {
        assert_eq!(
            served_by(&gateway, &request("m/free:free", false)).await,
            "mid"
        );
    }
    let (status, _, body) = gateway.chat(&request("m/x:free", false)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "no_endpoints_match");
    let excluded = body["error"]["metadata"]["excluded"].as_array().unwrap();
    assert_eq!(excluded.len(), 3);
    assert!(
        excluded.iter().all(|e| e["excluded"] == "not_free"),
        "{body}"
    );
}

#[tokio::test]
async fn require_parameters_keeps_only_adapters_that_support_them() {
    let mock = MockUpstream::start().await.unwrap();
    let claude = "fixture=anthropic/anthropic-text";
    let config = format!(
        "{}{}{}",
        provider("claude", "anthropic", &mock, claude, ""),
        provider("oai", "openai", &mock, CHEAP, ""),
        "[[models]]\nid = \"m/z\"\nendpoints = [{ provider = \"claude\", upstream_model = \"up\", prompt_price = \"0.1\", completion_price = \"0.1\" }, { provider = \"oai\", upstream_model = \"up\", prompt_price = \"9\", completion_price = \"9\" }]\n",
    );
    let gateway = Gateway::start(&config).await;
    // The anthropic adapter does not declare `seed`; the openai one does.
    let mut body = routed(
        "m/z",
        json!({ "require_parameters": true, "sort": "price" }),
    );
    body["seed"] = json!(7);
    assert_eq!(served_by(&gateway, &body).await, "oai");
    // Without require_parameters the cheaper anthropic endpoint is tried first: its adapter
    // refuses `seed` as unsupported rather than drop it, and the request fails over to the
    // endpoint that serves it, blaming nobody.
    body["provider"] = json!({ "sort": "price" });
    assert_eq!(served_by(&gateway, &body).await, "oai");
    assert!(mock.requests_for(claude).is_empty());
}

#[tokio::test]
async fn sort_partition_none_ranks_across_fallback_models() {
    let (gateway, _mock) = start().await;
    let mut body = request("m/x", false);
    body["models"] = json!(["m/other"]);
    body["provider"] = json!({ "sort": "price" });
    assert_eq!(served_by(&gateway, &body).await, "cheap");
    // Across models, m/other's endpoint (0.5) is cheaper than any of m/x's.
    body["provider"] = json!({ "sort": { "by": "price", "partition": "none" } });
    let (status, _, response) = gateway.chat(&body).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["model"], "m/other");
    assert_eq!(response["provider"], "pricey");
}

/// A gateway where `m/s` is cheapest on a provider answering 400 ms late.
async fn start_with_slow() -> (Gateway, MockUpstream) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}\n[[models]]\nid = \"m/s\"\nendpoints = [{{ provider = \"slow\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }}, {{ provider = \"fast\", upstream_model = \"up\", prompt_price = \"4\", completion_price = \"4\" }}]\n",
        provider("slow", "openai", &mock, SLOW, ""),
        provider("fast", "openai", &mock, CHEAP, ""),
    );
    let gateway = Gateway::start(&config).await;
    // Measure both endpoints once.
    for name in ["slow", "fast"] {
        let body = routed("m/s", json!({ "only": [name] }));
        assert_eq!(served_by(&gateway, &body).await, name);
    }
    (gateway, mock)
}

#[tokio::test]
async fn nitro_and_latency_sorts_use_live_statistics() {
    let (gateway, _mock) = start_with_slow().await;
    assert_eq!(
        served_by(&gateway, &request("m/s:floor", false)).await,
        "slow"
    );
    assert_eq!(
        served_by(&gateway, &request("m/s:nitro", false)).await,
        "fast"
    );
    let body = routed("m/s", json!({ "sort": "latency" }));
    assert_eq!(served_by(&gateway, &body).await, "fast");
    let body = routed("m/s", json!({ "sort": "throughput" }));
    assert_eq!(served_by(&gateway, &body).await, "fast");
}

#[tokio::test]
async fn performance_thresholds_deprioritise_slow_endpoints() {
    let (gateway, _mock) = start_with_slow().await;
    // Cheapest first, unless it misses the preferred latency (seconds to first token).
    let body = routed(
        "m/s",
        json!({ "sort": "price", "preferred_max_latency": 0.2 }),
    );
    assert_eq!(served_by(&gateway, &body).await, "fast");
    let body = routed(
        "m/s",
        json!({ "sort": "price", "preferred_max_latency": { "p90": 30 } }),
    );
    assert_eq!(served_by(&gateway, &body).await, "slow");
    // A threshold nobody meets changes nothing.
    let body = routed(
        "m/s",
        json!({ "sort": "price", "preferred_min_throughput": 1e12 }),
    );
    assert_eq!(served_by(&gateway, &body).await, "slow");

    // The endpoints API shows the measurements.
    let (status, endpoints) = gateway.get("/api/v1/models/m/s/endpoints").await;
    assert_eq!(status, 200, "{endpoints}");
    let list = endpoints["data"]["endpoints"].as_array().unwrap();
    let slow = list.iter().find(|e| e["provider_name"] == "slow").unwrap();
    let fast = list.iter().find(|e| e["provider_name"] == "fast").unwrap();
    assert!(slow["latency"]["p50"].as_f64().unwrap() >= 400.0, "{slow}");
    assert!(fast["latency"]["p50"].as_f64().unwrap() < 400.0, "{fast}");
    assert_eq!(slow["pricing"]["prompt"], "0.000001");
    assert_eq!(slow["status"], 0);
    assert_eq!(slow["uptime"], 100.0);
    assert!(slow["requests"].as_u64().unwrap() >= 2);
    assert!(
        fast["supported_parameters"]
            .as_array()
            .unwrap()
            .contains(&json!("tools"))
    );
}

#[tokio::test]
async fn circuit_breaker_takes_a_failing_endpoint_out_and_probes_it_back() {
    let mock = MockUpstream::start().await.unwrap();
    let flaky = "fixture=openai/openai-text,fail_first=2";
    let config = format!(
        "{}{}[routing.circuit_breaker]\nfailures = 2\ncooldown_ms = 300\n\n[[models]]\nid = \"m/b\"\nendpoints = [{{ provider = \"flaky\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }}, {{ provider = \"steady\", upstream_model = \"up\", prompt_price = \"5\", completion_price = \"5\" }}]\n",
        provider("flaky", "openai", &mock, flaky, ""),
        provider("steady", "openai", &mock, CHEAP, ""),
    );
    let gateway = Gateway::start(&config).await;
    // `order` keeps flaky first even after a failure (the policies put recent failures last).
    let body = routed("m/b", json!({ "order": ["flaky", "steady"] }));
    // Two failures fail over to steady and open flaky's circuit.
    for _ in 0..2 {
        assert_eq!(served_by(&gateway, &body).await, "steady");
    }
    assert_eq!(mock.requests_for(flaky).len(), 2);
    // While open, flaky is not tried at all.
    let (status, response) = traced(&gateway, &body, ("x-switchyard-debug", "routing")).await;
    assert_eq!(status, 200);
    assert_eq!(response["provider"], "steady");
    assert_eq!(mock.requests_for(flaky).len(), 2);
    let candidates = &response["routing"]["models"][0]["candidates"];
    assert_eq!(candidates[0]["provider"], "flaky");
    assert_eq!(candidates[0]["excluded"], "circuit_open");
    let (_, endpoints) = gateway.get("/api/v1/models/m/b/endpoints").await;
    assert_eq!(endpoints["data"]["endpoints"][0]["circuit"], "open");
    // After the cooldown one probe goes through; flaky has recovered, so it serves again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(served_by(&gateway, &body).await, "flaky");
    assert_eq!(served_by(&gateway, &body).await, "flaky");
    let (_, endpoints) = gateway.get("/api/v1/models/m/b/endpoints").await;
    assert_eq!(endpoints["data"]["endpoints"][0]["circuit"], "closed");
}

#[tokio::test]
async fn routing_trace_shows_candidates_filters_order_and_attempts() {
    let mock = MockUpstream::start().await.unwrap();
    let down = "status=500";
    let config = format!(
        "{}{}{}[[models]]\nid = \"m/t\"\nendpoints = [{{ provider = \"down\", upstream_model = \"up\", prompt_price = \"1\", completion_price = \"1\" }}, {{ provider = \"up\", upstream_model = \"up\", prompt_price = \"2\", completion_price = \"2\" }}, {{ provider = \"skip\", upstream_model = \"up\", prompt_price = \"3\", completion_price = \"3\" }}]\n",
        provider("down", "openai", &mock, down, ""),
        provider("up", "openai", &mock, CHEAP, ""),
        provider("skip", "openai", &mock, MID, ""),
    );
    let gateway = Gateway::start(&config).await;
    // `order` keeps `down` first even after it failed once (policies put recent failures last).
    let body = routed(
        "m/t",
        json!({ "sort": "price", "ignore": ["skip"], "order": ["down"] }),
    );
    for header in [
        ("X-Switchyard-Debug", "routing"),
        ("X-OpenRouter-Metadata", "enabled"),
    ] {
        let (status, response) = traced(&gateway, &body, header).await;
        assert_eq!(status, 200, "{response}");
        let trace = &response["routing"];
        assert_eq!(trace["models"][0]["policy"], "cheapest", "{trace}");
        assert_eq!(trace["models"][0]["candidates"][2]["excluded"], "ignored");
        assert_eq!(
            trace["order"],
            json!([{ "model": "m/t", "provider": "down" }, { "model": "m/t", "provider": "up" }])
        );
        let attempts = trace["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2, "{trace}");
        assert_eq!(attempts[0]["provider"], "down");
        assert_eq!(attempts[0]["outcome"], "upstream_unavailable");
        assert_eq!(attempts[1]["outcome"], "success");
    }
    // Without the header there is no trace.
    let (_, _, response) = gateway.chat(&body).await;
    assert!(response.get("routing").is_none());

    // Streams carry the trace in their final usage chunk.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let (_, _, text) = gateway
        .post_with_headers(&streamed, &[("x-switchyard-debug", "routing")])
        .await;
    let events: Vec<String> = text
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(str::to_owned)
        .collect();
    let chunks = chunks(&events);
    let last = chunks.last().unwrap();
    assert!(last["usage"].is_object(), "{last}");
    assert_eq!(
        last["routing"]["attempts"][1]["outcome"], "success",
        "{last}"
    );
}

#[tokio::test]
async fn unknown_models_unmatched_preferences_and_malformed_preferences_get_clear_errors() {
    let (gateway, _mock) = start().await;
    let (status, _, body) = gateway.chat(&request("m/nope:nitro", false)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");

    let body = routed(
        "m/x",
        json!({ "only": ["pricey"], "zdr": true, "max_price": { "prompt": 1 } }),
    );
    let (status, _, response) = gateway.chat(&body).await;
    assert_eq!(status, 503, "{response}");
    assert_eq!(response["error"]["code"], "no_endpoints_match");
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.contains("not listed in provider.only"), "{message}");
    assert!(message.contains("max_price"), "{message}");
    let excluded = response["error"]["metadata"]["excluded"]
        .as_array()
        .unwrap();
    assert_eq!(excluded.len(), 3);

    for malformed in [
        json!("cheap"),
        json!({ "sort": "fastest" }),
        json!({ "orderr": ["cheap"] }),
        json!({ "max_price": { "prompt": "lots" } }),
        json!({ "preferred_max_latency": -1 }),
    ] {
        let (status, _, response) = gateway.chat(&routed("m/x", malformed.clone())).await;
        assert_eq!(status, 400, "{malformed}: {response}");
        assert_eq!(response["error"]["type"], "invalid_request_error");
        assert_eq!(response["error"]["code"], "invalid_provider_preferences");
        assert!(
            response["error"]["message"]
                .as_str()
                .unwrap()
                .contains("provider")
        );
    }
}

#[tokio::test]
async fn endpoints_api_answers_404_for_unknown_models() {
    let (gateway, _mock) = start().await;
    let (status, body) = gateway.get("/api/v1/models/m/nope/endpoints").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = gateway.get("/api/v1/models/m/x/endpoints").await;
    assert_eq!(status, 200);
    let endpoints = body["data"]["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 3);
    assert_eq!(endpoints[0]["quantization"], "fp8");
    assert_eq!(endpoints[1]["data_collection"], "deny");
    assert_eq!(endpoints[2]["zdr"], true);
    assert_eq!(endpoints[2]["pricing"]["completion"], "0.00001");
}

#[tokio::test]
async fn weighted_policy_splits_traffic_by_operator_weights() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}{}[[models]]\nid = \"m/w\"\npolicy = \"weighted\"\nendpoints = [{{ provider = \"a\", upstream_model = \"up\", weight = 1 }}, {{ provider = \"b\", upstream_model = \"up\", weight = 1 }}, {{ provider = \"spare\", upstream_model = \"up\", weight = 0 }}]\n",
        provider("a", "openai", &mock, CHEAP, ""),
        provider("b", "openai", &mock, MID, ""),
        provider("spare", "openai", &mock, PRICEY, ""),
    );
    let gateway = Gateway::start(&config).await;
    for _ in 0..30 {
        served_by(&gateway, &request("m/w", false)).await;
    }
    // Equal weights share the traffic (all 30 on one side has probability 2^-29); weight 0
    // is only a fallback.
    assert!(!mock.requests_for(CHEAP).is_empty());
    assert!(!mock.requests_for(MID).is_empty());
    assert!(mock.requests_for(PRICEY).is_empty());
    let (status, response) = traced(
        &gateway,
        &request("m/w", false),
        ("x-switchyard-debug", "routing"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(response["routing"]["models"][0]["policy"], "weighted");
    assert_eq!(response["routing"]["order"][2]["provider"], "spare");
}
