//! Classifies google.rpc error bodies (`{"error": {"code", "message", "status", "details"}}`)
//! into typed [`PluginError`]s by `status`, then by HTTP code.

use crate::provider::*;
use serde_json::Value;

/// Maps a non-2xx response.
pub fn from_response(response: &HttpResponse) -> PluginError {
    let body = serde_json::from_slice::<Value>(&response.body).ok();
    classify(
        Some(response.status),
        &response.headers,
        body.as_ref(),
        error_message(&response.body),
    )
}

/// True when a 2xx body or stream event is an error object.
pub fn is_error(value: &Value) -> bool {
    value.get("error").is_some_and(Value::is_object)
}

/// Maps an error found in a 2xx body or a stream event (`value` is the whole object).
pub fn from_embedded(value: &Value) -> PluginError {
    let message = value
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("upstream error")
        .to_owned();
    classify(None, &[], Some(value), message)
}

/// The `RetryInfo.retryDelay` of the error details (e.g. `"34.4s"`) in milliseconds.
pub fn retry_delay_ms(error: &Value) -> Option<u64> {
    error
        .get("details")?
        .as_array()?
        .iter()
        .filter(|d| {
            d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
        })
        .find_map(|d| d.get("retryDelay").and_then(Value::as_str))
        .and_then(|delay| delay.trim().strip_suffix('s'))
        .and_then(|seconds| seconds.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(|seconds| (seconds * 1000.0).round() as u64)
}

/// True when an `ErrorInfo` detail says the API key is invalid (Gemini answers 400 for it).
fn bad_key(error: &Value) -> bool {
    error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|d| {
            matches!(
                d.get("reason").and_then(Value::as_str),
                Some("API_KEY_INVALID" | "API_KEY_SERVICE_BLOCKED")
            )
        })
}

/// True when a message says the input is over the model's token limit.
fn too_long(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    mentions_context_length(message)
        || lower.contains("maximum number of tokens")
        || lower.contains("exceeds the maximum")
}

fn classify(
    status: Option<u16>,
    headers: &[Header],
    body: Option<&Value>,
    message: String,
) -> PluginError {
    let error = body.and_then(|b| b.get("error")).unwrap_or(&Value::Null);
    let rpc_status = error.get("status").and_then(Value::as_str);
    let code = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    let status = status.or(code);
    if bad_key(error) {
        return PluginError::Auth(message);
    }
    match rpc_status {
        Some("RESOURCE_EXHAUSTED") => {
            return PluginError::RateLimited(RateLimit {
                message,
                retry_after_ms: retry_delay_ms(error).or_else(|| retry_after_ms(headers)),
            });
        }
        Some("UNAUTHENTICATED" | "PERMISSION_DENIED") => return PluginError::Auth(message),
        Some("INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "NOT_FOUND" | "OUT_OF_RANGE") => {
            return if too_long(&message) {
                PluginError::ContextLengthExceeded(message)
            } else {
                PluginError::InvalidRequest(message)
            };
        }
        Some("UNAVAILABLE") => return PluginError::Overloaded(message),
        Some(kind @ ("INTERNAL" | "DEADLINE_EXCEEDED" | "UNKNOWN" | "ABORTED")) => {
            return PluginError::UpstreamUnavailable(format!("gemini {kind}: {message}"));
        }
        _ => {}
    }
    match status {
        Some(429) => PluginError::RateLimited(RateLimit {
            message,
            retry_after_ms: retry_delay_ms(error).or_else(|| retry_after_ms(headers)),
        }),
        Some(401 | 403) => PluginError::Auth(message),
        Some(400 | 404 | 413 | 422) if too_long(&message) => {
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
