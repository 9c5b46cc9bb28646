//! The OpenAI-style error body every failure is rendered as: the request path's
//! [`DomainError`]s, and the HTTP layer's own refusals (a body that cannot be read or parsed).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use switchyard_domain::error::DomainError;

/// The `code` of a refusal of an OpenRouter request feature Switchyard does not serve.
pub const UNSUPPORTED_FEATURE: &str = "unsupported_feature";

/// An error answer: status, OpenAI `type`, optional `code`, message and metadata.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: Option<&'static str>,
    message: String,
    metadata: Option<Value>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with a status, an OpenAI error `type` and a message.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            code: None,
            message: message.into(),
            metadata: None,
            retry_after_secs: None,
        }
    }

    /// A 400 `invalid_request_error`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// A 400 refusing a request feature Switchyard does not serve (code
    /// [`UNSUPPORTED_FEATURE`]).
    pub fn unsupported_feature(message: impl Into<String>) -> Self {
        ApiError::invalid_request(message).with_code(UNSUPPORTED_FEATURE)
    }

    /// Sets the machine-readable `code`.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// Attaches `metadata` (OpenRouter puts details such as failed attempts there).
    pub fn with_metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Adds a `retry-after` header (seconds).
    pub fn with_retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after_secs = seconds;
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The body's `error` object.
    pub fn body(&self) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "param": null,
        });
        if let (Some(metadata), Some(object)) = (&self.metadata, error.as_object_mut()) {
            object.insert("metadata".to_owned(), metadata.clone());
        }
        json!({ "error": error })
    }
}

impl From<DomainError> for ApiError {
    /// Renders a domain error with the status, type, code, metadata and wait it chose.
    fn from(error: DomainError) -> Self {
        ApiError {
            status: error.status(),
            kind: error.kind(),
            code: error.code(),
            metadata: error.metadata(),
            retry_after_secs: error.retry_after_secs(),
            message: error.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_domain::error::Attempts;
    use switchyard_domain::failure::Failure;
    use switchyard_domain::plugin_types::ProviderError;
    use switchyard_domain::routing_trace::RoutingTrace;

    fn no_attempts() -> Box<Attempts> {
        Box::new(Attempts {
            trace: RoutingTrace::default(),
            show_routing: false,
        })
    }

    #[test]
    fn a_refused_hold_renders_with_its_code_and_the_hold_it_needed() {
        let error = ApiError::from(DomainError::KeyLimitReached {
            required: 500_000_000,
        });
        assert_eq!(error.status(), StatusCode::PAYMENT_REQUIRED);
        assert_eq!(
            error.body(),
            json!({"error": {
                "message": "This request requires more credits than the key's limit has left, or fewer max_tokens.",
                "type": "insufficient_quota",
                "code": "key_limit_exceeded",
                "param": null,
                "metadata": {"required": 0.5},
            }})
        );
    }

    #[test]
    fn an_error_without_code_or_metadata_renders_null_code_and_no_metadata() {
        let body = ApiError::from(DomainError::CostOutOfRange).body();
        assert_eq!(
            body,
            json!({"error": {
                "message": "the request's worst-case cost is out of range",
                "type": "invalid_request_error",
                "code": null,
                "param": null,
            }})
        );
    }

    #[test]
    fn the_last_failure_renders_with_the_attempts_and_the_upstream_wait() {
        let error = DomainError::Upstream {
            failure: Failure::Provider {
                provider: "groq".to_owned(),
                error: ProviderError::RateLimited {
                    message: "slow down".to_owned(),
                    retry_after_ms: Some(1_500),
                },
            },
            attempts: Some(no_attempts()),
        };
        let response = ApiError::from(error).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let error = ApiError::from(DomainError::Upstream {
            failure: Failure::Transport {
                provider: "groq".to_owned(),
                message: "connection refused".to_owned(),
            },
            attempts: Some(no_attempts()),
        });
        assert_eq!(
            error.body(),
            json!({"error": {
                "message": "groq: connection refused",
                "type": "upstream_error",
                "code": "upstream_unreachable",
                "param": null,
                "metadata": {"attempts": [], "routing": null},
            }})
        );
    }
}
