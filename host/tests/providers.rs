//! End to end for every provider adapter: the real binary, the embedded wasm adapters (openai,
//! anthropic, gemini, mistral, cohere, azure-openai, bedrock) and the mock upstream replaying recorded
//! traffic in each provider's wire format. Non-stream and stream per adapter, the upstream
//! request each adapter sends, error mapping, and a cross-provider matrix: one OpenAI-format
//! conversation (system prompt, image, tool call, tool result) through every adapter.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

/// Every adapter: (provider name in the config, plugin, default fixture).
const ADAPTERS: &[(&str, &str, &str)] = &[
    ("oa", "openai", "openai/openai-text"),
    ("claude", "anthropic", "anthropic/anthropic-text"),
    ("gem", "gemini", "google/google-text"),
    ("mis", "mistral", "mistral/mistral-text"),
    ("coh", "cohere", "cohere/cohere-text"),
    ("az", "azure-openai", "openai/openai-text"),
    ("bk", "bedrock", "bedrock/amazon-bedrock-text"),
];

/// A gateway with one provider `name` using `plugin` on `scenario`, serving model
/// `test/<plugin>`.
async fn single(mock: &MockUpstream, name: &str, plugin: &str, scenario: &str) -> Gateway {
    let config = format!(
        "{}{}",
        provider(name, plugin, mock, scenario, ""),
        model(&format!("test/{plugin}"), &[(name, "1", "2")])
    );
    Gateway::start(&config).await
}

/// The `delta.reasoning` of a stream, concatenated.
fn streamed_reasoning(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["reasoning"].as_str())
        .collect()
}

/// Tool calls of a stream reassembled by index: (id, name, arguments).
fn streamed_calls(chunks: &[Value]) -> Vec<(String, String, String)> {
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for chunk in chunks {
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index = call["index"].as_u64().unwrap() as usize;
            if calls.len() <= index {
                calls.resize(index + 1, Default::default());
            }
            let entry = &mut calls[index];
            if let Some(id) = call["id"].as_str() {
                entry.0 = id.to_owned();
            }
            entry
                .1
                .push_str(call["function"]["name"].as_str().unwrap_or(""));
            entry
                .2
                .push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    calls
}

/// Checks a streamed answer is a complete, valid OpenAI stream and returns its JSON chunks.
fn valid_stream(status: u16, events: &[String], model: &str) -> Vec<Value> {
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    let chunks = chunks(events);
    assert!(chunks.len() >= 2, "{chunks:?}");
    let id = chunks[0]["id"].as_str().unwrap();
    assert!(id.starts_with("gen-"));
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk", "{chunk}");
        assert_eq!(chunk["id"], id);
        assert_eq!(chunk["model"], model);
        assert!(chunk.get("error").is_none(), "{chunk}");
    }
    let finishes: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| f.is_string())
        .collect();
    assert_eq!(finishes.len(), 1, "{chunks:?}");
    let usage = &chunks.last().unwrap()["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0, "{usage}");
    assert!(usage["cost"].as_f64().unwrap() > 0.0, "{usage}");
    chunks
}

/// Checks a whole answer is a valid OpenAI chat completion.
fn valid_completion(status: u16, body: &Value, model: &str) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], model);
    assert!(body["id"].as_str().unwrap().starts_with("gen-"));
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert!(body["choices"][0]["finish_reason"].is_string());
    assert!(
        body["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
        "{body}"
    );
    assert!(body["usage"]["cost"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn gemini_non_stream_and_stream() {
    let mock = MockUpstream::start().await.unwrap();
    let scenario = "fixture=google/google-text";
    let gateway = single(&mock, "gem", "gemini", scenario).await;

    let (status, _, body) = gateway.chat(&request("test/gemini", false)).await;
    valid_completion(status, &body, "test/gemini");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["choices"][0]["native_finish_reason"], "STOP");
    assert_eq!(body["usage"]["prompt_tokens"], 9);
    // 28 answer + 244 thought tokens.
    assert_eq!(body["usage"]["completion_tokens"], 272);
    assert_eq!(body["provider"], "gem");

    let (status, events) = gateway.stream(&request("test/gemini", true)).await;
    let chunks = valid_stream(status, &events, "test/gemini");
    assert_eq!(
        streamed_text(&chunks),
        "There are **3** \"r\"s in strawberry.\n\nst**r**awbe**rr**y"
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], 9);
    assert_eq!(usage["completion_tokens"], 208);

    let sent = mock.requests_for(scenario);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].path,
        format!("/{scenario}/v1/models/up-gem:generateContent")
    );
    assert_eq!(
        sent[1].path,
        format!("/{scenario}/v1/models/up-gem:streamGenerateContent")
    );
    assert_eq!(sent[1].query.as_deref(), Some("alt=sse"));
    for request in &sent {
        assert_eq!(request.header("x-goog-api-key"), Some(KEY));
        assert!(request.header("authorization").is_none());
        let body = request.json.as_ref().unwrap();
        assert_eq!(
            body["systemInstruction"],
            json!({"parts": [{"text": "Be brief."}]})
        );
        assert_eq!(
            body["contents"],
            json!([{"role": "user", "parts": [{"text": "Hello!"}]}])
        );
    }
}

#[tokio::test]
async fn gemini_parallel_tool_calls_stream_and_errors() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}{}{}{}{}",
        provider(
            "tools",
            "gemini",
            &mock,
            "fixture=google/google-stream-no-args-tool-call",
            ""
        ),
        model("test/tools", &[("tools", "1", "2")]),
        provider(
            "cut",
            "gemini",
            &mock,
            "fixture=google/google-text,no_terminal",
            ""
        ),
        model("test/cut", &[("cut", "1", "2")]),
        provider("limited", "gemini", &mock, "status=429,retry_after=7", ""),
        model("test/limited", &[("limited", "1", "2")]),
    );
    let gateway = Gateway::start(&config).await;

    let (status, events) = gateway.stream(&request("test/tools", true)).await;
    let chunks = valid_stream(status, &events, "test/tools");
    assert_eq!(
        streamed_calls(&chunks),
        vec![
            ("call_0".into(), "read_theme".into(), "{}".into()),
            (
                "call_1".into(),
                "read_screen".into(),
                r#"{"id":"A"}"#.into()
            ),
            (
                "call_2".into(),
                "read_screen".into(),
                r#"{"id":"B"}"#.into()
            ),
            (
                "call_3".into(),
                "read_screen".into(),
                r#"{"id":"C"}"#.into()
            ),
        ]
    );
    assert!(streamed_reasoning(&chunks).starts_with("**Processing User Requests**"));
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );

    // Gemini has no [DONE]: a stream closed before the finishReason event is a failure.
    let (status, events) = gateway.stream(&request("test/cut", true)).await;
    assert_eq!(status, 200);
    assert_ne!(events.last().map(String::as_str), Some("[DONE]"));
    let failed = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .find(|c| c.get("error").is_some())
        .expect("an error chunk");
    assert_eq!(failed["choices"][0]["finish_reason"], "error", "{events:?}");
    assert_eq!(failed["error"]["code"], 502);
    assert!(!chunks_have_stop(&events));

    // RESOURCE_EXHAUSTED with RetryInfo → 429 with the retry delay.
    let (status, headers, body) = gateway.chat(&request("test/limited", false)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "7");
}

fn chunks_have_stop(events: &[String]) -> bool {
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .any(|c| c["choices"][0]["finish_reason"] == "stop")
}

#[tokio::test]
async fn mistral_non_stream_and_stream() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}{}{}",
        provider("mis", "mistral", &mock, "fixture=mistral/mistral-text", ""),
        model("test/mistral", &[("mis", "1", "2")]),
        provider(
            "mistools",
            "mistral",
            &mock,
            "fixture=mistral/mistral-tool-call",
            ""
        ),
        model("test/mistral-tools", &[("mistools", "1", "2")]),
    );
    let gateway = Gateway::start(&config).await;

    let (status, _, body) = gateway.chat(&request("test/mistral", false)).await;
    valid_completion(status, &body, "test/mistral");
    let fixture = fixture_json("mistral/mistral-text.json");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        fixture["choices"][0]["message"]["content"]
    );
    assert_eq!(body["usage"]["completion_tokens"], 434);

    let (status, events) = gateway.stream(&request("test/mistral", true)).await;
    let chunks = valid_stream(status, &events, "test/mistral");
    assert_eq!(
        streamed_text(&chunks),
        "Hello, world! This is a test response."
    );
    for chunk in &chunks {
        assert!(chunk.get("p").is_none());
    }
    // Usage from Mistral's finish chunk.
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 8);

    let (status, events) = gateway.stream(&request("test/mistral-tools", true)).await;
    let chunks = valid_stream(status, &events, "test/mistral-tools");
    assert_eq!(
        streamed_calls(&chunks),
        vec![(
            "gSIMJiOkT".into(),
            "weather".into(),
            "{\"location\": \"San Francisco\"}".into()
        )]
    );
    assert_eq!(chunks.last().unwrap()["usage"]["prompt_tokens"], 124);

    let sent = mock.requests_for("fixture=mistral/mistral-text");
    assert_eq!(
        sent[0].path,
        "/fixture=mistral/mistral-text/v1/chat/completions"
    );
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let upstream = sent[1].json.as_ref().unwrap();
    assert_eq!(upstream["model"], "up-mis");
    assert_eq!(upstream["stream"], true);
    assert!(upstream.get("stream_options").is_none());
}

#[tokio::test]
async fn cohere_non_stream_and_stream() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}{}{}",
        provider("coh", "cohere", &mock, "fixture=cohere/cohere-text", ""),
        model("test/cohere", &[("coh", "1", "2")]),
        provider(
            "cohtools",
            "cohere",
            &mock,
            "fixture=cohere/cohere-tool-call",
            ""
        ),
        model("test/cohere-tools", &[("cohtools", "1", "2")]),
    );
    let gateway = Gateway::start(&config).await;

    let (status, _, body) = gateway.chat(&request("test/cohere", false)).await;
    valid_completion(status, &body, "test/cohere");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "The capital of France is Paris."
    );
    assert_eq!(body["choices"][0]["native_finish_reason"], "COMPLETE");
    // Raw token counts (the billed units are 12 and 7), 448 prompt tokens from the cache.
    assert_eq!(body["usage"]["prompt_tokens"], 507);
    assert_eq!(body["usage"]["completion_tokens"], 10);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 448);

    let (status, events) = gateway.stream(&request("test/cohere", true)).await;
    let chunks = valid_stream(status, &events, "test/cohere");
    assert_eq!(streamed_text(&chunks), "The capital of France is Paris.");

    let (status, events) = gateway.stream(&request("test/cohere-tools", true)).await;
    let chunks = valid_stream(status, &events, "test/cohere-tools");
    let calls = streamed_calls(&chunks);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].1, "weather");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[0].2).unwrap(),
        json!({"location": "San Francisco"})
    );
    assert_eq!(calls[1].1, "cityAttractions");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );

    let sent = mock.requests_for("fixture=cohere/cohere-text");
    assert_eq!(sent[0].path, "/fixture=cohere/cohere-text/v1/chat");
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let upstream = sent[0].json.as_ref().unwrap();
    assert_eq!(upstream["model"], "up-coh");
    assert_eq!(
        upstream["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}])
    );
}

#[tokio::test]
async fn azure_non_stream_and_stream_use_the_deployment_url() {
    let mock = MockUpstream::start().await.unwrap();
    let scenario = "fixture=openai/openai-text";
    let config = format!(
        "{}{}",
        provider(
            "az",
            "azure-openai",
            &mock,
            scenario,
            "options = { api_version = \"2025-01-01-preview\" }"
        ),
        model("test/azure", &[("az", "0.10", "0.40")]),
    );
    let gateway = Gateway::start(&config).await;

    let (status, _, body) = gateway.chat(&request("test/azure", false)).await;
    valid_completion(status, &body, "test/azure");
    let fixture = fixture_json("openai/openai-text.json");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        fixture["choices"][0]["message"]["content"]
    );

    let (status, events) = gateway.stream(&request("test/azure", true)).await;
    let chunks = valid_stream(status, &events, "test/azure");
    assert!(streamed_text(&chunks).starts_with("**Holiday Name:**"));

    let sent = mock.requests_for(scenario);
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_eq!(
            request.path,
            format!("/{scenario}/v1/openai/deployments/up-az/chat/completions")
        );
        assert_eq!(
            request.query.as_deref(),
            Some("api-version=2025-01-01-preview")
        );
        assert_eq!(request.header("api-key"), Some(KEY));
        assert!(request.header("authorization").is_none());
    }
    assert_eq!(
        sent[1].json.as_ref().unwrap()["stream_options"]["include_usage"],
        true
    );
}

/// One conversation with a system prompt, an image, an assistant tool call and its result.
fn conversation(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a weather assistant."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is the weather where this photo was taken?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_weather_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_weather_1", "content": "{\"temperature\":21,\"sky\":\"clear\"}"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
        }}],
        "max_tokens": 512,
        "temperature": 0.2
    })
}

/// What each adapter must have sent for the conversation, in its native form.
fn check_native_conversation(plugin: &str, body: &Value) {
    match plugin {
        "openai" | "azure-openai" | "mistral" => {
            let messages = body["messages"].as_array().unwrap();
            assert_eq!(messages.len(), 4, "{body}");
            assert_eq!(messages[0]["role"], "system");
            assert_eq!(
                messages[2]["tool_calls"][0]["function"]["name"],
                "get_weather"
            );
            assert_eq!(messages[3]["role"], "tool");
            assert_eq!(
                messages[3]["tool_call_id"],
                messages[2]["tool_calls"][0]["id"]
            );
            let image = &messages[1]["content"][1]["image_url"];
            let url = image.as_str().or(image["url"].as_str()).unwrap();
            assert!(url.starts_with("data:image/png;base64,"));
            if plugin == "mistral" {
                let id = messages[3]["tool_call_id"].as_str().unwrap();
                assert!(
                    id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric()),
                    "{id}"
                );
            }
        }
        "anthropic" => {
            assert_eq!(body["system"], "You are a weather assistant.");
            let messages = body["messages"].as_array().unwrap();
            assert_eq!(messages[0]["content"][1]["type"], "image");
            assert_eq!(messages[0]["content"][1]["source"]["type"], "base64");
            assert_eq!(messages[1]["content"][0]["type"], "tool_use");
            assert_eq!(
                messages[1]["content"][0]["input"],
                json!({"location": "Paris"})
            );
            assert_eq!(messages[2]["content"][0]["type"], "tool_result");
            assert_eq!(messages[2]["content"][0]["tool_use_id"], "call_weather_1");
        }
        "gemini" => {
            assert_eq!(
                body["systemInstruction"]["parts"][0]["text"],
                "You are a weather assistant."
            );
            let contents = body["contents"].as_array().unwrap();
            assert_eq!(contents.len(), 3, "{body}");
            assert_eq!(
                contents[0]["parts"][1]["inlineData"]["mimeType"],
                "image/png"
            );
            assert_eq!(contents[1]["role"], "model");
            assert_eq!(
                contents[1]["parts"][0]["functionCall"],
                json!({"name": "get_weather", "args": {"location": "Paris"}})
            );
            assert_eq!(
                contents[2]["parts"][0]["functionResponse"],
                json!({"name": "get_weather", "response": {"temperature": 21, "sky": "clear"}})
            );
            assert_eq!(body["generationConfig"]["maxOutputTokens"], 512);
            assert_eq!(
                body["tools"][0]["functionDeclarations"][0]["name"],
                "get_weather"
            );
        }
        "cohere" => {
            let messages = body["messages"].as_array().unwrap();
            assert_eq!(
                messages[0],
                json!({"role": "system", "content": "You are a weather assistant."})
            );
            assert_eq!(messages[1]["content"][1]["type"], "image_url");
            assert_eq!(messages[2]["tool_calls"][0]["id"], "call_weather_1");
            assert_eq!(
                messages[3],
                json!({"role": "tool", "tool_call_id": "call_weather_1", "content": "{\"temperature\":21,\"sky\":\"clear\"}"})
            );
            assert_eq!(body["max_tokens"], 512);
        }
        "bedrock" => {
            assert_eq!(
                body["system"],
                json!([{"text": "You are a weather assistant."}])
            );
            let messages = body["messages"].as_array().unwrap();
            assert_eq!(messages.len(), 3, "{body}");
            assert_eq!(messages[0]["content"][1]["image"]["format"], "png");
            assert_eq!(
                messages[1]["content"][0]["toolUse"],
                json!({"toolUseId": "call_weather_1", "name": "get_weather", "input": {"location": "Paris"}})
            );
            assert_eq!(
                messages[2]["content"][0]["toolResult"],
                json!({"toolUseId": "call_weather_1", "content": [{"text": "{\"temperature\":21,\"sky\":\"clear\"}"}]})
            );
            assert_eq!(body["inferenceConfig"]["maxTokens"], 512);
            assert_eq!(
                body["toolConfig"]["tools"][0]["toolSpec"]["name"],
                "get_weather"
            );
        }
        other => panic!("unknown plugin {other}"),
    }
}

#[tokio::test]
async fn the_same_conversation_works_through_every_adapter() {
    let mock = MockUpstream::start().await.unwrap();
    let mut config = String::new();
    for (name, plugin, fixture) in ADAPTERS {
        let extra = if *plugin == "bedrock" {
            BEDROCK_EXTRA
        } else {
            ""
        };
        config.push_str(&provider(
            name,
            plugin,
            &mock,
            &format!("fixture={fixture}"),
            extra,
        ));
        config.push_str(&model(&format!("matrix/{plugin}"), &[(name, "1", "2")]));
    }
    let gateway = Gateway::start(&config).await;

    for (_, plugin, fixture) in ADAPTERS {
        let model = format!("matrix/{plugin}");
        let (status, _, body) = gateway.chat(&conversation(&model, false)).await;
        valid_completion(status, &body, &model);
        let content = body["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(!content.is_empty(), "{plugin}: {body}");

        let (status, events) = gateway.stream(&conversation(&model, true)).await;
        let chunks = valid_stream(status, &events, &model);
        assert!(!streamed_text(&chunks).is_empty(), "{plugin}");
        assert_eq!(
            chunks[0]["choices"][0]["delta"]["role"], "assistant",
            "{plugin}"
        );

        let sent = mock.requests_for(&format!("fixture={fixture}"));
        let mine: Vec<_> = sent
            .iter()
            .filter(|r| {
                let body = r.json.as_ref().unwrap();
                body.get("model")
                    .and_then(Value::as_str)
                    .is_none_or(|m| m.ends_with(&format!("-{}", provider_name(plugin))))
                    && (plugin != &"gemini" || r.path.contains("up-gem"))
            })
            .collect();
        assert_eq!(mine.len(), 2, "{plugin}: {} requests", mine.len());
        for request in mine {
            check_native_conversation(plugin, request.json.as_ref().unwrap());
        }
    }
}

/// The config name of a plugin's provider in [`ADAPTERS`].
fn provider_name(plugin: &str) -> &'static str {
    ADAPTERS
        .iter()
        .find(|(_, p, _)| *p == plugin)
        .map(|(name, _, _)| *name)
        .unwrap()
}
