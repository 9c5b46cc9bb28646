//! The Responses API request built from a canonical chat request.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_sdk::provider::*;
use switchyard_sdk::responses::{
    InputItem, MAX_BUILTIN_TOOL_CALLS, RESPONSES_EXTENSION, ResponsesExtension, flat_name,
};
use switchyard_sdk::translate::reasoning_details;
use switchyard_sdk::web_search;

/// The format name OpenRouter gives reasoning details from the Responses API.
pub const FORMAT: &str = "openai-responses-v1";

/// Builds `POST <base_url>/<path>` with the translated body, without the credential.
pub fn build(
    request: &ChatRequest,
    endpoint: &EndpointSettings,
    stream: bool,
) -> Result<HttpRequest, PluginError> {
    let mut credential = CredentialPlacement::Bearer;
    let mut path = "responses".to_owned();
    let mut headers = Vec::new();
    for (key, value) in &endpoint.options {
        match key.as_str() {
            "auth" => {
                credential = match value.as_str() {
                    "bearer" => CredentialPlacement::Bearer,
                    "api-key" => CredentialPlacement::Header("api-key".to_owned()),
                    "none" => CredentialPlacement::None,
                    other => return Err(option_error(key, other)),
                }
            }
            "path" => path = value.clone(),
            _ => match key.strip_prefix("header.").filter(|n| !n.is_empty()) {
                Some(name) => headers.push((name.to_owned(), value.clone())),
                None => {
                    return Err(PluginError::Internal(format!(
                        "openai-responses adapter: unknown endpoint option `{key}`"
                    )));
                }
            },
        }
    }
    let body = body(request, &endpoint.upstream_model, stream)?;
    json_post(
        join_url(&endpoint.base_url, &path),
        &body,
        headers,
        credential,
    )
}

fn option_error(key: &str, value: &str) -> PluginError {
    PluginError::Internal(format!(
        "openai-responses adapter: invalid value {value:?} for endpoint option `{key}`"
    ))
}

/// The Responses request body.
pub fn body(request: &ChatRequest, model: &str, stream: bool) -> Result<Value, PluginError> {
    let passed = passed_through(request)?;
    let mut body = Map::new();
    body.insert("model".to_owned(), json!(model));
    match &passed {
        Some(passed) => {
            body.insert("input".to_owned(), client_input(&passed.input)?);
            if let Some(instructions) = &passed.instructions {
                body.insert("instructions".to_owned(), json!(instructions));
            }
        }
        None => {
            body.insert("input".to_owned(), Value::Array(input(request)?));
        }
    }
    body.insert("stream".to_owned(), json!(stream));
    body.insert("store".to_owned(), json!(false));
    body.insert("include".to_owned(), json!(["reasoning.encrypted_content"]));
    if let Some(limit) = request.output_token_limit() {
        body.insert("max_output_tokens".to_owned(), json!(limit));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".to_owned(), json!(temperature));
    }
    if let Some(top_p) = request.top_p {
        body.insert("top_p".to_owned(), json!(top_p));
    }
    for key in [
        "parallel_tool_calls",
        "user",
        "metadata",
        "prompt_cache_key",
        "safety_identifier",
        "service_tier",
    ] {
        if let Some(value) = request.extra.get(key).filter(|v| !v.is_null()) {
            body.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(tools) = request.tools.as_ref().filter(|tools| !tools.is_empty()) {
        let tools: Vec<Value> = tools
            .iter()
            .map(|tool| {
                let mut out = json!({ "type": "function", "name": tool.function.name });
                if let Some(description) = &tool.function.description {
                    out["description"] = json!(description);
                }
                out["parameters"] = tool
                    .function
                    .parameters
                    .clone()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
                out
            })
            .collect();
        body.insert("tools".to_owned(), Value::Array(tools));
    }
    web_search(request, passed.as_ref(), &mut body)?;
    builtin_tools(passed.as_ref(), &mut body);
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            Value::Object(object) => {
                let name = object
                    .get("function")
                    .and_then(|f| f.get("name"))
                    .cloned()
                    .ok_or_else(|| {
                        PluginError::InvalidRequest("`tool_choice` names no function".to_owned())
                    })?;
                json!({ "type": "function", "name": name })
            }
            other => other.clone(),
        };
        body.insert("tool_choice".to_owned(), choice);
    }
    let effort = request
        .extra
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .or_else(|| request.extra.get("reasoning_effort"))
        .filter(|v| !v.is_null());
    if let Some(effort) = effort {
        body.insert(
            "reasoning".to_owned(),
            json!({ "effort": effort, "summary": "auto" }),
        );
    }
    if let Some(passed) = &passed {
        apply_client_settings(&mut body, passed)?;
    } else if let Some(format) = request.extra.get("response_format") {
        match format.get("type").and_then(Value::as_str) {
            Some("json_schema") => {
                let mut text_format = format
                    .get("json_schema")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                text_format["type"] = json!("json_schema");
                body.insert("text".to_owned(), json!({ "format": text_format }));
            }
            Some("json_object") => {
                body.insert(
                    "text".to_owned(),
                    json!({ "format": { "type": "json_object" } }),
                );
            }
            _ => {}
        }
    }
    Ok(Value::Object(body))
}

/// `web_search_options` → the Responses API's `web_search` tool (the client's own, when it
/// offered one), with the options' context size, location and allowed domains (the tool has
/// no blocked ones: refused by name), and at most [`web_search::max_searches`] built-in tool
/// calls.
fn web_search(
    request: &ChatRequest,
    passed: Option<&ResponsesExtension>,
    body: &mut Map<String, Value>,
) -> Result<(), PluginError> {
    web_search::refuse_unserved(
        request,
        "openai-responses",
        &[web_search::MAX_USES, web_search::ALLOWED_DOMAINS],
    )?;
    let Some(options) = web_search::options(request) else {
        return Ok(());
    };
    let mut tool = passed
        .and_then(|passed| passed.web_search_tool.clone())
        .unwrap_or_else(|| json!({"type": "web_search"}));
    if let Some(size) = options.get("search_context_size") {
        tool["search_context_size"] = size.clone();
    }
    if let Some(location) = web_search::approximate_location(options) {
        let mut location = location.clone();
        location.insert("type".to_owned(), json!("approximate"));
        tool["user_location"] = Value::Object(location);
    }
    if let Some(domains) = (options.get(web_search::ALLOWED_DOMAINS)).filter(|d| !d.is_null()) {
        tool["filters"] = json!({ "allowed_domains": domains });
    }
    let tools = body
        .entry("tools")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(tools) = tools {
        tools.push(tool);
    }
    body.insert(
        "max_tool_calls".to_owned(),
        json!(web_search::max_searches(request)),
    );
    Ok(())
}

/// The client's built-in tools the gateway passed (the operator opted this endpoint's provider
/// into them), as sent, with at most [`MAX_BUILTIN_TOOL_CALLS`] tool calls in all (fewer when
/// the web search allows fewer).
fn builtin_tools(passed: Option<&ResponsesExtension>, body: &mut Map<String, Value>) {
    let Some(builtin) = passed
        .map(|passed| &passed.builtin_tools)
        .filter(|b| !b.is_empty())
    else {
        return;
    };
    if let Value::Array(tools) = body
        .entry("tools")
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        tools.extend(builtin.iter().cloned());
    }
    let limit = body
        .get("max_tool_calls")
        .and_then(Value::as_u64)
        .map_or(MAX_BUILTIN_TOOL_CALLS, |searches| {
            searches.min(MAX_BUILTIN_TOOL_CALLS)
        });
    body.insert("max_tool_calls".to_owned(), json!(limit));
}

/// The client's own Responses items, when it spoke the Responses API to Switchyard
/// ([`RESPONSES_EXTENSION`]); its `messages` carry the same conversation for other adapters.
fn passed_through(request: &ChatRequest) -> Result<Option<ResponsesExtension>, PluginError> {
    request
        .extra
        .get(RESPONSES_EXTENSION)
        .map(|value| {
            ResponsesExtension::deserialize(value)
                .map_err(|e| PluginError::InvalidRequest(format!("`{RESPONSES_EXTENSION}`: {e}")))
        })
        .transpose()
}

/// The client's input items as sent, but for reasoning without encrypted content, which an
/// upstream that keeps no state cannot take back (as when rebuilding from `messages`), and with
/// calls of a namespace's functions by their flattened names.
fn client_input(items: &[InputItem]) -> Result<Value, PluginError> {
    let kept: Vec<InputItem> = items
        .iter()
        .filter(|item| match item {
            InputItem::Reasoning(reasoning) => reasoning.encrypted_content.is_some(),
            _ => true,
        })
        .map(|item| match item {
            // The upstream knows a namespace's functions by their flattened names.
            InputItem::FunctionCall(call) => {
                let mut call = call.clone();
                if let Some(namespace) = call.namespace.take() {
                    call.name = flat_name(&namespace, &call.name);
                }
                InputItem::FunctionCall(call)
            }
            other => other.clone(),
        })
        .collect();
    json_of(&kept)
}

/// The client's own `reasoning` (summary included) and `text` (verbosity included) settings in
/// place of the ones rebuilt from the chat request.
fn apply_client_settings(
    body: &mut Map<String, Value>,
    passed: &ResponsesExtension,
) -> Result<(), PluginError> {
    if let Some(reasoning) = &passed.reasoning {
        let mut reasoning = reasoning.clone();
        reasoning.summary.get_or_insert_with(|| "auto".to_owned());
        body.insert("reasoning".to_owned(), json_of(&reasoning)?);
    }
    if let Some(text) = &passed.text {
        body.insert("text".to_owned(), json_of(text)?);
    }
    Ok(())
}

fn json_of(value: &impl serde::Serialize) -> Result<Value, PluginError> {
    serde_json::to_value(value).map_err(|e| PluginError::Internal(e.to_string()))
}

/// The conversation as Responses input items.
fn input(request: &ChatRequest) -> Result<Vec<Value>, PluginError> {
    let mut items = Vec::new();
    for message in &request.messages {
        match message.role {
            Role::System | Role::Developer | Role::User => {
                let role = match message.role {
                    Role::System => "system",
                    Role::Developer => "developer",
                    _ => "user",
                };
                items.push(json!({ "type": "message", "role": role, "content": input_content(message.content.as_ref())? }));
            }
            Role::Assistant => {
                items.extend(reasoning_items(message));
                let text = message
                    .content
                    .as_ref()
                    .map(Content::text)
                    .unwrap_or_default();
                if !text.is_empty() {
                    items.push(json!({
                        "type": "message", "role": "assistant",
                        "content": [{ "type": "output_text", "text": text, "annotations": [] }],
                    }));
                }
                for call in message.tool_calls.iter().flatten() {
                    items.push(json!({
                        "type": "function_call", "call_id": call.id,
                        "name": call.function.name, "arguments": call.function.arguments,
                    }));
                }
            }
            Role::Tool => {
                let call_id = message.tool_call_id.as_deref().ok_or_else(|| {
                    PluginError::InvalidRequest("a tool message needs `tool_call_id`".to_owned())
                })?;
                let output = message
                    .content
                    .as_ref()
                    .map(Content::text)
                    .unwrap_or_default();
                items.push(
                    json!({ "type": "function_call_output", "call_id": call_id, "output": output }),
                );
            }
        }
    }
    Ok(items)
}

/// The reasoning a client sent back: one `reasoning` item per Responses item id, with its
/// summaries and encrypted content. Details in other providers' formats are left out.
fn reasoning_items(message: &Message) -> Vec<Value> {
    let mut items: Vec<Value> = Vec::new();
    for detail in reasoning_details(message) {
        if detail
            .format
            .as_deref()
            .is_some_and(|format| format != FORMAT)
        {
            continue;
        }
        let id = detail.id.clone();
        let position = items
            .iter()
            .position(|item| item.get("id").and_then(Value::as_str) == id.as_deref());
        let item = match position {
            Some(position) => &mut items[position],
            None => {
                let mut item = json!({ "type": "reasoning", "summary": [] });
                if let Some(id) = &id {
                    item["id"] = json!(id);
                }
                items.push(item);
                let last = items.len() - 1;
                &mut items[last]
            }
        };
        if let (Some(summary), Some(Value::Array(summaries))) =
            (detail.summary, item.get_mut("summary"))
        {
            summaries.push(json!({ "type": "summary_text", "text": summary }));
        }
        if let Some(data) = detail.data {
            item["encrypted_content"] = json!(data);
        }
    }
    // The Responses API takes reasoning back only with its encrypted content.
    items.retain(|item| item.get("encrypted_content").is_some());
    items
}

/// User or system content as input parts.
fn input_content(content: Option<&Content>) -> Result<Value, PluginError> {
    let parts = match content {
        None => return Ok(json!("")),
        Some(Content::Text(text)) => return Ok(json!(text)),
        Some(Content::Parts(parts)) => parts,
    };
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        match part.kind.as_str() {
            "text" => out.push(
                json!({ "type": "input_text", "text": part.text.clone().unwrap_or_default() }),
            ),
            "image_url" => {
                let image = part.image_url.as_ref().ok_or_else(|| {
                    PluginError::InvalidRequest("an image part has no `image_url`".to_owned())
                })?;
                let mut item =
                    json!({ "type": "input_image", "image_url": image.url, "detail": "auto" });
                if let Some(detail) = &image.detail {
                    item["detail"] = json!(detail);
                }
                out.push(item);
            }
            "file" => {
                let file = part.extra.get("file").cloned().unwrap_or_default();
                let mut item = json!({ "type": "input_file" });
                for key in ["file_data", "filename", "file_id"] {
                    if let Some(value) = file.get(key) {
                        item[key] = value.clone();
                    }
                }
                out.push(item);
            }
            other => {
                return Err(PluginError::InvalidRequest(format!(
                    "content parts of type `{other}` are not supported by the Responses API adapter"
                )));
            }
        }
    }
    Ok(Value::Array(out))
}
