//! The hostile-client and hostile-plugin battery, end to end against the real binary: a plugin
//! that claims a built-in name and tries to send the provider key elsewhere (`tests/plugins/thief`)
//! or declares it may reach anything (`tests/plugins/greedy`), a plugin that sleeps where epoch
//! interruption cannot reach it, request bodies built to exhaust adapters or the host, clients
//! that stall the server, and a Redis that accepts connections but never answers. Each test
//! prints what it tried.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;
use switchyard_tests::hostile::{GREEDY, THIEF};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const ADMIN: &str = "admin-secret-42";

/// Says what a test tries, past the test harness's capture.
fn tried(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "hostile: {what}");
}

/// A one-message request whose text is `order` (the thief plugin obeys it).
fn order(model: &str, order: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": order }] })
}

/// A gateway whose provider `p` (model `m/p`) uses the `openai` adapter, replaced by the thief.
async fn thief_gateway(base_url: &str, extra: &str) -> Gateway {
    let config = format!(
        "[plugins.overrides.openai]\nreplace_builtin = true\n\n[providers.p]\nplugin = \"openai\"\nbase_url = \"{base_url}\"\napi_key_env = \"{KEY_ENV}\"\n{extra}\n{}",
        model("m/p", &[("p", "1", "1")])
    );
    Gateway::start_with_plugins(&config, &[THIEF]).await
}

#[tokio::test]
async fn a_plugin_cannot_send_the_provider_key_anywhere_but_the_operator_origin() {
    let mock = MockUpstream::start().await.unwrap();
    let elsewhere = MockUpstream::start().await.unwrap();
    let gateway = thief_gateway(&mock.base_url("fixture=openai/openai-text"), "").await;
    let (status, headers, _) = gateway.post(&order("m/p", "hello")).await;
    assert_eq!(status, 200, "the thief serves plain requests");
    assert!(
        headers["x-switchyard-adapter"]
            .to_str()
            .unwrap()
            .starts_with("openai@6.6.6")
    );

    let targets = [
        format!("http://{}/steal", elsewhere.addr()),
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_owned(),
        "https://steal.thief.example/v1/chat/completions".to_owned(),
        "http://api.openai.com/v1/chat/completions".to_owned(),
        format!("{}/../../steal", mock.base_url("x")).replace("127.0.0.1", "localhost"),
    ];
    for target in targets {
        tried(&format!("the adapter sends the key to {target}"));
        let (status, _, body) = gateway.post(&order("m/p", &format!("url {target}"))).await;
        assert_eq!(status, 502, "{target}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["error"]["code"], "host_not_allowed",
            "{target}: {body}"
        );
    }
    assert!(elsewhere.requests().is_empty(), "another host was reached");

    tried("the adapter moves the key into a query parameter after its first request");
    let before = mock.requests().len();
    let (status, _, body) = gateway.post(&order("m/p", "query key")).await;
    assert_eq!(status, 502, "{body}");
    let leaked = mock.requests()[before..]
        .iter()
        .any(|r| r.query.as_deref().unwrap_or_default().contains(KEY));
    assert!(!leaked, "the key went into a query string");
}

#[tokio::test]
async fn the_credential_placement_is_operator_configuration() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = thief_gateway(
        &mock.base_url("fixture=openai/openai-text"),
        "credential = { header = \"x-api-key\" }",
    )
    .await;
    tried("the adapter asks for a bearer header; the operator configured x-api-key");
    let (status, _, body) = gateway.post(&order("m/p", "hello")).await;
    assert_eq!(status, 200, "{body}");
    tried("the adapter asks for a query parameter `key`");
    let (status, _, body) = gateway.post(&order("m/p", "query key")).await;
    assert_eq!(status, 200, "{body}");
    for request in mock.requests() {
        assert_eq!(request.header("x-api-key"), Some(KEY));
        assert_eq!(request.header("authorization"), None);
        assert!(!request.query.unwrap_or_default().contains(KEY));
    }
}

/// An upstream that answers every request with a completion and a header echoing the
/// `Authorization` header it received.
async fn echoing_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        let echoed = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let completion = json!({
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": "hi" }, "finish_reason": "stop" }],
        });
        ([("x-echo", echoed)], axum::Json(completion))
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/v1")
}

#[tokio::test]
async fn response_headers_echoing_the_credential_never_reach_the_adapter() {
    let upstream = echoing_upstream().await;
    let gateway = thief_gateway(&upstream, "").await;
    tried("the upstream echoes the Authorization header; the adapter reports the headers it saw");
    let (status, _, body) = gateway.chat(&order("m/p", "hello")).await;
    assert_eq!(status, 200, "{body}");
    let seen = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        seen.contains("content-type"),
        "the adapter saw headers: {seen}"
    );
    assert!(!seen.contains(KEY), "the adapter saw the key: {seen}");
}

#[tokio::test]
async fn a_plugin_claiming_a_built_in_name_or_any_host_is_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider("oa", "openai", &mock, "fixture=openai/openai-text", ""),
        model("m/oa", &[("oa", "1", "1")])
    );
    let gateway = Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await;
    let upload = |bytes: Vec<u8>| {
        gateway
            .client
            .post(format!("{}/admin/plugins", gateway.url))
            .bearer_auth(ADMIN)
            .body(bytes)
            .send()
    };
    tried("upload a component named `openai` (a built-in) without replace_builtin");
    let response = upload(std::fs::read(THIEF).unwrap()).await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("replace_builtin"), "{message}");
    tried("upload a changed copy of the built-in openai adapter");
    let response = upload(variant(openai_component(), 3)).await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    tried("upload an adapter declaring `*`, 169.254.169.254 and localhost as its hosts");
    let response = upload(std::fs::read(GREEDY).unwrap()).await.unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("declared allowed host \"*\""), "{message}");
    let (status, headers, _) = gateway.post(&request("m/oa", false)).await;
    assert_eq!(status, 200);
    assert!(
        headers["x-switchyard-adapter"]
            .to_str()
            .unwrap()
            .starts_with("openai@0.1.0"),
        "the built-in adapter still serves"
    );

    tried("start a gateway with the thief in its plugins folder, without replace_builtin");
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(THIEF, plugins.join("thief.wasm")).unwrap();
    let config_path = dir.path().join("switchyard.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[plugins]\ndir = {:?}\n",
        plugins.display().to_string()
    );
    std::fs::write(&config_path, text).unwrap();
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--config"])
        .arg(&config_path)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the gateway refuses to start")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("replace_builtin"), "{stderr}");
}

#[tokio::test]
async fn replacing_a_built_in_plugin_when_configured_is_logged() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = thief_gateway(&mock.base_url("fixture=openai/openai-text"), "").await;
    tried("start with the thief replacing `openai`, as configured");
    let log = gateway.log();
    assert!(
        log.contains("replaces the built-in one") && log.contains("WARN"),
        "{log}"
    );
}

#[tokio::test]
async fn a_plugin_sleeping_in_wasi_poll_is_stopped_by_the_wall_clock() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = thief_gateway(&mock.base_url("fixture=openai/openai-text"), "").await;
    tried("the adapter sleeps 60 s in build_request (call deadline 500 ms)");
    let started = Instant::now();
    let (status, _, body) = gateway.post(&order("m/p", "sleep 60000")).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("call deadline"), "{body}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    let (status, _, _) = gateway.post(&order("m/p", "hello")).await;
    assert_eq!(status, 200, "the next request is served");
}

/// `count` user messages of `size` characters each.
fn messages(count: usize, size: usize) -> Value {
    let text = "a".repeat(size);
    Value::Array(vec![json!({ "role": "user", "content": text }); count])
}

#[tokio::test]
async fn bodies_the_gateway_accepts_fit_through_the_adapter_under_the_default_limits() {
    let mock = MockUpstream::start().await.unwrap();
    // `mistral` reads the whole conversation in the sandbox (`openai` passes it through).
    let config = format!(
        "{}{}",
        provider("oa", "mistral", &mock, "fixture=mistral/mistral-text", ""),
        model("m/oa", &[("oa", "1", "1")])
    );
    let defaults = Sections {
        server: "",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(defaults, &config, &[], &[]).await;
    let limit = 4 * 1024 * 1024 - 4096;

    tried("110,000 one-character messages (3.7 MB)");
    let (status, _, body) = gateway
        .chat(&json!({ "model": "m/oa", "messages": messages(110_000, 1) }))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "too_many_items");

    tried("one message with 300,000 unknown keys (3.5 MB)");
    let too_wide: serde_json::Map<String, Value> =
        (0..300_000).map(|i| (format!("k{i}"), json!(0))).collect();
    let (status, _, body) = gateway
        .chat(&json!({ "model": "m/oa", "messages": [too_wide] }))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "too_many_items");

    let many_keys: serde_json::Map<String, Value> =
        (0..99_000).map(|i| (format!("k{i}"), json!(0))).collect();
    let mut wide = json!({ "role": "user", "content": "hi" });
    wide.as_object_mut().unwrap().extend(many_keys);
    let parts = vec![json!({ "type": "text", "text": "a".repeat(limit / 10_000 - 40) }); 10_000];
    let shapes = [
        (
            "10,000 messages near the body limit",
            messages(10_000, limit / 10_000 - 40),
        ),
        ("one message near the body limit", messages(1, limit - 100)),
        (
            "10,000 content parts",
            json!([{ "role": "user", "content": parts }]),
        ),
        ("one message with 99,000 unknown keys", json!([wide])),
    ];
    for (what, messages) in shapes {
        let body = json!({ "model": "m/oa", "messages": messages });
        let size = serde_json::to_vec(&body).unwrap().len();
        tried(&format!("{what} ({size} bytes)"));
        assert!(size <= 4 * 1024 * 1024, "{what}: {size} bytes");
        let (status, _, answer) = gateway.post(&body).await;
        assert_eq!(status, 200, "{what}: {answer}");
    }
}

#[tokio::test]
async fn bodies_that_exhaust_an_adapter_fail_alone_and_do_not_open_its_circuit() {
    let mock = MockUpstream::start().await.unwrap();
    // `mistral` reads the conversation; `openai` passes it through, so it never enters the sandbox.
    const MISTRAL: &str = "fixture=mistral/mistral-text";
    let config = format!(
        "{}{}{}{}",
        provider("mis", "mistral", &mock, MISTRAL, ""),
        provider("other", "mistral", &mock, MISTRAL, ""),
        provider("oa", "openai", &mock, "fixture=openai/openai-text", ""),
        model("m/mis", &[("mis", "1", "1")])
    ) + &model("m/other", &[("other", "1", "1")])
        + &model("m/oa", &[("oa", "1", "1")]);
    let small_adapters = Sections {
        server: "max_body_bytes = 4194304",
        plugins: "memory_limit_mib = 8\ncircuit_breaker = { failures = 3, cooldown_ms = 60000 }",
    };
    let gateway = Gateway::start_with_sections(small_adapters, &config, &[], &[]).await;
    let huge = |model: &str| json!({ "model": model, "messages": messages(4_000, 900) });
    for attempt in 0..6 {
        tried(&format!(
            "attempt {attempt}: 3.6 MB body against an 8 MiB adapter"
        ));
        let (status, _, body) = gateway.post(&huge("m/mis")).await;
        assert_eq!(status, 502, "{body}");
        assert!(body.contains("memory limit"), "{body}");
    }
    tried("a normal request to another provider served by the same adapter");
    let (status, _, body) = gateway.post(&request("m/other", false)).await;
    assert_eq!(status, 200, "{body}");
    tried("the same body through an 8 MiB adapter that passes the conversation through");
    let (status, _, body) = gateway.post(&huge("m/oa")).await;
    assert_eq!(status, 200, "{body}");
    let (_, health) = gateway.get("/health").await;
    assert_eq!(health["status"], "ok", "{health}");
}

#[tokio::test]
async fn oversized_lists_are_refused_at_once() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider("oa", "openai", &mock, "fixture=openai/openai-text", ""),
        model("m/oa", &[("oa", "1", "1")])
    );
    let defaults = Sections {
        server: "",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(defaults, &config, &[], &[]).await;
    let ids: Vec<String> = (0..100_000).map(|i| format!("x/m{i}")).collect();
    let names: Vec<String> = (0..10_000).map(|i| format!("p{i}")).collect();
    let tool = json!({ "type": "function", "function": { "name": "f", "parameters": {} } });
    let cases = [
        (
            "100,000 fallback models",
            json!({ "model": "m/oa", "models": ids, "messages": messages(1, 1) }),
        ),
        (
            "10,000 names in provider.order",
            json!({ "model": "m/oa", "messages": messages(1, 1), "provider": { "order": names } }),
        ),
        (
            "10,000 names in provider.ignore",
            json!({ "model": "m/oa", "messages": messages(1, 1), "provider": { "ignore": names } }),
        ),
        (
            "200 tools",
            json!({ "model": "m/oa", "messages": messages(1, 1), "tools": vec![tool; 200] }),
        ),
    ];
    for (what, body) in cases {
        tried(what);
        let started = Instant::now();
        let (status, _, answer) = gateway.chat(&body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: {:?}",
            started.elapsed()
        );
    }
}

/// Reads from `stream` until the server closes it; returns what it sent, or `None` if it was
/// still open after `wait`.
async fn until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = stream.read_to_end(&mut received);
    match tokio::time::timeout(wait, read).await {
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => None,
    }
}

fn host_port(gateway: &Gateway) -> String {
    gateway.url.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn clients_that_stall_the_server_are_cut_off() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        provider("oa", "openai", &mock, "fixture=openai/openai-text", ""),
        model("m/oa", &[("oa", "1", "1")])
    );
    let short = Sections {
        server: "max_body_bytes = 65536\nheader_read_timeout_ms = 1000\nbody_read_timeout_ms = 1000\nidle_timeout_ms = 1500",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(short, &config, &[], &[]).await;
    let address = host_port(&gateway);

    tried("send half of a request's headers, then nothing");
    let mut half = TcpStream::connect(&address).await.unwrap();
    half.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    assert!(
        until_closed(&mut half, Duration::from_secs(10))
            .await
            .is_some(),
        "a connection with half its headers stays open"
    );

    tried("open a connection and send nothing");
    let mut silent = TcpStream::connect(&address).await.unwrap();
    assert!(
        until_closed(&mut silent, Duration::from_secs(10))
            .await
            .is_some()
    );

    tried("keep a connection alive after a request, idle");
    let mut idle = TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut idle, Duration::from_secs(10))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    tried("send headers, then the body one byte every 200 ms");
    let mut trickle = TcpStream::connect(&address).await.unwrap();
    trickle
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{")
        .await
        .unwrap();
    let (reader, mut writer) = trickle.into_split();
    let dripping = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let mut status_line = String::new();
    let mut reader = BufReader::new(reader);
    let read = reader.read_line(&mut status_line);
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the trickled body is cut off")
        .unwrap();
    assert!(status_line.starts_with("HTTP/1.1 408"), "{status_line}");
    dripping.abort();
    assert_eq!(gateway.post(&request("m/oa", false)).await.0, 200);
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let config = "";
    let capped = Sections {
        server: "max_connections = 3",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(capped, config, &[], &[]).await;
    let address = host_port(&gateway);
    tried("hold the 3 connections of the cap open, then ask for /health");
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = gateway.client.get(format!("{}/health", gateway.url)).send();
    let waiting = tokio::spawn(health);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !waiting.is_finished(),
        "a connection past the cap was served"
    );
    held.pop();
    let response = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a slot is free")
        .unwrap()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

/// A fake Redis that answers `+OK` to every command until the first script call, then never
/// answers again (the connection stays open).
async fn mute_redis() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (reader, mut writer) = stream.into_split();
                let mut lines = BufReader::new(reader).lines();
                let mut mute = false;
                // A command is `*n`, then `$len` and the argument for each of its n parts.
                while let Ok(Some(header)) = lines.next_line().await {
                    let parts: usize = header.trim_start_matches('*').parse().unwrap_or(0);
                    let mut name = String::new();
                    for part in 0..parts * 2 {
                        let Ok(Some(line)) = lines.next_line().await else {
                            return;
                        };
                        if part == 1 {
                            name = line.to_ascii_uppercase();
                        }
                    }
                    mute |= name == "EVALSHA" || name == "EVAL";
                    if !mute {
                        let _ = writer.write_all(b"+OK\r\n").await;
                    }
                }
                drop(writer);
            });
        }
    });
    format!("redis://{address}")
}

#[tokio::test]
async fn a_redis_that_never_answers_does_not_hang_keyed_traffic() {
    let mock = MockUpstream::start().await.unwrap();
    let redis = mute_redis().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}{}[accounting]\nenabled = true\nsqlite_path = {:?}\nredis_url = {redis:?}\n",
        provider("oa", "openai", &mock, "fixture=openai/openai-text", ""),
        model("m/oa", &[("oa", "1", "1")]),
        dir.path().join("ledger.db").display().to_string()
    );
    let gateway = Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await;
    let admin = |path: &str, body: Value| {
        gateway
            .client
            .post(format!("{}/admin{path}", gateway.url))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
    };
    let created: Value = admin(
        "/keys",
        json!({ "label": "t", "account": "acme", "requests_per_minute": 100 }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let secret = created["data"]["key"].as_str().unwrap().to_owned();
    let credited = admin("/accounts/acme/credits", json!({ "amount": "10" }))
        .await
        .unwrap();
    assert_eq!(credited.status().as_u16(), 200);

    tried("a keyed request while Redis accepts the rate-limit script and never answers");
    let chat = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(&secret)
        .json(&request("m/oa", false))
        .send();
    let response = tokio::time::timeout(Duration::from_secs(20), chat)
        .await
        .expect("the request does not wait for Redis forever")
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "let through (fail open)");
}

#[tokio::test]
async fn canary_judgement_ignores_answers_refusing_the_request() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[plugins.overrides.openai]\nreplace_builtin = true\n[plugins.canary]\nmin_requests = 5\nmargin = 0.1\n{}{}",
        provider("bad", "openai", &mock, "status=400", ""),
        model("m/bad", &[("bad", "1", "1")])
    );
    let gateway = Gateway::start_with_env(&config, &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await;
    let canary = gateway
        .client
        .post(format!("{}/admin/plugins?canary=1", gateway.url))
        .bearer_auth(ADMIN)
        .body(variant(openai_component(), 5))
        .send()
        .await
        .unwrap();
    assert_eq!(canary.status().as_u16(), 201);
    tried("20 requests the upstream refuses with 400, all served by the canary");
    for _ in 0..20 {
        let (status, _, _) = gateway.post(&request("m/bad", false)).await;
        assert_eq!(status, 400);
    }
    let events: Value = gateway
        .client
        .get(format!("{}/admin/events", gateway.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rolled_back = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "canary_rolled_back");
    assert!(
        !rolled_back,
        "the canary was judged on the client's bad requests: {events}"
    );
}
