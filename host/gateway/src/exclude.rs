//! OpenRouter's `reasoning.exclude: true`: the model reasons as asked, but neither the answer nor
//! the stream carries the reasoning (`reasoning`, `reasoning_details`), whatever the adapter
//! returned. Applied here, once, so every adapter honours it.

use serde_json::{Map, Value};
use switchyard_sdk::openai::ChatRequest;

/// Whether the request asks for its reasoning to be left out of the answer.
pub fn wanted(request: &ChatRequest) -> bool {
    request
        .extra
        .get("reasoning")
        .and_then(|reasoning| reasoning.get("exclude"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// Removes the reasoning from each choice's `message` (a whole completion) or `delta` (a chunk).
pub fn strip(object: &mut Map<String, Value>) {
    let Some(Value::Array(choices)) = object.get_mut("choices") else {
        return;
    };
    for choice in choices.iter_mut().filter_map(Value::as_object_mut) {
        for part in ["message", "delta"] {
            if let Some(Value::Object(part)) = choice.get_mut(part) {
                part.remove("reasoning");
                part.remove("reasoning_details");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_exclude_true_strips_and_only_the_reasoning_goes() {
        let request = |reasoning: Value| -> ChatRequest {
            serde_json::from_value(json!({"model": "m", "messages": [], "reasoning": reasoning}))
                .expect("a request")
        };
        assert!(wanted(&request(json!({"effort": "high", "exclude": true}))));
        assert!(!wanted(&request(json!({"effort": "high"}))));
        assert!(!wanted(&request(json!({"exclude": false}))));
        let mut completion = json!({"choices": [{"index": 0, "message": {"role": "assistant",
            "content": "Hi", "reasoning": "Hmm", "reasoning_details": [{"type": "reasoning.text"}]}}]});
        strip(completion.as_object_mut().expect("object"));
        assert_eq!(
            completion["choices"][0]["message"],
            json!({"role": "assistant", "content": "Hi"})
        );
        let mut chunk = json!({"choices": [{"index": 0, "delta": {"reasoning": "Hmm"}}]});
        strip(chunk.as_object_mut().expect("object"));
        assert_eq!(chunk["choices"][0]["delta"], json!({}));
    }
}
