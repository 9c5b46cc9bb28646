//! Large non-streamed answers (an image returned as base64): one of 20 MiB is served under the
//! default plugin memory limit; one over `server.max_upstream_body_bytes` is a clean 502 that
//! does not count against the adapter version; a client that stops reading one is cut off at the
//! write deadline. And a stream that floods after its finish reason is cut off at the held-back
//! cap.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{Gateway, KEY_ENV, Sections, model, request};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ADMIN: &str = "admin-secret-12";
/// The default `plugins.memory_limit_mib` (the test harness lowers the global one to 32).
const DEFAULT_MEMORY_MIB: u32 = 64;
/// A call deadline that only a hung adapter misses: these tests are about memory and sizes, and
/// a debug build translating 20 MiB on a CI machine running other tests beside it can take
/// longer than the default 500 ms (a release build takes a fraction of it).
const PATIENT_CALL_MS: u32 = 10_000;
/// The default `server.max_upstream_body_bytes`.
const DEFAULT_UPSTREAM_LIMIT: usize = 32 * 1024 * 1024;

/// An OpenAI-compatible upstream whose every answer is a completion with `content_bytes` of
/// base64-like text. Returns its base URL.
async fn large_answer_upstream(content_bytes: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let content = "QUJD".repeat(content_bytes / 4);
    let body = format!(
        r#"{{"id":"chatcmpl-big","object":"chat.completion","created":1,"model":"up","choices":[{{"index":0,"message":{{"role":"assistant","content":"{content}"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}}}"#
    );
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    let response = std::sync::Arc::new(response);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                if read_request(&mut socket).await.is_some() {
                    // The gateway may hang up first when the answer is over its limit.
                    let _ = socket.write_all(&response).await;
                }
            });
        }
    });
    url
}

/// Reads one HTTP/1.1 request (head and `content-length` body).
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<()> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = socket.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return Some(());
            }
        }
    }
}

/// The gateway's configuration: the `openai` adapter at its default memory limit in front of
/// `upstream`, serving `m/big`.
fn big_config(upstream: &str) -> String {
    format!(
        "[plugins.overrides.openai]\nmemory_limit_mib = {DEFAULT_MEMORY_MIB}\ncall_timeout_ms = {PATIENT_CALL_MS}\n\n[providers.big]\nplugin = \"openai\"\nbase_url = \"{upstream}\"\napi_key_env = \"{KEY_ENV}\"\n\n{}",
        model("m/big", &[("big", "1", "1")])
    )
}

async fn gateway(upstream: &str) -> Gateway {
    Gateway::start_with_env(&big_config(upstream), &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)]).await
}

/// The openai adapter's current version as the admin API lists it.
async fn openai_version(gateway: &Gateway) -> Value {
    let plugins: Value = gateway
        .client
        .get(format!("{}/admin/plugins", gateway.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let plugins = plugins
        .get("plugins")
        .and_then(Value::as_array)
        .or_else(|| plugins.as_array())
        .cloned()
        .unwrap_or_default();
    plugins
        .into_iter()
        .find(|plugin| plugin["name"] == "openai")
        .map(|plugin| plugin["current"].clone())
        .unwrap_or_else(|| panic!("openai is not listed"))
}

#[tokio::test]
async fn a_20_mib_answer_is_served_under_the_default_memory_limit() {
    let content_bytes = 20 * 1024 * 1024;
    let gateway = gateway(&large_answer_upstream(content_bytes).await).await;
    let (status, _, body) = gateway.chat(&request("m/big", false)).await;
    assert_eq!(status, 200, "{body}");
    let content = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(content.len(), content_bytes);
    assert!(content.starts_with("QUJDQUJD"));
    assert_eq!(body["usage"]["completion_tokens"], 7);
}

#[tokio::test]
async fn an_answer_over_the_upstream_limit_is_a_502_not_held_against_the_adapter() {
    let gateway = gateway(&large_answer_upstream(DEFAULT_UPSTREAM_LIMIT + 1024).await).await;
    // Fewer than the endpoint breaker's 5 failures: each answer reaches the limit.
    for _ in 0..3 {
        let (status, _, body) = gateway.chat(&request("m/big", false)).await;
        assert_eq!(status, 502, "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("exceeds {DEFAULT_UPSTREAM_LIMIT} bytes")),
            "{body}"
        );
        assert_ne!(body["error"]["code"], "plugin_failed", "{body}");
    }
    let version = openai_version(&gateway).await;
    assert_eq!(version["health"], "closed", "{version}");
    assert_eq!(version["error_rate"], 0.0, "{version}");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_at_the_write_deadline() {
    let content_bytes = 20 * 1024 * 1024;
    let upstream = large_answer_upstream(content_bytes).await;
    // The idle limit is far away: only the write deadline can end the stalled answer.
    let sections = Sections {
        server: "write_timeout_ms = 1000\nidle_timeout_ms = 120000",
        plugins: "",
    };
    let gateway = Gateway::start_with_sections(sections, &big_config(&upstream), &[], &[]).await;
    let address = gateway.url.trim_start_matches("http://").to_owned();

    let body = serde_json::to_vec(&request("m/big", false)).unwrap();
    let mut client = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).await.unwrap();
    client.write_all(&body).await.unwrap();
    // Read nothing while the 20 MiB answer fills the socket buffers and the deadline passes.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), client.read_to_end(&mut received));
    // The gateway hung up: the read ends (with EOF or a reset) before the whole answer.
    let _ = read
        .await
        .expect("the connection of a stalled client is closed");
    let text = String::from_utf8_lossy(&received[..received.len().min(200)]).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        received.len() < content_bytes,
        "the stalled client still got the whole answer ({} bytes)",
        received.len()
    );
    // The gateway serves others as before.
    assert_eq!(gateway.get("/health").await.0, 200);
}

/// An OpenAI-compatible upstream that streams one content chunk and its finish reason, then
/// `flood_bytes` of further chunks without ever ending the stream (no usage, no `[DONE]`).
async fn flooding_stream_upstream(flood_bytes: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if read_request(&mut socket).await.is_none() {
                    return;
                }
                let chunk = |delta: &str, finish: &str| {
                    format!(
                        "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
                    )
                };
                let mut head = String::from(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
                );
                head.push_str(&chunk(r#"{"role":"assistant","content":"Hello"}"#, "null"));
                head.push_str(&chunk("{}", r#""stop""#));
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let padding = "A".repeat(16 * 1024);
                let filler = chunk(&format!(r#"{{"content":"{padding}"}}"#), "null");
                let mut sent = 0;
                while sent < flood_bytes {
                    if socket.write_all(filler.as_bytes()).await.is_err() {
                        return;
                    }
                    sent += filler.len();
                }
                // Never end the stream: only the gateway's cap can.
                tokio::time::sleep(Duration::from_secs(600)).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_stream_flooding_after_its_finish_reason_is_cut_off() {
    let gateway = gateway(&flooding_stream_upstream(4 * 1024 * 1024).await).await;
    // Without the cap the stream would wait for the provider's 60 s idle limit.
    let answer = tokio::time::timeout(
        Duration::from_secs(30),
        gateway.post(&request("m/big", true)),
    )
    .await
    .expect("the flooded stream ends");
    let (status, _, text) = answer;
    assert!(
        text.contains("after the finish reason"),
        "{status}: {}",
        &text[..text.len().min(2000)]
    );
    // At most the held-back cap of the flood reached the client, not the 4 MiB sent.
    assert!(text.len() < 2 * 1024 * 1024, "{} bytes relayed", text.len());
}
