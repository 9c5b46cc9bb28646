//! Builds the upstream Chat v2 request from a canonical request.

use serde_json::{Map, Value, json};
use switchyard_sdk::provider::*;

/// The path of the Chat v2 endpoint under the base URL, unless the `path` option says otherwise.
pub const DEFAULT_PATH: &str = "chat";

/// Builds `POST <base_url>/chat` with the translated body.
pub fn build(
    request: ChatRequest,
    endpoint: &EndpointSettings,
    stream: bool,
) -> Result<HttpRequest, PluginError> {
    let options = PathOptions::parse(endpoint, DEFAULT_PATH)?;
    let mut body = Map::new();
    body.insert("model".to_owned(), json!(endpoint.upstream_model));
    body.insert(
        "messages".to_owned(),
        Value::Array(messages(&request.messages)?),
    );
    if let Some(limit) = request.output_token_limit() {
        body.insert("max_tokens".to_owned(), json!(limit));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".to_owned(), json!(temperature));
    }
    if let Some(top_p) = request.top_p {
        body.insert("p".to_owned(), json!(top_p));
    }
    for (from, to) in [
        ("top_k", "k"),
        ("seed", "seed"),
        ("presence_penalty", "presence_penalty"),
        ("frequency_penalty", "frequency_penalty"),
    ] {
        if let Some(value) = request.extra.get(from).filter(|v| v.is_number()) {
            body.insert(to.to_owned(), value.clone());
        }
    }
    let stops = request.stop_sequences();
    if !stops.is_empty() {
        body.insert("stop_sequences".to_owned(), json!(stops));
    }
    tools(&request, &mut body)?;
    response_format(&request, &mut body)?;
    thinking(&request, &mut body);
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

/// The conversation as v2 `messages`.
fn messages(messages: &[Message]) -> Result<Vec<Value>, PluginError> {
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        let text = || {
            message
                .content
                .as_ref()
                .map(Content::text)
                .unwrap_or_default()
        };
        let translated = match message.role {
            Role::System | Role::Developer => json!({"role": "system", "content": text()}),
            Role::User => {
                json!({"role": "user", "content": user_content(message.content.as_ref())?})
            }
            Role::Assistant => {
                let mut turn = Map::new();
                turn.insert("role".to_owned(), json!("assistant"));
                let content = text();
                if !content.is_empty() {
                    turn.insert("content".to_owned(), json!(content));
                }
                if let Some(calls) = message.tool_calls.as_ref().filter(|c| !c.is_empty()) {
                    let calls: Vec<Value> = calls
                        .iter()
                        .map(|call| {
                            json!({"id": call.id, "type": "function", "function": {
                                "name": call.function.name, "arguments": call.function.arguments}})
                        })
                        .collect();
                    turn.insert("tool_calls".to_owned(), Value::Array(calls));
                }
                Value::Object(turn)
            }
            Role::Tool => {
                let Some(id) = message.tool_call_id.as_deref() else {
                    return Err(PluginError::InvalidRequest(
                        "a tool message has no tool_call_id".to_owned(),
                    ));
                };
                json!({"role": "tool", "tool_call_id": id, "content": text()})
            }
        };
        out.push(translated);
    }
    if out.is_empty() {
        return Err(PluginError::InvalidRequest(
            "the request has no messages".to_owned(),
        ));
    }
    Ok(out)
}

/// User content: a string, or `text` and `image_url` parts in Cohere's form.
fn user_content(content: Option<&Content>) -> Result<Value, PluginError> {
    match content {
        None => Ok(json!("")),
        Some(Content::Text(text)) => Ok(json!(text)),
        Some(Content::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for part in parts {
                match (part.kind.as_str(), &part.image_url) {
                    ("text", _) => out
                        .push(json!({"type": "text", "text": part.text.as_deref().unwrap_or("")})),
                    ("image_url", Some(image)) => {
                        let url = image.url.trim();
                        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
                        if !(url.starts_with("data:")
                            || lower.starts_with("https://")
                            || lower.starts_with("http://"))
                        {
                            return Err(PluginError::InvalidRequest(
                                "an image must be an http(s) URL or a data URI".to_owned(),
                            ));
                        }
                        let mut image_url = Map::new();
                        image_url.insert("url".to_owned(), json!(url));
                        if let Some(detail) = &image.detail {
                            image_url.insert("detail".to_owned(), json!(detail));
                        }
                        out.push(json!({"type": "image_url", "image_url": image_url}));
                    }
                    (kind, _) => {
                        return Err(PluginError::InvalidRequest(format!(
                            "content part type `{kind}` is not supported by the cohere adapter"
                        )));
                    }
                }
            }
            Ok(Value::Array(out))
        }
    }
}

/// `tools` as they are; `tool_choice` → `REQUIRED`/`NONE`, a named function → `REQUIRED` with
/// only that tool offered.
fn tools(request: &ChatRequest, body: &mut Map<String, Value>) -> Result<(), PluginError> {
    let Some(tools) = request.tools.as_ref().filter(|tools| !tools.is_empty()) else {
        return Ok(());
    };
    let mut offered: Vec<&Tool> = tools.iter().collect();
    if let Some(tool) = offered.iter().find(|t| t.kind != "function") {
        return Err(PluginError::InvalidRequest(format!(
            "tool type `{}` is not supported by the cohere adapter",
            tool.kind
        )));
    }
    match &request.tool_choice {
        None => {}
        Some(Value::String(choice)) => match choice.as_str() {
            "auto" => {}
            "none" => {
                body.insert("tool_choice".to_owned(), json!("NONE"));
            }
            "required" => {
                body.insert("tool_choice".to_owned(), json!("REQUIRED"));
            }
            other => {
                return Err(PluginError::InvalidRequest(format!(
                    "unknown tool_choice `{other}`"
                )));
            }
        },
        Some(named) => {
            let Some(name) = named
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
            else {
                return Err(PluginError::InvalidRequest(
                    "tool_choice must be auto, none, required or name a function".to_owned(),
                ));
            };
            offered.retain(|tool| tool.function.name == name);
            if offered.is_empty() {
                return Err(PluginError::InvalidRequest(format!(
                    "tool_choice names `{name}`, which is not among the tools"
                )));
            }
            body.insert("tool_choice".to_owned(), json!("REQUIRED"));
        }
    }
    let offered: Vec<Value> = offered
        .into_iter()
        .map(|tool| {
            let mut function = Map::new();
            function.insert("name".to_owned(), json!(tool.function.name));
            if let Some(description) = &tool.function.description {
                function.insert("description".to_owned(), json!(description));
            }
            function.insert(
                "parameters".to_owned(),
                tool.function
                    .parameters
                    .clone()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            );
            json!({"type": "function", "function": function})
        })
        .collect();
    body.insert("tools".to_owned(), Value::Array(offered));
    Ok(())
}

/// `response_format`: `json_object` as is, `json_schema` → `json_object` with the schema.
fn response_format(
    request: &ChatRequest,
    body: &mut Map<String, Value>,
) -> Result<(), PluginError> {
    let Some(format) = request
        .extra
        .get("response_format")
        .filter(|f| !f.is_null())
    else {
        return Ok(());
    };
    let translated = match format.get("type").and_then(Value::as_str) {
        Some("text") => return Ok(()),
        Some("json_object") => json!({"type": "json_object"}),
        Some("json_schema") => match format.get("json_schema").and_then(|s| s.get("schema")) {
            Some(schema) if schema.is_object() => {
                json!({"type": "json_object", "json_schema": schema})
            }
            _ => json!({"type": "json_object"}),
        },
        _ => {
            return Err(PluginError::InvalidRequest(
                "response_format must be text, json_object or json_schema".to_owned(),
            ));
        }
    };
    body.insert("response_format".to_owned(), translated);
    Ok(())
}

/// OpenRouter's `reasoning` → `thinking`.
fn thinking(request: &ChatRequest, body: &mut Map<String, Value>) {
    let Some(reasoning) = request.extra.get("reasoning").filter(|r| r.is_object()) else {
        return;
    };
    let disabled = reasoning.get("enabled").and_then(Value::as_bool) == Some(false)
        || reasoning.get("effort").and_then(Value::as_str) == Some("none");
    let thinking = if disabled {
        json!({"type": "disabled"})
    } else {
        match reasoning.get("max_tokens").and_then(Value::as_u64) {
            Some(budget) => json!({"type": "enabled", "token_budget": budget}),
            None => json!({"type": "enabled"}),
        }
    };
    body.insert("thinking".to_owned(), thinking);
}
