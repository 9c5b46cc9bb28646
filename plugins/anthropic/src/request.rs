//! Builds the upstream Messages API request from a canonical request.

use serde_json::{Map, Value, json};
use switchyard_sdk::provider::*;

use crate::messages;
use crate::options::Options;

/// Smallest thinking budget Anthropic accepts.
const MIN_THINKING_BUDGET: u64 = 1024;

/// Builds `POST <base_url>/messages` with the translated body, the `anthropic-version` header
/// and the credential left to the host (`x-api-key` unless configured otherwise).
pub fn build(
    request: ChatRequest,
    endpoint: &EndpointSettings,
    stream: bool,
) -> Result<HttpRequest, PluginError> {
    let options = Options::parse(endpoint)?;
    let conversation = messages::translate(&request.messages)?;
    let max_tokens = request
        .output_token_limit()
        .unwrap_or(options.default_max_tokens);

    let mut body = Map::new();
    body.insert("model".to_owned(), json!(endpoint.upstream_model));
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
    tools(&request, &mut body)?;
    if let Some(user) = request.extra.get("user").and_then(Value::as_str) {
        body.insert("metadata".to_owned(), json!({"user_id": user}));
    }
    thinking(&request, max_tokens, &mut body);
    if stream {
        body.insert("stream".to_owned(), Value::Bool(true));
    }

    let mut headers = vec![("anthropic-version".to_owned(), options.version)];
    if let Some(beta) = options.beta {
        headers.push(("anthropic-beta".to_owned(), beta));
    }
    json_post(
        join_url(&endpoint.base_url, &options.path),
        &body,
        headers,
        options.credential,
    )
}

/// `tools` → `{name, description, input_schema}`; `tool_choice` auto/none/required/named →
/// `{type: auto|none|any|tool}`; `parallel_tool_calls: false` → `disable_parallel_tool_use`.
fn tools(request: &ChatRequest, body: &mut Map<String, Value>) -> Result<(), PluginError> {
    let Some(tools) = request.tools.as_ref().filter(|tools| !tools.is_empty()) else {
        return Ok(());
    };
    let mut translated = Vec::with_capacity(tools.len());
    for tool in tools {
        if tool.kind != "function" {
            return Err(PluginError::InvalidRequest(format!(
                "tool type `{}` is not supported by the anthropic adapter",
                tool.kind
            )));
        }
        let mut entry = Map::new();
        entry.insert("name".to_owned(), json!(tool.function.name));
        if let Some(description) = &tool.function.description {
            entry.insert("description".to_owned(), json!(description));
        }
        let schema = tool
            .function
            .parameters
            .clone()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        entry.insert("input_schema".to_owned(), schema);
        translated.push(Value::Object(entry));
    }
    body.insert("tools".to_owned(), Value::Array(translated));

    let mut choice = match &request.tool_choice {
        None => None,
        Some(Value::String(choice)) => match choice.as_str() {
            "auto" => Some(json!({"type": "auto"})),
            "none" => Some(json!({"type": "none"})),
            "required" => Some(json!({"type": "any"})),
            other => {
                return Err(PluginError::InvalidRequest(format!(
                    "unknown tool_choice `{other}`"
                )));
            }
        },
        Some(named) => match named
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
        {
            Some(name) => Some(json!({"type": "tool", "name": name})),
            None => {
                return Err(PluginError::InvalidRequest(
                    "tool_choice must be auto, none, required or name a function".to_owned(),
                ));
            }
        },
    };
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

/// OpenRouter's `reasoning` → `thinking: {type: enabled, budget_tokens}`. The budget is
/// `reasoning.max_tokens`, or a share of `max_tokens` by `effort` (high 80 %, medium 50 %,
/// low 20 %, minimal 10 %), kept below `max_tokens`; thinking is skipped when that leaves less
/// than Anthropic's minimum of 1024. Thinking forbids custom sampling, so `temperature`, `top_p`
/// and `top_k` are dropped when it is on.
fn thinking(request: &ChatRequest, max_tokens: u64, body: &mut Map<String, Value>) {
    let Some(reasoning) = request.extra.get("reasoning").filter(|r| r.is_object()) else {
        return;
    };
    if reasoning.get("enabled").and_then(Value::as_bool) == Some(false) {
        return;
    }
    let share = |percent: u64| max_tokens.saturating_mul(percent) / 100;
    let budget = match (
        reasoning.get("max_tokens").and_then(Value::as_u64),
        reasoning.get("effort").and_then(Value::as_str),
    ) {
        (Some(budget), _) => budget,
        (None, Some("high")) => share(80),
        (None, Some("low")) => share(20),
        (None, Some("minimal")) => share(10),
        (None, Some("none")) => return,
        (None, _) => share(50),
    };
    let budget = budget.min(max_tokens.saturating_sub(1));
    if budget < MIN_THINKING_BUDGET {
        return;
    }
    body.insert(
        "thinking".to_owned(),
        json!({"type": "enabled", "budget_tokens": budget}),
    );
    for sampling in ["temperature", "top_p", "top_k"] {
        body.remove(sampling);
    }
}
