//! Translates a whole (non-streamed) Chat Completions response into the canonical format.

use crate::provider::*;
use serde_json::{Map, Value};

use super::{Dialect, normalize};

/// Room for the fields normalisation adds (`index`, `role`, finish reasons...).
const SERIALISE_SLACK: usize = 4096;

/// Parses a 2xx response: an `error` object becomes the mapped error, anything that is not a
/// `chat.completion` (HTML, truncated JSON, another API's shape) is
/// [`PluginError::UpstreamUnavailable`]. The body comes back without `usage`, which is returned
/// typed instead.
pub fn parse<D: Dialect>(response: &HttpResponse) -> Result<ParsedResponse, PluginError> {
    let value: Value = parse_json(&response.body)?;
    if let Some(error) = D::embedded_error(&value) {
        return Err(error);
    }
    let Value::Object(mut body) = value else {
        return Err(shape("the body is not a JSON object"));
    };
    let usage = body.remove("usage").as_ref().and_then(Usage::from_openai);
    let Some(Value::Array(choices)) = body.get_mut("choices") else {
        return Err(shape("the body has no `choices` list"));
    };
    let mut finish = None;
    for (position, choice) in choices.iter_mut().enumerate() {
        let Some(choice) = choice.as_object_mut() else {
            return Err(shape("a choice is not an object"));
        };
        choice
            .entry("index")
            .or_insert_with(|| Value::from(position));
        let Some(Value::Object(message)) = choice.get_mut("message") else {
            return Err(shape("a choice has no `message` object"));
        };
        normalize_message(message);
        // The one shape error upstreams make that normalisation leaves: the host would refuse
        // it as the adapter's fault, but it is the upstream's.
        if !matches!(message.get("content"), Some(Value::String(_) | Value::Null)) {
            return Err(shape("a message's `content` is not text"));
        }
        let choice_finish = normalize::finish(choice);
        if finish.is_none() {
            finish = choice_finish;
        }
    }
    normalize::envelope(&mut body, "chat.completion");
    // The host checks the completion's shape; the guest only writes it. Sized like the upstream
    // body so that a large answer (a base64 image) is written without doubling reallocations,
    // which would not fit the plugin's memory next to the upstream body and the parsed tree.
    let mut bytes = Vec::with_capacity(response.body.len().saturating_add(SERIALISE_SLACK));
    serde_json::to_writer(&mut bytes, &body)
        .map_err(|e| PluginError::Internal(format!("cannot serialise the response: {e}")))?;
    Ok(ParsedResponse {
        body: bytes,
        usage,
        finish,
    })
}

fn normalize_message(message: &mut Map<String, Value>) {
    message
        .entry("role")
        .or_insert_with(|| Value::String("assistant".to_owned()));
    message.entry("content").or_insert(Value::Null);
    normalize::reasoning_and_content(message);
    normalize::tool_calls(message);
    if message.get("tool_calls").is_some_and(Value::is_null) {
        message.remove("tool_calls");
    }
}

/// The error for a 2xx body of the wrong shape.
pub fn shape(what: &str) -> PluginError {
    PluginError::UpstreamUnavailable(format!("upstream sent an invalid response: {what}"))
}
