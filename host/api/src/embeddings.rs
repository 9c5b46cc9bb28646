//! `POST /v1/embeddings`: read and validate the body, then hand it to the gateway.

use std::collections::HashSet;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::AppState;
use super::chat::{admit_and_read, wants_routing_trace};
use super::error::ApiError;
use super::request_limits;
use switchyard_gateway::embeddings::EmbeddingsCall;
use switchyard_routing::preferences::ProviderPreferences;

/// Fields an embeddings request may carry.
const FIELDS: &[&str] = &[
    "model",
    "models",
    "input",
    "dimensions",
    "encoding_format",
    "user",
    "provider",
    "input_type",
];

/// The `user` field of a request body.
#[derive(serde::Deserialize)]
struct UserField {
    #[serde(default)]
    user: Option<Value>,
}

/// Serves an embeddings request.
pub async fn create_embeddings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (tab, bytes) = match admit_and_read(&state, &headers, body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let mut call = match validate(&bytes) {
        Ok(call) => EmbeddingsCall { tab, ..call },
        Err(error) => return error.into_response(),
    };
    // The body was checked: only its `user` is read again.
    let user = serde_json::from_slice::<UserField>(&bytes)
        .ok()
        .and_then(|field| field.user);
    if let Err(error) = super::end_user::identify(&state, &headers, &call.tab, user.as_ref()).await
    {
        return error.into_response();
    }
    call.debug_routing = wants_routing_trace(&headers);
    call.cache = switchyard_gateway::cache::Directives::of(&headers);
    match state.gateway.embeddings(call).await {
        Ok(response) => response,
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// Checks the body is a well-formed embeddings request; the canonical request keeps what
/// adapters need (`model`, `input`, `dimensions`, `user`, `input_type`).
pub fn validate(body: &[u8]) -> Result<EmbeddingsCall, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("request body is not valid JSON: {e}")))?;
    let Value::Object(mut request) = value else {
        return Err(ApiError::invalid_request(
            "request body must be a JSON object",
        ));
    };
    request_limits::check_models(&request)?;
    if let Some(key) = request.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(
            ApiError::invalid_request(format!("unsupported parameter `{key}`"))
                .with_code("unsupported_parameter"),
        );
    }
    let model = match request.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_request("`model` is required").with_code("missing_model"));
        }
        Some(_) => {
            return Err(ApiError::invalid_request(
                "`model` must be a non-empty string",
            ));
        }
    };
    let mut seen = HashSet::from([model.clone()]);
    let mut models = vec![model];
    match request.remove("models") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::String(id) = item else {
                    return Err(ApiError::invalid_request(
                        "`models` must be an array of model id strings",
                    ));
                };
                if seen.insert(id.clone()) {
                    models.push(id);
                }
            }
        }
        Some(_) => {
            return Err(ApiError::invalid_request(
                "`models` must be an array of model id strings",
            ));
        }
    }
    check_input(request.get("input"))?;
    match request.get("dimensions") {
        None | Some(Value::Null) => {}
        Some(value) if value.as_u64().is_some_and(|d| d > 0) => {}
        Some(_) => {
            return Err(ApiError::invalid_request(
                "`dimensions` must be a positive integer",
            ));
        }
    }
    let base64 = match request.remove("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(format)) if format == "float" => false,
        Some(Value::String(format)) if format == "base64" => true,
        Some(_) => {
            return Err(ApiError::invalid_request(
                "`encoding_format` must be `float` or `base64`",
            ));
        }
    };
    let preferences = ProviderPreferences::from_request(request.remove("provider").as_ref())
        .map_err(|message| {
            ApiError::invalid_request(message).with_code("invalid_provider_preferences")
        })?;
    Ok(EmbeddingsCall {
        body: Bytes::from(serde_json::to_vec(&Value::Object(request)).unwrap_or_default()),
        models,
        preferences,
        debug_routing: false,
        base64,
        tab: Default::default(),
        cache: Default::default(),
    })
}

/// `input`: a non-empty string, or a non-empty array of non-empty strings, of token ids, or of
/// non-empty token id arrays.
fn check_input(input: Option<&Value>) -> Result<(), ApiError> {
    let invalid = || {
        ApiError::invalid_request(
            "`input` must be a non-empty string, or a non-empty array of strings, of token ids or of token id arrays",
        )
    };
    let is_token = |value: &Value| value.as_u64().is_some();
    let valid = match input {
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_request("`input` is required").with_code("missing_input"));
        }
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(items)) if items.is_empty() => false,
        Some(Value::Array(items)) => {
            items
                .iter()
                .all(|item| item.as_str().is_some_and(|s| !s.is_empty()))
                || items.iter().all(is_token)
                || items.iter().all(|item| {
                    item.as_array()
                        .is_some_and(|tokens| !tokens.is_empty() && tokens.iter().all(is_token))
                })
        }
        Some(_) => false,
    };
    if valid { Ok(()) } else { Err(invalid()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(object) => object,
            _ => Map::new(),
        }
    }

    fn refused(request: Value) -> String {
        match validate(request.to_string().as_bytes()) {
            Ok(_) => panic!("{request} should be refused"),
            Err(error) => error.message().to_owned(),
        }
    }

    #[test]
    fn inputs_of_every_documented_shape_are_accepted() {
        for input in [
            json!("hi"),
            json!(["a", "b"]),
            json!([1, 2, 3]),
            json!([[1, 2], [3]]),
        ] {
            let call = validate(json!({"model": "a/b", "input": input, "encoding_format": "base64", "dimensions": 8}).to_string().as_bytes())
                .expect("valid");
            assert!(call.base64);
            let body = object(serde_json::from_slice(&call.body).expect("JSON"));
            assert!(!body.contains_key("encoding_format"));
            assert_eq!(body["dimensions"], 8);
        }
    }

    #[test]
    fn malformed_requests_are_refused_with_a_reason() {
        assert!(refused(json!({"input": "x"})).contains("`model` is required"));
        assert!(refused(json!({"model": "a/b"})).contains("`input` is required"));
        assert!(refused(json!({"model": "a/b", "input": []})).contains("`input` must be"));
        assert!(refused(json!({"model": "a/b", "input": ["a", 1]})).contains("`input` must be"));
        assert!(
            refused(json!({"model": "a/b", "input": "x", "dimensions": 0}))
                .contains("`dimensions`")
        );
        assert!(
            refused(json!({"model": "a/b", "input": "x", "encoding_format": "hex"}))
                .contains("`encoding_format`")
        );
        assert!(
            refused(json!({"model": "a/b", "input": "x", "temperature": 1}))
                .contains("`temperature`")
        );
        let many: Vec<String> = (0..40_000).map(|i| format!("m{i}")).collect();
        assert!(
            refused(json!({"model": "a/b", "input": "x", "models": many})).contains("`models`")
        );
    }

    #[test]
    fn fallback_models_keep_their_order_without_duplicates() {
        let request = json!({"model": "a/b", "input": "x", "models": ["c/d", "a/b", "c/d", "e/f"]});
        let call = validate(request.to_string().as_bytes()).expect("valid");
        assert_eq!(call.models, ["a/b", "c/d", "e/f"]);
    }
}
