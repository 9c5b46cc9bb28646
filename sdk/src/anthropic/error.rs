//! Classifies Anthropic errors (non-2xx responses, `type: error` bodies and `event: error`
//! stream events) into typed [`PluginError`]s by `error.type`, then by HTTP status.

use crate::provider::*;
use serde_json::Value;

/// Maps a non-2xx response.
pub fn from_response(response: &HttpResponse) -> PluginError {
    let body = serde_json::from_slice::<Value>(&response.body).ok();
    let kind = body.as_ref().and_then(error_type);
    classify(
        Some(response.status),
        &response.headers,
        kind.as_deref(),
        error_message(&response.body),
    )
}

/// True when a 2xx body or stream event is an error (`type: error` or an `error` object).
pub fn is_error(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("error")
        || value.get("error").is_some_and(Value::is_object)
}

/// Maps an error carried in a 2xx body or an `error` stream event.
pub fn from_embedded(value: &Value) -> PluginError {
    let message = value
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("upstream error")
        .to_owned();
    classify(None, &[], error_type(value).as_deref(), message)
}

fn error_type(value: &Value) -> Option<String> {
    value
        .get("error")
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn classify(
    status: Option<u16>,
    headers: &[Header],
    kind: Option<&str>,
    message: String,
) -> PluginError {
    let rate_limited = |message| {
        PluginError::RateLimited(RateLimit {
            message,
            retry_after_ms: retry_after_ms(headers),
        })
    };
    match kind {
        Some("rate_limit_error") => return rate_limited(message),
        Some("overloaded_error") => return PluginError::Overloaded(message),
        Some("authentication_error" | "permission_error" | "billing_error") => {
            return PluginError::Auth(message);
        }
        // A body over Anthropic's request size limit: the prompt is too big for this provider.
        Some("request_too_large") => return PluginError::ContextLengthExceeded(message),
        Some("invalid_request_error" | "not_found_error") => {
            return if mentions_context_length(&message) {
                PluginError::ContextLengthExceeded(message)
            } else {
                PluginError::InvalidRequest(message)
            };
        }
        Some(kind @ ("api_error" | "timeout_error")) => {
            return PluginError::UpstreamUnavailable(format!("anthropic {kind}: {message}"));
        }
        _ => {}
    }
    match status {
        Some(429) => rate_limited(message),
        Some(401 | 403) => PluginError::Auth(message),
        Some(400 | 404 | 413 | 422) if mentions_context_length(&message) => {
            PluginError::ContextLengthExceeded(message)
        }
        Some(400 | 404 | 413 | 422) => PluginError::InvalidRequest(message),
        Some(503 | 529) => PluginError::Overloaded(message),
        Some(status) => {
            PluginError::UpstreamUnavailable(format!("upstream status {status}: {message}"))
        }
        None => PluginError::UpstreamUnavailable(format!("upstream error: {message}")),
    }
}
