//! Web search end to end through the real binary and the real adapters: `:online` and
//! `plugins: [{"id": "web"}]` send the upstream's own search tool (Anthropic's `web_search`
//! server tool), the answer cites its sources as `url_citation` annotations (a stream, in the
//! delta that ends the cited text), and the searches are charged at the endpoint's
//! `web_search_price`. Where no endpoint can search at a known price, the request is a 400 that
//! says so, with no upstream call. The Messages API's own `web_search` tool is served the same
//! way, and what no engine reads is refused by name. Also the context filter: a prompt no
//! endpoint's context can hold is a 400 `context_length_exceeded`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_tests::MockUpstream;

const CLAUDE_SEARCH: &str = "fixture=synthetic/anthropic-web-search";
const OPENAI_TEXT: &str = "fixture=openai/openai-text";

/// A model served by `provider` at no token price, with `extra` endpoint fields.
fn free_model(id: &str, provider: &str, extra: &str) -> String {
    format!(
        "[[models]]\nid = \"{id}\"\ncontext_length = 1000\nendpoints = [{{ provider = \"{provider}\", \
         upstream_model = \"up-{provider}\", prompt_price = \"0\", completion_price = \"0\"{extra} }}]\n"
    )
}

async fn chat(gateway: &Gateway, body: &Value) -> (u16, Value) {
    let response = gateway
        .client
        .post(format!("{}/v1/chat/completions", gateway.url))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "When was Claude Shannon born?"}]})
}

#[tokio::test]
async fn online_on_anthropic_sends_the_search_tool_cites_and_charges_the_searches() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("claude", "anthropic", &mock, CLAUDE_SEARCH, ""),
        free_model("m/claude", "claude", ", web_search_price = \"0.01\""),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let mut web_plugin = ask("m/claude");
    web_plugin["plugins"] = json!([{"id": "web"}]);
    for body in [ask("m/claude:online"), web_plugin] {
        let (status, answer) = chat(&gateway, &body).await;
        assert_eq!(status, 200, "{answer}");
        let upstream = mock
            .requests_for(CLAUDE_SEARCH)
            .pop()
            .unwrap()
            .json
            .unwrap();
        assert_eq!(
            upstream["tools"],
            json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]),
            "{upstream}"
        );
        assert!(upstream.get("plugins").is_none(), "{upstream}");
        let message = &answer["choices"][0]["message"];
        let content = message["content"].as_str().unwrap();
        assert_cites_shannon(content, &message["annotations"]);
        assert_eq!(answer["usage"]["server_tool_use"]["web_search_requests"], 1);
        // No token price: the upstream's cost is the one search (the client's adds the fee).
        let cost = &answer["usage"]["cost_details"]["upstream_inference_cost"];
        assert_eq!(cost, &json!(0.01), "{answer}");
        assert!(answer.get("server_tool_use").is_none(), "{answer}");
    }
}

/// `annotations` are one `url_citation` of the Wikipedia page, over the sentence of `content`
/// that cites it.
fn assert_cites_shannon(content: &str, annotations: &Value) {
    assert_eq!(
        annotations.as_array().map(Vec::len),
        Some(1),
        "{annotations}"
    );
    let annotation = &annotations[0];
    assert_eq!(annotation["type"], "url_citation", "{annotation}");
    let citation = &annotation["url_citation"];
    assert_eq!(
        citation["url"],
        "https://en.wikipedia.org/wiki/Claude_Shannon"
    );
    assert_eq!(citation["title"], "Claude Shannon - Wikipedia");
    let (start, end) = (
        citation["start_index"].as_u64().unwrap() as usize,
        citation["end_index"].as_u64().unwrap() as usize,
    );
    let cited: String = content.chars().skip(start).take(end - start).collect();
    assert_eq!(
        cited,
        "Claude Shannon was born on April 30, 1916, in Petoskey, Michigan"
    );
}

#[tokio::test]
async fn a_streamed_search_cites_in_the_delta_closing_the_cited_text_and_is_charged() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("claude", "anthropic", &mock, CLAUDE_SEARCH, ""),
        free_model("m/claude", "claude", ", web_search_price = \"0.01\""),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let mut body = ask("m/claude:online");
    body["stream"] = json!(true);
    let (status, events) = gateway.stream(&body).await;
    assert_eq!(status, 200, "{events:?}");
    let chunks = chunks(&events);
    let upstream = mock
        .requests_for(CLAUDE_SEARCH)
        .pop()
        .unwrap()
        .json
        .unwrap();
    assert_eq!(upstream["tools"][0]["type"], "web_search_20250305");
    let annotated: Vec<&Value> = chunks
        .iter()
        .filter(|chunk| chunk["choices"][0]["delta"].get("annotations").is_some())
        .collect();
    assert_eq!(annotated.len(), 1, "{events:?}");
    // The annotations come once the cited text has streamed, as OpenAI streams them.
    let content = streamed_text(&chunks);
    assert!(content.ends_with("Petoskey, Michigan"), "{content}");
    assert_cites_shannon(
        &content,
        &annotated[0]["choices"][0]["delta"]["annotations"],
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        usage["server_tool_use"]["web_search_requests"], 1,
        "{usage}"
    );
    assert_eq!(
        usage["cost_details"]["upstream_inference_cost"],
        json!(0.01),
        "{usage}"
    );
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk.get("server_tool_use").is_none()),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_responses_upstreams_streamed_citation_reaches_a_chat_client_as_an_annotation() {
    let mock = MockUpstream::start().await.unwrap();
    let fixture = "fixture=synthetic/openai-responses-web-search";
    let config = [
        provider("resp", "openai-responses", &mock, fixture, ""),
        free_model("m/resp", "resp", ", web_search_price = \"0.01\""),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let mut body = ask("m/resp:online");
    body["stream"] = json!(true);
    let (status, events) = gateway.stream(&body).await;
    assert_eq!(status, 200, "{events:?}");
    let upstream = mock.requests_for(fixture).pop().unwrap().json.unwrap();
    assert_eq!(upstream["tools"][0]["type"], "web_search", "{upstream}");
    let chunks = chunks(&events);
    let annotated: Vec<&Value> = chunks
        .iter()
        .filter(|chunk| chunk["choices"][0]["delta"].get("annotations").is_some())
        .collect();
    assert_eq!(annotated.len(), 1, "{events:?}");
    let content = streamed_text(&chunks);
    assert_cites_shannon(
        &content,
        &annotated[0]["choices"][0]["delta"]["annotations"],
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        usage["server_tool_use"]["web_search_requests"], 1,
        "{usage}"
    );
}

#[tokio::test]
async fn a_streamed_gemini_grounding_is_cited_and_charged() {
    let mock = MockUpstream::start().await.unwrap();
    let fixture = "fixture=synthetic/google-search-grounded";
    let config = [
        provider("g", "gemini", &mock, fixture, ""),
        free_model("m/gemini", "g", ", web_search_price = \"0.01\""),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let mut body = ask("m/gemini:online");
    body["stream"] = json!(true);
    let (status, events) = gateway.stream(&body).await;
    assert_eq!(status, 200, "{events:?}");
    let upstream = mock.requests_for(fixture).pop().unwrap().json.unwrap();
    assert_eq!(
        upstream["tools"],
        json!([{"google_search": {}}]),
        "{upstream}"
    );
    let chunks = chunks(&events);
    let annotated: Vec<&Value> = chunks
        .iter()
        .filter(|chunk| chunk["choices"][0]["delta"].get("annotations").is_some())
        .collect();
    assert_eq!(annotated.len(), 1, "{events:?}");
    let content = streamed_text(&chunks);
    assert_cites_shannon(
        &content,
        &annotated[0]["choices"][0]["delta"]["annotations"],
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(
        usage["server_tool_use"]["web_search_requests"], 1,
        "{usage}"
    );
    assert_eq!(
        usage["cost_details"]["upstream_inference_cost"],
        json!(0.01),
        "{usage}"
    );
}

#[tokio::test]
async fn a_responses_client_gets_the_citations_as_output_text_annotations() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("claude", "anthropic", &mock, CLAUDE_SEARCH, ""),
        free_model("m/claude", "claude", ", web_search_price = \"0.01\""),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let body = json!({"model": "m/claude", "input": "When was Claude Shannon born?",
        "tools": [{"type": "web_search"}]});
    let post = |body: Value| {
        gateway
            .client
            .post(format!("{}/v1/responses", gateway.url))
            .json(&body)
            .send()
    };
    let answer: Value = post(body.clone()).await.unwrap().json().await.unwrap();
    let part = answer["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["type"] == "message")
        .map(|item| item["content"][0].clone())
        .unwrap_or_else(|| panic!("{answer}"));
    let cited = |part: &Value| {
        let annotation = &part["annotations"][0];
        assert_eq!(annotation["type"], "url_citation", "{part}");
        assert_eq!(
            annotation["url"],
            "https://en.wikipedia.org/wiki/Claude_Shannon"
        );
        let text = part["text"].as_str().unwrap();
        let (start, end) = (
            annotation["start_index"].as_u64().unwrap() as usize,
            annotation["end_index"].as_u64().unwrap() as usize,
        );
        text.chars()
            .skip(start)
            .take(end - start)
            .collect::<String>()
    };
    let sentence = "Claude Shannon was born on April 30, 1916, in Petoskey, Michigan";
    assert_eq!(cited(&part), sentence);

    // Streamed: an annotation event, and the finished part carries it.
    let mut streamed = body;
    streamed["stream"] = json!(true);
    let text = post(streamed).await.unwrap().text().await.unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str(data).ok())
        .collect();
    let added = events
        .iter()
        .find(|event| event["type"] == "response.output_text.annotation.added")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(added["annotation"]["title"], "Claude Shannon - Wikipedia");
    let done = events
        .iter()
        .find(|event| event["type"] == "response.content_part.done")
        .unwrap();
    assert_eq!(cited(&done["part"]), sentence);
}

async fn messages(gateway: &Gateway, body: &Value) -> (u16, Value) {
    let response = gateway
        .client
        .post(format!("{}/v1/messages", gateway.url))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn ask_claude(model: &str, tool: Value) -> Value {
    json!({"model": model, "max_tokens": 256, "tools": [tool],
        "messages": [{"role": "user", "content": "When was Claude Shannon born?"}]})
}

#[tokio::test]
async fn the_messages_apis_own_search_tool_is_served_by_the_gateways_search() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("claude", "anthropic", &mock, CLAUDE_SEARCH, ""),
        provider("oa", "openai", &mock, OPENAI_TEXT, ""),
        free_model("m/claude", "claude", ", web_search_price = \"0.01\""),
        free_model("m/plain", "oa", ", web_search_price = \"0.01\""),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    let tool = json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 3,
        "allowed_domains": ["wikipedia.org"],
        "user_location": {"type": "approximate", "city": "Petoskey", "country": "US"}});
    let (status, answer) = messages(&gateway, &ask_claude("m/claude", tool.clone())).await;
    assert_eq!(status, 200, "{answer}");
    let upstream = mock
        .requests_for(CLAUDE_SEARCH)
        .pop()
        .unwrap()
        .json
        .unwrap();
    assert_eq!(
        upstream["tools"],
        json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 3,
            "allowed_domains": ["wikipedia.org"],
            "user_location": {"type": "approximate", "city": "Petoskey", "country": "US"}}]),
        "{upstream}"
    );
    // The cited block comes back with its web citation, and the search is counted.
    let cited = answer["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|block| block.get("citations").is_some())
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(
        cited["text"],
        "Claude Shannon was born on April 30, 1916, in Petoskey, Michigan"
    );
    assert_eq!(cited["citations"][0]["type"], "web_search_result_location");
    assert_eq!(
        answer["usage"]["server_tool_use"]["web_search_requests"], 1,
        "{answer}"
    );
    // Streamed: the citation as a citations_delta, the search in message_delta's usage.
    let mut streamed = ask_claude("m/claude", tool.clone());
    streamed["stream"] = json!(true);
    let text = gateway
        .client
        .post(format!("{}/v1/messages", gateway.url))
        .json(&streamed)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let citation = events
        .iter()
        .find(|event| event["delta"]["type"] == "citations_delta")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        citation["delta"]["citation"]["type"],
        "web_search_result_location"
    );
    let delta = events
        .iter()
        .find(|event| event["type"] == "message_delta")
        .unwrap();
    assert_eq!(
        delta["usage"]["server_tool_use"]["web_search_requests"], 1,
        "{delta}"
    );

    // An endpoint that cannot search: a 400 in Anthropic's shape, no upstream call.
    let before = mock.requests().len();
    let (status, answer) = messages(&gateway, &ask_claude("m/plain", tool.clone())).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["type"], "error", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("web search"),
        "{answer}"
    );
    // What no engine behind Switchyard reads is refused by name.
    let mut deferred = tool;
    deferred["defer_loading"] = json!(true);
    let (status, answer) = messages(&gateway, &ask_claude("m/claude", deferred)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`defer_loading`"),
        "{answer}"
    );
    assert_eq!(mock.requests().len(), before, "no upstream call");
}

#[tokio::test]
async fn search_where_no_endpoint_searches_at_a_known_price_is_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("oa", "openai", &mock, OPENAI_TEXT, ""),
        provider("claude", "anthropic", &mock, CLAUDE_SEARCH, ""),
        free_model("m/plain", "oa", ", web_search_price = \"0.01\""),
        free_model("m/unpriced", "claude", ""),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    for (model, reason) in [
        ("m/plain:online", "missing_capability"),
        ("m/unpriced:online", "web_search_price_unknown"),
    ] {
        let (status, answer) = chat(&gateway, &ask(model)).await;
        assert_eq!(status, 400, "{model}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("web search"), "{model}: {message}");
        assert_eq!(
            answer["error"]["metadata"]["excluded"][0]["excluded"], reason,
            "{answer}"
        );
    }
    let mut unserved = ask("m/unpriced");
    unserved["plugins"] = json!([{"id": "web", "engine": "exa"}]);
    let (status, answer) = chat(&gateway, &unserved).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("exa"));
    assert!(mock.requests().is_empty(), "no upstream call");
}

#[tokio::test]
async fn a_prompt_no_context_holds_is_refused_with_the_estimate() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        provider("oa", "openai", &mock, OPENAI_TEXT, ""),
        free_model("m/small", "oa", ""),
    ]
    .concat();
    let gateway = Gateway::start(&config).await;
    // 4,000 bytes of text (about 1,000 tokens) plus 200 of output: more than 1,000.
    let long = json!({"model": "m/small", "max_tokens": 200,
        "messages": [{"role": "user", "content": "word ".repeat(800)}]});
    let (status, answer) = chat(&gateway, &long).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["error"]["code"], "context_length_exceeded",
        "{answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1200") && message.contains("1000"),
        "{message}"
    );
    assert_eq!(answer["error"]["metadata"]["largest_context"], 1000);
    assert!(mock.requests().is_empty(), "no upstream call");
    // Without the output limit it fits.
    let mut fits = long.clone();
    fits.as_object_mut().unwrap().remove("max_tokens");
    let (status, answer) = chat(&gateway, &fits).await;
    assert_eq!(status, 200, "{answer}");
}
