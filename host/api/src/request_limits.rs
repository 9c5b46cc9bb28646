//! Caps on how many items a chat request may hold, checked before anything else reads them: a
//! body under the size limit can still hold hundreds of thousands of tiny items, each costing the
//! host and the adapters time and memory.

use serde_json::{Map, Value};
use switchyard_sdk::openai::{ChatRequest, Content};
use switchyard_sdk::responses::RESPONSES_EXTENSION;

use super::error::ApiError;

/// Most entries of `models` (the model and its fallbacks are tried in turn: a short list).
pub const MAX_MODELS: usize = 32;
/// Most entries of `messages`.
pub const MAX_MESSAGES: usize = 10_000;
/// Most content parts in all messages together.
pub const MAX_CONTENT_PARTS: usize = 10_000;
/// Most entries of `tools` (OpenAI's limit).
pub const MAX_TOOLS: usize = 128;
/// Most JSON values (objects, arrays, strings, numbers...) in the whole request: with the size
/// limit, this bounds what an adapter spends parsing and translating it, whatever its shape.
pub const MAX_JSON_VALUES: usize = 100_000;

/// Refuses a request whose `models`, `messages`, content parts or `tools` exceed their caps.
pub fn check_counts(request: &Map<String, Value>) -> Result<(), ApiError> {
    let length = |field: &str| match request.get(field) {
        Some(Value::Array(items)) => items.len(),
        _ => 0,
    };
    let parts: usize = match request.get("messages") {
        Some(Value::Array(messages)) => messages
            .iter()
            .map(|message| match message.get("content") {
                Some(Value::Array(parts)) => parts.len(),
                _ => 0,
            })
            .sum(),
        _ => 0,
    };
    // A Responses API request's items (the extension) repeat what `messages` hold: each side is
    // capped on its own, so a request near the cap is not refused for being carried twice.
    let values = json_values(
        request
            .iter()
            .filter(|(key, _)| key.as_str() != RESPONSES_EXTENSION)
            .map(|(_, value)| value),
        MAX_JSON_VALUES + 1,
    );
    let items = json_values(
        request.get(RESPONSES_EXTENSION).into_iter(),
        MAX_JSON_VALUES + 1,
    );
    let counts = [
        ("`models`", length("models"), MAX_MODELS),
        ("`messages`", length("messages"), MAX_MESSAGES),
        ("content parts of `messages`", parts, MAX_CONTENT_PARTS),
        ("`tools`", length("tools"), MAX_TOOLS),
        ("the request's JSON values", values, MAX_JSON_VALUES),
        ("the Responses items' JSON values", items, MAX_JSON_VALUES),
    ];
    match counts.iter().find(|(_, count, cap)| count > cap) {
        Some((what, count, cap)) => Err(ApiError::invalid_request(format!(
            "{what} holds {count} items; at most {cap} are accepted"
        ))
        .with_code("too_many_items")),
        None => Ok(()),
    }
}

/// Refuses a request whose `models` exceeds [`MAX_MODELS`]: for routes whose other fields have
/// caps of their own (embeddings), checked before any model is read or resolved.
pub fn check_models(request: &Map<String, Value>) -> Result<(), ApiError> {
    let models = request
        .get("models")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if models > MAX_MODELS {
        return Err(ApiError::invalid_request(format!(
            "`models` holds {models} items; at most {MAX_MODELS} are accepted"
        ))
        .with_code("too_many_items"));
    }
    Ok(())
}

/// Whether a request parsed by [`counted_json`](super::counted_json) (which kept the cap on its
/// JSON values) is within the other caps; when it is not, [`check_counts`] names the cap.
pub fn within_caps(request: &ChatRequest) -> bool {
    let models = match request.extra.get("models") {
        Some(Value::Array(models)) => models.len(),
        _ => 0,
    };
    let parts: usize = request
        .messages
        .iter()
        .map(|message| match &message.content {
            Some(Content::Parts(parts)) => parts.len(),
            _ => 0,
        })
        .sum();
    models <= MAX_MODELS
        && request.messages.len() <= MAX_MESSAGES
        && parts <= MAX_CONTENT_PARTS
        && request.tools.as_ref().map_or(0, Vec::len) <= MAX_TOOLS
}

/// How many JSON values `values` and everything inside them hold, counting up to `stop`.
pub(super) fn json_values<'a>(values: impl Iterator<Item = &'a Value>, stop: usize) -> usize {
    let mut pending: Vec<&Value> = values.collect();
    let mut count = 0;
    while let Some(value) = pending.pop() {
        count += 1;
        if count >= stop {
            break;
        }
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(fields) => pending.extend(fields.values()),
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value) -> Result<(), ApiError> {
        check_counts(value.as_object().expect("an object"))
    }

    #[test]
    fn each_count_is_capped() {
        let many = |n: usize, item: Value| Value::Array(vec![item; n]);
        let message = json!({"role": "user", "content": "a"});
        assert!(check(json!({"models": many(MAX_MODELS, json!("m"))})).is_ok());
        assert!(check(json!({"models": many(MAX_MODELS + 1, json!("m"))})).is_err());
        assert!(check(json!({"messages": many(MAX_MESSAGES, message.clone())})).is_ok());
        assert!(check(json!({"messages": many(MAX_MESSAGES + 1, message)})).is_err());
        assert!(check(json!({"tools": many(MAX_TOOLS + 1, json!({}))})).is_err());
        let parts = many(
            MAX_CONTENT_PARTS / 2 + 1,
            json!({"type": "text", "text": "a"}),
        );
        let split = json!({"role": "user", "content": parts});
        let error = check(json!({"messages": [split.clone(), split]})).expect_err("too many");
        assert!(
            error.message().contains("content parts"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn the_values_of_any_shape_are_capped() {
        let wide: Map<String, Value> = (0..MAX_JSON_VALUES)
            .map(|i| (format!("k{i}"), json!(0)))
            .collect();
        let error = check(json!({"messages": [wide]})).expect_err("too many values");
        assert!(
            error.message().contains("JSON values"),
            "{}",
            error.message()
        );
        let items = json!({"input": Value::Array(vec![json!(0); MAX_JSON_VALUES - 2])});
        let responses = json!({"messages": [wide.clone()], "openai_responses": items});
        let error = check(responses).expect_err("too many values");
        assert!(error.message().contains("request's JSON values"));
        let half = Value::Array(vec![json!(0); MAX_JSON_VALUES / 2]);
        let twice = json!({"messages": [half.clone()], "openai_responses": {"input": half}});
        assert!(check(twice).is_ok(), "one request's items carried twice");
        let over = Value::Array(vec![json!(0); MAX_JSON_VALUES + 1]);
        let error = check(json!({"messages": [], "openai_responses": {"input": over}}))
            .expect_err("too many items");
        assert!(error.message().contains("Responses items"));
        let nested = json!({"a": [[1, 2], {"b": "c"}], "d": null});
        let fields = nested.as_object().expect("an object");
        assert_eq!(json_values(fields.values(), 100), 7);
    }
}
