//! The Responses API end to end through the real binary: a client's items reach an upstream
//! that speaks the Responses API as they were sent and its output items come back as it wrote
//! them, whole or streamed (no round trip through chat messages), the same items reach
//! a chat upstream as chat messages, and items that would reach the operator's upstream account
//! (uploaded file ids, item references, a chat client's own Responses items, built-in tools
//! other than web search) are refused before any upstream call.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const RESPONSES_SCENARIO: &str = "fixture=openai/openai-reasoning-encrypted-content.1";
const CHAT_SCENARIO: &str = "fixture=openai/openai-text";

fn config(mock: &MockUpstream) -> String {
    [
        provider("resp", "openai-responses", mock, RESPONSES_SCENARIO, ""),
        provider("chat", "openai", mock, CHAT_SCENARIO, ""),
        model("m/resp", &[("resp", "1", "2")]),
        model("m/chat", &[("chat", "1", "2")]),
    ]
    .concat()
}

async fn respond(gateway: &Gateway, path: &str, body: &Value) -> (u16, Value) {
    let response = gateway
        .client
        .post(format!("{}{path}", gateway.url))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// An agent's second turn: everything a chat message has no place for (a tool output with an
/// image, an assistant message's phase and id, reasoning summary and verbosity settings).
fn second_turn() -> Value {
    json!([
        {"role": "user", "content": [{"type": "input_text", "text": "Plot the sales."}]},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Plotting"}],
         "encrypted_content": "gAAAAB-opaque"},
        {"type": "message", "id": "msg_1", "role": "assistant", "phase": "commentary", "status": "completed",
         "content": [{"type": "output_text", "text": "Calling the plotter.", "annotations": []}]},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "plot", "arguments": "{\"series\":\"sales\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": [
            {"type": "input_text", "text": "Rendered."},
            {"type": "input_image", "image_url": "https://example.com/plot.png", "detail": "low"}
        ]}
    ])
}

#[tokio::test]
async fn a_responses_client_and_a_responses_upstream_exchange_items_as_written() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let request = json!({
        "model": "m/resp",
        "instructions": "Be brief.",
        "input": second_turn(),
        "reasoning": {"effort": "low", "summary": "detailed"},
        "text": {"verbosity": "low"},
        "store": false
    });
    let (status, response) = respond(&gateway, "/v1/responses", &request).await;
    assert_eq!(status, 200, "{response}\n{}", gateway.log());
    assert_eq!(response["object"], "response");
    assert_eq!(response["status"], "completed");
    // The upstream's own output items come back: its ids, its annotations and log probabilities.
    let recorded = fixture_json("openai/openai-reasoning-encrypted-content.1.json");
    assert_eq!(response["output"], recorded["output"]);
    assert!(response.get("openai_responses").is_none());

    let upstream = mock.requests_for(RESPONSES_SCENARIO);
    assert_eq!(upstream.len(), 1);
    let sent = upstream[0].json.clone().unwrap();
    let mut expected = second_turn();
    // The one item written without a type is sent with the type it stands for.
    expected[0]["type"] = json!("message");
    assert_eq!(sent["input"], expected);
    assert_eq!(sent["instructions"], "Be brief.");
    assert_eq!(
        sent["reasoning"],
        json!({"effort": "low", "summary": "detailed"})
    );
    assert_eq!(sent["text"]["verbosity"], "low");
    assert_eq!(sent["model"], "up-resp");
    assert!(sent.get("openai_responses").is_none());
    assert!(sent.get("messages").is_none());

    // A chat client of the same upstream gets a chat completion without the Responses items.
    let (status, completion) = respond(
        &gateway,
        "/v1/chat/completions",
        &json!({"model": "m/resp", "messages": [{"role": "user", "content": "12+7?"}]}),
    )
    .await;
    assert_eq!(status, 200, "{completion}");
    assert_eq!(completion["object"], "chat.completion");
    assert!(completion.get("openai_responses").is_none(), "{completion}");
    let sent = mock.requests_for(RESPONSES_SCENARIO)[1]
        .json
        .clone()
        .unwrap();
    assert_eq!(
        sent["input"],
        json!([{"type": "message", "role": "user", "content": "12+7?"}])
    );
}

#[tokio::test]
async fn a_chat_upstream_receives_chat_messages_without_the_responses_items() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let request = json!({"model": "m/chat", "input": second_turn()});
    let (status, response) = respond(&gateway, "/v1/responses", &request).await;
    assert_eq!(status, 200, "{response}\n{}", gateway.log());

    let upstream = mock.requests_for(CHAT_SCENARIO);
    assert_eq!(upstream.len(), 1);
    let sent = upstream[0].json.clone().unwrap();
    assert!(sent.get("openai_responses").is_none(), "{sent}");
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool"]);
    assert_eq!(sent["messages"][2]["content"], "Rendered.");
}

#[tokio::test]
async fn items_reaching_the_operators_account_are_refused_before_any_upstream_call() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let refused = [
        (
            "/v1/responses",
            json!({"model": "m/resp", "input": [{"role": "user", "content": [
                {"type": "input_image", "image_url": "https://example.com/a.png", "file_id": "file-operator"}
            ]}]}),
            "file_id",
        ),
        (
            "/v1/responses",
            json!({"model": "m/resp", "input": [
                {"type": "function_call_output", "call_id": "c", "output": [
                    {"type": "input_file", "file_id": "file-operator"}
                ]}
            ]}),
            "file_id",
        ),
        (
            "/v1/responses",
            json!({"model": "m/resp", "input": [{"type": "item_reference", "id": "msg_operator"}]}),
            "item references",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "m/resp", "messages": [{"role": "user", "content": "hi"}],
                   "openai_responses": {"input": [{"type": "item_reference", "id": "msg_operator"}]}}),
            "POST /v1/responses",
        ),
    ];
    for (path, body, needle) in refused {
        let (status, error) = respond(&gateway, path, &body).await;
        assert_eq!(status, 400, "{path} {body}: {error}");
        assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message}");
    }
    // Built-in tools other than web search run on the operator's account: refused by name,
    // even for a Responses upstream.
    let builtin = [
        json!({"type": "file_search", "vector_store_ids": ["vs_operator"]}),
        json!({"type": "code_interpreter", "container": {"type": "auto"}}),
        json!({"type": "image_generation"}),
        json!({"type": "mcp", "server_label": "x", "server_url": "https://mcp.example.com"}),
        json!({"type": "computer_use_preview", "display_width": 1024, "display_height": 768, "environment": "browser"}),
        json!({"type": "local_shell"}),
    ];
    for tool in builtin {
        let body = json!({"model": "m/resp", "input": "hi", "tools": [tool]});
        let (status, error) = respond(&gateway, "/v1/responses", &body).await;
        assert_eq!(status, 400, "{tool}: {error}");
        assert_eq!(error["error"]["code"], "unsupported_tool", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("`{}`", tool["type"].as_str().unwrap())),
            "{message}"
        );
    }
    assert!(mock.requests().is_empty(), "{:?}", mock.requests());
}

/// The `data:` payloads of a server-sent event stream.
fn events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data: ")))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

/// The recorded stream's first response: its `output_item.done` items and its final output.
fn recorded_stream() -> (Vec<Value>, Value) {
    let path = switchyard_tests::fixtures_dir()
        .join("openai/openai-reasoning-encrypted-content.1.chunks.txt");
    let mut done = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match event["type"].as_str() {
            Some("response.output_item.done") => done.push(event["item"].clone()),
            Some("response.completed") => return (done, event["response"]["output"].clone()),
            _ => {}
        }
    }
    panic!("the recording has no completed response");
}

#[tokio::test]
async fn a_streamed_answer_carries_the_responses_upstreams_own_items() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&config(&mock)).await;
    let response = gateway
        .client
        .post(format!("{}/v1/responses", gateway.url))
        .json(&json!({"model": "m/resp", "input": "12+7, times 3, times 10?", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let events = events(&response.text().await.unwrap());
    let of = |kind: &str| -> Vec<&Value> { events.iter().filter(|e| e["type"] == kind).collect() };

    let (recorded_done, recorded_output) = recorded_stream();
    let done: Vec<Value> = of("response.output_item.done")
        .iter()
        .map(|e| e["item"].clone())
        .collect();
    assert_eq!(done, recorded_done);
    let added: Vec<&Value> = of("response.output_item.added")
        .iter()
        .map(|e| &e["item"]["id"])
        .collect();
    let recorded_ids: Vec<&Value> = recorded_done.iter().map(|item| &item["id"]).collect();
    assert_eq!(
        added, recorded_ids,
        "items are named by the upstream's ids from the start"
    );
    let completed = of("response.completed");
    assert_eq!(completed.len(), 1, "{events:?}");
    // The final response holds the items as streamed. (The recording's own final output has
    // the same items, with the reasoning encrypted anew.)
    assert_eq!(completed[0]["response"]["output"], json!(recorded_done));
    let ids = |output: &Value| -> Vec<Value> {
        output
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].clone())
            .collect()
    };
    assert_eq!(
        ids(&completed[0]["response"]["output"]),
        ids(&recorded_output)
    );
    let sequence: Vec<u64> = events
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(sequence, (0..events.len() as u64).collect::<Vec<_>>());

    // A chat client of the same upstream never sees the markers.
    let (status, chunks) = gateway
        .stream(&json!({"model": "m/resp", "stream": true,
            "messages": [{"role": "user", "content": "12+7, times 3, times 10?"}]}))
        .await;
    assert_eq!(status, 200);
    assert!(
        chunks
            .iter()
            .all(|chunk| !chunk.contains("openai_responses")),
        "{chunks:?}"
    );
    let empty: Vec<&String> = chunks
        .iter()
        .filter(|chunk| chunk.contains("\"choices\":[]") && !chunk.contains("\"usage\""))
        .collect();
    assert!(
        empty.is_empty(),
        "carrier chunks reached a chat client: {empty:?}"
    );
}

const CODE_INTERPRETER: &str = "fixture=synthetic/openai-responses-code-interpreter";
const RESPONSES_TEXT: &str = "fixture=synthetic/openai-responses-text";

/// `m/tools`: a cheaper provider not opted into built-in tools, then one opted into the code
/// interpreter at $0.03 a call (tokens free); `m/unpriced`: opted in, but no price.
fn builtin_config(mock: &MockUpstream) -> String {
    let opted = "builtin_tools = [\"code_interpreter\", \"file_search\"]";
    [
        provider("plain", "openai-responses", mock, RESPONSES_TEXT, ""),
        provider("opted", "openai-responses", mock, CODE_INTERPRETER, opted),
        "[[models]]\nid = \"m/tools\"\nendpoints = [\
         { provider = \"plain\", upstream_model = \"up-plain\", prompt_price = \"0\", completion_price = \"0\" }, \
         { provider = \"opted\", upstream_model = \"up-opted\", prompt_price = \"1\", completion_price = \"1\", \
           builtin_tool_prices = { code_interpreter = \"0.03\" } }]\n"
            .to_owned(),
        "[[models]]\nid = \"m/unpriced\"\nendpoints = [\
         { provider = \"opted\", upstream_model = \"up-opted\", prompt_price = \"0\", completion_price = \"0\" }]\n"
            .to_owned(),
    ]
    .concat()
}

fn ask_code(model: &str, stream: bool) -> Value {
    json!({"model": model, "input": "What is 20!? Compute it.", "stream": stream,
        "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]})
}

#[tokio::test]
async fn an_opted_in_code_interpreter_reaches_its_upstream_whole_and_streamed_and_is_charged() {
    let mock = MockUpstream::start().await.unwrap();
    let gateway = Gateway::start(&builtin_config(&mock)).await;
    let recorded = fixture_json("synthetic/openai-responses-code-interpreter.json");

    // Whole: the cheaper provider without the opt-in is skipped, the tool reaches the opted one
    // as sent, its item comes back whole, and its call is charged.
    let (status, response) = respond(&gateway, "/v1/responses", &ask_code("m/tools", false)).await;
    assert_eq!(status, 200, "{response}\n{}", gateway.log());
    assert_eq!(response["output"], recorded["output"], "{response}");
    assert_eq!(response["output"][0]["type"], "code_interpreter_call");
    // 120 + 40 tokens at $1/M, and one call at $0.03 (the platform fee on top).
    let upstream_cost = |usage: &Value| usage["cost_details"]["upstream_inference_cost"].clone();
    assert_eq!(
        upstream_cost(&response["usage"]),
        json!(0.03016),
        "{response}"
    );
    assert!(mock.requests_for(RESPONSES_TEXT).is_empty());
    let sent = mock.requests_for(CODE_INTERPRETER)[0].json.clone().unwrap();
    assert_eq!(
        sent["tools"],
        json!([{"type": "code_interpreter", "container": {"type": "auto"}}])
    );
    assert_eq!(sent["max_tool_calls"], 5);

    // Streamed: the item arrives whole in its own added and done events, before the message.
    let response = gateway
        .client
        .post(format!("{}/v1/responses", gateway.url))
        .json(&ask_code("m/tools", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data: ")))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let items = |kind: &str| -> Vec<Value> {
        (events.iter())
            .filter(|event| event["type"] == kind)
            .map(|event| event["item"].clone())
            .collect()
    };
    let done = items("response.output_item.done");
    assert_eq!(
        done,
        recorded["output"].as_array().unwrap().clone(),
        "{text}"
    );
    assert_eq!(
        items("response.output_item.added")[0],
        recorded["output"][0]
    );
    let completed = events.last().unwrap();
    assert_eq!(completed["type"], "response.completed", "{text}");
    assert_eq!(completed["response"]["output"], recorded["output"]);
    assert_eq!(
        upstream_cost(&completed["response"]["usage"]),
        json!(0.03016),
        "{completed}"
    );
    assert!(mock.requests_for(RESPONSES_TEXT).is_empty());

    // Offered where no endpoint is opted in with a price: a 400 naming the tool, no call.
    let (status, error) = respond(&gateway, "/v1/responses", &ask_code("m/unpriced", false)).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "unsupported_tool", "{error}");
    assert!(
        (error["error"]["message"].as_str().unwrap()).contains("`code_interpreter`"),
        "{error}"
    );
    // A tool the opted provider is not opted into is refused too.
    let mut body = ask_code("m/tools", false);
    body["tools"] =
        json!([{"type": "mcp", "server_label": "x", "server_url": "https://mcp.example.com"}]);
    let (status, error) = respond(&gateway, "/v1/responses", &body).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        (error["error"]["message"].as_str().unwrap()).contains("`mcp`"),
        "{error}"
    );
    assert_eq!(mock.requests_for(CODE_INTERPRETER).len(), 2);
}

#[tokio::test]
async fn builtin_tools_on_an_adapter_that_cannot_pass_them_or_of_unknown_names_fail_the_load() {
    let mock = MockUpstream::start().await.unwrap();
    for (extra, needle) in [
        ("builtin_tools = [\"code_interpreter\"]", "Responses API"),
        ("builtin_tools = [\"teleporter\"]", "teleporter"),
    ] {
        let plugin = if needle == "teleporter" {
            "openai-responses"
        } else {
            "openai"
        };
        let config = [
            provider("p", plugin, &mock, RESPONSES_TEXT, extra),
            model("m/p", &[("p", "1", "2")]),
        ]
        .concat();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        let run = tokio::process::Command::new(switchyard_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .env(KEY_ENV, "sk-test")
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(std::time::Duration::from_secs(120), run)
            .await
            .expect("the gateway exits")
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    }
}
