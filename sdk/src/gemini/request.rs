//! The upstream `generateContent` / `streamGenerateContent` request body.

use crate::provider::*;
use crate::translate::{ToolChoice, tool_choice};
use serde_json::{Map, Value, json};

use super::{contents, grounding, schema};

/// Thinking budgets by `reasoning.effort` when the request sets no output limit. The efforts
/// above `high` get `high`'s budget, the largest every Gemini thinking model accepts.
const FIXED_BUDGETS: &[(&str, u64)] = &[
    ("max", 24_576),
    ("xhigh", 24_576),
    ("high", 24_576),
    ("medium", 8_192),
    ("low", 2_048),
    ("minimal", 512),
];

/// The translated `generateContent` body (the same for `streamGenerateContent`): contents,
/// system instruction, tools and generation config.
pub fn body(request: &ChatRequest) -> Result<Map<String, Value>, PluginError> {
    let conversation = contents::translate(&request.messages)?;
    let mut body = Map::new();
    if let Some(system) = conversation.system {
        body.insert("systemInstruction".to_owned(), system);
    }
    body.insert("contents".to_owned(), Value::Array(conversation.contents));
    tools(request, &mut body)?;
    let config = generation_config(request)?;
    if !config.is_empty() {
        body.insert("generationConfig".to_owned(), Value::Object(config));
    }
    Ok(body)
}

/// The model method: `generateContent`, or `streamGenerateContent?alt=sse` for streams.
pub fn method(stream: bool) -> &'static str {
    if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    }
}

/// `generationConfig`: sampling, limits, structured output and thinking.
fn generation_config(request: &ChatRequest) -> Result<Map<String, Value>, PluginError> {
    let mut config = Map::new();
    let number = |name: &str| request.extra.get(name).filter(|v| v.is_number()).cloned();
    if let Some(temperature) = request.temperature {
        config.insert("temperature".to_owned(), json!(temperature));
    }
    if let Some(top_p) = request.top_p {
        config.insert("topP".to_owned(), json!(top_p));
    }
    for (from, to) in [
        ("top_k", "topK"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
        ("n", "candidateCount"),
    ] {
        if let Some(value) = number(from) {
            config.insert(to.to_owned(), value);
        }
    }
    if let Some(limit) = request.output_token_limit() {
        config.insert("maxOutputTokens".to_owned(), json!(limit));
    }
    let stops = request.stop_sequences();
    if !stops.is_empty() {
        config.insert("stopSequences".to_owned(), json!(stops));
    }
    response_format(request, &mut config)?;
    if let Some(thinking) = thinking(request) {
        config.insert("thinkingConfig".to_owned(), thinking);
    }
    Ok(config)
}

/// `response_format`: `json_object` → JSON MIME type, `json_schema` → JSON MIME type and the
/// reduced `responseSchema`, `text` → nothing.
fn response_format(
    request: &ChatRequest,
    config: &mut Map<String, Value>,
) -> Result<(), PluginError> {
    let Some(format) = request
        .extra
        .get("response_format")
        .filter(|f| !f.is_null())
    else {
        return Ok(());
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => {}
        Some("json_object") => {
            config.insert("responseMimeType".to_owned(), json!("application/json"));
        }
        Some("json_schema") => {
            config.insert("responseMimeType".to_owned(), json!("application/json"));
            if let Some(schema) = format
                .get("json_schema")
                .and_then(|s| s.get("schema"))
                .filter(|s| s.is_object())
            {
                config.insert("responseSchema".to_owned(), schema::reduce(schema));
            }
        }
        _ => {
            return Err(PluginError::InvalidRequest(
                "response_format must be text, json_object or json_schema".to_owned(),
            ));
        }
    }
    Ok(())
}

/// OpenRouter's `reasoning` → `thinkingConfig` (see the crate documentation).
fn thinking(request: &ChatRequest) -> Option<Value> {
    let reasoning = crate::translate::reasoning_object(request)?;
    let include = reasoning.get("exclude").and_then(Value::as_bool) != Some(true);
    if reasoning.get("enabled").and_then(Value::as_bool) == Some(false) {
        return Some(json!({"thinkingBudget": 0}));
    }
    let effort = reasoning.get("effort").and_then(Value::as_str);
    if effort == Some("none") {
        return Some(json!({"thinkingBudget": 0}));
    }
    let budget = match (reasoning.get("max_tokens").and_then(Value::as_u64), effort) {
        (Some(budget), _) => Some(budget),
        (None, Some(effort)) => {
            let percent = match effort {
                "xhigh" | "max" => 95,
                "high" => 80,
                "low" => 20,
                "minimal" => 10,
                _ => 50,
            };
            match request.output_token_limit() {
                Some(limit) => Some(limit.saturating_mul(percent) / 100),
                None => FIXED_BUDGETS
                    .iter()
                    .find(|(name, _)| *name == effort)
                    .map(|(_, budget)| *budget)
                    .or(Some(8_192)),
            }
        }
        // `{}` or `{enabled: true}`: let the model choose its budget.
        (None, None) => None,
    };
    let mut config = Map::new();
    if let Some(budget) = budget {
        config.insert("thinkingBudget".to_owned(), json!(budget));
    }
    config.insert("includeThoughts".to_owned(), Value::Bool(include));
    Some(Value::Object(config))
}

/// `tools` → `functionDeclarations`, web search → `google_search`; `tool_choice` → `toolConfig.functionCallingConfig`.
fn tools(request: &ChatRequest, body: &mut Map<String, Value>) -> Result<(), PluginError> {
    // Google Search grounding takes no cap on its searches and no domain lists.
    crate::web_search::refuse_unserved(request, "gemini", &[])?;
    let search = grounding::tool(request);
    let Some(tools) = request.tools.as_ref().filter(|tools| !tools.is_empty()) else {
        if let Some(search) = search {
            body.insert("tools".to_owned(), json!([search]));
        }
        return Ok(());
    };
    let mut declarations = Vec::with_capacity(tools.len());
    for tool in tools {
        if tool.kind != "function" {
            return Err(PluginError::InvalidRequest(format!(
                "tool type `{}` is not supported by the gemini adapter",
                tool.kind
            )));
        }
        let mut declaration = Map::new();
        declaration.insert("name".to_owned(), json!(tool.function.name));
        if let Some(description) = &tool.function.description {
            declaration.insert("description".to_owned(), json!(description));
        }
        if let Some(parameters) = tool
            .function
            .parameters
            .as_ref()
            .filter(|p| !schema::is_empty_object(p))
        {
            declaration.insert("parameters".to_owned(), schema::reduce(parameters));
        }
        declarations.push(Value::Object(declaration));
    }
    let mut entries = vec![json!({"functionDeclarations": declarations})];
    entries.extend(search);
    body.insert("tools".to_owned(), Value::Array(entries));
    let config = match tool_choice(request)? {
        None => return Ok(()),
        Some(ToolChoice::Auto) => json!({"mode": "AUTO"}),
        Some(ToolChoice::None) => json!({"mode": "NONE"}),
        Some(ToolChoice::Required) => json!({"mode": "ANY"}),
        Some(ToolChoice::Named(name)) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
    };
    body.insert(
        "toolConfig".to_owned(),
        json!({"functionCallingConfig": config}),
    );
    Ok(())
}
