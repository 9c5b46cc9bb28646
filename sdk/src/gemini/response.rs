//! Translates a whole `GenerateContentResponse` into a canonical `chat.completion`.

use crate::provider::*;
use crate::translate::{self, completion_body_with};
use crate::web_search;
use serde_json::{Map, Value};

use super::usage::{self, call_id};
use super::{error, grounding};

/// Parses a 2xx response: an error body becomes the mapped error, a prompt blocked before any
/// candidate is content-filtered, anything that is not a `GenerateContentResponse` (HTML,
/// truncated JSON, another shape) is [`PluginError::UpstreamUnavailable`].
pub fn parse(response: &HttpResponse) -> Result<ParsedResponse, PluginError> {
    let value: Value = parse_json(&response.body)?;
    if error::is_error(&value) {
        return Err(error::from_embedded(&value));
    }
    if !value.is_object() {
        return Err(shape("the body is not a JSON object"));
    }
    let candidate = first_candidate(&value)?;
    let mut message = ResponseMessage::default();
    let mut details = Vec::new();
    let mut tool_calls = Vec::new();
    for part in parts(candidate) {
        let mut call = None;
        match classify(part) {
            Part::Text(fragment) => message
                .content
                .get_or_insert_with(String::new)
                .push_str(fragment),
            Part::Thought(fragment) => message
                .reasoning
                .get_or_insert_with(String::new)
                .push_str(fragment),
            Part::Call { name, args } => {
                let index = u32::try_from(tool_calls.len()).unwrap_or(u32::MAX);
                call = Some(call_id(index));
                tool_calls.push(translate::tool_call(&call_id(index), name, Some(&args)));
            }
            Part::Other => {}
        }
        details.extend(signature_detail(part, call, details.len()));
    }
    let finish = candidate
        .get("finishReason")
        .and_then(Value::as_str)
        .map(|native| usage::finish(native, !tool_calls.is_empty()));
    message.reasoning_details = Some(details);
    message.tool_calls = Some(tool_calls);
    let cited = grounding::citations(candidate, message.content.as_deref().unwrap_or(""));
    message.text_citations = (!cited.is_empty()).then_some(cited);
    Ok(ParsedResponse {
        body: completion_body_with(
            string(&value, "responseId"),
            string(&value, "modelVersion"),
            message,
            finish.as_ref(),
            web_search::reported(grounding::searches(candidate)),
        )?,
        usage: usage::from_metadata(value.get("usageMetadata")),
        finish,
    })
}

/// The `format` of the reasoning details this adapter returns and takes back.
pub const REASONING_FORMAT: &str = "google-gemini-v1";

/// A part's `thoughtSignature` as a `reasoning.encrypted` detail at `index`, tied to the tool
/// call the part makes (`call`), so a client can send it back with that call.
pub fn signature_detail(
    part: &Value,
    call: Option<String>,
    index: usize,
) -> Option<ReasoningDetail> {
    let signature = part.get("thoughtSignature").and_then(Value::as_str)?;
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let mut detail =
        ReasoningDetail::encrypted(signature.to_owned(), Some(REASONING_FORMAT), index);
    detail.id = call;
    Some(detail)
}

/// The first candidate. No candidate at all means the prompt was blocked
/// (`promptFeedback.blockReason`) or the body is not a Gemini response.
pub fn first_candidate(value: &Value) -> Result<&Value, PluginError> {
    match value
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    {
        Some(candidate) if candidate.is_object() => Ok(candidate),
        Some(_) => Err(shape("a candidate is not an object")),
        None => match value
            .get("promptFeedback")
            .and_then(|f| f.get("blockReason"))
            .and_then(Value::as_str)
        {
            Some(reason) => Err(PluginError::ContentFiltered(format!(
                "gemini blocked the prompt: {reason}"
            ))),
            None => Err(shape("the body has no candidates")),
        },
    }
}

/// The parts of a candidate's content (none when it has no content).
pub fn parts(candidate: &Value) -> impl Iterator<Item = &Value> {
    candidate
        .get("content")
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// What a content part carries.
pub enum Part<'a> {
    /// Answer text.
    Text(&'a str),
    /// Thought summary text (`thought: true`).
    Thought(&'a str),
    /// A whole function call; `args` defaults to `{}`.
    Call {
        /// Function name.
        name: &'a str,
        /// Arguments object.
        args: Value,
    },
    /// Nothing canonical (an empty text, a signature, a streamed-call fragment...).
    Other,
}

/// Classifies a part. Streamed-call fragments (`partialArgs`, `willContinue`, `{}`) are
/// [`Part::Other`] here; the stream decoder handles them.
pub fn classify(part: &Value) -> Part<'_> {
    if let Some(text) = part.get("text").and_then(Value::as_str) {
        if text.is_empty() {
            return Part::Other;
        }
        return if part.get("thought").and_then(Value::as_bool) == Some(true) {
            Part::Thought(text)
        } else {
            Part::Text(text)
        };
    }
    if let Some(call) = part.get("functionCall")
        && let Some(name) = call.get("name").and_then(Value::as_str)
        && call.get("willContinue").and_then(Value::as_bool) != Some(true)
    {
        let args = call
            .get("args")
            .filter(|a| a.is_object())
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        return Part::Call { name, args };
    }
    Part::Other
}

/// The string member `name` of `value`, or `""`.
pub fn string<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The error for a 2xx body or event of the wrong shape.
pub fn shape(what: &str) -> PluginError {
    PluginError::UpstreamUnavailable(format!("upstream sent an invalid response: {what}"))
}
