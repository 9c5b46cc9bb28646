//! Responses API errors: HTTP error bodies, `error` stream events and `response.failed`
//! responses, classified by their `code`.

use serde_json::Value;
use switchyard_sdk::provider::*;

/// Classifies an unsuccessful HTTP response: by its `error.code` when it has a known one, else
/// by status.
pub fn from_response(response: &HttpResponse) -> PluginError {
    let body = serde_json::from_slice::<Value>(&response.body).unwrap_or_default();
    let error = &body["error"];
    match error.get("code").and_then(Value::as_str) {
        Some(code) if known(code) => {
            from_code(code, error["message"].as_str().unwrap_or(code), response)
        }
        _ => error_from_status(response),
    }
}

/// Classifies an `error` object (`{code, message}`) met in a stream or a failed response.
pub fn from_object(error: &Value) -> PluginError {
    let code = error
        .get("code")
        .and_then(Value::as_str)
        .or_else(|| error.get("type").and_then(Value::as_str))
        .unwrap_or("server_error");
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the upstream response failed");
    from_code(
        code,
        message,
        &HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        },
    )
}

fn known(code: &str) -> bool {
    matches!(
        code,
        "insufficient_quota"
            | "rate_limit_exceeded"
            | "context_length_exceeded"
            | "content_filter"
            | "invalid_prompt"
            | "server_error"
    )
}

fn from_code(code: &str, message: &str, response: &HttpResponse) -> PluginError {
    let message = format!("{code}: {message}");
    match code {
        "insufficient_quota" | "rate_limit_exceeded" => PluginError::RateLimited(RateLimit {
            message,
            retry_after_ms: retry_after_ms(&response.headers),
        }),
        "context_length_exceeded" => PluginError::ContextLengthExceeded(message),
        "content_filter" => PluginError::ContentFiltered(message),
        "invalid_prompt" | "invalid_request_error" => PluginError::InvalidRequest(message),
        _ if mentions_context_length(&message) => PluginError::ContextLengthExceeded(message),
        _ => PluginError::UpstreamUnavailable(message),
    }
}
