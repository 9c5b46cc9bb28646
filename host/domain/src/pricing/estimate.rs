//! Usage estimated from the text itself, for a call whose provider reported none: it is charged
//! (never free) and its record says the usage is estimated.

use serde_json::{Map, Value};

use crate::plugin_types::Usage;

/// Bytes per token assumed by estimates (English text averages about four).
const BYTES_PER_TOKEN: u64 = 4;

/// Tokens of `bytes` bytes of text, rounded up.
pub fn tokens_of_bytes(bytes: usize) -> u64 {
    u64::try_from(bytes)
        .unwrap_or(u64::MAX)
        .div_ceil(BYTES_PER_TOKEN)
}

/// The usage of a call with a `prompt_bytes` request body that generated `completion_tokens`.
pub fn estimated_usage(prompt_bytes: usize, completion_tokens: u64) -> Usage {
    Usage {
        prompt_tokens: tokens_of_bytes(prompt_bytes),
        completion_tokens,
        ..Usage::default()
    }
}

/// Bytes of text a whole chat response generated: each choice's content, reasoning, refusal and
/// tool call arguments.
pub fn generated_bytes(response: &Map<String, Value>) -> usize {
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map_or(0, str::len);
    response
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|choice| choice.get("message"))
        .map(|message| {
            let calls: usize = message
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|call| text(call.pointer("/function/arguments")))
                .sum();
            text(message.get("content"))
                + text(message.get("reasoning"))
                + text(message.get("refusal"))
                + calls
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_text_of_every_choice_is_counted() {
        let response = json!({ "choices": [
            { "message": { "content": "abcdefgh", "reasoning": "ab" } },
            { "message": { "content": null, "tool_calls": [
                { "function": { "name": "f", "arguments": "{\"x\":1}" } },
            ] } },
        ] });
        let bytes = generated_bytes(response.as_object().expect("object"));
        assert_eq!(bytes, 8 + 2 + 7);
        assert_eq!(tokens_of_bytes(bytes), 5);
        let usage = estimated_usage(9, 5);
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 5));
    }
}
