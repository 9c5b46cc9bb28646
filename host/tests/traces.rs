//! End to end: the real binary exports OpenTelemetry traces over OTLP/HTTP to a receiver in the
//! test, which decodes them with the official protobuf definitions (`opentelemetry-proto`).
//! A failover request is one trace continued from the client's `traceparent`, with the server
//! span, the operation, the routing decision, the attempts and the plugin calls in their
//! places, and each attempt's span context sent upstream. A dead or silent collector costs no
//! request; with traces off nothing is propagated.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use bytes::Bytes;
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;
use serde_json::Value;
use switchyard_tests::MockUpstream;

const BAD: &str = "status=503";
/// Streams wait this long (ms) between events, so a streamed attempt visibly outlives its
/// first chunk.
const CHUNK_DELAY_MS: u64 = 1;
const GOOD: &str = "fixture=openai/openai-text,chunk_delay_ms=1";
/// Spans leave the gateway in batches this often (milliseconds), instead of every 5 s.
const BATCH_DELAY: (&str, &str) = ("OTEL_BSP_SCHEDULE_DELAY", "100");

/// A span as received, with its resource's `service.name`.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    span: Span,
}

/// An OTLP/HTTP receiver: `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`.
#[derive(Debug, Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
}

impl Collector {
    /// Starts a receiver; its base URL (the gateway appends `/v1/traces`).
    async fn start() -> (Collector, String) {
        let collector = Collector::default();
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .with_state(collector.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (collector, url)
    }

    /// The spans of trace `trace_id` once `ready` holds for them (polled for up to 60 s).
    async fn trace(&self, trace_id: &str, ready: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..600 {
            let spans: Vec<Received> = (self.spans.lock().unwrap().iter())
                .filter(|received| hex(&received.span.trace_id) == trace_id)
                .cloned()
                .collect();
            if ready(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "trace {trace_id} incomplete; received {:#?}",
            self.spans.lock().unwrap()
        );
    }
}

async fn receive(State(collector): State<Collector>, body: Bytes) -> impl IntoResponse {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
    let mut spans = collector.spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.unwrap_or_default();
        let service = string_of(&resource.attributes, "service.name").unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                spans.push(Received {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
    let answer = ExportTraceServiceResponse::default().encode_to_vec();
    ([(CONTENT_TYPE, "application/x-protobuf")], answer)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Any> {
    (attributes.iter())
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref())
        .and_then(|value: &AnyValue| value.value.as_ref())
}

fn string_of(attributes: &[KeyValue], key: &str) -> Option<String> {
    match value(attributes, key)? {
        Any::StringValue(text) => Some(text.clone()),
        _ => None,
    }
}

fn text(span: &Span, key: &str) -> String {
    string_of(&span.attributes, key).unwrap_or_else(|| panic!("{key} on {span:#?}"))
}

fn int(span: &Span, key: &str) -> i64 {
    match value(&span.attributes, key) {
        Some(Any::IntValue(number)) => *number,
        other => panic!("{key} is {other:?} on {}", span.name),
    }
}

fn float(span: &Span, key: &str) -> f64 {
    match value(&span.attributes, key) {
        Some(Any::DoubleValue(number)) => *number,
        other => panic!("{key} is {other:?} on {}", span.name),
    }
}

fn flag(span: &Span, key: &str) -> bool {
    match value(&span.attributes, key) {
        Some(Any::BoolValue(flag)) => *flag,
        other => panic!("{key} is {other:?} on {}", span.name),
    }
}

fn strings(span: &Span, key: &str) -> Vec<String> {
    match value(&span.attributes, key) {
        Some(Any::ArrayValue(array)) => (array.values.iter())
            .filter_map(|value| match &value.value {
                Some(Any::StringValue(text)) => Some(text.clone()),
                _ => None,
            })
            .collect(),
        other => panic!("{key} is {other:?} on {}", span.name),
    }
}

fn named<'a>(spans: &'a [Received], name: &str) -> Vec<&'a Span> {
    (spans.iter())
        .map(|received| &received.span)
        .filter(|span| span.name == name)
        .collect()
}

fn one<'a>(spans: &'a [Received], name: &str) -> &'a Span {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "one {name} span in {spans:#?}");
    found[0]
}

fn children<'a>(spans: &'a [Received], parent: &Span) -> Vec<&'a Span> {
    (spans.iter())
        .map(|received| &received.span)
        .filter(|span| span.parent_span_id == parent.span_id)
        .collect()
}

/// A gateway whose model `m/failover` tries an endpoint answering 503 first (free), then a
/// good one; `extra` is appended to its configuration.
async fn gateway(mock: &MockUpstream, extra: &str, env: &[(&str, &str)]) -> Gateway {
    let config = format!(
        "{}{}{}{extra}",
        provider("bad", "openai", mock, BAD, ""),
        provider("good", "openai", mock, GOOD, ""),
        model("m/failover", &[("bad", "0", "0"), ("good", "1", "2")]),
    );
    Gateway::start_with_env(&config, env).await
}

/// A request for `m/failover` that tries the failing endpoint first (its earlier failures would
/// otherwise rank it last).
fn failover_request(stream: bool) -> Value {
    let mut body = request("m/failover", stream);
    body["provider"] = serde_json::json!({ "order": ["bad", "good"] });
    body
}

/// Sends [`failover_request`] as a client tracing it: with a sampled W3C `traceparent` naming
/// `trace_id` and the client's span `span_id`. The answer's body, once 200 was checked.
async fn post_traced(gateway: &Gateway, stream: bool, trace_id: &str, span_id: &str) -> String {
    let header = format!("00-{trace_id}-{span_id}-01");
    let (status, _, body) = gateway
        .post_with_headers(&failover_request(stream), &[("traceparent", &header)])
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The `traceparent` the upstream received in its `index`th request to `scenario`:
/// (trace id, parent span id).
fn upstream_parent(mock: &MockUpstream, scenario: &str, index: usize) -> (String, String) {
    let requests = mock.requests_for(scenario);
    let header = requests[index]
        .header("traceparent")
        .unwrap_or_else(|| panic!("no traceparent upstream: {:?}", requests[index].headers));
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "{header}");
    (parts[1].to_owned(), parts[2].to_owned())
}

/// Checks the shape of one failover trace: server span (continuing the client's span) →
/// `chat m/failover` → the routing decision and two attempts, the first failed, the second
/// carrying usage and `cost`; plugin calls under each; each attempt's span id sent upstream
/// as the parent in its request (`index` among the requests to each scenario).
fn check_failover_trace(
    spans: &[Received],
    client_span: &str,
    mock: &MockUpstream,
    index: usize,
    cost: f64,
    streamed: bool,
) {
    assert!(
        spans
            .iter()
            .all(|received| received.service == "switchyard-test")
    );
    let server = one(spans, "POST /v1/chat/completions");
    assert_eq!(
        hex(&server.parent_span_id),
        client_span,
        "continues the client"
    );
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert_eq!(int(server, "http.response.status_code"), 200);
    assert_eq!(text(server, "http.route"), "/v1/chat/completions");
    assert_eq!(text(server, "http.request.method"), "POST");

    let operation = one(spans, "chat m/failover");
    assert_eq!(operation.parent_span_id, server.span_id);
    assert_eq!(text(operation, "gen_ai.operation.name"), "chat");
    assert_eq!(text(operation, "gen_ai.request.model"), "m/failover");
    assert_eq!(text(operation, "gen_ai.response.model"), "m/failover");
    assert_eq!(text(operation, "gen_ai.provider.name"), "good");
    assert!((float(operation, "switchyard.cost.usd") - cost).abs() < 1e-12);
    assert_eq!(flag(operation, "switchyard.stream"), streamed);
    if !streamed {
        assert!(operation.end_time_unix_nano <= server.end_time_unix_nano);
    }

    let route = one(spans, "route m/failover");
    assert_eq!(route.parent_span_id, operation.span_id);
    assert_eq!(
        strings(route, "switchyard.route.candidates"),
        ["m/failover@bad", "m/failover@good"]
    );
    let policy = children(spans, route);
    assert_eq!(
        policy.len(),
        1,
        "the policy call under the routing decision"
    );
    assert!(policy[0].name.starts_with("order "), "{}", policy[0].name);

    let bad = one(spans, "chat up-bad");
    let good = one(spans, "chat up-good");
    for attempt in [bad, good] {
        assert_eq!(attempt.parent_span_id, operation.span_id);
        assert_eq!(attempt.kind, SpanKind::Client as i32);
        assert_eq!(text(attempt, "gen_ai.operation.name"), "chat");
        assert_eq!(text(attempt, "switchyard.model"), "m/failover");
        assert_eq!(text(attempt, "server.address"), "127.0.0.1");
        let calls: Vec<&str> = (children(spans, attempt).into_iter())
            .map(|span| span.name.as_str())
            .collect();
        assert!(calls.contains(&"build_request openai"), "{calls:?}");
    }
    // Adapter instances are warm (`plugins/warm.rs`): an attempt takes one from its tenant's
    // pool, so no `instantiate` span is expected under it.
    assert_eq!(text(bad, "gen_ai.provider.name"), "bad");
    assert_eq!(int(bad, "switchyard.attempt"), 1);
    assert!(!text(bad, "error.type").is_empty());
    assert_eq!(
        bad.status.as_ref().unwrap().code,
        StatusCode::Error as i32,
        "the failed attempt"
    );
    let bad_calls = children(spans, bad);
    assert!(
        bad_calls
            .iter()
            .any(|span| span.name == "parse_error openai")
    );

    assert_eq!(text(good, "gen_ai.provider.name"), "good");
    assert_eq!(int(good, "switchyard.attempt"), 2);
    assert_eq!(text(good, "gen_ai.request.model"), "up-good");
    assert!(int(good, "gen_ai.usage.input_tokens") > 0);
    assert!(int(good, "gen_ai.usage.output_tokens") > 0);
    assert!((float(good, "switchyard.cost.usd") - cost).abs() < 1e-12);
    assert_ne!(
        good.status.as_ref().map(|status| status.code),
        Some(StatusCode::Error as i32)
    );

    let trace_id = hex(&server.trace_id);
    for (scenario, attempt) in [(BAD, bad), (GOOD, good)] {
        let (upstream_trace, upstream_parent) = upstream_parent(mock, scenario, index);
        assert_eq!(upstream_trace, trace_id, "{scenario}");
        assert_eq!(upstream_parent, hex(&attempt.span_id), "{scenario}");
    }
}

#[tokio::test]
async fn a_failover_request_is_one_trace_continued_from_the_client_and_propagated_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let (collector, url) = Collector::start().await;
    let traces = format!("[traces]\nendpoint = \"{url}\"\nservice_name = \"switchyard-test\"\n");
    let gateway = gateway(&mock, &traces, &[BATCH_DELAY]).await;

    let whole_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let client_span = "00f067aa0ba902b7";
    let body = post_traced(&gateway, false, whole_trace, client_span).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["provider"], "good");
    let cost = body["usage"]["cost"].as_f64().unwrap();
    let complete = |spans: &[Received]| {
        named(spans, "POST /v1/chat/completions").len() == 1
            && named(spans, "chat m/failover").len() == 1
            && named(spans, "chat up-good").len() == 1
    };
    let spans = collector.trace(whole_trace, complete).await;
    check_failover_trace(&spans, client_span, &mock, 0, cost, false);
    let good = one(&spans, "chat up-good");
    assert_eq!(
        int(good, "gen_ai.usage.output_tokens"),
        body["usage"]["completion_tokens"].as_i64().unwrap()
    );
    assert!(
        children(&spans, good)
            .iter()
            .any(|span| span.name == "parse_response openai")
    );

    let streamed_trace = "0af7651916cd43dd8448eb211c80319c";
    let client_span = "b7ad6b7169203331";
    let text = post_traced(&gateway, true, streamed_trace, client_span).await;
    let events: Vec<String> = text
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(str::to_owned)
        .collect();
    let cost = chunks(&events).last().unwrap()["usage"]["cost"]
        .as_f64()
        .unwrap();
    let spans = collector.trace(streamed_trace, complete).await;
    check_failover_trace(&spans, client_span, &mock, 1, cost, true);
    let good = one(&spans, "chat up-good");
    let calls = children(&spans, good);
    assert!(calls.iter().any(|span| span.name == "start_stream openai"));
    assert!(
        calls.iter().all(|span| !span.name.starts_with("decode")),
        "no span per stream event"
    );
    // The streamed attempt and its operation end with the stream, not at its first chunk.
    // The gateway relays the upstream's events, then its usage chunk and `[DONE]`.
    assert!(events.len() > 3, "{events:?}");
    let streaming = Duration::from_millis(CHUNK_DELAY_MS * (events.len() as u64 - 3));
    let operation = one(&spans, "chat m/failover");
    for span in [good, operation] {
        let lasted = span.end_time_unix_nano - span.start_time_unix_nano;
        assert!(
            Duration::from_nanos(lasted) >= streaming,
            "{} lasted {lasted} ns, the stream {streaming:?}",
            span.name
        );
    }
}

#[tokio::test]
async fn the_standard_variables_turn_traces_on_and_a_ratio_of_zero_follows_only_sampled_clients() {
    let mock = MockUpstream::start().await.unwrap();
    let (collector, url) = Collector::start().await;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()),
        ("OTEL_SERVICE_NAME", "switchyard-from-env"),
        BATCH_DELAY,
    ];
    let gateway = gateway(&mock, "[traces]\nsample_ratio = 0.0\n", &env).await;
    let (status, _, _) = gateway.post(&failover_request(false)).await;
    assert_eq!(status, 200);
    let sampled = "5b8aa5a2d2c872e8321cf37308d69df2";
    post_traced(&gateway, false, sampled, "051581bf3cb55c13").await;
    let spans = collector
        .trace(sampled, |spans| {
            named(spans, "POST /v1/chat/completions").len() == 1
        })
        .await;
    assert!(
        spans
            .iter()
            .all(|received| received.service == "switchyard-from-env")
    );
    let received = collector.spans.lock().unwrap().clone();
    assert!(
        received.iter().all(|r| hex(&r.span.trace_id) == sampled),
        "only the sampled client's trace is exported: {received:#?}"
    );
    // The unsampled request still carried its (unsampled) context upstream.
    let (trace_id, _) = upstream_parent(&mock, BAD, 0);
    assert_ne!(trace_id, sampled);
    let header = mock.requests_for(BAD)[0]
        .header("traceparent")
        .unwrap()
        .to_owned();
    assert!(header.ends_with("-00"), "{header}");
}

#[tokio::test]
async fn a_dead_or_silent_collector_costs_no_request() {
    let mock = MockUpstream::start().await.unwrap();
    // Nothing listens on a port just released; the silent one accepts and never answers.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_address = silent.local_addr().unwrap();
    for address in [dead, silent_address] {
        let traces = format!("[traces]\nendpoint = \"http://{address}\"\ntimeout_ms = 60000\n");
        // A queue of 8 spans overflows on the second request: spans are dropped, not waited for.
        let env = [BATCH_DELAY, ("OTEL_BSP_MAX_QUEUE_SIZE", "8")];
        let gateway = gateway(&mock, &traces, &env).await;
        let requests = async {
            for index in 0..6 {
                let stream = index % 2 == 1;
                let (status, _, body) = gateway.post(&failover_request(stream)).await;
                assert_eq!(status, 200, "{address}: {body}");
                assert!(body.contains("\"provider\":\"good\""), "{body}");
            }
        };
        // Not a timing test: a request path waiting on the export would wait out its 60 s
        // timeout at least once; these requests take milliseconds.
        tokio::time::timeout(Duration::from_secs(55), requests)
            .await
            .expect("requests do not wait for the collector");
    }
    drop(silent);
}

#[tokio::test]
async fn with_traces_off_nothing_is_propagated_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "", &[]).await;
    post_traced(
        &gateway,
        false,
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )
    .await;
    for request in mock.requests() {
        assert_eq!(request.header("traceparent"), None, "{:?}", request.headers);
    }
}
