//! The body of an admin request: read once the caller is authorized, as JSON of the handler's
//! type, with the field shapes every admin body shares (a field present or `null`, amounts of
//! USD).

use std::str::FromStr;

use axum::body::Body;
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::AppState;
use super::chat::read_body;
use super::error::ApiError;
use switchyard_domain::money::{Nanos, to_nanos};

/// A JSON body of type `T`, read once the caller is authorized (the `Json` extractor would read
/// it before the handler checks anything): 400 when malformed, 422 when of the wrong shape.
pub(crate) async fn json_body<T: DeserializeOwned>(
    state: &AppState,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(body, state.max_body_bytes).await?;
    serde_json::from_slice(&bytes).map_err(|error| {
        let status = match error.classify() {
            serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(
            status,
            "invalid_request_error",
            format!("invalid request body: {error}"),
        )
    })
}

/// A field that is present, possibly `null`.
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A USD amount given as a JSON number or a decimal string.
pub(crate) fn usd(value: &Value) -> Result<Nanos, ApiError> {
    let text = match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        _ => String::new(),
    };
    Decimal::from_str(&text)
        .ok()
        .and_then(to_nanos)
        .ok_or_else(|| ApiError::invalid_request(format!("{value} is not an amount of USD")))
}

/// A USD amount that is not negative (a limit).
pub(crate) fn non_negative_usd(value: &Value) -> Result<Nanos, ApiError> {
    match usd(value)? {
        nanos if nanos >= 0 => Ok(nanos),
        _ => Err(ApiError::invalid_request("a limit cannot be negative")),
    }
}
