//! Classifies OpenAI-compatible error bodies (non-2xx responses, `error` objects in 2xx bodies
//! and in stream chunks) into typed [`PluginError`]s.

use crate::provider::*;
use serde_json::Value;

/// Error codes or types meaning the operator's account or key is at fault (not transient).
const AUTH_CODES: &[&str] = &[
    "insufficient_quota",
    "billing_hard_limit_reached",
    "billing_not_active",
    "invalid_api_key",
    "authentication_error",
    "permission_error",
    "permission_denied",
    "unauthorized",
];
/// Error codes or types meaning the prompt does not fit the context window.
const CONTEXT_CODES: &[&str] = &["context_length_exceeded", "context_window_exceeded"];
/// Error codes or types meaning the provider refused the content.
const FILTER_CODES: &[&str] = &["content_filter", "content_policy_violation"];
/// Error codes or types meaning the request was rate-limited.
const RATE_LIMIT_CODES: &[&str] = &[
    "rate_limit_exceeded",
    "rate_limit_error",
    "too_many_requests",
];
/// Error codes or types meaning the provider is overloaded.
const OVERLOADED_CODES: &[&str] = &[
    "overloaded",
    "overloaded_error",
    "server_overloaded",
    "engine_overloaded",
    "service_unavailable",
];

/// Maps a non-2xx response by the body's error code/type first, then by HTTP status.
pub fn from_response(response: &HttpResponse) -> PluginError {
    let body = serde_json::from_slice::<Value>(&response.body).ok();
    classify(
        Some(response.status),
        &response.headers,
        body.as_ref(),
        error_message(&response.body),
    )
}

/// The `error` member of a 2xx body or stream chunk, when it is a real error (not `null`).
pub fn embedded_error(value: &Value) -> Option<&Value> {
    value
        .get("error")
        .filter(|error| error.is_object() || error.is_string())
}

/// Maps an `error` found inside a 2xx body or a stream chunk (`value` is the whole object).
pub fn from_embedded(value: &Value) -> PluginError {
    let message = embedded_error(value)
        .and_then(|error| {
            error
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| error.as_str())
        })
        .unwrap_or("upstream error")
        .to_owned();
    classify(None, &[], Some(value), message)
}

/// The core mapping. `status` is the HTTP status when there is one; a numeric `error.code`
/// (vLLM, OpenRouter style) stands in for it otherwise.
fn classify(
    status: Option<u16>,
    headers: &[Header],
    body: Option<&Value>,
    message: String,
) -> PluginError {
    let error = body.map(|body| body.get("error").unwrap_or(body));
    let text = |name: &str| {
        error
            .and_then(|e| e.get(name))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    let tags: Vec<String> = [text("code"), text("type")].into_iter().flatten().collect();
    let tagged = |codes: &[&str]| tags.iter().any(|tag| codes.contains(&tag.as_str()));
    let numeric = error
        .and_then(|e| e.get("code").or_else(|| e.get("status")))
        .and_then(Value::as_u64)
        .filter(|code| (100..600).contains(code))
        .and_then(|code| u16::try_from(code).ok());
    let status = status.or(numeric);
    let client_side = status.is_none_or(|s| (400..500).contains(&s));

    if tagged(AUTH_CODES) {
        return PluginError::Auth(message);
    }
    if tagged(CONTEXT_CODES) || (client_side && mentions_context_length(&message)) {
        return PluginError::ContextLengthExceeded(message);
    }
    if tagged(FILTER_CODES) {
        return PluginError::ContentFiltered(message);
    }
    if tagged(RATE_LIMIT_CODES) || status == Some(429) {
        return PluginError::RateLimited(RateLimit {
            message,
            retry_after_ms: retry_after_ms(headers),
        });
    }
    if tagged(OVERLOADED_CODES) {
        return PluginError::Overloaded(message);
    }
    match status {
        Some(401 | 403) => PluginError::Auth(message),
        Some(400 | 404 | 409 | 413 | 422) => PluginError::InvalidRequest(message),
        Some(503 | 529) => PluginError::Overloaded(message),
        Some(status) => {
            PluginError::UpstreamUnavailable(format!("upstream status {status}: {message}"))
        }
        None if tagged(&[
            "invalid_request_error",
            "invalid_request",
            "badrequesterror",
        ]) =>
        {
            PluginError::InvalidRequest(message)
        }
        None => PluginError::UpstreamUnavailable(format!("upstream error: {message}")),
    }
}
