//! What an admin handler acts on: the accounting (404 when it is disabled), and the 404 of an
//! item that does not exist or that the caller does not see.

use std::sync::Arc;

use axum::http::StatusCode;

use super::AppState;
use super::error::ApiError;
use switchyard_accounting::Accounting;

/// Accounting is enabled (the caller's token was checked by [`super::roles::guard`]).
pub(crate) fn enabled(state: &AppState) -> Result<Arc<Accounting>, ApiError> {
    state.accounting.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "accounting is disabled on this gateway (accounting.enabled)",
        )
        .with_code("accounting_disabled")
    })
}

/// The 404 of a `what` of id `id` that is not there.
pub(crate) fn no_such(what: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!("no {what} {id:?}"),
    )
    .with_code("not_found")
}
