//! `POST /v1/chat/completions`: read and validate the body, then hand it to the gateway.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::openai::ChatRequest;
use switchyard_sdk::responses::RESPONSES_EXTENSION;

use super::AppState;
use super::counted_json;
use super::error::ApiError;
use super::keepalive;
use super::plugins::ONLINE;
use super::request_limits;
use crate::ingress::BodyRefused;
use switchyard_accounting::tab::Tab;
use switchyard_accounting::worst_case::choice_count;
use switchyard_gateway::ChatCall;
use switchyard_gateway::cache::Directives;
use switchyard_routing::filters::sent_parameters;
use switchyard_routing::preferences::ProviderPreferences;
use switchyard_routing::sticky::Session;

/// Serves a chat completion, streamed or not.
pub async fn chat_completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (tab, bytes) = match admit_and_read(&state, &headers, body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let bytes = match state.presets.apply(bytes) {
        Ok(bytes) => bytes,
        Err(error) => return error.into_response(),
    };
    let mut call = match validate(bytes, ResponsesItems::Refused) {
        Ok(call) => ChatCall { tab, ..call },
        Err(error) => return error.into_response(),
    };
    if let Err(error) = super::reserved::refuse_reserved(&call.request) {
        return error.into_response();
    }
    let user = call.request.extra.get("user");
    if let Err(error) = super::end_user::identify(&state, &headers, &call.tab, user).await {
        return error.into_response();
    }
    call.debug_routing = wants_routing_trace(&headers);
    call.session = Session::of(&headers, &call.request);
    call.cache = Directives::of(&headers);
    keepalive::chat(state.gateway.clone(), call, state.stream_keepalive).await
}

/// Admits the caller (its key's tab when accounting is on), then reads the body within the size
/// limit (and the ingress layer's deadline and rate); the error answer otherwise.
pub(super) async fn admit_and_read(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Tab, Bytes), Response> {
    let tab = match &state.accounting {
        Some(accounting) => accounting
            .admit(headers)
            .await
            .map_err(|error| ApiError::from(error).into_response())?,
        None => Tab::default(),
    };
    let bytes = read_body(body, state.max_body_bytes)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((tab, bytes))
}

/// Reads a whole body of at most `limit` bytes, once its caller is admitted.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|error| body_error(&error, limit))
}

/// `X-Switchyard-Debug: routing`, or OpenRouter's `X-OpenRouter-Metadata: enabled`.
pub(crate) fn wants_routing_trace(headers: &HeaderMap) -> bool {
    let has = |name: &str, wanted: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|item| item.trim().eq_ignore_ascii_case(wanted))
            })
        })
    };
    has("x-switchyard-debug", "routing") || has("x-openrouter-metadata", "enabled")
}

/// The answer to a body that cannot be read: 413 past `limit`, 408 or 503 when the ingress
/// layer cut it ([`BodyRefused`]), else 400.
pub(crate) fn body_error(error: &axum::Error, limit: usize) -> ApiError {
    if let Some(refused) = BodyRefused::of(error) {
        return refused.answer();
    }
    let too_large = std::error::Error::source(error)
        .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
    if too_large {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("request body exceeds {limit} bytes"),
        )
        .with_code("request_too_large")
    } else {
        ApiError::invalid_request(format!("cannot read request body: {error}"))
    }
}

/// Whether a chat request body may carry a client's Responses API items
/// ([`RESPONSES_EXTENSION`]), which a Responses API upstream receives as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponsesItems {
    /// A client's own field is refused: the items are checked by the Responses API ingress
    /// (`POST /v1/responses`), which also writes the `messages` they are held and routed by.
    Refused,
    /// The Responses API ingress wrote them from checked items.
    Checked,
}

/// Checks the body is a well-formed chat request and extracts what routing needs.
///
/// Passes over the body: one for a well-formed request, parsed straight from the bytes into its
/// type with its JSON values counted during that parse ([`counted_json`]). Only a body that
/// parse refuses, or one that needs the JSON object itself (`provider.require_parameters`,
/// `models` without `model`), is parsed again as a `Value` tree ([`parse_value`]), to name what
/// is wrong or to read it. Before, every request took three: a `Value` tree, a walk counting it
/// and a typed copy of it (with every string allocated twice).
pub fn validate(body: Bytes, items: ResponsesItems) -> Result<ChatCall, ApiError> {
    let checked = match parse_typed(&body, items) {
        Some(checked) => checked,
        None => parse_value(&body, items)?,
    };
    let Checked {
        request,
        fallbacks,
        preferences,
        sent_parameters,
        body: rewritten,
    } = checked;
    let body = rewritten.unwrap_or(body);
    choice_count(&request).map_err(ApiError::invalid_request)?;
    let mut seen = std::collections::HashSet::new();
    let models = std::iter::once(request.model.clone())
        .chain(fallbacks)
        .filter(|model| seen.insert(model.clone()))
        .collect();
    Ok(ChatCall {
        stream: request.stream.unwrap_or(false),
        body,
        request,
        models,
        preferences,
        sent_parameters,
        debug_routing: false,
        tab: Tab::default(),
        session: None,
        responses_client: items == ResponsesItems::Checked,
        cache: Directives::default(),
        offered_search: false,
        transforms: None,
    })
}

/// A chat request that passed the checks, with what routing reads from it.
struct Checked {
    request: ChatRequest,
    fallbacks: Vec<String>,
    preferences: ProviderPreferences,
    sent_parameters: Vec<String>,
    /// The body rewritten for the adapters, when it asked for web search.
    body: Option<Bytes>,
}

/// The one-pass parse of a well-formed request; `None` for anything [`parse_value`] should look
/// at, which refuses the same requests (with the reason) and accepts the same others.
fn parse_typed(body: &[u8], items: ResponsesItems) -> Option<Checked> {
    let request: ChatRequest =
        counted_json::from_slice(body, request_limits::MAX_JSON_VALUES).ok()?;
    let refused_items =
        items == ResponsesItems::Refused && request.extra.contains_key(RESPONSES_EXTENSION);
    // `plugins` and `transforms` (served or refused by name) and `:online` are read by
    // [`parse_value`].
    let online = |model: &Value| model.as_str().is_some_and(|m| m.ends_with(ONLINE));
    let unserved = ["plugins", "transforms"].iter().any(|field| {
        request
            .extra
            .get(*field)
            .is_some_and(|v| v != &Value::Array(Vec::new()))
    }) || request.model.ends_with(ONLINE)
        || (request.extra.get("models").and_then(Value::as_array))
            .is_some_and(|models| models.iter().any(online));
    if refused_items
        || unserved
        || !request_limits::within_caps(&request)
        || request.model.is_empty()
        || request.messages.is_empty()
    {
        return None;
    }
    let fallbacks = match request.extra.get("models") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    let preferences = ProviderPreferences::from_request(request.extra.get("provider")).ok()?;
    // `require_parameters` reads the parameters off the JSON object.
    if preferences.require_parameters == Some(true) {
        return None;
    }
    Some(Checked {
        request,
        fallbacks,
        preferences,
        sent_parameters: Vec::new(),
        body: None,
    })
}

/// Parses the body as a `Value` tree, checks it and reads the typed request from it, naming
/// what is wrong: the path of the requests [`parse_typed`] leaves.
fn parse_value(body: &[u8], items: ResponsesItems) -> Result<Checked, ApiError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("request body is not valid JSON: {e}")))?;
    // A request for web search becomes the canonical `web_search_options`; the body the
    // adapters get is written again from it.
    let rewritten = match &mut value {
        Value::Object(object) => {
            super::unserved::check(object)?;
            super::plugins::web_search(object)?
        }
        _ => false,
    };
    let Value::Object(object) = &value else {
        return Err(ApiError::invalid_request(
            "request body must be a JSON object",
        ));
    };
    if items == ResponsesItems::Refused && object.contains_key(RESPONSES_EXTENSION) {
        return Err(ApiError::invalid_request(format!(
            "`{RESPONSES_EXTENSION}` is reserved for Switchyard's Responses API: send Responses \
             items to `POST /v1/responses`"
        ))
        .with_code("unsupported_parameter"));
    }
    request_limits::check_counts(object)?;
    let fallbacks = match object.get("models") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ApiError::invalid_request("`models` must be an array of model id strings")
            })?,
        Some(_) => {
            return Err(ApiError::invalid_request(
                "`models` must be an array of model id strings",
            ));
        }
    };
    let missing_model = match object.get("model") {
        Some(Value::String(model)) if !model.is_empty() => false,
        None | Some(Value::Null) if !fallbacks.is_empty() => true,
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_request("`model` is required").with_code("missing_model"));
        }
        Some(_) => {
            return Err(ApiError::invalid_request(
                "`model` must be a non-empty string",
            ));
        }
    };
    match object.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => {}
        Some(Value::Array(_)) => {
            return Err(ApiError::invalid_request("`messages` must not be empty"));
        }
        None => {
            return Err(
                ApiError::invalid_request("`messages` is required").with_code("missing_messages")
            );
        }
        Some(_) => return Err(ApiError::invalid_request("`messages` must be an array")),
    }
    let preferences =
        ProviderPreferences::from_request(object.get("provider")).map_err(|message| {
            ApiError::invalid_request(message).with_code("invalid_provider_preferences")
        })?;
    // Only `require_parameters` looks at them.
    let sent_parameters = match preferences.require_parameters {
        Some(true) => sent_parameters(object),
        _ => Vec::new(),
    };
    if missing_model && let (Some(object), Some(first)) = (value.as_object_mut(), fallbacks.first())
    {
        object.insert("model".to_owned(), Value::String(first.clone()));
    }
    let request = match ChatRequest::deserialize(&value) {
        Ok(request) => request,
        Err(error) => {
            let location = locate_invalid_field(&value).unwrap_or_default();
            return Err(ApiError::invalid_request(format!(
                "invalid chat request: {location}{error}"
            )));
        }
    };
    let body = match rewritten {
        true => Some(Bytes::from(serde_json::to_vec(&value).map_err(|e| {
            ApiError::invalid_request(format!("cannot write the request: {e}"))
        })?)),
        false => None,
    };
    Ok(Checked {
        request,
        fallbacks,
        preferences,
        sent_parameters,
        body,
    })
}

/// Names the field a chat request failed on, as "`field`: " (serde loses the path under
/// `#[serde(flatten)]`): each top-level field, then each message, is checked on its own.
fn locate_invalid_field(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    let base = |key: &str, field: &Value| {
        let mut probe = serde_json::Map::new();
        probe.insert("model".to_owned(), Value::String("probe".to_owned()));
        probe.insert("messages".to_owned(), Value::Array(Vec::new()));
        probe.insert(key.to_owned(), field.clone());
        serde_json::from_value::<ChatRequest>(Value::Object(probe)).is_err()
    };
    if let Some(Value::Array(messages)) = object.get("messages") {
        for (index, message) in messages.iter().enumerate() {
            if serde_json::from_value::<switchyard_sdk::openai::Message>(message.clone()).is_err() {
                return Some(format!("`messages[{index}]`: "));
            }
        }
    }
    object
        .iter()
        .find(|(key, field)| key.as_str() != "messages" && base(key, field))
        .map(|(key, _)| format!("`{key}`: "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(body: &str) -> String {
        match validate(Bytes::from(body.to_owned()), ResponsesItems::Refused) {
            Ok(_) => panic!("{body} should be refused"),
            Err(error) => {
                assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{body}");
                error.message().to_owned()
            }
        }
    }

    #[test]
    fn malformed_requests_are_refused_with_a_reason() {
        assert!(error_of("{").contains("not valid JSON"));
        assert!(error_of("[]").contains("JSON object"));
        assert!(
            error_of(r#"{"messages":[{"role":"user","content":"hi"}]}"#)
                .contains("`model` is required")
        );
        assert!(error_of(r#"{"model":7,"messages":[]}"#).contains("`model`"));
        assert!(error_of(r#"{"model":"a/b"}"#).contains("`messages` is required"));
        assert!(error_of(r#"{"model":"a/b","messages":[]}"#).contains("must not be empty"));
        assert!(error_of(r#"{"model":"a/b","messages":"hi"}"#).contains("must be an array"));
        assert!(
            error_of(r#"{"model":"a/b","messages":[{"role":"wizard","content":"hi"}]}"#)
                .contains("wizard")
        );
        assert!(
            error_of(r#"{"model":"a/b","messages":[{"role":"user"}],"stream":"yes"}"#)
                .contains("invalid chat request")
        );
        assert!(
            error_of(r#"{"model":"a/b","messages":[{"role":"user"}],"models":[1]}"#)
                .contains("`models`")
        );
        assert!(
            error_of(r#"{"model":"a/b","messages":[{"role":"user"}],"provider":{"sort":"fast"}}"#)
                .contains("`provider`")
        );
    }

    #[test]
    fn the_invalid_field_is_named() {
        assert!(
            error_of(r#"{"model":"a/b","messages":[{"role":"user"}],"temperature":"hot"}"#)
                .contains("`temperature`")
        );
        assert!(
            error_of(r#"{"model":"a/b","messages":[{"role":"user"},{"role":"user","content":5}]}"#)
                .contains("`messages[1]`")
        );
    }

    /// The one-pass parse accepts a well-formed request with the same reading as the tree.
    #[test]
    fn the_one_pass_parse_reads_what_the_tree_reads() {
        let bodies = [
            r#"{"model":"a/b","messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"a/b","models":["c/d"],"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]}],"stream":true,"temperature":0.2,"stop":["x"],"n":2,"user":"u1"}"#,
            r#"{"model":"a/b","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto","provider":{"order":["x"],"allow_fallbacks":false},"max_tokens":9,"reasoning":{"effort":"low"}}"#,
        ];
        for body in bodies {
            let typed = parse_typed(body.as_bytes(), ResponsesItems::Refused)
                .unwrap_or_else(|| panic!("{body} takes one pass"));
            let tree = parse_value(body.as_bytes(), ResponsesItems::Refused).expect("valid");
            assert_eq!(typed.request, tree.request, "{body}");
            assert_eq!(typed.fallbacks, tree.fallbacks, "{body}");
            assert_eq!(typed.preferences, tree.preferences, "{body}");
        }
    }

    /// What the one pass leaves is read from the tree: `models` alone, `require_parameters`,
    /// any refusal.
    #[test]
    fn the_tree_reads_what_the_one_pass_leaves() {
        let left = [
            r#"{"models":["c/d"],"messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"a/b","messages":[{"role":"user","content":"hi"}],"temperature":1,"provider":{"require_parameters":true}}"#,
            r#"{"model":"a/b","messages":[{"role":"user","content":5}]}"#,
            r#"{"model":"","messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"a/b","messages":[]}"#,
            r#"{"model":"a/b","model":"c/d","messages":[{"role":"user","content":"hi"}]}"#,
        ];
        for body in left {
            assert!(
                parse_typed(body.as_bytes(), ResponsesItems::Refused).is_none(),
                "{body}"
            );
        }
        let call = validate(Bytes::from(left[1]), ResponsesItems::Refused).expect("valid");
        assert_eq!(call.sent_parameters, ["temperature"]);
        let call = validate(Bytes::from(left[5]), ResponsesItems::Refused).expect("valid");
        assert_eq!(
            call.models,
            ["c/d"],
            "the last of duplicate keys, as before"
        );
    }

    /// The cap on JSON values holds on the one pass: at the cap a request passes, one value
    /// over it is refused with the count.
    #[test]
    fn the_json_values_cap_is_kept_during_the_parse() {
        let body = |values: usize| {
            // `model`, `messages`, the message, its `role` and `content`, and the list's items.
            let items = vec!["0"; values - 6].join(",");
            format!(
                r#"{{"model":"a/b","messages":[{{"role":"user","content":"hi","x":[{items}]}}]}}"#
            )
        };
        let limit = request_limits::MAX_JSON_VALUES;
        assert!(parse_typed(body(limit).as_bytes(), ResponsesItems::Refused).is_some());
        assert!(validate(Bytes::from(body(limit)), ResponsesItems::Refused).is_ok());
        assert!(parse_typed(body(limit + 1).as_bytes(), ResponsesItems::Refused).is_none());
        assert!(error_of(&body(limit + 1)).contains("the request's JSON values holds"));
    }

    #[test]
    fn a_clients_own_responses_items_are_refused() {
        let body = r#"{"model":"a/b","messages":[{"role":"user","content":"hi"}],
            "openai_responses":{"input":[{"type":"item_reference","id":"msg_1"}]}}"#;
        assert!(error_of(body).contains("POST /v1/responses"));
    }

    #[test]
    fn models_fall_back_in_order_without_duplicates() {
        let call = validate(
            Bytes::from_static(
                br#"{"model":"a/b","models":["c/d","a/b","e/f"],"messages":[{"role":"user","content":"hi"}],"stream":true}"#,
            ),
            ResponsesItems::Refused,
        )
        .expect("valid");
        assert_eq!(call.models, ["a/b", "c/d", "e/f"]);
        assert!(call.stream);
    }

    #[test]
    fn models_alone_pick_the_first_as_model() {
        let call = validate(
            Bytes::from_static(
                br#"{"models":["c/d","e/f"],"messages":[{"role":"user","content":"hi"}]}"#,
            ),
            ResponsesItems::Refused,
        )
        .expect("valid");
        assert_eq!(call.models, ["c/d", "e/f"]);
    }
}
