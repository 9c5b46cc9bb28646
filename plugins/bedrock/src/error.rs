//! Classifies Bedrock errors (non-2xx responses and the stream's exception events) into typed
//! [`PluginError`]s by AWS error type (`x-amzn-errortype`, a body `__type`, or the exception
//! event's name), then by HTTP status.

use serde_json::Value;
use switchyard_sdk::provider::*;

/// Maps a non-2xx response.
pub fn from_response(response: &HttpResponse) -> PluginError {
    let body = serde_json::from_slice::<Value>(&response.body).ok();
    let kind = header(&response.headers, "x-amzn-errortype")
        .map(str::to_owned)
        .or_else(|| {
            body.as_ref()
                .and_then(|b| b.get("__type"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let message = body
        .as_ref()
        .and_then(message_of)
        .unwrap_or_else(|| error_message(&response.body));
    match kind
        .as_deref()
        .and_then(|kind| classify(error_name(kind), &message))
    {
        Some(error) => error,
        None => error_from_status(response),
    }
}

/// Maps an exception event of a stream (`throttlingException`, ...); `None` for an event type
/// that is not an exception.
pub fn from_exception(event_type: &str, payload: &Value) -> Option<PluginError> {
    if !event_type.ends_with("Exception") {
        return None;
    }
    let message = message_of(payload).unwrap_or_else(|| event_type.to_owned());
    Some(classify(event_type, &message).unwrap_or_else(|| {
        PluginError::UpstreamUnavailable(format!("bedrock {event_type}: {message}"))
    }))
}

/// The error message of a body: `message` or `Message`.
fn message_of(body: &Value) -> Option<String> {
    body.get("message")
        .or_else(|| body.get("Message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The bare error name of `ThrottlingException:http://internal.amazon.com/...` or
/// `com.amazon.coral.service#ThrottlingException`.
fn error_name(kind: &str) -> &str {
    let kind = kind.split(':').next().unwrap_or(kind);
    kind.rsplit('#').next().unwrap_or(kind)
}

/// Maps an AWS error name (either case of its first letter); `None` when it is not known.
fn classify(name: &str, message: &str) -> Option<PluginError> {
    let message = message.to_owned();
    let mut chars = name.chars();
    let name: String = chars
        .next()
        .map(|first| first.to_ascii_uppercase())
        .into_iter()
        .chain(chars)
        .collect();
    Some(match name.as_str() {
        "ThrottlingException" | "ServiceQuotaExceededException" | "TooManyRequestsException" => {
            PluginError::RateLimited(RateLimit {
                message,
                retry_after_ms: None,
            })
        }
        "ValidationException" if mentions_context_length(&message) || too_long(&message) => {
            PluginError::ContextLengthExceeded(message)
        }
        "ValidationException" | "ResourceNotFoundException" | "ConflictException" => {
            PluginError::InvalidRequest(message)
        }
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "ExpiredTokenException"
        | "MissingAuthenticationTokenException" => PluginError::Auth(message),
        "ModelNotReadyException"
        | "ServiceUnavailableException"
        | "InternalServerException"
        | "ModelTimeoutException"
        | "ModelErrorException"
        | "ModelStreamErrorException" => {
            PluginError::UpstreamUnavailable(format!("bedrock {name}: {message}"))
        }
        _ => return None,
    })
}

/// Bedrock's own wording for a prompt over the context window.
fn too_long(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("input is too long") || lower.contains("too many input tokens")
}

#[cfg(test)]
mod tests {
    use switchyard_sdk::testing::http;

    use super::*;

    fn kind(error: &PluginError) -> &'static str {
        match error {
            PluginError::RateLimited(_) => "rate-limited",
            PluginError::Overloaded(_) => "overloaded",
            PluginError::ContextLengthExceeded(_) => "context",
            PluginError::InvalidRequest(_) => "invalid",
            PluginError::Auth(_) => "auth",
            PluginError::ContentFiltered(_) => "filtered",
            PluginError::UpstreamUnavailable(_) => "unavailable",
            PluginError::Internal(_) => "internal",
            PluginError::Unsupported(_) => "unsupported",
        }
    }

    #[test]
    fn the_error_type_header_decides_then_the_status() {
        let cases = [
            (
                429,
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                "Too many requests, please wait before trying again.",
                "rate-limited",
            ),
            (
                400,
                "ValidationException",
                "The model returned the following errors: Input is too long for requested model.",
                "context",
            ),
            (
                400,
                "ValidationException",
                "Malformed input request",
                "invalid",
            ),
            (
                403,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
                "auth",
            ),
            (
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                "auth",
            ),
            (
                429,
                "ModelNotReadyException",
                "Model is not ready",
                "unavailable",
            ),
            (
                503,
                "ServiceUnavailableException",
                "Service unavailable",
                "unavailable",
            ),
            (
                424,
                "ModelErrorException",
                "The model failed",
                "unavailable",
            ),
            (
                404,
                "ResourceNotFoundException",
                "Could not resolve the foundation model",
                "invalid",
            ),
        ];
        for (status, kind_header, message, expected) in cases {
            let body = serde_json::json!({"message": message}).to_string();
            let error = from_response(&http(
                status,
                &[("x-amzn-errortype", kind_header)],
                body.as_bytes(),
            ));
            assert_eq!(kind(&error), expected, "{kind_header}");
        }
        let unknown = from_response(&http(429, &[], br#"{"Message":"slow"}"#));
        assert_eq!(kind(&unknown), "rate-limited");
    }

    #[test]
    fn stream_exceptions_are_classified_and_events_are_not() {
        let payload = serde_json::json!({"message": "slow down"});
        let throttled = from_exception("throttlingException", &payload);
        assert_eq!(throttled.as_ref().map(kind), Some("rate-limited"));
        let failed = from_exception("modelStreamErrorException", &payload);
        assert_eq!(failed.as_ref().map(kind), Some("unavailable"));
        assert!(from_exception("contentBlockDelta", &payload).is_none());
    }
}
