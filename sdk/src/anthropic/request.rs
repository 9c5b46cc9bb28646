//! The upstream Messages API body, translated from a canonical request.

use std::collections::HashMap;

use crate::anthropic::Extension;
use crate::provider::*;
use crate::structured;
use crate::translate::{ToolChoice, function_tools, thinking_budget, tool_choice};
use crate::web_search;
use serde_json::{Map, Value, json};

use super::messages;

/// What an adapter decides about a Messages request beyond the conversation.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// The `model` field; `None` where the URL names the model (Vertex AI).
    pub model: Option<&'a str>,
    /// `max_tokens` when the request sets no output limit.
    pub default_max_tokens: u64,
    /// Ask for a stream (`"stream": true`).
    pub stream: bool,
}

/// A translated Messages request: its body, and the Anthropic extension it carried (for the
/// `anthropic-version` and `anthropic-beta` headers).
#[derive(Debug)]
pub struct Translated {
    /// The Messages API body.
    pub body: Map<String, Value>,
    /// The request's Anthropic extension.
    pub extension: Extension,
}

/// Translates a canonical request into a Messages API body: system, messages, sampling, stops,
/// tools, user metadata, thinking.
pub fn body(request: &ChatRequest, settings: Settings<'_>) -> Result<Translated, PluginError> {
    let extension = Extension::of(request)?;
    let conversation = messages::translate(&request.messages, &extension)?;
    let max_tokens = request
        .output_token_limit()
        .unwrap_or(settings.default_max_tokens);

    let mut body = Map::new();
    if let Some(model) = settings.model {
        body.insert("model".to_owned(), json!(model));
    }
    body.insert("max_tokens".to_owned(), json!(max_tokens));
    if let Some(system) = conversation.system {
        body.insert("system".to_owned(), system);
    }
    body.insert("messages".to_owned(), Value::Array(conversation.messages));
    if let Some(temperature) = request.temperature {
        body.insert("temperature".to_owned(), json!(temperature.clamp(0.0, 1.0)));
    }
    if let Some(top_p) = request.top_p {
        body.insert("top_p".to_owned(), json!(top_p));
    }
    if let Some(top_k) = request.extra.get("top_k").filter(|k| k.is_number()) {
        body.insert("top_k".to_owned(), top_k.clone());
    }
    let stops: Vec<String> = request
        .stop
        .as_ref()
        .map(Stop::to_vec)
        .unwrap_or_default()
        .into_iter()
        .filter(|stop| !stop.trim().is_empty())
        .collect();
    if !stops.is_empty() {
        body.insert("stop_sequences".to_owned(), json!(stops));
    }
    tools(request, &extension.tool_cache_control, &mut body)?;
    web_search(request, &mut body);
    if let Some(user) = request.extra.get("user").and_then(Value::as_str) {
        body.insert("metadata".to_owned(), json!({"user_id": user}));
    }
    thinking(request, max_tokens, &mut body);
    json_answer(request, &mut body)?;
    if settings.stream {
        body.insert("stream".to_owned(), Value::Bool(true));
    }
    Ok(Translated { body, extension })
}

/// `tools` → `{name, description, input_schema}` (with the `cache_control` the extension gives
/// the tool's name); `tool_choice` auto/none/required/named → `{type: auto|none|any|tool}`;
/// `parallel_tool_calls: false` → `disable_parallel_tool_use`.
fn tools(
    request: &ChatRequest,
    cache_controls: &HashMap<String, Value>,
    body: &mut Map<String, Value>,
) -> Result<(), PluginError> {
    let specs = function_tools(request, "anthropic")?;
    if specs.is_empty() {
        return Ok(());
    }
    let translated: Vec<Value> = specs
        .into_iter()
        .map(|spec| {
            let mut entry = Map::new();
            entry.insert("name".to_owned(), json!(spec.name));
            if let Some(description) = spec.description {
                entry.insert("description".to_owned(), json!(description));
            }
            entry.insert("input_schema".to_owned(), spec.schema);
            if let Some(cache_control) = cache_controls.get(spec.name) {
                entry.insert("cache_control".to_owned(), cache_control.clone());
            }
            Value::Object(entry)
        })
        .collect();
    body.insert("tools".to_owned(), Value::Array(translated));

    let mut choice = tool_choice(request)?.map(|choice| match choice {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Named(name) => json!({"type": "tool", "name": name}),
    });
    if request.extra.get("parallel_tool_calls") == Some(&Value::Bool(false)) {
        let choice = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if let Value::Object(choice) = choice
            && choice.get("type").and_then(Value::as_str) != Some("none")
        {
            choice.insert("disable_parallel_tool_use".to_owned(), Value::Bool(true));
        }
    }
    if let Some(choice) = choice {
        body.insert("tool_choice".to_owned(), choice);
    }
    Ok(())
}

/// `web_search_options` ([`web_search`]) → Anthropic's `web_search` server tool, at most
/// [`web_search::max_searches`] searches, near the user's approximate location when given,
/// with the options' domain lists.
fn web_search(request: &ChatRequest, body: &mut Map<String, Value>) {
    let Some(options) = web_search::options(request) else {
        return;
    };
    let mut tool = Map::new();
    tool.insert("type".to_owned(), json!(WEB_SEARCH_TOOL));
    tool.insert("name".to_owned(), json!("web_search"));
    tool.insert(
        "max_uses".to_owned(),
        json!(web_search::max_searches(request)),
    );
    for field in [web_search::ALLOWED_DOMAINS, web_search::BLOCKED_DOMAINS] {
        if let Some(domains) = options.get(field).filter(|domains| !domains.is_null()) {
            tool.insert(field.to_owned(), domains.clone());
        }
    }
    if let Some(approximate) = web_search::approximate_location(options) {
        let mut location = approximate.clone();
        location.insert("type".to_owned(), json!("approximate"));
        tool.insert("user_location".to_owned(), Value::Object(location));
    }
    let tools = body
        .entry("tools")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(tools) = tools {
        tools.push(Value::Object(tool));
    }
}

/// The version of Anthropic's web search server tool this adapter sends.
pub const WEB_SEARCH_TOOL: &str = "web_search_20250305";

/// OpenRouter's `reasoning` → `thinking: {type: enabled, budget_tokens}` with the budget of
/// [`thinking_budget`]. Thinking forbids custom sampling, so `temperature`, `top_p` and `top_k`
/// are dropped when it is on.
fn thinking(request: &ChatRequest, max_tokens: u64, body: &mut Map<String, Value>) {
    let Some(budget) = thinking_budget(request, max_tokens) else {
        return;
    };
    body.insert(
        "thinking".to_owned(),
        json!({"type": "enabled", "budget_tokens": budget}),
    );
    for sampling in ["temperature", "top_p", "top_k"] {
        body.remove(sampling);
    }
}

/// `response_format` → the forced [`structured::JSON_TOOL`] carrying the schema. Anthropic
/// refuses a forced tool while thinking, so the two together are refused by name.
fn json_answer(request: &ChatRequest, body: &mut Map<String, Value>) -> Result<(), PluginError> {
    let Some(schema) = structured::schema(request)? else {
        return Ok(());
    };
    if web_search::options(request).is_some() {
        return Err(PluginError::InvalidRequest(
            "response_format together with web search is not supported on Anthropic upstreams \
             (the forced answer tool leaves the model no turn to search); send one or the other"
                .to_owned(),
        ));
    }
    if body.contains_key("thinking") {
        return Err(PluginError::InvalidRequest(
            "response_format together with reasoning is not supported on Anthropic upstreams \
             (Anthropic refuses a forced tool while thinking); send one or the other"
                .to_owned(),
        ));
    }
    body.insert(
        "tools".to_owned(),
        json!([{
            "name": structured::JSON_TOOL,
            "description": structured::JSON_TOOL_DESCRIPTION,
            "input_schema": schema,
        }]),
    );
    body.insert(
        "tool_choice".to_owned(),
        json!({"type": "tool", "name": structured::JSON_TOOL}),
    );
    Ok(())
}
