//! Transforms end to end, through the real binary and the recording mock: what the upstream
//! received (redacted, cut), what the client got (healed, refused), a request's `plugins`
//! field, a hostile transform costing only its request, and a transform hot-swapped under load.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod accounts;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use accounts::{ADMIN_TOKEN, Database, admin, chat_as, key_with_credits};
use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const ADMIN: &str = "admin-secret-42";

/// A gateway serving `m/oa` (the `openai` adapter on the mock, replaying `fixture`) with the
/// `[transforms]` section `transforms`.
async fn gateway(mock: &MockUpstream, fixture: &str, transforms: &str) -> Gateway {
    let config = format!(
        "{}{}\n{transforms}",
        provider("oa", "openai", mock, &format!("fixture={fixture}"), ""),
        model("m/oa", &[("oa", "1", "1")]),
    );
    let sections = Sections {
        server: "max_body_bytes = 65536",
        plugins: "call_timeout_ms = 500\nmemory_limit_mib = 32",
    };
    Gateway::start_with_sections(
        sections,
        &config,
        &[("SWITCHYARD_ADMIN_TOKEN", ADMIN)],
        &[switchyard_tests::hostile::WILD_TRANSFORM],
    )
    .await
}

fn ask(text: &str, stream: bool) -> Value {
    json!({
        "model": "m/oa",
        "stream": stream,
        "messages": [{ "role": "user", "content": text }]
    })
}

const DENY: &str = "[transforms]\nallow = [\"wild\"]\n[[transforms.attach]]\nid = \"deny-list\"\noptions = { terms = [\"project falcon\", \"galaxy day\", \"harmony day\"] }\n";

#[tokio::test]
async fn a_denied_request_is_refused_before_any_upstream_call() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(&mock, "openai/openai-text", DENY).await;
    let (status, _, body) = gateway
        .chat(&ask("What is the status of Project Falcon?", false))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "content_denied", "{body}");
    assert_eq!(body["error"]["metadata"]["transform"], "deny-list");
    assert!(
        mock.requests().is_empty(),
        "the upstream saw a denied request"
    );

    // Asking to turn the operator's transform off changes nothing.
    let mut off = ask("project falcon, please", false);
    off["plugins"] = json!([{ "id": "deny-list", "enabled": false }]);
    let (status, _, body) = gateway.chat(&off).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "content_denied");
}

#[tokio::test]
async fn a_denied_answer_is_refused_whole_and_ends_a_stream_with_content_filter() {
    let mock = MockUpstream::start().await.unwrap();
    // The recorded answer is about "Galaxy Day", the recorded stream about "Harmony Day".
    let gateway = gateway(&mock, "openai/openai-text", DENY).await;
    let (status, _, body) = gateway.chat(&ask("Invent a holiday", false)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "content_denied", "{body}");
    assert_eq!(body["error"]["metadata"]["transform"], "deny-list");

    let (status, events) = gateway.stream(&ask("Invent a holiday", true)).await;
    assert_eq!(status, 200);
    let chunks = chunks(&events);
    let text = streamed_text(&chunks);
    assert!(
        !text.to_lowercase().contains("harmony day"),
        "the denied term reached the client: {text}"
    );
    let last_choice = chunks
        .iter()
        .rev()
        .find(|chunk| chunk["choices"].as_array().is_some_and(|c| !c.is_empty()))
        .unwrap();
    assert_eq!(
        last_choice["choices"][0]["finish_reason"], "content_filter",
        "{events:#?}"
    );
    assert_eq!(last_choice["error"]["metadata"]["code"], "content_denied");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
}

#[tokio::test]
async fn a_request_adds_allowed_transforms_only_and_the_trace_lists_them() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = gateway(
        &mock,
        "openai/openai-text",
        DENY.replace("\"galaxy day\", \"harmony day\"", "\"zzz\"")
            .as_str(),
    )
    .await;

    let mut unknown = ask("hello", false);
    unknown["plugins"] = json!([{ "id": "response-healing" }, { "id": "nope" }]);
    let (status, _, body) = gateway.chat(&unknown).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "transform_not_allowed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`response-healing`"),
        "{body}"
    );

    let mut wild = ask("hello", false);
    wild["plugins"] = json!([{ "id": "wild" }]);
    let (status, headers, body) = gateway
        .post_with_headers(&wild, &[("x-switchyard-debug", "routing")])
        .await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let transforms = headers["x-switchyard-transforms"].to_str().unwrap();
    assert!(transforms.starts_with("deny-list@"), "{transforms}");
    assert!(transforms.contains(",wild@0.1.0+"), "{transforms}");
    let ran = body["routing"]["transforms"].as_array().unwrap();
    let names: Vec<(&str, &str)> = ran
        .iter()
        .map(|line| {
            (
                line["transform"].as_str().unwrap(),
                line["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(names.contains(&("deny-list", "pass")), "{ran:?}");
    assert!(names.contains(&("wild", "modified")), "{ran:?}");
    let upstream = mock.requests().pop().unwrap().json.unwrap();
    assert_eq!(upstream["metadata"]["wild"], "true", "{upstream}");
    assert!(
        upstream.get("plugins").is_none(),
        "the upstream saw `plugins`: {upstream}"
    );

    let mut bad = ask("hello", false);
    bad["plugins"] = json!([{ "id": "wild", "colour": "red" }]);
    let (status, _, body) = gateway.chat(&bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_transform_options", "{body}");
}

#[tokio::test]
async fn a_hostile_transform_costs_only_its_request() {
    let mock = MockUpstream::start().await.unwrap();
    let attach = "[[transforms.attach]]\nid = \"wild\"\n";
    let gateway = gateway(
        &mock,
        "openai/openai-text",
        &format!("[transforms]\n{attach}"),
    )
    .await;
    for order in ["panic", "spin", "grow"] {
        let started = std::time::Instant::now();
        let (status, _, body) = gateway.chat(&ask(order, false)).await;
        assert_eq!(status, 500, "{order}: {body}");
        assert_eq!(body["error"]["code"], "transform_failed", "{order}: {body}");
        assert_eq!(body["error"]["metadata"]["transform"], "wild");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{order} held the request"
        );
        let (status, _, body) = gateway.chat(&ask("fine", false)).await;
        assert_eq!(status, 200, "after {order}: {body}");
    }
    assert_eq!(
        mock.requests().len(),
        3,
        "only the fine requests went upstream"
    );

    // With `on_fault = "pass"` the request goes on without the transform.
    let mock = MockUpstream::start().await.unwrap();
    let lenient = format!("[transforms]\n{attach}on_fault = \"pass\"\n");
    let gateway = gateway_with(&mock, &lenient).await;
    let (status, _, body) = gateway.chat(&ask("panic", false)).await;
    assert_eq!(status, 200, "{body}");
}

async fn gateway_with(mock: &MockUpstream, transforms: &str) -> Gateway {
    gateway(mock, "openai/openai-text", transforms).await
}

#[tokio::test]
async fn a_transform_hot_swapped_under_load_fails_no_request() {
    let mock = MockUpstream::start().await.unwrap();
    let deny = DENY.replace("\"galaxy day\", \"harmony day\"", "\"zzz\"");
    let overrides = "[plugins.overrides.deny-list]\nreplace_builtin = true\n";
    let gateway =
        Arc::new(gateway(&mock, "openai/openai-text", &format!("{overrides}{deny}")).await);
    let original = builtin("switchyard-plugin-deny-list");
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let gateway = gateway.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut served = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let stream = worker % 2 == 0;
                let (status, headers, text) = gateway.post(&ask("hello", stream)).await;
                assert_eq!(status, 200, "{text}");
                let denied = gateway.post(&ask("project falcon", false)).await;
                assert_eq!(denied.0, 400, "{}", denied.2);
                served.push(
                    headers["x-switchyard-transforms"]
                        .to_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            served
        }));
    }
    for n in 1..=5 {
        let response = gateway
            .client
            .post(format!("{}/admin/plugins", gateway.url))
            .bearer_auth(ADMIN)
            .body(variant(original.clone(), n))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut served = Vec::new();
    for worker in workers {
        served.extend(worker.await.unwrap());
    }
    let versions: std::collections::BTreeSet<&String> = served.iter().collect();
    assert!(served.len() > 10, "too little load: {}", served.len());
    assert!(
        versions.len() >= 2,
        "load crossed one version only: {versions:?}"
    );
}

/// The embedded first-party plugin `package`.
fn builtin(package: &str) -> Vec<u8> {
    switchyard_plugin_runtime::builtin::BUILTIN_PLUGINS
        .iter()
        .find(|(name, _)| *name == package)
        .map(|(_, bytes)| bytes.to_vec())
        .unwrap()
}

#[tokio::test]
async fn a_misconfigured_transform_stops_the_start_with_its_reason() {
    let config = "[transforms]\n[[transforms.attach]]\nid = \"deny-list\"\noptions = { patterns = [\"(\"] }\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.toml");
    std::fs::write(
        &path,
        format!("[server]\nlisten = \"127.0.0.1:0\"\n{config}"),
    )
    .unwrap();
    let output = tokio::process::Command::new(switchyard_bin())
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("transforms.attach[0]") && stderr.contains("patterns"),
        "{stderr}"
    );
}

/// A gateway serving `m/small` (context 600 tokens) and `m/oa` with `[transforms]`.
async fn small_context_gateway(mock: &MockUpstream, fixture: &str, transforms: &str) -> Gateway {
    let config = format!(
        "{}{}context_length = 600\n{}\n{transforms}",
        provider("oa", "openai", mock, &format!("fixture={fixture}"), ""),
        model("m/small", &[("oa", "1", "1")]),
        model("m/oa", &[("oa", "1", "1")]),
    );
    let sections = Sections {
        server: "max_body_bytes = 65536",
        plugins: "call_timeout_ms = 500\nmemory_limit_mib = 32",
    };
    Gateway::start_with_sections(sections, &config, &[], &[]).await
}

#[tokio::test]
async fn pii_is_masked_before_the_upstream_sees_it() {
    let mock = MockUpstream::start().await.unwrap();
    let transforms =
        "[transforms]\n[[transforms.attach]]\nid = \"pii-redact\"\noptions = { restore = true }\n";
    let gateway = small_context_gateway(&mock, "openai/openai-text", transforms).await;
    let text = "Mail jane.doe@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111.";
    let (status, _, body) = gateway.chat(&ask(text, false)).await;
    assert_eq!(status, 200, "{body}");
    let (status, events) = gateway.stream(&ask(text, true)).await;
    assert_eq!(status, 200);
    assert!(!streamed_text(&chunks(&events)).is_empty());
    for recorded in mock.requests() {
        let sent = recorded.json.unwrap()["messages"][0]["content"].clone();
        assert_eq!(
            sent, "Mail [EMAIL_1] or call [PHONE_1]; card [CARD_1].",
            "the upstream saw: {sent}"
        );
    }
}

#[tokio::test]
async fn a_broken_json_answer_is_healed_for_the_client() {
    let mock = MockUpstream::start().await.unwrap();
    let transforms = "[transforms]\nallow = [\"response-healing\"]\n";
    let gateway = small_context_gateway(&mock, "synthetic/openai-broken-json", transforms).await;
    let mut request = ask("Weather in San Francisco as JSON", false);
    request["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "weather", "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["city", "temperature_c"], "additionalProperties": false
    }}});
    let (status, _, body) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("```")
    );

    request["plugins"] = json!([{ "id": "response-healing" }]);
    let (status, headers, body) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        headers["x-switchyard-transforms"]
            .to_str()
            .unwrap()
            .starts_with("response-healing@")
    );
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    let healed: Value = serde_json::from_str(content).unwrap();
    assert_eq!(
        healed,
        json!({"city": "San Francisco", "temperature_c": 18, "tags": ["fog", "hills"]})
    );
    assert!(
        body["usage"]["total_tokens"].is_number(),
        "the host's usage stays: {body}"
    );

    // A schema the answer cannot meet: refused, naming what is missing.
    request["response_format"]["json_schema"]["schema"]["required"] = json!(["city", "humidity"]);
    let (status, _, body) = gateway.chat(&request).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "invalid_json_answer");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("humidity"),
        "{body}"
    );
}

#[tokio::test]
async fn a_cut_streamed_json_answer_is_healed_as_it_streams() {
    let mock = MockUpstream::start().await.unwrap();
    let transforms = "[transforms]\nallow = [\"response-healing\"]\n";
    let gateway = small_context_gateway(&mock, "synthetic/openai-broken-json", transforms).await;
    let mut request = ask("Weather in San Francisco as JSON", true);
    request["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "weather", "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["city", "temperature_c"], "additionalProperties": false
    }}});
    request["plugins"] = json!([{ "id": "response-healing" }]);
    let (status, events) = gateway.stream(&request).await;
    assert_eq!(status, 200, "{events:?}");
    let chunks = chunks(&events);
    let content = streamed_text(&chunks);
    let healed: Value = serde_json::from_str(&content).unwrap_or_else(|_| panic!("{content}"));
    assert_eq!(
        healed,
        json!({"city": "San Francisco", "temperature_c": 18, "tags": ["fog", "hills"]})
    );
    // The JSON streamed as it came; the chunk with the finish reason closes it.
    let pieces: Vec<&str> = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .filter(|piece| !piece.is_empty())
        .collect();
    assert!(pieces.len() >= 4, "{pieces:?}");
    let last = chunks
        .iter()
        .find(|chunk| chunk["choices"][0]["finish_reason"] == "length")
        .unwrap();
    assert_eq!(last["choices"][0]["delta"]["content"], "]}", "{last}");
    assert!(chunks.last().unwrap()["usage"]["total_tokens"].is_number());

    // A schema the answer cannot meet: the stream ends with the refusal, naming what is missing.
    request["response_format"]["json_schema"]["schema"]["required"] = json!(["city", "humidity"]);
    let (status, events) = gateway.stream(&request).await;
    assert_eq!(status, 200, "{events:?}");
    let refused = common::chunks(&events);
    let refusal = refused
        .iter()
        .find(|chunk| chunk.get("error").is_some())
        .unwrap();
    assert_eq!(
        refusal["error"]["metadata"]["code"], "invalid_json_answer",
        "{refusal}"
    );
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("humidity"),
        "{refusal}"
    );
    assert_eq!(refusal["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
}

#[tokio::test]
async fn middle_out_cuts_a_long_conversation_to_the_endpoint_context() {
    let mock = MockUpstream::start().await.unwrap();
    let transforms = "[transforms]\nallow = [\"middle-out\"]\n";
    let gateway = small_context_gateway(&mock, "openai/openai-text", transforms).await;
    let mut messages = vec![json!({"role": "system", "content": "Be brief."})];
    for turn in 0..20 {
        messages.push(
            json!({"role": "user", "content": format!("question {turn}: {}", "words ".repeat(40))}),
        );
        messages.push(json!({"role": "assistant", "content": format!("answer {turn}: {}", "words ".repeat(40))}));
    }
    messages.push(json!({"role": "user", "content": "the latest question"}));
    let mut request = json!({"model": "m/small", "max_tokens": 100, "messages": messages});
    request["transforms"] = json!(["middle-out"]);
    let (status, _, body) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{body}");
    let sent = mock.requests().pop().unwrap();
    assert!(sent.body.len() <= 500 * 4, "sent {} bytes", sent.body.len());
    let kept = sent.json.unwrap()["messages"].as_array().unwrap().clone();
    assert!(kept.len() < 42, "nothing was cut");
    assert_eq!(kept[0]["content"], "Be brief.");
    assert_eq!(kept.last().unwrap()["content"], "the latest question");

    // A model with room for it gets the whole conversation.
    request["model"] = json!("m/oa");
    let (status, _, body) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{body}");
    let sent = mock.requests().pop().unwrap();
    assert_eq!(sent.json.unwrap()["messages"].as_array().unwrap().len(), 42);
}

#[tokio::test]
async fn a_transform_gate_refuses_a_version_that_fails_its_cases() {
    let mock = MockUpstream::start().await.unwrap();
    let strict = tempfile::tempdir().unwrap();
    // A case the real deny-list fails: it refuses this text.
    std::fs::write(
        strict.path().join("must-pass.case.json"),
        r#"{"hook": "request", "options": {"terms": ["falcon"]}, "input": {"model": "m", "messages": [{"role": "user", "content": "falcon"}]}, "expect": {"verdict": "pass"}}"#,
    )
    .unwrap();
    let cases = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../plugins/deny-list/tests/fixtures"
    );
    let original = builtin("switchyard-plugin-deny-list");
    for (folder, accepted) in [
        (cases.to_owned(), true),
        (strict.path().display().to_string(), false),
    ] {
        let transforms = format!(
            "[plugins.overrides.deny-list]\nreplace_builtin = true\n[transforms.gates]\ndeny-list = {folder:?}\n"
        );
        let gateway = gateway(&mock, "openai/openai-text", &transforms).await;
        let response = gateway
            .client
            .post(format!("{}/admin/plugins", gateway.url))
            .bearer_auth(ADMIN)
            .body(variant(original.clone(), 1))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        if accepted {
            assert_eq!(status, 201, "{body}");
        } else {
            assert!((400..500).contains(&status), "{status}: {body}");
            assert!(body.contains("must-pass.case.json"), "{body}");
        }
    }
}

#[tokio::test]
async fn file_parser_sends_the_pdf_text_upstream() {
    use base64::Engine;
    let mock = MockUpstream::start().await.unwrap();
    let transforms = "[transforms]\nallow = [\"file-parser\"]\n";
    let gateway = small_context_gateway(&mock, "openai/openai-text", transforms).await;
    let pdf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../plugins/file-parser/tests/fixtures/report.pdf"
    ))
    .unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(pdf);
    let request = json!({
        "model": "m/oa",
        "plugins": [{ "id": "file-parser", "pdf": { "engine": "pdf-text" } }],
        "messages": [{ "role": "user", "content": [
            { "type": "text", "text": "Summarise the report." },
            { "type": "file", "file": { "filename": "report.pdf", "file_data": format!("data:application/pdf;base64,{data}") } }
        ]}]
    });
    let (status, _, body) = gateway.chat(&request).await;
    assert_eq!(status, 200, "{body}");
    let sent = mock.requests().pop().unwrap().json.unwrap();
    let part = &sent["messages"][0]["content"][1];
    assert_eq!(part["type"], "text", "{sent}");
    assert!(
        part["text"]
            .as_str()
            .unwrap()
            .contains("Quarterly revenue grew 12 percent."),
        "{part}"
    );

    let mut ocr = request.clone();
    ocr["plugins"] = json!([{ "id": "file-parser", "pdf": { "engine": "mistral-ocr" } }]);
    let (status, _, body) = gateway.chat(&ocr).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mistral-ocr"),
        "{body}"
    );
}

/// The cache outcome an answer names.
fn cache_outcome(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("x-switchyard-cache")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_response_cache_keys_a_transformed_request_by_what_the_client_sent() {
    let mock = MockUpstream::start().await.unwrap();
    let transforms = "[transforms]\n[[transforms.attach]]\nid = \"pii-redact\"\noptions = { restore = true }\n\n[cache]\nenabled = true\n";
    let gateway = gateway(&mock, "openai/openai-text", transforms).await;
    let asking = |address: &str| {
        let mut body = ask(&format!("Write to {address} please."), false);
        body["temperature"] = json!(0);
        body
    };
    // Two people's addresses become the same placeholder upstream; each request is its own
    // entry all the same (keyed by what the client sent), so neither gets the other's answer.
    let (status, headers, first) = gateway.chat(&asking("ann@example.com")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(cache_outcome(&headers), "miss");
    let (status, headers, other) = gateway.chat(&asking("bob@example.com")).await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(
        cache_outcome(&headers),
        "miss",
        "another person's request is not a hit"
    );
    assert_eq!(mock.requests().len(), 2);
    // The same request again is a hit: transforms do not turn the cache off.
    let (status, headers, again) = gateway.chat(&asking("ann@example.com")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(cache_outcome(&headers), "hit");
    assert_eq!(again["choices"], first["choices"]);
    assert_eq!(mock.requests().len(), 2, "a hit makes no upstream call");
}

/// A deny-list attachment refusing `term`, scoped by `scope` (`account = "acme"`...).
fn scoped_deny(term: &str, scope: &str) -> String {
    format!(
        "[[transforms.attach]]\nid = \"deny-list\"\n{scope}\noptions = {{ terms = [\"{term}\"] }}\n"
    )
}

#[tokio::test]
async fn attachments_apply_to_their_account_team_or_key_only() {
    let mock = MockUpstream::start().await.unwrap();
    let database = Database::sqlite();
    let base = format!(
        "{}{}{}",
        provider("oa", "openai", &mock, "fixture=openai/openai-text", ""),
        model("m/oa", &[("oa", "0.1", "0.1")]),
        database.config()
    );
    let env = [("SWITCHYARD_ADMIN_TOKEN", ADMIN_TOKEN)];
    // The keys are made first: a key attachment names the key's id.
    let mut first = Gateway::start_with_env(&base, &env).await;
    let (status, team) = admin(
        &first,
        "POST",
        "/teams",
        json!({"id": "legal", "account": "acme"}),
    )
    .await;
    assert_eq!(status, 201, "{team}");
    let (_, plain) = key_with_credits(&first, "acme", "10", json!({})).await;
    let (_, lawyer) = key_with_credits(&first, "acme", "10", json!({"team": "legal"})).await;
    let (scoped_id, scoped) = key_with_credits(&first, "acme", "10", json!({})).await;
    let (_, other) = key_with_credits(&first, "globex", "10", json!({})).await;
    first.terminate().await;

    let transforms = [
        "[transforms]\n".to_owned(),
        scoped_deny("acme secret", "account = \"acme\""),
        scoped_deny("legal secret", "team = \"legal\""),
        scoped_deny("key secret", &format!("key = \"{scoped_id}\"")),
    ]
    .concat();
    let gateway = Gateway::start_with_env(&format!("{base}\n{transforms}"), &env).await;
    let keys = [
        ("plain", &plain),
        ("lawyer", &lawyer),
        ("scoped", &scoped),
        ("other", &other),
    ];
    // Which keys each term is refused for.
    for (term, refused) in [
        ("acme secret", &["plain", "lawyer", "scoped"][..]),
        ("legal secret", &["lawyer"][..]),
        ("key secret", &["scoped"][..]),
    ] {
        for (name, secret) in keys {
            let (status, body) = chat_as(
                &gateway,
                secret,
                &ask(&format!("Tell me the {term}"), false),
            )
            .await;
            match refused.contains(&name) {
                true => {
                    assert_eq!(status, 400, "{term} for {name}: {body}");
                    assert_eq!(body["error"]["code"], "content_denied", "{body}");
                    assert_eq!(body["error"]["metadata"]["transform"], "deny-list");
                }
                false => assert_eq!(status, 200, "{term} for {name}: {body}"),
            }
        }
    }
    // Only the requests that passed reached the upstream.
    assert_eq!(mock.requests().len(), 12 - 5);
}
