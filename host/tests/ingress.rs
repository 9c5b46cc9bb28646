//! End to end: one ingress discipline on every route of the real binary. A body trickled to any
//! route the router declares is cut off within the configured deadline (or the minimum rate),
//! admin routes answer before reading a body, `/health` answers throughout; caps refuse huge
//! `models` lists before any model is resolved; cross-site browser requests and rebinding
//! `Host`s are refused while `curl -d` works; HTTP/2 streams and body bytes stay within their
//! budgets; junk methods and model strings add no metric series, and `/metrics` needs the admin
//! token; sticky sessions are the account's own; upstream errors reach clients scrubbed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;

const ADMIN_TOKEN: &str = "ingress-admin-token";

fn tried(what: &str) {
    eprintln!("tried: {what}");
}

fn address(gateway: &Gateway) -> String {
    gateway.url.trim_start_matches("http://").to_owned()
}

/// Every (method, path) the router declares, parameters filled in, plus `/metrics` (wired
/// beside the router) and a path no route matches.
fn every_route() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = switchyard_api::table::routes()
        .iter()
        .flat_map(|route| {
            let path: String = route
                .path()
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "x"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            route
                .methods()
                .iter()
                .map(move |method| (method.to_string(), path.clone()))
        })
        .collect();
    assert!(routes.len() > 30, "the route table: {routes:?}");
    routes.push(("GET".to_owned(), "/metrics".to_owned()));
    routes.push(("POST".to_owned(), "/no/such/route".to_owned()));
    routes
}

/// Sends `method path` with a 100,000-byte body announced, then one byte every 200 ms; returns
/// the status line and how long until the server closed the connection (`None`: still open
/// after `wait`).
async fn trickle(
    address: String,
    method: String,
    path: String,
    bearer: Option<&'static str>,
    wait: Duration,
) -> (String, Option<Duration>) {
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let auth = bearer
        .map(|token| format!("authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}content-type: application/json\r\ncontent-length: 100000\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (reader, mut writer) = stream.into_split();
    let dripping = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(reader);
    let mut status = String::new();
    let mut rest = Vec::new();
    let answered = async {
        reader.read_line(&mut status).await.ok();
        reader.read_to_end(&mut rest).await.ok();
    };
    let closed = tokio::time::timeout(wait, answered).await.is_ok();
    dripping.abort();
    (status.trim().to_owned(), closed.then(|| started.elapsed()))
}

/// Trickles a body to every route at once (as `bearer`), asks `/health` from a fresh
/// connection while they are open, and checks each was answered and closed within `limit`.
async fn every_route_is_cut_off(
    gateway: &Gateway,
    bearer: Option<&'static str>,
    limit: Duration,
) -> Vec<(String, String, String)> {
    let trickles: Vec<_> = every_route()
        .into_iter()
        .map(|(method, path)| {
            let address = address(gateway);
            let (m, p) = (method.clone(), path.clone());
            let task = tokio::spawn(trickle(address, m, p, bearer, Duration::from_secs(30)));
            (method, path, task)
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let health = tokio::time::timeout(
        Duration::from_secs(5),
        gateway.client.get(format!("{}/health", gateway.url)).send(),
    )
    .await
    .expect("/health answers while bodies trickle")
    .unwrap();
    assert_eq!(health.status(), 200);
    let mut statuses = Vec::new();
    for (method, path, task) in trickles {
        let (status, closed) = task.await.unwrap();
        let closed = closed.unwrap_or_else(|| panic!("{method} {path}: still open after 30 s"));
        assert!(
            closed <= limit,
            "{method} {path}: open for {closed:?} ({status})"
        );
        assert!(
            status.starts_with("HTTP/1.1 "),
            "{method} {path}: {status:?}"
        );
        statuses.push((method, path, status));
    }
    statuses
}

fn status_of<'a>(statuses: &'a [(String, String, String)], method: &str, path: &str) -> &'a str {
    statuses
        .iter()
        .find(|(m, p, _)| m == method && p == path)
        .map(|(_, _, status)| status.as_str())
        .unwrap_or_else(|| panic!("{method} {path} not tried"))
}

const SHORT: &str =
    "max_body_bytes = 65536\nheader_read_timeout_ms = 5000\nbody_read_timeout_ms = 1000";

#[tokio::test]
async fn a_trickled_body_is_cut_off_on_every_route() {
    // Within the 1 s deadline, plus the time to answer on a loaded machine.
    let limit = Duration::from_secs(4);

    tried("every route, admin API off, accounting off");
    let sections = Sections {
        server: SHORT,
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(sections, "", &[], &[]).await;
    let statuses = every_route_is_cut_off(&gateway, None, limit).await;
    for path in [
        "/v1/chat/completions",
        "/v1/messages",
        "/v1/messages/count_tokens",
    ] {
        let status = status_of(&statuses, "POST", path);
        assert!(status.starts_with("HTTP/1.1 408"), "POST {path}: {status}");
    }
    let status = status_of(&statuses, "PUT", "/admin/routing/shadow");
    assert!(status.starts_with("HTTP/1.1 404"), "admin off: {status}");
    drop(gateway);

    tried("every route, admin API and accounting on, with the admin token");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[accounting]\nenabled = true\nsqlite_path = {:?}\n",
        dir.path().join("books.db").display().to_string()
    );
    let env = [("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)];
    let gateway = Gateway::start_with_sections(sections, &config, &env, &[]).await;
    let statuses = every_route_is_cut_off(&gateway, Some(ADMIN_TOKEN), limit).await;
    for (method, path) in [
        ("PUT", "/admin/routing/shadow"),
        ("POST", "/admin/keys"),
        ("PATCH", "/admin/keys/x"),
        ("POST", "/admin/accounts/x/credits"),
        ("POST", "/admin/plugins"),
    ] {
        let status = status_of(&statuses, method, path);
        assert!(
            status.starts_with("HTTP/1.1 408"),
            "{method} {path}: {status}"
        );
    }
    // The admin token is no API key: refused before the body.
    let status = status_of(&statuses, "POST", "/v1/messages");
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");

    tried("every route, a bad token");
    let statuses = every_route_is_cut_off(&gateway, Some("wrong-token"), limit).await;
    let status = status_of(&statuses, "PUT", "/admin/routing/shadow");
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");
}

#[tokio::test]
async fn a_body_below_the_minimum_rate_is_cut_off_before_the_deadline() {
    let sections = Sections {
        server: "max_body_bytes = 65536\nbody_read_timeout_ms = 60000\nbody_min_bytes_per_sec = 100",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(sections, "", &[], &[]).await;
    tried("5 bytes a second against a minimum of 100, with a 60 s deadline");
    let (status, closed) = trickle(
        address(&gateway),
        "POST".to_owned(),
        "/v1/messages".to_owned(),
        None,
        Duration::from_secs(20),
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    let closed = closed.expect("cut off");
    assert!(closed < Duration::from_secs(5), "{closed:?}");
}

#[tokio::test]
async fn bodies_past_the_in_flight_budget_are_refused_with_503() {
    let sections = Sections {
        server: "max_body_bytes = 65536\nmax_body_bytes_in_flight = 2000",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(sections, "", &[], &[]).await;
    let big = json!({
        "model": "x/y",
        "messages": [{ "role": "user", "content": "a".repeat(5000) }]
    });
    tried("a 5,000-byte body against a 2,000-byte budget");
    let (status, _, body) = gateway.chat(&big).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "overloaded", "{body}");
    tried("a small body: the budget was given back");
    let small = json!({ "model": "x/y", "messages": [{ "role": "user", "content": "a" }] });
    let (status, _, body) = gateway.chat(&small).await;
    assert_eq!(status, 404, "an unknown model, past the budget: {body}");
}

#[tokio::test]
async fn forty_thousand_models_are_refused_by_the_cap() {
    // The default body limit (4 MiB) holds the list.
    let gateway = Gateway::start_with_server("max_body_bytes = 4194304", "").await;
    let models: Vec<String> = (0..40_000).map(|i| format!("nobody/m{i}")).collect();
    let cases = [
        (
            "/v1/embeddings",
            json!({ "model": "nobody/first", "input": "a", "models": models }),
        ),
        (
            "/v1/chat/completions",
            json!({ "model": "nobody/first", "messages": [{ "role": "user", "content": "a" }], "models": models }),
        ),
        (
            "/v1/responses",
            json!({ "model": "nobody/first", "input": "a", "models": models }),
        ),
    ];
    for (path, body) in cases {
        tried(path);
        let response = gateway
            .client
            .post(format!("{}{path}", gateway.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        // Refused for the count, not for the unknown models (none was resolved).
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(
            answer["error"]["code"], "too_many_items",
            "{path}: {answer}"
        );
    }
}

/// The series of the exposition: each sample's name and labels, without its value.
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

async fn scrape(gateway: &Gateway, token: Option<&str>) -> (u16, String) {
    let mut request = gateway.client.get(format!("{}/metrics", gateway.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Sends a request with method `method` to `/health` over a fresh connection.
async fn junk_method(gateway: &Gateway, method: &str) {
    let mut stream = TcpStream::connect(address(gateway)).await.unwrap();
    let head = format!(
        "{method} /health HTTP/1.1\r\nHost: {}\r\nconnection: close\r\n\r\n",
        address(gateway)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 405"), "{method}");
}

#[tokio::test]
async fn junk_methods_and_model_strings_add_no_metric_series() {
    let env = [("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)];
    let gateway = Gateway::start_with_args("", &env, &["--demo"]).await;
    let chat = |model: String| {
        let gateway = &gateway;
        async move { gateway.chat(&request(&model, false)).await.0 }
    };
    tried("one of each kind first: a junk method, two spellings of a model, an unknown model");
    junk_method(&gateway, "JUNK").await;
    assert_eq!(chat("demo/steady-chat".to_owned()).await, 200);
    assert_eq!(chat("Steady-Chat-20250101".to_owned()).await, 200);
    assert_eq!(chat("nobody/nothing".to_owned()).await, 404);
    let (status, before) = scrape(&gateway, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        before.contains("gen_ai_request_model=\"demo/steady-chat\""),
        "{before}"
    );

    tried("30 more junk methods, spellings of the model and unknown models");
    for i in 0..30 {
        junk_method(&gateway, &format!("JUNK{i}")).await;
        let spelling = format!("steady-chat-2025{:04}", 1000 + i);
        assert_eq!(chat(spelling).await, 200);
        assert_eq!(chat(format!("nobody/m{i}")).await, 404);
    }
    let (_, after) = scrape(&gateway, Some(ADMIN_TOKEN)).await;
    let added: Vec<_> = series(&after)
        .difference(&series(&before))
        .cloned()
        .collect();
    assert!(added.is_empty(), "new series: {added:#?}");
    assert!(!after.contains("JUNK"), "a method label from the request");
    assert!(!after.contains("2025"), "a model label from the request");
}

/// A new API key of `account`, which gets 5 USD of credits.
async fn key_of(gateway: &Gateway, account: &str) -> String {
    let admin = |path: String, body: Value| async move {
        let response = gateway
            .client
            .post(format!("{}/admin{path}", gateway.url))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        response.json::<Value>().await.unwrap()
    };
    let created = admin("/keys".to_owned(), json!({ "account": account })).await;
    let credits = format!("/accounts/{account}/credits");
    admin(credits, json!({ "amount": "5" })).await;
    created["data"]["key"].as_str().unwrap().to_owned()
}

/// A gateway with accounting on (SQLite in `dir`) and the admin API.
async fn keyed_gateway(dir: &tempfile::TempDir, config: &str, args: &[&str]) -> Gateway {
    let config = format!(
        "[accounting]\nenabled = true\nsqlite_path = {:?}\n\n{config}",
        dir.path().join("books.db").display().to_string()
    );
    let env = [("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)];
    Gateway::start_with_args(&config, &env, args).await
}

#[tokio::test]
async fn metrics_need_the_admin_token_and_carry_no_key_labels_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = keyed_gateway(&dir, "", &["--demo"]).await;
    let secret = key_of(&gateway, "acme").await;
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(&secret)
        .json(&request("demo/steady-chat", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    tried("/metrics without a token, with the wrong one, with the admin token");
    let (status, body) = scrape(&gateway, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(scrape(&gateway, Some(&secret)).await.0, 401, "an API key");
    let (status, text) = scrape(&gateway, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(text.contains("switchyard_cost_usd_total"), "{text}");
    assert!(!text.contains("acme"), "account labels are off by default");
    assert!(!text.contains("switchyard_key_id"), "{text}");
}

#[tokio::test]
async fn without_an_admin_token_metrics_are_not_on_the_main_listener() {
    let gateway = Gateway::start_with_args("", &[], &["--demo"]).await;
    assert_eq!(scrape(&gateway, None).await.0, 404);
}

/// A raw request; the status line and the body.
async fn raw(gateway: &Gateway, head: &str, body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address(gateway)).await.unwrap();
    let request = format!(
        "{head}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn cross_site_browser_requests_and_rebinding_hosts_are_refused() {
    let sections = Sections {
        server: "allowed_origins = [\"https://app.example\"]",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(sections, "", &[], &[]).await;
    let demo = Gateway::start_with_args("", &[], &["--demo"]).await;
    let host = address(&gateway);
    let body = request("nobody/nothing", false).to_string();

    tried("a page on another site POSTs text/plain (no preflight)");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nOrigin: https://evil.example\r\ncontent-type: text/plain;charset=UTF-8\r\nsec-fetch-site: cross-site\r\n"
    );
    let (status, answer) = raw(&gateway, &head, &body).await;
    assert!(status.starts_with("HTTP/1.1 403"), "{status} {answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["error"]["code"], "origin_not_allowed", "{answer}");

    tried("the same without an Origin, but from a cross-site fetch");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\ncontent-type: text/plain\r\nsec-fetch-site: cross-site\r\n"
    );
    assert!(
        raw(&gateway, &head, &body)
            .await
            .0
            .starts_with("HTTP/1.1 403")
    );

    tried("an allowed origin sending text/plain, then JSON, and its preflight");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nOrigin: https://app.example\r\ncontent-type: text/plain\r\n"
    );
    let (status, _) = raw(&gateway, &head, &body).await;
    assert!(status.starts_with("HTTP/1.1 415"), "{status}");
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .header("origin", "https://app.example")
        .json(&request("nobody/nothing", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "served (an unknown model)");
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let preflight = gateway
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/chat/completions", gateway.url),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );

    tried("the gateway's own origin (the dashboard)");
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .header("origin", &gateway.url)
        .json(&request("nobody/nothing", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    tried("DNS rebinding: a page's own name resolved to the loopback gateway");
    let port = host.rsplit_once(':').unwrap().1;
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: rebind.evil.example:{port}\r\nOrigin: http://rebind.evil.example:{port}\r\ncontent-type: text/plain\r\n"
    );
    let (status, answer) = raw(&gateway, &head, &body).await;
    assert!(status.starts_with("HTTP/1.1 421"), "{status} {answer}");
    let head = format!("GET /v1/models HTTP/1.1\r\nHost: rebind.evil.example:{port}\r\n");
    assert!(raw(&gateway, &head, "").await.0.starts_with("HTTP/1.1 421"));
    let head = format!("GET /health HTTP/1.1\r\nHost: localhost:{port}\r\n");
    assert!(raw(&gateway, &head, "").await.0.starts_with("HTTP/1.1 200"));

    tried("curl -d, without Origin or content type (curl sends a form type)");
    let output = tokio::process::Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "-d"])
        .arg(request("demo/steady-chat", false).to_string())
        .arg(format!("{}/v1/chat/completions", demo.url))
        .output()
        .await
        .expect("curl (installed by .ci/run)");
    let text = String::from_utf8_lossy(&output.stdout);
    let (answer, code) = text.rsplit_once('\n').unwrap();
    assert_eq!(code, "200", "{answer}");
    let answer: Value = serde_json::from_str(answer).unwrap();
    assert_eq!(answer["object"], "chat.completion", "{answer}");
}

/// An OpenAI-style upstream whose errors say too much: for `up-auth` a 401 naming the
/// organisation and echoing the key, for `up-echo` a 400 echoing the key and another key.
async fn talkative_upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|body: axum::body::Bytes| async move {
        let request: Value = serde_json::from_slice(&body).unwrap_or_default();
        let (status, message) = match request["model"].as_str() {
            Some("up-auth") => (
                401,
                format!(
                    "Incorrect API key provided: {KEY}. Organization org-SECRETORG is over quota."
                ),
            ),
            _ => (
                400,
                format!("bad request for key {KEY}; see also sk-proj-ABCDEFGHIJKLMNOPQRST"),
            ),
        };
        let body = json!({ "error": { "message": message, "type": "invalid_request_error" } });
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            axum::Json(body),
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/v1")
}

#[tokio::test]
async fn upstream_errors_reach_the_client_scrubbed() {
    let upstream = talkative_upstream().await;
    let mut config = String::new();
    for name in ["auth", "echo"] {
        config.push_str(&format!(
            "[providers.{name}]\nplugin = \"openai\"\nbase_url = \"{upstream}\"\napi_key_env = \"{KEY_ENV}\"\n\n"
        ));
        config.push_str(&model(&format!("m/{name}"), &[(name, "1", "1")]));
    }
    let gateway = Gateway::start(&config).await;

    tried("an upstream 401 naming the organisation and echoing the key");
    let (status, _, body) = gateway.chat(&request("m/auth", false)).await;
    let text = body.to_string();
    assert!(status >= 400, "{body}");
    assert!(
        !text.contains(KEY) && !text.contains("org-SECRETORG"),
        "{text}"
    );
    assert!(text.contains("refused the gateway's credentials"), "{text}");

    tried("an upstream 400 echoing the key and another key");
    let (status, _, body) = gateway.chat(&request("m/echo", false)).await;
    let text = body.to_string();
    assert_eq!(status, 400, "{body}");
    assert!(
        !text.contains(KEY) && !text.contains("sk-proj-ABCD"),
        "{text}"
    );
    assert!(text.contains("bad request for key [redacted]"), "{text}");
}

#[tokio::test]
async fn http2_streams_stay_within_the_connection_budget() {
    let sections = Sections {
        server: "max_connections = 4\nbody_read_timeout_ms = 4000\nbody_min_bytes_per_sec = 0",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(sections, "", &[], &[]).await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    tried("4 streams on one HTTP/2 connection, each sending a body that never ends");
    let hanging: Vec<_> = (0..4)
        .map(|_| {
            let body = futures_util::stream::unfold(0, |sent| async move {
                if sent > 0 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Some((
                    Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{")),
                    sent + 1,
                ))
            });
            let request = client
                .post(format!("{}/v1/chat/completions", gateway.url))
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(body));
            tokio::spawn(request.send())
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    tried("a fifth stream on the same connection");
    let fifth = client
        .get(format!("{}/health", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(fifth.version(), reqwest::Version::HTTP_2);
    assert_eq!(fifth.status(), 503, "past max_connections requests");
    for request in hanging {
        let answer = request.await.unwrap().unwrap();
        assert_eq!(answer.status(), 408);
    }
    tried("once the bodies were cut off");
    let health = client
        .get(format!("{}/health", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// The routing trace of `body` sent with `secret`.
async fn trace_of(gateway: &Gateway, secret: &str, body: &Value) -> Value {
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .bearer_auth(secret)
        .header("x-switchyard-debug", "routing")
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    answer["routing"].clone()
}

#[tokio::test]
async fn sticky_sessions_are_scoped_to_the_account() {
    let mock = switchyard_tests::MockUpstream::start().await.unwrap();
    let config = [
        provider("one", "openai", &mock, "fixture=openai/openai-text", ""),
        provider("two", "openai", &mock, "fixture=openai/openai-text", ""),
        model("test/pair", &[("one", "1", "1"), ("two", "1", "1")]),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let gateway = keyed_gateway(&dir, &config, &[]).await;
    let (alice, bob) = (
        key_of(&gateway, "alice").await,
        key_of(&gateway, "bob").await,
    );
    let turn = |session: &str| {
        let mut body = request("test/pair", false);
        body["session_id"] = json!(session);
        body
    };

    tried("alice's conversation sticks for alice");
    let first = trace_of(&gateway, &alice, &turn("shared-id")).await;
    assert!(first["sticky"].is_null(), "{first}");
    let second = trace_of(&gateway, &alice, &turn("shared-id")).await;
    assert!(second["sticky"].is_string(), "{second}");

    tried("bob sends the same session id: nothing of alice's shows or steers");
    let bobs = trace_of(&gateway, &bob, &turn("shared-id")).await;
    assert!(bobs["sticky"].is_null(), "{bobs}");

    tried("a provider forced with provider.order is not the conversation's");
    let mut forced = turn("forced-id");
    forced["provider"] = json!({ "order": ["two"] });
    trace_of(&gateway, &alice, &forced).await;
    let next = trace_of(&gateway, &alice, &turn("forced-id")).await;
    assert!(next["sticky"].is_null(), "{next}");
}

#[tokio::test]
async fn metrics_on_their_own_loopback_listener_refuse_rebinding_hosts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n");
    let gateway = Gateway::start_with_args(&config, &[], &["--demo"]).await;
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    tried("the metrics listener without a token");
    let mut answer = None;
    for _ in 0..50 {
        if let Ok(response) = gateway.client.get(&metrics).send().await {
            answer = Some(response.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer, Some(200));
    tried("the metrics listener under a rebinding name");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "GET /metrics HTTP/1.1\r\nHost: rebind.evil.example:{port}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 421"), "{text}");
    tried("not on the main listener");
    assert_eq!(scrape(&gateway, None).await.0, 404);
}
