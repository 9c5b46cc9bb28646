//! Translates a whole (non-streamed) Messages API response into a canonical `chat.completion`.

use crate::provider::*;
use crate::structured;
use crate::translate::{self, completion_body_with};
use crate::web_search;
use serde_json::Value;

use super::{citations, error};

use super::usage::{self, Counts};

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
    let mut message = ResponseMessage::default();
    let mut details = Vec::new();
    let mut tool_calls = Vec::new();
    let mut cited = Vec::new();
    let mut json_answer = false;
    for block in blocks {
        let field = |name: &str| block.get(name).and_then(Value::as_str).map(str::to_owned);
        let index = details.len() as u32;
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let content = message.content.get_or_insert_with(String::new);
                let start = citations::length(content);
                content.push_str(string(block, "text"));
                cited.extend(citations::whole(block, start, citations::length(content)));
            }
            Some("thinking") => {
                message
                    .reasoning
                    .get_or_insert_with(String::new)
                    .push_str(string(block, "thinking"));
                details.push(ReasoningDetail::text(
                    field("thinking"),
                    field("signature"),
                    Some(REASONING_FORMAT),
                    index,
                ));
            }
            Some("redacted_thinking") => details.extend(
                field("data")
                    .map(|data| ReasoningDetail::encrypted(data, Some(REASONING_FORMAT), index)),
            ),
            Some("tool_use") if string(block, "name") == structured::JSON_TOOL => {
                let input = block.get("input").unwrap_or(&Value::Null);
                message
                    .content
                    .get_or_insert_with(String::new)
                    .push_str(&input.to_string());
                json_answer = true;
            }
            Some("tool_use") => tool_calls.push(tool_call(block)?),
            // Server tool blocks...: nothing canonical to say.
            _ => {}
        }
    }
    message.reasoning_details = Some(details);
    message.tool_calls = Some(tool_calls);
    message.text_citations = (!cited.is_empty()).then_some(cited);
    let finish = value
        .get("stop_reason")
        .and_then(Value::as_str)
        .map(usage::finish)
        .map(|finish| {
            if json_answer {
                structured::answered(finish)
            } else {
                finish
            }
        });
    let mut counts = Counts::default();
    let usage = counts.merge(value.get("usage")).then(|| counts.usage());
    let body = completion_body_with(
        string(&value, "id"),
        string(&value, "model"),
        message,
        finish.as_ref(),
        web_search::reported(usage::searches(value.get("usage"))),
    )?;
    let matched = value.get("stop_sequence").and_then(Value::as_str);
    Ok(ParsedResponse {
        body: usage::with_matched_stop(body, matched)?,
        usage,
        finish,
    })
}

/// The `format` of the reasoning details this adapter returns and takes back.
pub const REASONING_FORMAT: &str = "anthropic-claude-v1";

/// A `tool_use` block as a canonical tool call; `input` becomes a compact JSON string.
fn tool_call(block: &Value) -> Result<ToolCall, PluginError> {
    let (Some(id), Some(name)) = (
        block.get("id").and_then(Value::as_str),
        block.get("name").and_then(Value::as_str),
    ) else {
        return Err(shape("a tool_use block has no id or name"));
    };
    Ok(translate::tool_call(id, name, block.get("input")))
}

/// The string member `name` of `value`, or `""`.
pub fn string<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The error for a 2xx body or event of the wrong shape.
pub fn shape(what: &str) -> PluginError {
    PluginError::UpstreamUnavailable(format!("upstream sent an invalid response: {what}"))
}
