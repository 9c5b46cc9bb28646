//! Classifies Mistral error responses into typed [`PluginError`]s.
//!
//! Mistral sends `{"message": "...", "type", "code"}`, or for validation errors
//! `{"object": "error", "message": {"detail": [...]}, "type": "invalid_request_error"}`.

use serde_json::Value;
use switchyard_sdk::chat_completions::Dialect;
use switchyard_sdk::provider::*;

/// Mistral's error reporting, for the shared Chat Completions response parser and decoder.
#[derive(Debug, Default, Clone, Copy)]
pub struct MistralDialect;

impl Dialect for MistralDialect {
    fn embedded_error(value: &Value) -> Option<PluginError> {
        let is_error = value
            .get("error")
            .is_some_and(|e| e.is_object() || e.is_string())
            || value.get("object").and_then(Value::as_str) == Some("error");
        is_error.then(|| from_embedded(value))
    }

    fn response_error(response: &HttpResponse) -> PluginError {
        from_response(response)
    }
}

/// Maps a non-2xx response by HTTP status; a structured validation message is flattened to
/// text first.
pub fn from_response(response: &HttpResponse) -> PluginError {
    let detail = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|body| body.get("message").filter(|m| !m.is_string()).cloned());
    match detail {
        Some(detail) => {
            let body = serde_json::json!({"message": detail.to_string()}).to_string();
            error_from_status(&HttpResponse {
                status: response.status,
                headers: response.headers.clone(),
                body: body.into_bytes(),
            })
        }
        None => error_from_status(response),
    }
}

/// Maps an `error` object found in a 2xx body or a stream chunk.
pub fn from_embedded(value: &Value) -> PluginError {
    let error = value.get("error").unwrap_or(value);
    let message = error
        .get("message")
        .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
        .unwrap_or_else(|| "upstream error".to_owned());
    if mentions_context_length(&message) {
        PluginError::ContextLengthExceeded(message)
    } else {
        PluginError::UpstreamUnavailable(format!("upstream error: {message}"))
    }
}
