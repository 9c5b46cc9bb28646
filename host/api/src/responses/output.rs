//! The `response` object and its output items, built from the canonical chat answer.

use serde_json::{Map, Value, json};

use super::request::Echo;
use switchyard_gateway::passed_output::PassedOutput;

/// How a response ended, from the chat finish reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Finished normally (including tool calls).
    Completed,
    /// Cut by the output token limit.
    MaxOutputTokens,
    /// Stopped by the provider's content filter.
    ContentFilter,
}

impl Status {
    /// From a chat `finish_reason`.
    pub fn from_finish_reason(reason: Option<&str>) -> Status {
        match reason {
            Some("length") => Status::MaxOutputTokens,
            Some("content_filter") => Status::ContentFilter,
            _ => Status::Completed,
        }
    }

    /// The `status` of the response object.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::MaxOutputTokens | Status::ContentFilter => "incomplete",
        }
    }

    /// The `incomplete_details` of the response object.
    pub fn incomplete_details(self) -> Value {
        match self {
            Status::Completed => Value::Null,
            Status::MaxOutputTokens => json!({ "reason": "max_output_tokens" }),
            Status::ContentFilter => json!({ "reason": "content_filter" }),
        }
    }
}

/// The identity of the response: the generation's id, time, model and provider.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The generation id (`gen-…`).
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The model that served.
    pub model: String,
    /// The provider that served.
    pub provider: Value,
}

impl Identity {
    /// Read from a stamped chat completion or chunk.
    pub fn from_chat(object: &Map<String, Value>) -> Identity {
        Identity {
            id: object
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            created_at: object.get("created").and_then(Value::as_u64).unwrap_or(0),
            model: object
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            provider: object.get("provider").cloned().unwrap_or(Value::Null),
        }
    }

    /// An output item id: `<prefix>_<generation id without gen->_<index>`.
    pub fn item_id(&self, prefix: &str, index: usize) -> String {
        let base = self.id.strip_prefix("gen-").unwrap_or(&self.id);
        format!("{prefix}_{base}_{index}")
    }
}

/// A `response` object.
pub fn response(
    identity: &Identity,
    echo: &Echo,
    status: &str,
    output: Vec<Value>,
    usage: Option<&Value>,
) -> Value {
    let mut response = json!({
        "id": identity.id,
        "object": "response",
        "created_at": identity.created_at,
        "status": status,
        "error": null,
        "incomplete_details": null,
        "instructions": echo.instructions,
        "max_output_tokens": echo.max_output_tokens,
        "metadata": echo.metadata,
        "model": identity.model,
        "output": output,
        "parallel_tool_calls": echo.parallel_tool_calls,
        "temperature": echo.temperature,
        "tool_choice": echo.tool_choice,
        "tools": echo.tools,
        "top_p": echo.top_p,
        "text": echo.text,
        "reasoning": echo.reasoning,
        "store": false,
        "background": false,
        "user": echo.user,
        "provider": identity.provider,
    });
    if let (Some(usage), Some(object)) = (usage, response.as_object_mut()) {
        object.insert("usage".to_owned(), responses_usage(usage));
    }
    response
}

/// Chat usage (as the gateway writes it) in the Responses shape, keeping `cost` and
/// `cost_details`.
pub fn responses_usage(usage: &Value) -> Value {
    let count = |value: &Value| value.as_u64().unwrap_or(0);
    let input = count(&usage["prompt_tokens"]);
    let output = count(&usage["completion_tokens"]);
    let mut out = json!({
        "input_tokens": input,
        "input_tokens_details": {
            "cached_tokens": count(&usage["prompt_tokens_details"]["cached_tokens"]),
            "cache_write_tokens": count(&usage["prompt_tokens_details"]["cache_write_tokens"]),
        },
        "output_tokens": output,
        "output_tokens_details": { "reasoning_tokens": count(&usage["completion_tokens_details"]["reasoning_tokens"]) },
        "total_tokens": input + output,
    });
    for key in ["cost", "cost_details"] {
        if let (Some(value), Some(object)) = (usage.get(key), out.as_object_mut()) {
            object.insert(key.to_owned(), value.clone());
        }
    }
    out
}

/// A reasoning output item.
pub fn reasoning_item(id: &str, reasoning: &Reasoning) -> Value {
    let mut item = json!({
        "type": "reasoning",
        "id": id,
        "summary": reasoning.summaries.iter().map(|text| json!({"type": "summary_text", "text": text})).collect::<Vec<_>>(),
    });
    if !reasoning.text.is_empty() {
        item["content"] = json!([{ "type": "reasoning_text", "text": reasoning.text }]);
    }
    if let Some(encrypted) = &reasoning.encrypted {
        item["encrypted_content"] = json!(encrypted);
    }
    item
}

/// An assistant message output item with one `output_text` part carrying `annotations` (and a
/// refusal part, if any).
pub fn message_item(
    id: &str,
    text: &str,
    annotations: Vec<Value>,
    refusal: Option<&str>,
    status: &str,
) -> Value {
    let mut content = Vec::new();
    if !text.is_empty() || refusal.is_none() {
        let mut part = output_text(text);
        part["annotations"] = Value::Array(annotations);
        content.push(part);
    }
    if let Some(refusal) = refusal {
        content.push(json!({ "type": "refusal", "refusal": refusal }));
    }
    json!({ "type": "message", "id": id, "role": "assistant", "status": status, "content": content })
}

/// An `output_text` content part.
pub fn output_text(text: &str) -> Value {
    json!({ "type": "output_text", "text": text, "annotations": [], "logprobs": [] })
}

/// A chat message's or delta's `url_citation` annotations (`{type, url_citation: {...}}`) in
/// the Responses API's shape (`{type, url, title, start_index, end_index}`), the offsets being
/// characters of the one `output_text` part either way.
pub fn annotations(chat: Option<&Value>) -> Vec<Value> {
    let cited = chat.and_then(Value::as_array).into_iter().flatten();
    cited
        .filter(|annotation| annotation["type"] == "url_citation")
        .filter_map(|annotation| {
            let citation = annotation.get("url_citation")?;
            // Every field is required by the API's type (a page without a title gets "").
            Some(json!({
                "type": "url_citation",
                "url": citation.get("url")?.as_str()?,
                "title": citation.get("title").and_then(Value::as_str).unwrap_or_default(),
                "start_index": citation.get("start_index")?.as_u64()?,
                "end_index": citation.get("end_index")?.as_u64()?,
            }))
        })
        .collect()
}

/// A function call output item.
pub fn function_call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({
        "type": "function_call", "id": id, "call_id": call_id, "name": name,
        "arguments": arguments, "status": status,
    })
}

/// Reasoning gathered from a message or from stream deltas.
#[derive(Debug, Clone, Default)]
pub struct Reasoning {
    /// Plain reasoning text (`reasoning`, `reasoning.text` details).
    pub text: String,
    /// Summaries (`reasoning.summary` details).
    pub summaries: Vec<String>,
    /// Encrypted reasoning (`reasoning.encrypted` details), passed back on the next turn.
    pub encrypted: Option<String>,
}

impl Reasoning {
    /// Whether there is nothing to show or pass back.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.summaries.is_empty() && self.encrypted.is_none()
    }

    /// Adds `reasoning_details` entries; returns the text and summary added, for stream deltas.
    pub fn add_details(&mut self, details: &Value) -> (String, Vec<String>) {
        let (mut text, mut summaries) = (String::new(), Vec::new());
        for detail in details.as_array().into_iter().flatten() {
            match detail.get("type").and_then(Value::as_str) {
                Some("reasoning.text") => {
                    if let Some(t) = detail.get("text").and_then(Value::as_str) {
                        text.push_str(t);
                    }
                }
                Some("reasoning.summary") => {
                    if let Some(s) = detail.get("summary").and_then(Value::as_str) {
                        summaries.push(s.to_owned());
                    }
                }
                Some("reasoning.encrypted") => {
                    if let Some(data) = detail.get("data").and_then(Value::as_str) {
                        self.encrypted = Some(data.to_owned());
                    }
                }
                _ => {}
            }
        }
        self.text.push_str(&text);
        self.summaries.extend(summaries.iter().cloned());
        (text, summaries)
    }
}

/// Translates a whole `chat.completion` (stamped, with usage) into a `response` object. Its
/// output items are `passed`, the ones a Responses upstream wrote, when given; otherwise they are
/// built from the chat message.
pub fn from_completion(
    completion: &Map<String, Value>,
    echo: &Echo,
    passed: Option<PassedOutput>,
) -> Value {
    let identity = Identity::from_chat(completion);
    let choice = completion
        .get("choices")
        .and_then(|c| c.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    let output = match passed.map(|passed| serde_json::to_value(passed.0)) {
        Some(Ok(Value::Array(items))) => items,
        _ => output_of(&identity, &choice["message"]),
    };
    let status = Status::from_finish_reason(choice["finish_reason"].as_str());
    let mut response = response(
        &identity,
        echo,
        status.as_str(),
        output,
        completion.get("usage"),
    );
    response["incomplete_details"] = status.incomplete_details();
    super::tools::name_back(&mut response, &echo.namespaces);
    if let Some(routing) = completion.get("routing") {
        response["routing"] = routing.clone();
    }
    response
}

/// Output items built from a chat `message`: its reasoning, its text and its tool calls.
fn output_of(identity: &Identity, message: &Value) -> Vec<Value> {
    let mut output = Vec::new();
    let mut reasoning = Reasoning::default();
    if let Some(details) = message.get("reasoning_details") {
        reasoning.add_details(details);
    }
    if reasoning.text.is_empty()
        && let Some(text) = message.get("reasoning").and_then(Value::as_str)
    {
        reasoning.text = text.to_owned();
    }
    if !reasoning.is_empty() {
        output.push(reasoning_item(
            &identity.item_id("rs", output.len()),
            &reasoning,
        ));
    }
    let text = message.get("content").and_then(Value::as_str).unwrap_or("");
    let refusal = message.get("refusal").and_then(Value::as_str);
    let calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !text.is_empty() || refusal.is_some() || calls.is_empty() {
        output.push(message_item(
            &identity.item_id("msg", output.len()),
            text,
            annotations(message.get("annotations")),
            refusal,
            "completed",
        ));
    }
    for call in &calls {
        let field = |name: &str| call["function"][name].as_str().unwrap_or_default();
        output.push(function_call_item(
            &identity.item_id("fc", output.len()),
            call["id"].as_str().unwrap_or_default(),
            field("name"),
            field("arguments"),
            "completed",
        ));
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_with_reasoning_text_and_tool_calls_becomes_three_items() {
        let completion = json!({
            "id": "gen-1-abc", "object": "chat.completion", "created": 7, "model": "a/b", "provider": "p",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me check.",
                "reasoning_details": [{"type": "reasoning.summary", "summary": "s"}, {"type": "reasoning.encrypted", "data": "enc"}],
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]
            }}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 2},
                      "completion_tokens_details": {"reasoning_tokens": 3}, "cost": 0.5}
        });
        let response = from_completion(
            completion.as_object().expect("object"),
            &Echo::default(),
            None,
        );
        let output = response["output"].as_array().expect("output");
        assert_eq!(output.len(), 3);
        assert_eq!(output[0]["type"], "reasoning");
        assert_eq!(output[0]["summary"][0]["text"], "s");
        assert_eq!(output[0]["encrypted_content"], "enc");
        assert_eq!(output[1]["content"][0]["text"], "Let me check.");
        assert_eq!(output[2]["call_id"], "c1");
        assert_eq!(output[2]["arguments"], "{\"city\":\"Paris\"}");
        assert_eq!(response["status"], "completed");
        assert_eq!(response["usage"]["input_tokens"], 10);
        assert_eq!(
            response["usage"]["input_tokens_details"]["cached_tokens"],
            2
        );
        assert_eq!(
            response["usage"]["output_tokens_details"]["reasoning_tokens"],
            3
        );
        assert_eq!(response["usage"]["total_tokens"], 15);
        assert_eq!(response["usage"]["cost"], 0.5);
    }

    #[test]
    fn a_length_finish_is_incomplete() {
        let completion = json!({"id": "gen-1", "choices": [{"finish_reason": "length", "message": {"content": "cut"}}]});
        let response = from_completion(
            completion.as_object().expect("object"),
            &Echo::default(),
            None,
        );
        assert_eq!(response["status"], "incomplete");
        assert_eq!(
            response["incomplete_details"]["reason"],
            "max_output_tokens"
        );
    }
}
