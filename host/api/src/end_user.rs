//! The end user a request names: the `X-Switchyard-User` header, else the body's field
//! (OpenAI's `user`; Anthropic's `metadata.user_id` arrives here as `user`). The header wins.

use axum::http::HeaderMap;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use switchyard_accounting::tab::Tab;

/// The header naming the end user.
pub const END_USER_HEADER: &str = "x-switchyard-user";

/// The end user id `headers` or `body_user` name; an empty one names none.
pub fn named<'a>(
    headers: &'a HeaderMap,
    body_user: Option<&'a Value>,
) -> Result<Option<&'a str>, ApiError> {
    let id = match headers.get(END_USER_HEADER) {
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::invalid_request(format!("{END_USER_HEADER} must be visible ASCII"))
                .with_code("invalid_end_user")
        })?),
        None => match body_user {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.as_str()),
            Some(_) => {
                return Err(ApiError::invalid_request("`user` must be a string")
                    .with_code("invalid_end_user"));
            }
        },
    };
    Ok(id.map(str::trim).filter(|id| !id.is_empty()))
}

/// Names the request's end user on `tab`: checked, registered within its account's cap and
/// within its rate limits (nothing without accounting).
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    tab: &Tab,
    body_user: Option<&Value>,
) -> Result<(), ApiError> {
    let id = named(headers, body_user)?;
    match &state.accounting {
        Some(accounting) => Ok(accounting.identify(tab, id).await?),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    #[test]
    fn the_header_wins_over_the_body() {
        let mut headers = HeaderMap::new();
        let body = json!("from-body");
        assert_eq!(named(&headers, Some(&body)).unwrap(), Some("from-body"));
        headers.insert(END_USER_HEADER, HeaderValue::from_static("from-header"));
        assert_eq!(named(&headers, Some(&body)).unwrap(), Some("from-header"));
        assert_eq!(named(&HeaderMap::new(), Some(&json!(""))).unwrap(), None);
        assert!(named(&HeaderMap::new(), Some(&json!(7))).is_err());
    }
}
