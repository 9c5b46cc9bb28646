//! Errors in Anthropic's shape: `{"type": "error", "error": {"type", "message"}}`, with the
//! status the gateway chose (and its `retry-after`).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;

/// Anthropic's error `type` for an HTTP status.
pub fn error_type(status: u16) -> &'static str {
    match status {
        400 | 405 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

/// The error body for `status` and `message`.
pub fn body(status: u16, message: &str) -> Value {
    json!({"type": "error", "error": {"type": error_type(status), "message": message}})
}

/// Renders a gateway error in Anthropic's shape, keeping its status and headers.
pub fn render(error: impl Into<ApiError>) -> Response {
    let error = error.into();
    let body = body(error.status().as_u16(), error.message());
    let mut response = error.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(body.to_string());
    response
}

/// A 400 `invalid_request_error` response.
pub fn invalid(message: impl Into<String>) -> Response {
    render(ApiError::invalid_request(message))
}

/// A 404 answer for a model that no catalog entry or alias names.
pub fn unknown_model(model: &str) -> Response {
    render(ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!("model: {model:?} does not exist"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_anthropic_error_types() {
        assert_eq!(error_type(400), "invalid_request_error");
        assert_eq!(error_type(401), "authentication_error");
        assert_eq!(error_type(404), "not_found_error");
        assert_eq!(error_type(429), "rate_limit_error");
        assert_eq!(error_type(502), "api_error");
        assert_eq!(error_type(503), "overloaded_error");
        assert_eq!(error_type(504), "timeout_error");
        assert_eq!(body(413, "big")["error"]["type"], "request_too_large");
    }
}
