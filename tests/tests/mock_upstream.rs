//! End-to-end tests of the mock upstream: every directive, over real HTTP.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_tests::{MockUpstream, fixtures_dir};

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

const CHAT: &str = "chat/completions";
const MESSAGES: &str = "messages";

async fn post(
    mock: &MockUpstream,
    scenario: &str,
    endpoint: &str,
    stream: bool,
) -> reqwest::Response {
    let url = format!("{}/{endpoint}", mock.base_url(scenario));
    client()
        .post(url)
        .header("Authorization", "Bearer sk-test")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": stream}))
        .send()
        .await
        .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap()
}

fn lines(name: &str) -> Vec<String> {
    String::from_utf8(fixture(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn openai_sse(name: &str) -> String {
    let mut s: String = lines(name)
        .iter()
        .map(|l| format!("data: {l}\n\n"))
        .collect();
    s.push_str("data: [DONE]\n\n");
    s
}

fn anthropic_sse(name: &str) -> String {
    lines(name)
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            format!("event: {}\ndata: {l}\n\n", v["type"].as_str().unwrap())
        })
        .collect()
}

/// Reads the whole body, returning the bytes received and whether it ended with an error.
async fn read_all(resp: reqwest::Response) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(item) = stream.next().await {
        match item {
            Ok(b) => body.extend_from_slice(&b),
            Err(_) => return (body, true),
        }
    }
    (body, false)
}

/// Parses SSE text (either line ending) into (event, data) pairs.
fn parse_sse(body: &str) -> Vec<(Option<String>, String)> {
    let body = body.replace("\r\n", "\n");
    body.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = d.to_string();
                }
            }
            (event, data)
        })
        .collect()
}

#[tokio::test]
async fn openai_replay_whole_and_stream() {
    let mock = MockUpstream::start().await.unwrap();
    let sc = "fixture=openai/openai-text";
    assert_eq!(
        mock.base_url(sc),
        format!("{}/fixture=openai/openai-text/v1", mock.url())
    );

    let resp = post(&mock, sc, CHAT, false).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["x-mock-scenario"], sc);
    assert_eq!(
        resp.bytes().await.unwrap(),
        fixture("openai/openai-text.json")
    );

    let resp = post(&mock, sc, CHAT, true).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let (body, err) = read_all(resp).await;
    assert!(!err);
    let body = String::from_utf8(body).unwrap();
    assert_eq!(body, openai_sse("openai/openai-text.chunks.txt"));
    assert!(body.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn anthropic_replay_whole_stream_and_raw() {
    let mock = MockUpstream::start().await.unwrap();
    let resp = post(&mock, "fixture=anthropic/anthropic-text", MESSAGES, false).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.bytes().await.unwrap(),
        fixture("anthropic/anthropic-text.json")
    );

    let resp = post(&mock, "fixture=anthropic/anthropic-text", MESSAGES, true).await;
    let (body, err) = read_all(resp).await;
    assert!(!err);
    let body = String::from_utf8(body).unwrap();
    assert_eq!(body, anthropic_sse("anthropic/anthropic-text.chunks.txt"));
    assert!(!body.contains("[DONE]"));
    assert!(body.contains("event: message_stop\n"));

    for name in ["basic_response", "tool_use_response"] {
        let resp = post(&mock, &format!("fixture=anthropic/{name}"), MESSAGES, true).await;
        let (body, err) = read_all(resp).await;
        assert!(!err);
        assert_eq!(body, fixture(&format!("anthropic/{name}.txt")), "{name}");
    }
}

#[tokio::test]
async fn defaults_and_paths_without_v1() {
    let mock = MockUpstream::start().await.unwrap();
    let c = client();
    let body = json!({"model": "m", "stream": false});
    let r = c
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap(), fixture("openai/openai-text.json"));
    let r = c
        .post(format!("{}/messages", mock.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.bytes().await.unwrap(),
        fixture("anthropic/anthropic-text.json")
    );
    let r = c
        .post(format!(
            "{}/fixture=anthropic/anthropic-clear-thinking.1/messages",
            mock.url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.bytes().await.unwrap(),
        fixture("anthropic/anthropic-clear-thinking.1.json")
    );
}

#[tokio::test]
async fn status_retry_after_and_error_shapes() {
    let mock = MockUpstream::start().await.unwrap();
    let resp = post(&mock, "status=429,retry_after=7", CHAT, true).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert!(v["error"]["message"].is_string());
    assert!(v["error"]["type"].is_string());

    let resp = post(&mock, "status=500", CHAT, false).await;
    assert_eq!(resp.status(), 500);
    assert!(resp.headers().get("retry-after").is_none());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "server_error");

    for (code, ty) in [
        (429, "rate_limit_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
        (400, "invalid_request_error"),
        (401, "authentication_error"),
    ] {
        let resp = post(
            &mock,
            &format!("status={code},retry_after=1"),
            MESSAGES,
            false,
        )
        .await;
        assert_eq!(resp.status().as_u16(), code);
        assert_eq!(resp.headers()["retry-after"], "1");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], ty, "status {code}");
        assert!(v["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn no_terminal_closes_cleanly_without_terminal_event() {
    let mock = MockUpstream::start().await.unwrap();
    let (body, err) = read_all(post(&mock, "no_terminal", CHAT, true).await).await;
    assert!(!err);
    let body = String::from_utf8(body).unwrap();
    assert!(!body.contains("[DONE]"));
    let expected = openai_sse("openai/openai-text.chunks.txt");
    assert_eq!(body, expected.strip_suffix("data: [DONE]\n\n").unwrap());

    let (body, err) = read_all(post(&mock, "no_terminal", MESSAGES, true).await).await;
    assert!(!err);
    let events = parse_sse(&String::from_utf8(body).unwrap());
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|(e, _)| e.as_deref() != Some("message_stop"))
    );
    assert!(
        events
            .iter()
            .any(|(e, _)| e.as_deref() == Some("message_delta"))
    );

    let (body, err) = read_all(
        post(
            &mock,
            "fixture=anthropic/basic_response,no_terminal",
            MESSAGES,
            true,
        )
        .await,
    )
    .await;
    assert!(!err);
    assert!(!String::from_utf8(body).unwrap().contains("message_stop"));
}

#[tokio::test]
async fn cut_after_ends_with_body_error() {
    let mock = MockUpstream::start().await.unwrap();
    for endpoint in [CHAT, MESSAGES] {
        let resp = post(&mock, "cut_after=3", endpoint, true).await;
        assert_eq!(resp.status(), 200);
        let (body, err) = read_all(resp).await;
        assert!(err, "{endpoint}: the body must end with an error");
        assert_eq!(parse_sse(&String::from_utf8(body).unwrap()).len(), 3);
    }
    // Zero events: headers, then an error.
    let resp = post(&mock, "cut_after=0", CHAT, true).await;
    assert_eq!(resp.status(), 200);
    let (body, err) = read_all(resp).await;
    assert!(err && body.is_empty());
    // Non-streaming: half a JSON body, then an error.
    let (body, err) = read_all(post(&mock, "cut_after=0", CHAT, false).await).await;
    assert!(err);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
}

#[tokio::test]
async fn stall_after_stops_sending_without_closing() {
    let mock = MockUpstream::start().await.unwrap();
    let resp = post(&mock, "stall_after=2", CHAT, true).await;
    let mut stream = resp.bytes_stream();
    let mut body = Vec::new();
    while parse_sse(&String::from_utf8_lossy(&body)).len() < 2 {
        body.extend_from_slice(&stream.next().await.unwrap().unwrap());
    }
    assert_eq!(parse_sse(&String::from_utf8_lossy(&body)).len(), 2);
    let next = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(next.is_err(), "stalled stream must neither send nor close");
    // Dropping the mock ends the stall (with an error, not a clean end).
    drop(mock);
    let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(matches!(next, Some(Err(_)) | None));
}

#[tokio::test]
async fn hang_never_answers_but_is_recorded() {
    let mock = MockUpstream::start().await.unwrap();
    let fut = post(&mock, "hang", CHAT, false);
    let res = tokio::time::timeout(Duration::from_millis(300), fut).await;
    assert!(res.is_err(), "hang must not answer");
    let reqs = mock.requests_for("hang");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/hang/v1/chat/completions");
}

#[tokio::test]
async fn delays() {
    let mock = MockUpstream::start().await.unwrap();
    let t = Instant::now();
    let resp = post(&mock, "delay_ms=200", CHAT, false).await;
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(resp.status(), 200);

    let t = Instant::now();
    let (body, err) =
        read_all(post(&mock, "chunk_delay_ms=20,cut_after=4", MESSAGES, true).await).await;
    assert!(err);
    assert_eq!(parse_sse(&String::from_utf8(body).unwrap()).len(), 4);
    assert!(t.elapsed() >= Duration::from_millis(60));
}

#[tokio::test]
async fn html_and_garbage() {
    let mock = MockUpstream::start().await.unwrap();
    let resp = post(&mock, "html", CHAT, false).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(serde_json::from_str::<Value>(&text).is_err());

    for (stream, ct) in [(false, "application/json"), (true, "text/event-stream")] {
        let resp = post(&mock, "garbage", MESSAGES, stream).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], ct);
        let body = resp.bytes().await.unwrap();
        assert!(!body.is_empty());
        assert!(std::str::from_utf8(&body).is_err());
    }
}

#[tokio::test]
async fn split_and_crlf_reassemble_to_the_same_events() {
    let mock = MockUpstream::start().await.unwrap();
    for endpoint in [CHAT, MESSAGES] {
        let (plain, _) = read_all(post(&mock, "", endpoint, true).await).await;
        let plain = String::from_utf8(plain).unwrap();
        let (split, err) = read_all(post(&mock, "split", endpoint, true).await).await;
        assert!(!err);
        assert_eq!(String::from_utf8(split).unwrap(), plain);
        let (crlf, err) = read_all(post(&mock, "crlf", endpoint, true).await).await;
        assert!(!err);
        let crlf = String::from_utf8(crlf).unwrap();
        assert_eq!(crlf, plain.replace('\n', "\r\n"));
        let (both, err) = read_all(post(&mock, "split,crlf", endpoint, true).await).await;
        assert!(!err);
        assert_eq!(String::from_utf8(both).unwrap(), crlf);
        assert_eq!(parse_sse(&crlf), parse_sse(&plain));
    }
    let (raw, _) = read_all(
        post(
            &mock,
            "fixture=anthropic/basic_response,split",
            MESSAGES,
            true,
        )
        .await,
    )
    .await;
    assert_eq!(raw, fixture("anthropic/basic_response.txt"));
}

#[tokio::test]
async fn split_arrives_in_several_reads() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = MockUpstream::start().await.unwrap();
    let mut tcp = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    let body = r#"{"stream":true}"#;
    let req = format!(
        "POST /split,chunk_delay_ms=30,cut_after=3/v1/messages HTTP/1.1\r\nhost: x\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut reads = 0;
    let mut all = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = tcp.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        reads += 1;
        all.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"));
    assert!(text.contains("transfer-encoding: chunked"));
    // Cut: the connection closed without the terminating zero-length chunk.
    assert!(!text.ends_with("0\r\n\r\n"));
    assert!(reads >= 3, "expected several reads, got {reads}");
}

#[tokio::test]
async fn fail_first_counts_per_scenario() {
    let mock = MockUpstream::start().await.unwrap();
    let statuses = async |sc: &str, n: usize| {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(post(&mock, sc, CHAT, false).await.status().as_u16());
        }
        out
    };
    assert_eq!(statuses("fail_first=2", 4).await, [500, 500, 200, 200]);
    assert_eq!(
        statuses("fail_first=1,status=429,retry_after=1", 3).await,
        [429, 200, 200]
    );
    // A different scenario string has its own counter.
    assert_eq!(
        statuses("fail_first=2,delay_ms=1", 3).await,
        [500, 500, 200]
    );
    assert_eq!(mock.requests_for("fail_first=2").len(), 4);

    let resp = post(&mock, "fail_first=1,status=503", MESSAGES, true).await;
    assert_eq!(resp.status(), 503);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "overloaded_error");
    let resp = post(&mock, "fail_first=1,status=503", MESSAGES, true).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
}

#[tokio::test]
async fn records_requests() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!(
        "{}/chat/completions?trace=1",
        mock.base_url("fixture=openai/openai-text")
    );
    client()
        .post(url)
        .header("X-Custom-Header", "Value")
        .json(&json!({"model": "gpt", "stream": true}))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    post(&mock, "status=500", MESSAGES, false).await;

    let all = mock.requests();
    assert_eq!(all.len(), 2);
    let r = &mock.requests_for("fixture=openai/openai-text")[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/fixture=openai/openai-text/v1/chat/completions");
    assert_eq!(r.query.as_deref(), Some("trace=1"));
    assert_eq!(r.scenario, "fixture=openai/openai-text");
    assert_eq!(r.header("x-custom-header"), Some("Value"));
    assert!(r.headers.iter().any(|(k, _)| k == "x-custom-header"));
    assert_eq!(r.json.as_ref().unwrap()["model"], "gpt");
    assert!(r.is_stream());
    assert!(!r.body.is_empty());
    let r = &mock.requests_for("status=500")[0];
    assert_eq!(r.header("authorization"), Some("Bearer sk-test"));
    assert!(!r.is_stream());
}

#[tokio::test]
async fn test_bugs_are_loud() {
    let mock = MockUpstream::start().await.unwrap();
    let resp = post(&mock, "stauts=500", CHAT, false).await;
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("unknown directive `stauts`")
    );

    let resp = post(&mock, "fixture=openai/nope", CHAT, true).await;
    assert_eq!(resp.status(), 500);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("unknown fixture `openai/nope`")
    );

    // basic_response only exists as raw SSE: asking for a whole answer is a test bug.
    let resp = post(&mock, "fixture=anthropic/basic_response", MESSAGES, false).await;
    assert_eq!(resp.status(), 500);

    let resp = client()
        .post(format!("{}/v1/models", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(mock.requests().len(), 4);
}

#[tokio::test]
async fn binary_prints_url_and_serves() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mock-upstream"))
        .arg("--port")
        .arg("0")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let url = lines.next_line().await.unwrap().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let resp = client()
        .post(format!("{url}/status=418/v1/chat/completions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 418);
    assert_eq!(resp.headers()["x-mock-scenario"], "status=418");
    child.kill().await.unwrap();
}
