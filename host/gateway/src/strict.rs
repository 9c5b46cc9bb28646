//! Answers that validate under the official OpenAI SDKs' strict response validation, whatever
//! the provider or adapter sent: enum fields the SDKs type (`service_tier`, `finish_reason`,
//! `role`, tool call `type`) get a standard value or are dropped, and `index` is always set.
//! The provider's own finish reason stays in `native_finish_reason`.

use serde_json::{Map, Value};

/// `service_tier` values the SDKs accept.
const SERVICE_TIERS: &[&str] = &["auto", "default", "flex", "scale", "priority"];
/// `finish_reason` values the SDKs accept.
const FINISH_REASONS: &[&str] = &[
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "function_call",
];
/// `delta.role` values the SDKs accept.
const DELTA_ROLES: &[&str] = &["developer", "system", "user", "assistant", "tool"];

/// Normalises a whole `chat.completion` in place.
pub fn completion(object: &mut Map<String, Value>) {
    service_tier(object);
    for (position, choice) in choices(object) {
        choice.entry("index").or_insert(Value::from(position));
        finish_reason(choice, true);
        if let Some(Value::Object(message)) = choice.get_mut("message") {
            message.insert("role".to_owned(), Value::from("assistant"));
            tool_call_types(message, true);
        }
    }
}

/// Normalises one `chat.completion.chunk` in place. A chunk ending a failed stream keeps
/// `finish_reason: "error"`: it carries an `error` object, which the SDKs raise before validating.
pub fn chunk(object: &mut Map<String, Value>) {
    service_tier(object);
    let failed = object.contains_key("error");
    for (position, choice) in choices(object) {
        choice.entry("index").or_insert(Value::from(position));
        if !failed {
            finish_reason(choice, false);
        }
        if let Some(Value::Object(delta)) = choice.get_mut("delta") {
            let role = delta.get("role").and_then(Value::as_str);
            if role.is_some_and(|role| !DELTA_ROLES.contains(&role)) {
                delta.insert("role".to_owned(), Value::from("assistant"));
            }
            tool_call_types(delta, false);
        }
    }
}

fn choices(
    object: &mut Map<String, Value>,
) -> impl Iterator<Item = (usize, &mut Map<String, Value>)> {
    object
        .get_mut("choices")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
        .enumerate()
}

/// Drops a `service_tier` the SDKs do not know (Groq sends `on_demand`).
fn service_tier(object: &mut Map<String, Value>) {
    let known = match object.get("service_tier") {
        None | Some(Value::Null) => return,
        Some(Value::String(tier)) => SERVICE_TIERS.contains(&tier.as_str()),
        Some(_) => false,
    };
    if !known {
        object.remove("service_tier");
    }
}

/// Maps a non-standard finish reason to the standard one it means, keeping the native word.
/// A whole completion always has one (`stop` when the provider sent none).
fn finish_reason(choice: &mut Map<String, Value>, required: bool) {
    let native = match choice.get("finish_reason") {
        Some(Value::String(reason)) if FINISH_REASONS.contains(&reason.as_str()) => return,
        Some(Value::String(reason)) => Some(reason.clone()),
        None | Some(Value::Null) if !required => return,
        _ => None,
    };
    let normal = match native.as_deref() {
        Some("max_tokens" | "model_length" | "max_output_tokens") => "length",
        Some("tool_use" | "function_calls") => "tool_calls",
        Some("refusal" | "safety" | "content_filtered" | "recitation") => "content_filter",
        _ => "stop",
    };
    if let Some(native) = native {
        choice
            .entry("native_finish_reason")
            .or_insert(Value::String(native));
    }
    choice.insert("finish_reason".to_owned(), Value::from(normal));
}

/// Tool calls are of `type: function` (or `custom`); in deltas the type may be absent.
fn tool_call_types(message: &mut Map<String, Value>, required: bool) {
    let Some(Value::Array(calls)) = message.get_mut("tool_calls") else {
        return;
    };
    for call in calls.iter_mut().filter_map(Value::as_object_mut) {
        let kind = call.get("type").and_then(Value::as_str);
        let known = match kind {
            Some("function") => true,
            Some("custom") => required,
            None => !required,
            Some(_) => false,
        };
        if !known {
            call.insert("type".to_owned(), Value::from("function"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn normalised(value: Value, whole: bool) -> Value {
        let Value::Object(mut object) = value else {
            panic!("object expected")
        };
        if whole {
            completion(&mut object);
        } else {
            chunk(&mut object);
        }
        Value::Object(object)
    }

    #[test]
    fn non_standard_enum_values_are_normalised_or_dropped() {
        let answer = normalised(
            json!({"service_tier": "on_demand", "choices": [
                {"finish_reason": "eos", "message": {"role": "model", "content": "x",
                  "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}},
                {"index": 1, "finish_reason": null, "message": {"role": "assistant"}}
            ]}),
            true,
        );
        assert!(answer.get("service_tier").is_none());
        assert_eq!(answer["choices"][0]["index"], 0);
        assert_eq!(answer["choices"][0]["finish_reason"], "stop");
        assert_eq!(answer["choices"][0]["native_finish_reason"], "eos");
        assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
        assert_eq!(
            answer["choices"][0]["message"]["tool_calls"][0]["type"],
            "function"
        );
        assert_eq!(answer["choices"][1]["finish_reason"], "stop");
    }

    #[test]
    fn standard_values_and_error_chunks_are_left_alone() {
        let chunk = json!({"service_tier": "default", "choices": [
            {"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}, "finish_reason": null}
        ]});
        assert_eq!(normalised(chunk.clone(), false), chunk);
        let error = json!({"error": {"code": 502}, "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]});
        assert_eq!(normalised(error.clone(), false), error);
        let length = normalised(
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "max_tokens"}]}),
            false,
        );
        assert_eq!(length["choices"][0]["finish_reason"], "length");
    }
}
