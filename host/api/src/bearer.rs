//! The check of the bootstrap admin token: `Authorization: Bearer <token>` compared, in
//! constant time, with the token read from the variable named by `admin.token_env`. The admin
//! API ([`super::roles`]) and `GET /metrics` on the main listener both check it here.

use axum::http::{HeaderMap, StatusCode, header};

use super::error::ApiError;

/// Checks `Authorization: Bearer <expected>`; 404 when there is no token to expect.
pub(crate) fn check_bearer(expected: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "the admin API is disabled",
        )
        .with_code("admin_disabled"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid admin token",
        )
        .with_code("invalid_admin_token"))
    }
}

/// Compares without leaking where the first difference is, nor the expected length: the
/// SHA-256 digests of both are compared, each byte of them.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_are_equal_only_when_identical() {
        assert!(constant_time_eq(b"change-me", b"change-me"));
        assert!(!constant_time_eq(b"change-me", b"change-mf"));
        assert!(!constant_time_eq(b"change-me", b"change-me-longer"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
