//! Builds the upstream request: the canonical body reduced to the fields Mistral accepts.

use serde_json::{Map, Value, json};
use switchyard_sdk::provider::*;

/// The path of the chat completions endpoint under the base URL, unless the `path` option says otherwise.
pub const DEFAULT_PATH: &str = "chat/completions";

/// Top-level fields passed through as they are (Mistral refuses unknown fields).
const PASSED: &[&str] = &[
    "temperature",
    "top_p",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "response_format",
    "tools",
    "parallel_tool_calls",
    "safe_prompt",
    "prompt_mode",
    "prediction",
];

/// Builds `POST <base_url>/chat/completions`.
pub fn build(
    request: ChatRequest,
    endpoint: &EndpointSettings,
    stream: bool,
) -> Result<HttpRequest, PluginError> {
    let options = PathOptions::parse(endpoint, DEFAULT_PATH)?;
    let full = match serde_json::to_value(&request) {
        Ok(Value::Object(full)) => full,
        _ => {
            return Err(PluginError::Internal(
                "cannot serialise the chat request".to_owned(),
            ));
        }
    };
    let mut body = Map::new();
    body.insert("model".to_owned(), json!(endpoint.upstream_model));
    let messages = request
        .messages
        .iter()
        .map(message)
        .collect::<Result<Vec<_>, _>>()?;
    body.insert("messages".to_owned(), Value::Array(messages));
    for field in PASSED {
        if let Some(value) = full.get(*field).filter(|v| !v.is_null()) {
            body.insert((*field).to_owned(), value.clone());
        }
    }
    if let Some(limit) = request.output_token_limit() {
        body.insert("max_tokens".to_owned(), json!(limit));
    }
    if let Some(seed) = full.get("seed").filter(|s| s.is_number()) {
        body.insert("random_seed".to_owned(), seed.clone());
    }
    if !body.contains_key("prompt_mode") && wants_reasoning(&request) {
        body.insert("prompt_mode".to_owned(), json!("reasoning"));
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice.as_str() {
            Some("required") => json!("any"),
            _ => choice.clone(),
        };
        body.insert("tool_choice".to_owned(), choice);
    }
    if stream {
        body.insert("stream".to_owned(), Value::Bool(true));
    }
    json_post(
        join_url(&endpoint.base_url, &options.path),
        &body,
        options.headers,
        options.credential,
    )
}

/// Whether OpenRouter's `reasoning` object asks for reasoning (not `enabled: false`, not effort
/// `none`): Mistral's reasoning models then get their reasoning system prompt
/// (`prompt_mode: "reasoning"`), unless the request chose a `prompt_mode` itself.
fn wants_reasoning(request: &ChatRequest) -> bool {
    request
        .extra
        .get("reasoning")
        .filter(|r| r.is_object())
        .is_some_and(|reasoning| {
            reasoning.get("enabled").and_then(Value::as_bool) != Some(false)
                && reasoning.get("effort").and_then(Value::as_str) != Some("none")
        })
}

/// One message with only the fields Mistral accepts.
fn message(message: &Message) -> Result<Value, PluginError> {
    let mut out = Map::new();
    let role = match message.role {
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    out.insert("role".to_owned(), json!(role));
    match &message.content {
        None => {}
        Some(Content::Text(text)) => {
            out.insert("content".to_owned(), json!(text));
        }
        Some(Content::Parts(parts)) => {
            let parts = parts.iter().map(part).collect::<Result<Vec<_>, _>>()?;
            out.insert("content".to_owned(), Value::Array(parts));
        }
    }
    if let Some(name) = &message.name {
        out.insert("name".to_owned(), json!(name));
    }
    if let Some(calls) = message.tool_calls.as_ref().filter(|c| !c.is_empty()) {
        let calls: Vec<Value> = calls
            .iter()
            .map(|call| {
                json!({"id": call_id(&call.id), "type": "function", "function": {
                    "name": call.function.name, "arguments": call.function.arguments}})
            })
            .collect();
        out.insert("tool_calls".to_owned(), Value::Array(calls));
    }
    if let Some(id) = &message.tool_call_id {
        out.insert("tool_call_id".to_owned(), json!(call_id(id)));
    }
    if let Some(prefix) = message.extra.get("prefix").filter(|p| p.is_boolean()) {
        out.insert("prefix".to_owned(), prefix.clone());
    }
    Ok(Value::Object(out))
}

/// A content part: text as is, `image_url` in Mistral's string form.
fn part(part: &ContentPart) -> Result<Value, PluginError> {
    match (part.kind.as_str(), &part.image_url) {
        ("text", _) => Ok(json!({"type": "text", "text": part.text.as_deref().unwrap_or("")})),
        ("image_url", Some(image)) => Ok(json!({"type": "image_url", "image_url": image.url})),
        (kind, _) => Err(PluginError::InvalidRequest(format!(
            "content part type `{kind}` is not supported by the mistral adapter"
        ))),
    }
}

/// Mistral accepts only tool call ids of exactly 9 ASCII letters and digits. Such ids pass
/// unchanged; any other id maps to 9 base-62 digits of its FNV-1a hash, so a call and the tool
/// result answering it still match.
pub fn call_id(id: &str) -> String {
    if id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return id.to_owned();
    }
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (0..9)
        .map(|_| {
            let digit = DIGITS[(hash % 62) as usize];
            hash /= 62;
            char::from(digit)
        })
        .collect()
}
