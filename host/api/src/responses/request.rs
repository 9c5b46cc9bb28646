//! A Responses API request (`POST /v1/responses`) translated into the canonical chat request.
//!
//! Requests are stateless: `previous_response_id`, `conversation`, `store: true` and
//! `background: true` are refused with a 400 that says to send the history in `input` instead.
//! Function and namespace tools are served; built-in tools go to the gateway (see `tools`).
//!
//! The chat request also carries the client's items and settings as sent
//! ([`RESPONSES_EXTENSION`]), checked against the SDK's allow-list of self-contained items, so an
//! upstream that speaks the Responses API receives them without a round trip through `messages`.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_sdk::responses::{
    InputItem, RESPONSES_EXTENSION, ReasoningSettings, ResponsesExtension, TextSettings, flat_name,
};

use crate::error::ApiError;

/// Fields copied to the chat request unchanged (OpenAI's and OpenRouter's shared parameters).
const PASSED_THROUGH: &[&str] = &[
    "model",
    "models",
    "provider",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "stop",
    "frequency_penalty",
    "presence_penalty",
    "parallel_tool_calls",
    "user",
    "prompt_cache_key",
    "safety_identifier",
    // OpenRouter's: `web` is served (see `api::plugins`), the other ids are transforms the
    // gateway resolves.
    "plugins",
    "transforms",
    // Served or refused by name by the adapter.
    "top_logprobs",
    "service_tier",
];

/// Fields read into the response object or without effect on a stateless chat call.
const ACCEPTED: &[&str] = &[
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "reasoning",
    "text",
    "max_output_tokens",
    "metadata",
    "include",
    "truncation",
    "max_tool_calls",
    "stream_options",
    "store",
    "background",
    // Client bookkeeping (the Codex CLI's thread and turn ids).
    "client_metadata",
];

/// What the response object echoes back from the request.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    /// `instructions`, as sent.
    pub instructions: Value,
    /// `max_output_tokens`, as sent.
    pub max_output_tokens: Value,
    /// `metadata`, as sent (an empty object when absent).
    pub metadata: Value,
    /// `parallel_tool_calls` (default true).
    pub parallel_tool_calls: bool,
    /// `temperature`, as sent.
    pub temperature: Value,
    /// `top_p`, as sent.
    pub top_p: Value,
    /// `tool_choice` (default `auto`).
    pub tool_choice: Value,
    /// `tools`, as sent (empty when absent).
    pub tools: Value,
    /// `text` (default `{"format": {"type": "text"}}`).
    pub text: Value,
    /// `reasoning`, as sent.
    pub reasoning: Value,
    /// `user`, as sent.
    pub user: Value,
    /// The `namespace` tools flattened into function tools, whose calls are named back.
    pub namespaces: Vec<String>,
}

/// A translated request: the chat request body and what the answer echoes.
#[derive(Debug)]
pub struct Translated {
    /// The canonical chat request.
    pub chat: Value,
    /// Echoed request fields.
    pub echo: Echo,
    /// The client offered the `web_search` tool.
    pub offers_web_search: bool,
}

/// Translates a Responses request body into a chat request.
pub fn translate(body: &[u8]) -> Result<Translated, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("request body is not valid JSON: {e}")))?;
    let Value::Object(request) = value else {
        return Err(ApiError::invalid_request(
            "request body must be a JSON object",
        ));
    };
    crate::request_limits::check_counts(&request)?;
    refuse_stateful(&request)?;
    crate::unserved::check(&request)?;
    if let Some(key) = request
        .keys()
        .find(|key| !PASSED_THROUGH.contains(&key.as_str()) && !ACCEPTED.contains(&key.as_str()))
    {
        return Err(
            ApiError::invalid_request(format!("unsupported parameter `{key}`"))
                .with_code("unsupported_parameter"),
        );
    }

    let mut chat = Map::new();
    for key in PASSED_THROUGH {
        if let Some(value) = request.get(*key).filter(|v| !v.is_null()) {
            chat.insert((*key).to_owned(), value.clone());
        }
    }
    let mut messages = Vec::new();
    match request.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => messages.push(json!({"role": "system", "content": text})),
        Some(_) => return Err(ApiError::invalid_request("`instructions` must be a string")),
    }
    match request.get("input") {
        Some(Value::String(text)) => messages.push(json!({"role": "user", "content": text})),
        Some(Value::Array(items)) => messages.extend(input_messages(items)?),
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_request("`input` is required").with_code("missing_input"));
        }
        Some(_) => {
            return Err(ApiError::invalid_request(
                "`input` must be a string or an array of items",
            ));
        }
    }
    if messages.is_empty() {
        return Err(ApiError::invalid_request("`input` must not be empty"));
    }
    chat.insert("messages".to_owned(), Value::Array(messages));
    chat.insert(
        RESPONSES_EXTENSION.to_owned(),
        serde_json::to_value(passed_through(&request)?)
            .map_err(|e| ApiError::invalid_request(e.to_string()))?,
    );

    let tools = match request.get("tools") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tools)) => tools.clone(),
        Some(_) => return Err(ApiError::invalid_request("`tools` must be an array")),
    };
    let chat_tools = super::tools::translate(&tools)?;
    let offers_web_search = chat_tools.web_search.is_some();
    if !chat_tools.functions.is_empty() {
        chat.insert("tools".to_owned(), Value::Array(chat_tools.functions));
    }
    if let Some(Value::Object(extension)) = chat.get_mut(RESPONSES_EXTENSION)
        && let Some(tool) = &chat_tools.web_search
    {
        extension.insert("web_search_tool".to_owned(), tool.clone());
    }
    if let Some(Value::Object(extension)) = chat.get_mut(RESPONSES_EXTENSION)
        && !chat_tools.builtin.is_empty()
    {
        extension.insert("builtin_tools".to_owned(), Value::Array(chat_tools.builtin));
    }
    if let Some(choice) = request.get("tool_choice").filter(|v| !v.is_null()) {
        chat.insert("tool_choice".to_owned(), chat_tool_choice(choice)?);
    }
    if let Some(reasoning) = request.get("reasoning").filter(|v| !v.is_null()) {
        let effort = reasoning.get("effort").filter(|v| !v.is_null());
        if let Some(effort) = effort {
            chat.insert("reasoning".to_owned(), json!({ "effort": effort }));
        }
    }
    let text = request.get("text");
    if let Some(format) = text.and_then(|text| text.get("format"))
        && let Some(format) = response_format(format)?
    {
        chat.insert("response_format".to_owned(), format);
    }
    if let Some(verbosity) = text
        .and_then(|text| text.get("verbosity"))
        .filter(|v| !v.is_null())
    {
        chat.insert("verbosity".to_owned(), verbosity.clone());
    }
    if let Some(limit) = request.get("max_output_tokens").filter(|v| !v.is_null()) {
        chat.insert("max_completion_tokens".to_owned(), limit.clone());
    }

    let echo = Echo {
        instructions: request.get("instructions").cloned().unwrap_or(Value::Null),
        max_output_tokens: request
            .get("max_output_tokens")
            .cloned()
            .unwrap_or(Value::Null),
        metadata: request
            .get("metadata")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| json!({})),
        parallel_tool_calls: request
            .get("parallel_tool_calls")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        temperature: request.get("temperature").cloned().unwrap_or(Value::Null),
        top_p: request.get("top_p").cloned().unwrap_or(Value::Null),
        tool_choice: request
            .get("tool_choice")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| json!("auto")),
        tools: Value::Array(tools),
        text: request
            .get("text")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| json!({"format": {"type": "text"}})),
        reasoning: request.get("reasoning").cloned().unwrap_or(Value::Null),
        user: request.get("user").cloned().unwrap_or(Value::Null),
        namespaces: chat_tools.namespaces,
    };
    Ok(Translated {
        chat: Value::Object(chat),
        echo,
        offers_web_search,
    })
}

/// The client's items and settings for a Responses API upstream to receive as sent, checked
/// against the allow-list of self-contained items ([`ResponsesExtension`]). `input` is known to
/// be a string or an array here.
fn passed_through(request: &Map<String, Value>) -> Result<ResponsesExtension, ApiError> {
    let items = match request.get("input") {
        Some(Value::String(text)) => {
            vec![json!({"type": "message", "role": "user", "content": text})]
        }
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    let input = items
        .into_iter()
        .enumerate()
        .map(|(index, mut item)| {
            if let Value::Object(item) = &mut item {
                item.entry("type").or_insert_with(|| json!("message"));
            }
            InputItem::deserialize(&item)
                .map_err(|e| ApiError::invalid_request(format!("`input[{index}]`: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let setting = |key: &str| request.get(key).filter(|v| !v.is_null());
    let invalid =
        |key: &str, e: serde_json::Error| ApiError::invalid_request(format!("`{key}`: {e}"));
    Ok(ResponsesExtension {
        input,
        instructions: setting("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
        reasoning: setting("reasoning")
            .map(|v| ReasoningSettings::deserialize(v).map_err(|e| invalid("reasoning", e)))
            .transpose()?,
        text: setting("text")
            .map(|v| TextSettings::deserialize(v).map_err(|e| invalid("text", e)))
            .transpose()?,
        web_search_tool: None,
        builtin_tools: Vec::new(),
    })
}

/// Stored state is not kept: such requests are refused with how to send the history instead.
fn refuse_stateful(request: &Map<String, Value>) -> Result<(), ApiError> {
    const HOW: &str = "Switchyard does not store responses: send the whole conversation in \
        `input` (earlier messages, `function_call` and `function_call_output` items, and \
        reasoning items with their `encrypted_content`) and leave `store` false";
    let set = |key: &str| request.get(key).is_some_and(|v| !v.is_null());
    if set("previous_response_id") {
        return Err(ApiError::invalid_request(format!(
            "`previous_response_id` is not supported. {HOW}"
        ))
        .with_code("stateful_request_unsupported"));
    }
    if set("conversation") {
        return Err(
            ApiError::invalid_request(format!("`conversation` is not supported. {HOW}"))
                .with_code("stateful_request_unsupported"),
        );
    }
    if request.get("store") == Some(&Value::Bool(true)) {
        return Err(
            ApiError::invalid_request(format!("`store: true` is not supported. {HOW}"))
                .with_code("stateful_request_unsupported"),
        );
    }
    if request.get("background") == Some(&Value::Bool(true)) {
        return Err(ApiError::invalid_request(
            "`background: true` is not supported: responses are not stored; stream the answer instead",
        )
        .with_code("stateful_request_unsupported"));
    }
    Ok(())
}

/// The chat messages of `input` items, in order.
fn input_messages(items: &[Value]) -> Result<Vec<Value>, ApiError> {
    let mut messages: Vec<Value> = Vec::new();
    // Reasoning items precede the assistant output they belong to.
    let mut pending_reasoning: Vec<Value> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let at = |message: &str| ApiError::invalid_request(format!("`input[{index}]`: {message}"));
        let Value::Object(item) = item else {
            return Err(at("an input item must be an object"));
        };
        let kind = item.get("type").and_then(Value::as_str);
        match kind {
            None | Some("message") => {
                let role = item
                    .get("role")
                    .and_then(Value::as_str)
                    .ok_or_else(|| at("a message needs a `role`"))?;
                if !matches!(role, "user" | "system" | "developer" | "assistant") {
                    return Err(at(&format!("unknown role `{role}`")));
                }
                let content = message_content(item.get("content")).map_err(|m| at(&m))?;
                let mut message = json!({ "role": role, "content": content });
                if role == "assistant" {
                    attach_reasoning(&mut message, &mut pending_reasoning);
                }
                messages.push(message);
            }
            Some("function_call") => {
                let field = |name: &str| {
                    item.get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| at(&format!("a function_call needs a string `{name}`")))
                };
                let name = match item.get("namespace").and_then(Value::as_str) {
                    Some(namespace) => flat_name(namespace, &field("name")?),
                    None => field("name")?,
                };
                let call = json!({
                    "id": field("call_id")?,
                    "type": "function",
                    "function": { "name": name, "arguments": field("arguments")? },
                });
                append_tool_call(&mut messages, call, &mut pending_reasoning);
            }
            Some("function_call_output") => {
                let call_id = item
                    .get("call_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| at("a function_call_output needs a string `call_id`"))?;
                let output = match item.get("output") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|part| part.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => return Err(at("a function_call_output needs an `output`")),
                };
                messages
                    .push(json!({ "role": "tool", "tool_call_id": call_id, "content": output }));
            }
            Some("reasoning") => pending_reasoning.extend(reasoning_details(item)),
            Some("item_reference") => {
                return Err(at(
                    "item references need stored responses, which Switchyard does not keep; send the item itself",
                ));
            }
            Some(other) => {
                return Err(at(&format!(
                    "input items of type `{other}` are not supported (built-in tools are not served)"
                )));
            }
        }
    }
    if !pending_reasoning.is_empty() {
        messages.push(
            json!({ "role": "assistant", "content": "", "reasoning_details": pending_reasoning }),
        );
    }
    Ok(messages)
}

/// Adds a tool call to the assistant message it belongs to: the last message when it is an
/// assistant message (calls of one turn arrive as consecutive items), else a new one.
fn append_tool_call(messages: &mut Vec<Value>, call: Value, reasoning: &mut Vec<Value>) {
    let last_is_assistant =
        reasoning.is_empty() && messages.last().is_some_and(|m| m["role"] == "assistant");
    if !last_is_assistant {
        let mut message = json!({ "role": "assistant", "content": null, "tool_calls": [] });
        attach_reasoning(&mut message, reasoning);
        messages.push(message);
    }
    if let Some(message) = messages.last_mut().and_then(Value::as_object_mut) {
        let calls = message
            .entry("tool_calls")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(calls) = calls {
            calls.push(call);
        } else {
            *calls = Value::Array(vec![call]);
        }
    }
}

fn attach_reasoning(message: &mut Value, reasoning: &mut Vec<Value>) {
    if !reasoning.is_empty()
        && let Some(message) = message.as_object_mut()
    {
        message.insert(
            "reasoning_details".to_owned(),
            Value::Array(std::mem::take(reasoning)),
        );
    }
}

/// A reasoning item as OpenRouter `reasoning_details` entries: its summary, its text and its
/// encrypted content (the format adapters round-trip).
fn reasoning_details(item: &Map<String, Value>) -> Vec<Value> {
    let id = item.get("id").cloned().unwrap_or(Value::Null);
    let mut details = Vec::new();
    let texts = |key: &str| -> Vec<String> {
        item.get(key)
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|part| part.get("text").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    for summary in texts("summary") {
        details.push(json!({"type": "reasoning.summary", "summary": summary, "id": id, "format": "openai-responses-v1"}));
    }
    for text in texts("content") {
        details.push(json!({"type": "reasoning.text", "text": text, "id": id, "format": "openai-responses-v1"}));
    }
    if let Some(Value::String(data)) = item.get("encrypted_content") {
        details.push(json!({"type": "reasoning.encrypted", "data": data, "id": id, "format": "openai-responses-v1"}));
    }
    details
}

/// A message's content: a string, or Responses content parts as chat content parts.
fn message_content(content: Option<&Value>) -> Result<Value, String> {
    let parts = match content {
        Some(Value::String(text)) => return Ok(Value::String(text.clone())),
        Some(Value::Array(parts)) => parts,
        _ => return Err("a message needs `content` (a string or an array of parts)".to_owned()),
    };
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
        let text = || part.get("text").cloned().unwrap_or(Value::Null);
        match kind {
            "input_text" | "output_text" | "text" => out.push(json!({"type": "text", "text": text()})),
            "refusal" => out.push(json!({"type": "text", "text": part.get("refusal").cloned().unwrap_or(Value::Null)})),
            "input_image" => {
                let url = part
                    .get("image_url")
                    .and_then(Value::as_str)
                    .ok_or("an `input_image` needs an `image_url` (uploaded file ids are not supported)")?;
                let mut image = json!({ "url": url });
                if let Some(detail) = part.get("detail").filter(|d| !d.is_null()) {
                    image["detail"] = detail.clone();
                }
                out.push(json!({"type": "image_url", "image_url": image}));
            }
            "input_file" => {
                let data = part
                    .get("file_data")
                    .or_else(|| part.get("file_url"))
                    .and_then(Value::as_str)
                    .ok_or("an `input_file` needs `file_data` or `file_url` (uploaded file ids are not supported)")?;
                let mut file = json!({ "file_data": data });
                if let Some(name) = part.get("filename").filter(|d| !d.is_null()) {
                    file["filename"] = name.clone();
                }
                out.push(json!({"type": "file", "file": file}));
            }
            other => return Err(format!("content parts of type `{other}` are not supported")),
        }
    }
    Ok(Value::Array(out))
}

/// `auto`, `none`, `required` or `{type: function, name}` as chat's `tool_choice`.
fn chat_tool_choice(choice: &Value) -> Result<Value, ApiError> {
    match choice {
        Value::String(mode) if matches!(mode.as_str(), "auto" | "none" | "required") => {
            Ok(choice.clone())
        }
        Value::Object(object) if object.get("type") == Some(&json!("function")) => {
            let name = object.get("name").and_then(Value::as_str).ok_or_else(|| {
                ApiError::invalid_request("`tool_choice` of type function needs a `name`")
            })?;
            Ok(json!({ "type": "function", "function": { "name": name } }))
        }
        _ => Err(ApiError::invalid_request(
            "`tool_choice` must be `auto`, `none`, `required` or a function (built-in tools are not served)",
        )),
    }
}

/// `text.format` as chat's `response_format` (`None` for plain text).
fn response_format(format: &Value) -> Result<Option<Value>, ApiError> {
    match format.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({ "type": "json_object" }))),
        Some("json_schema") => {
            let mut schema = Map::new();
            for key in ["name", "schema", "strict", "description"] {
                if let Some(value) = format.get(key).filter(|v| !v.is_null()) {
                    schema.insert(key.to_owned(), value.clone());
                }
            }
            if !schema.contains_key("name") || !schema.contains_key("schema") {
                return Err(ApiError::invalid_request(
                    "`text.format` of type json_schema needs `name` and `schema`",
                ));
            }
            Ok(Some(
                json!({ "type": "json_schema", "json_schema": schema }),
            ))
        }
        Some(other) => Err(ApiError::invalid_request(format!(
            "`text.format` of type `{other}` is not supported"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(request: Value) -> Value {
        translate(request.to_string().as_bytes())
            .expect("valid request")
            .chat
    }

    fn refused(request: Value) -> String {
        match translate(request.to_string().as_bytes()) {
            Ok(_) => panic!("{request} should be refused"),
            Err(error) => error.message().to_owned(),
        }
    }

    #[test]
    fn a_string_input_with_instructions_becomes_two_messages() {
        let chat = chat(json!({
            "model": "a/b", "instructions": "Be brief.", "input": "Hi",
            "max_output_tokens": 50, "temperature": 0.2, "stream": true
        }));
        assert_eq!(
            chat,
            json!({
                "model": "a/b", "stream": true, "temperature": 0.2, "max_completion_tokens": 50,
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                "openai_responses": {
                    "input": [{"type": "message", "role": "user", "content": "Hi"}],
                    "instructions": "Be brief."
                }
            })
        );
    }

    #[test]
    fn items_pass_through_as_sent_and_file_ids_are_refused() {
        let input = json!([
            {"type": "function_call_output", "call_id": "c1", "output": [
                {"type": "input_text", "text": "chart"},
                {"type": "input_image", "image_url": "https://example.com/chart.png"}
            ]},
            {"type": "message", "role": "assistant", "phase": "final_answer",
             "content": [{"type": "output_text", "text": "Done.", "annotations": []}]}
        ]);
        let chat = chat(json!({
            "model": "a/b", "input": input,
            "reasoning": {"effort": "low", "summary": "detailed"}, "text": {"verbosity": "low"}
        }));
        assert_eq!(chat["openai_responses"]["input"], input);
        assert_eq!(chat["openai_responses"]["reasoning"]["summary"], "detailed");
        assert_eq!(chat["openai_responses"]["text"]["verbosity"], "low");

        let error = translate(
            json!({"model": "a/b", "input": [{"role": "user", "content": [
                {"type": "input_image", "image_url": "https://example.com/a.png", "file_id": "file-1"}
            ]}]})
            .to_string()
            .as_bytes(),
        )
        .expect_err("a file id reaches the operator's files");
        assert!(
            error.message().contains("`input[0]`"),
            "{}",
            error.message()
        );
        assert!(error.message().contains("file_id"), "{}", error.message());
    }

    #[test]
    fn function_calls_and_outputs_become_tool_calls_and_tool_messages() {
        let chat = chat(json!({
            "model": "a/b",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}], "encrypted_content": "enc"},
                {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
                {"type": "function_call", "call_id": "c2", "name": "time", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
                {"type": "function_call_output", "call_id": "c2", "output": "noon"}
            ],
            "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}, "strict": true}],
            "tool_choice": {"type": "function", "name": "weather"}
        }));
        let messages = chat["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 4);
        assert_eq!(
            messages[0]["content"][0],
            json!({"type": "text", "text": "Weather?"})
        );
        assert_eq!(messages[1]["tool_calls"].as_array().map(Vec::len), Some(2));
        assert_eq!(messages[1]["reasoning_details"][1]["data"], "enc");
        assert_eq!(messages[1]["reasoning_details"][0]["summary"], "think");
        assert_eq!(
            messages[2],
            json!({"role": "tool", "tool_call_id": "c1", "content": "sunny"})
        );
        assert_eq!(chat["tools"][0]["function"]["name"], "weather");
        assert_eq!(chat["tools"][0]["function"]["strict"], true);
        assert_eq!(
            chat["tool_choice"],
            json!({"type": "function", "function": {"name": "weather"}})
        );
    }

    #[test]
    fn text_format_becomes_response_format() {
        let chat = chat(json!({
            "model": "a/b", "input": "x",
            "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}, "strict": true}},
            "reasoning": {"effort": "low", "summary": "auto"}
        }));
        assert_eq!(
            chat["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}, "strict": true}})
        );
        assert_eq!(chat["reasoning"], json!({"effort": "low"}));
    }

    #[test]
    fn stateful_requests_and_built_in_tools_are_refused_with_a_way_out() {
        let stateful =
            refused(json!({"model": "a/b", "input": "x", "previous_response_id": "resp_1"}));
        assert!(
            stateful.contains("send the whole conversation in `input`"),
            "{stateful}"
        );
        assert!(
            refused(json!({"model": "a/b", "input": "x", "store": true})).contains("`store: true`")
        );
        let tool =
            refused(json!({"model": "a/b", "input": "x", "tools": [{"type": "apply_patch"}]}));
        assert!(tool.contains("`apply_patch`"), "{tool}");
        assert!(refused(json!({"model": "a/b", "input": []})).contains("must not be empty"));
        assert!(
            refused(json!({"model": "a/b", "input": "x", "frobnicate": 1}))
                .contains("`frobnicate`")
        );
        assert!(
            refused(json!({"model": "a/b", "input": [{"type": "item_reference", "id": "x"}]}))
                .contains("`input[0]`")
        );
    }
}
