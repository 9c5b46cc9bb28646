//! Translates a whole Chat v2 response into a canonical `chat.completion`.

use serde_json::{Map, Value};
use switchyard_sdk::provider::*;

use crate::usage;

/// Parses a 2xx response; anything that is not a v2 chat response (HTML, truncated JSON,
/// another shape) is [`PluginError::UpstreamUnavailable`].
pub fn parse(response: &HttpResponse) -> Result<ParsedResponse, PluginError> {
    let value: Value = parse_json(&response.body)?;
    let Some(message) = value.get("message").filter(|m| m.is_object()) else {
        return Err(shape("the body has no `message` object"));
    };
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    if let Some(plan) = message
        .get("tool_plan")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        reasoning = Some(plan.to_owned());
    }
    match message.get("content") {
        Some(Value::String(content)) => text = Some(content.clone()),
        Some(Value::Array(blocks)) => {
            for block in blocks {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => text
                        .get_or_insert_with(String::new)
                        .push_str(string(block, "text")),
                    Some("thinking") => reasoning
                        .get_or_insert_with(String::new)
                        .push_str(string(block, "thinking")),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    let mut tool_calls = Vec::new();
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        tool_calls.push(tool_call(call)?);
    }
    if text.is_none() && tool_calls.is_empty() {
        text = Some(String::new());
    }
    let finish = value
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(usage::finish);
    let completion = ChatCompletion {
        id: string(&value, "id").to_owned(),
        object: "chat.completion".to_owned(),
        created: 0,
        model: String::new(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_owned(),
                content: text,
                reasoning,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                refusal: None,
                reasoning_details: None,
                text_citations: None,
            },
            finish_reason: finish.as_ref().map(|f| f.reason.as_openai().to_owned()),
            native_finish_reason: finish.as_ref().map(|f| f.native.clone()),
        }],
        usage: None,
        extra: Map::new(),
    };
    let body = serde_json::to_vec(&completion)
        .map_err(|e| PluginError::Internal(format!("cannot serialise the response: {e}")))?;
    Ok(ParsedResponse {
        body,
        usage: usage::from_cohere(value.get("usage")),
        finish,
    })
}

/// A v2 tool call (OpenAI shape); object `arguments` are turned into a JSON string.
fn tool_call(call: &Value) -> Result<ToolCall, PluginError> {
    let function = call.get("function").unwrap_or(&Value::Null);
    let (Some(id), Some(name)) = (
        call.get("id").and_then(Value::as_str),
        function.get("name").and_then(Value::as_str),
    ) else {
        return Err(shape("a tool call has no id or name"));
    };
    let arguments = match function.get("arguments") {
        Some(Value::String(arguments)) => arguments.clone(),
        None | Some(Value::Null) => "{}".to_owned(),
        Some(other) => other.to_string(),
    };
    Ok(ToolCall {
        id: id.to_owned(),
        kind: "function".to_owned(),
        function: FunctionCall {
            name: name.to_owned(),
            arguments,
        },
    })
}

/// The string member `name` of `value`, or `""`.
pub fn string<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The error for a 2xx body or event of the wrong shape.
pub fn shape(what: &str) -> PluginError {
    PluginError::UpstreamUnavailable(format!("upstream sent an invalid response: {what}"))
}
