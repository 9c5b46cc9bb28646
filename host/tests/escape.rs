//! End to end: a hostile adapter (`tests/plugins/escape`) tries every way out of the sandbox on
//! every request (read a file, the environment, open a socket, find state from an earlier
//! request...) and writes what happened into the upstream request it builds; the mock upstream
//! records that request and the test reads the findings from it. A request built for a host
//! outside the plugin's allowed hosts is refused before any connection is made.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{Gateway, KEY, model, provider, request};
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// The gateway with the escape plugin in its plugins folder (beside the other hostile ones).
async fn escape_gateway(config: &str) -> Gateway {
    Gateway::start_with_plugins(config, &[switchyard_tests::hostile::ESCAPE]).await
}

const SCENARIO: &str = "fixture=openai/openai-text";

/// A request whose last message is unique, so a leak of an earlier request would show.
fn secret_request(n: usize, stream: bool) -> Value {
    let mut body = request("m/escape", stream);
    body["messages"][1]["content"] = json!(format!("secret number {n}"));
    body
}

/// The escape provider on the mock (options `extra`), and a model served by it only. The
/// plugin gets a fresh instance per request (`isolation = "per-request"`), so no state of an
/// earlier request is reachable; `warm_instances.rs` covers what warm instances keep apart.
fn escape_config(mock: &MockUpstream, scenario: &str, options: &str) -> String {
    format!(
        "[plugins.overrides.test-escape]\nisolation = \"per-request\"\n\n{}{}",
        provider(
            "escape",
            "test-escape",
            mock,
            scenario,
            &format!("options = {{ {options} }}"),
        ),
        model("m/escape", &[("escape", "1", "1")]),
    )
}

fn assert_nothing_escaped(findings: &Value) {
    let text = |field: &str| findings[field].as_str().unwrap_or("").to_owned();
    for field in [
        "file", "dir", "socket", "listen", "udp", "dns", "thread", "process",
    ] {
        assert!(
            text(field).starts_with("denied"),
            "{field} must be denied: {findings}"
        );
    }
    assert_eq!(findings["env_vars"], 0, "no environment: {findings}");
    assert_eq!(findings["key"], Value::Null, "no credential: {findings}");
    assert_eq!(findings["args"], 0, "no arguments: {findings}");
    // A fresh instance per request (`isolation = "per-request"`): the static counter starts at
    // zero every time and no state of an earlier request (this plugin's or another's) is
    // reachable.
    assert_eq!(
        findings["calls"], 1,
        "fresh instance per request: {findings}"
    );
    assert_eq!(
        findings["previous"],
        Value::Null,
        "no state from an earlier request: {findings}"
    );
}

#[tokio::test]
async fn a_plugin_cannot_escape_its_sandbox() {
    let mock = MockUpstream::start().await.unwrap();
    let port = mock.addr().port();
    let gateway = escape_gateway(&escape_config(
        &mock,
        SCENARIO,
        &format!("port = \"{port}\""),
    ))
    .await;

    // Several requests in sequence, streamed and not, then several at once.
    for n in 0..3 {
        let (status, _, body) = gateway.chat(&secret_request(n, false)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["provider"], "escape");
    }
    let (status, _, text) = gateway.post(&secret_request(3, true)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("data: [DONE]"), "{text}");
    let concurrent: Vec<_> = (4..10)
        .map(|n| {
            let body = secret_request(n, n % 2 == 0);
            let client = gateway.client.clone();
            let url = format!("{}/v1/chat/completions", gateway.url);
            tokio::spawn(async move {
                let response = client.post(url).json(&body).send().await.unwrap();
                response.status().as_u16()
            })
        })
        .collect();
    for task in concurrent {
        assert_eq!(task.await.unwrap(), 200);
    }

    let recorded = mock.requests_for(SCENARIO);
    assert_eq!(
        recorded.len(),
        10,
        "one upstream request per client request"
    );
    for request in &recorded {
        let findings = request.json.as_ref().expect("findings are JSON");
        assert_nothing_escaped(findings);
        // The credential is added by the host, outside the sandbox.
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
    // The clock is frozen at the Unix epoch: no time, no timing side channel. The random source
    // works (std's hash maps need it) and says nothing about other requests.
    for request in &recorded {
        assert_eq!(
            request.json.as_ref().unwrap()["clock_unix_ms"],
            0,
            "the plugin saw a real clock"
        );
    }
    let first = recorded[0].json.as_ref().unwrap();
    eprintln!(
        "escape findings of one request: {}",
        serde_json::to_string_pretty(first).unwrap()
    );
    let clocks: Vec<_> = recorded
        .iter()
        .map(|r| {
            let json = r.json.as_ref().unwrap();
            (json["clock_unix_ms"].clone(), json["random_hash"].clone())
        })
        .collect();
    eprintln!("clock and random per request: {clocks:?}");
}

/// Builds the escape gateway with `exfiltrate = <how>`, sends a request and asserts that it was
/// refused before any connection: a 502 `host_not_allowed` and nothing reached any upstream.
async fn assert_exfiltration_refused(how: &str, extra_options: &str, watched: &[&MockUpstream]) {
    let mock = MockUpstream::start().await.unwrap();
    let options = format!("exfiltrate = \"{how}\"{extra_options}");
    let gateway = escape_gateway(&escape_config(&mock, SCENARIO, &options)).await;
    let mut answers = Vec::new();
    for stream in [false, true] {
        let (status, _, body) = gateway.chat(&secret_request(0, stream)).await;
        answers.push((status, body));
    }
    for other in watched {
        for request in other.requests() {
            eprintln!(
                "reached the other upstream: {} {} authorization {:?}",
                request.method,
                request.path,
                request.header("authorization")
            );
        }
    }
    for (status, body) in answers {
        assert_eq!(status, 502, "{body}");
        assert_eq!(body["error"]["code"], "host_not_allowed", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains("test-escape"),
            "names the plugin: {message}"
        );
        assert!(
            !message.contains(KEY),
            "the error never carries the credential"
        );
    }
    assert!(
        mock.requests().is_empty(),
        "nothing reached the upstream: {:?}",
        mock.requests()
    );
    for other in watched {
        assert!(
            other.requests().is_empty(),
            "nothing reached the other upstream"
        );
    }
}

#[tokio::test]
async fn a_request_to_another_host_is_refused_before_connecting() {
    assert_exfiltration_refused("true", "", &[]).await;
}

#[tokio::test]
async fn an_allowed_host_as_user_info_does_not_pass_the_check() {
    // `http://127.0.0.1@exfil.example/steal`: the host is exfil.example.
    assert_exfiltration_refused("userinfo", "", &[]).await;
}

#[tokio::test]
async fn an_allowed_host_on_another_port_is_refused() {
    // The operator configured the mock's port; the plugin targets 127.0.0.1 on another port
    // (here a second server standing for any local service, e.g. the gateway's own admin API).
    let other = MockUpstream::start().await.unwrap();
    let options = format!(", target_port = \"{}\"", other.addr().port());
    assert_exfiltration_refused("other-port", &options, &[&other]).await;
}

#[tokio::test]
async fn a_host_header_naming_another_host_is_not_sent() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = escape_gateway(&escape_config(
        &mock,
        SCENARIO,
        "exfiltrate = \"host-header\"",
    ))
    .await;
    let (status, _, body) = gateway.chat(&secret_request(0, false)).await;
    let hosts: Vec<_> = mock
        .requests()
        .iter()
        .map(|r| r.header("host").map(str::to_owned))
        .collect();
    eprintln!(
        "status {status} ({}); the upstream saw host headers {hosts:?}",
        body["provider"]
    );
    assert!(
        hosts.iter().all(|h| h.as_deref() != Some("exfil.example")),
        "a plugin-set Host header reached the upstream: {hosts:?}"
    );
}
