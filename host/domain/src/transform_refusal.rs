//! A transform's refusal as the gateway answers it: status, code and message from the
//! transform, the transform and hook in the metadata.

use std::collections::BTreeSet;
use std::sync::Mutex;

use axum::http::StatusCode;
use serde_json::{Value, json};

/// The code of a refusal whose code is not a short snake_case word, or came after
/// [`MAX_CODES`] distinct ones.
const FALLBACK_CODE: &str = "transform_refused";

/// The code of a transform that faulted and fails closed.
pub const FAULT_CODE: &str = "transform_failed";

/// Distinct codes kept: a code is a `&'static str` in every error answer, so each distinct one is
/// kept once for the process's life; a transform cannot grow that past this bound.
const MAX_CODES: usize = 256;

static CODES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// A request or answer a transform refused, or one refused because a transform faulted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransformRefusal {
    /// The transform's name.
    pub transform: String,
    /// The hook that refused, e.g. `on_request`.
    pub hook: &'static str,
    /// HTTP status, 400 to 599.
    pub status: StatusCode,
    /// Machine-readable code.
    pub code: &'static str,
    /// Message for the client.
    pub message: String,
}

impl TransformRefusal {
    /// A refusal by `transform` in `hook` with the transform's own status, code and message.
    pub fn new(
        transform: &str,
        hook: &'static str,
        status: u16,
        code: &str,
        message: String,
    ) -> Self {
        TransformRefusal {
            transform: transform.to_owned(),
            hook,
            status: StatusCode::from_u16(status)
                .ok()
                .filter(|status| status.is_client_error() || status.is_server_error())
                .unwrap_or(StatusCode::BAD_REQUEST),
            code: intern(code),
            message,
        }
    }

    /// The OpenAI error `type` for its status.
    pub fn kind(&self) -> &'static str {
        if self.status.is_server_error() {
            "server_error"
        } else {
            "invalid_request_error"
        }
    }

    /// The error's `metadata`: which transform refused, in which hook.
    pub fn metadata(&self) -> Value {
        json!({ "transform": self.transform, "hook": self.hook })
    }
}

/// `code` as a `&'static str`: kept once per distinct code, up to [`MAX_CODES`].
fn intern(code: &str) -> &'static str {
    let valid = !code.is_empty()
        && code.len() <= 64
        && (code.bytes()).all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return FALLBACK_CODE;
    }
    let mut codes = CODES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(kept) = codes.get(code) {
        return kept;
    }
    if codes.len() >= MAX_CODES {
        return FALLBACK_CODE;
    }
    let kept: &'static str = Box::leak(code.to_owned().into_boxed_str());
    codes.insert(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kept_once_and_bad_ones_fall_back() {
        let first = TransformRefusal::new("t", "on_request", 400, "denied_term", "no".into());
        let second = TransformRefusal::new("t", "on_request", 403, "denied_term", "no".into());
        assert!(std::ptr::eq(first.code, second.code));
        assert_eq!(second.status, StatusCode::FORBIDDEN);
        let odd = TransformRefusal::new("t", "on_request", 200, "Not A Code", "no".into());
        assert_eq!(odd.code, FALLBACK_CODE);
        assert_eq!(odd.status, StatusCode::BAD_REQUEST);
    }
}
