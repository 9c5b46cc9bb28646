//! Translates a whole (non-streamed) Messages API response into a canonical `chat.completion`.

use serde_json::{Map, Value};
use switchyard_sdk::provider::*;

use crate::error;
use crate::usage::{self, Counts};

/// Parses a 2xx response: an error body becomes the mapped error, anything that is not a
/// Messages API `message` (HTML, truncated JSON, another shape) is
/// [`PluginError::UpstreamUnavailable`].
pub fn parse(response: &HttpResponse) -> Result<ParsedResponse, PluginError> {
    let value: Value = parse_json(&response.body)?;
    if error::is_error(&value) {
        return Err(error::from_embedded(&value));
    }
    let Some(blocks) = value.get("content").and_then(Value::as_array) else {
        return Err(shape("the body has no `content` list"));
    };
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text
                .get_or_insert_with(String::new)
                .push_str(string(block, "text")),
            Some("thinking") => reasoning
                .get_or_insert_with(String::new)
                .push_str(string(block, "thinking")),
            Some("tool_use") => tool_calls.push(tool_call(block)?),
            // redacted_thinking, server tool blocks...: nothing canonical to say.
            _ => {}
        }
    }
    if text.is_none() && tool_calls.is_empty() {
        text = Some(String::new());
    }
    let finish = value
        .get("stop_reason")
        .and_then(Value::as_str)
        .map(usage::finish);
    let mut counts = Counts::default();
    let usage = counts.merge(value.get("usage")).then(|| counts.usage());

    let completion = ChatCompletion {
        id: string(&value, "id").to_owned(),
        object: "chat.completion".to_owned(),
        created: 0,
        model: string(&value, "model").to_owned(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_owned(),
                content: text,
                reasoning,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                refusal: None,
            },
            finish_reason: finish
                .as_ref()
                .map(|finish| finish.reason.as_openai().to_owned()),
            native_finish_reason: finish.as_ref().map(|finish| finish.native.clone()),
        }],
        usage: None,
        extra: Map::new(),
    };
    let body = serde_json::to_vec(&completion)
        .map_err(|e| PluginError::Internal(format!("cannot serialise the response: {e}")))?;
    Ok(ParsedResponse {
        body,
        usage,
        finish,
    })
}

/// A `tool_use` block as a canonical tool call; `input` becomes a compact JSON string.
fn tool_call(block: &Value) -> Result<ToolCall, PluginError> {
    let (Some(id), Some(name)) = (
        block.get("id").and_then(Value::as_str),
        block.get("name").and_then(Value::as_str),
    ) else {
        return Err(shape("a tool_use block has no id or name"));
    };
    let input = block
        .get("input")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    Ok(ToolCall {
        id: id.to_owned(),
        kind: "function".to_owned(),
        function: FunctionCall {
            name: name.to_owned(),
            arguments: input.to_string(),
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
