//! Streams for adapters that cannot stream: the host asks such an adapter for a whole answer
//! and turns the checked `chat.completion` into the chat chunks a streaming adapter would have
//! produced, once. The stream's own layers then do the rest, as for any stream: the host's
//! fields, the final usage chunk with the cost, and each client API's shape (Responses events,
//! Messages events), which are all built from chat chunks.

use serde_json::{Map, Value, json};

use switchyard_plugin_runtime::output::CheckedObject;

/// The chunks of a whole `completion`: per choice, one chunk carrying the whole message as its
/// delta (tool calls numbered by `index`), then one carrying the finish reason. A choice
/// without a finish reason gets only the first.
pub(super) fn chunks_of(completion: &CheckedObject) -> Vec<CheckedObject> {
    let choices = completion.get("choices").and_then(Value::as_array);
    let mut chunks = Vec::new();
    for (position, choice) in choices.into_iter().flatten().enumerate() {
        let index = choice.get("index").cloned().unwrap_or(json!(position));
        let delta = choice
            .get("message")
            .and_then(Value::as_object)
            .map(delta_of)
            .unwrap_or_default();
        chunks.push(chunk(
            completion,
            json!({ "index": index, "delta": delta, "finish_reason": null }),
        ));
        let finish = choice
            .get("finish_reason")
            .filter(|reason| !reason.is_null());
        if let Some(finish) = finish {
            let mut last = json!({ "index": index, "delta": {}, "finish_reason": finish });
            if let Some(native) = choice.get("native_finish_reason") {
                last["native_finish_reason"] = native.clone();
            }
            chunks.push(chunk(completion, last));
        }
    }
    chunks
}

/// A message as a delta: every field kept, tool calls numbered.
fn delta_of(message: &Map<String, Value>) -> Map<String, Value> {
    let mut delta = message.clone();
    if let Some(Value::Array(calls)) = delta.get_mut("tool_calls") {
        for (index, call) in calls.iter_mut().enumerate() {
            if let Some(call) = call.as_object_mut() {
                call.insert("index".to_owned(), json!(index));
            }
        }
    }
    delta
}

/// A `chat.completion.chunk` of `completion` with one choice (the host stamps the rest).
fn chunk(completion: &CheckedObject, choice: Value) -> CheckedObject {
    let field = |name: &str| completion.get(name).cloned().unwrap_or(Value::Null);
    let mut chunk = Map::new();
    chunk.insert("id".to_owned(), field("id"));
    chunk.insert("object".to_owned(), json!("chat.completion.chunk"));
    chunk.insert("created".to_owned(), field("created"));
    chunk.insert("model".to_owned(), field("model"));
    chunk.insert("choices".to_owned(), json!([choice]));
    chunk
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::openai::ChatChunk;

    fn object(value: Value) -> CheckedObject {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_whole_answer_becomes_a_content_chunk_and_a_finish_chunk() {
        let completion = object(json!({
            "id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "Hello", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{\"a\":1}"}}
                ]},
                "finish_reason": "tool_calls", "native_finish_reason": "calls"
            }]
        }));
        let chunks = chunks_of(&completion);
        assert_eq!(chunks.len(), 2);
        for chunk in &chunks {
            let bytes = serde_json::to_vec(chunk).expect("serialises");
            serde_json::from_slice::<ChatChunk>(&bytes).expect("a canonical chunk");
        }
        let delta = &chunks[0]["choices"][0]["delta"];
        assert_eq!(delta["content"], "Hello");
        assert_eq!(delta["role"], "assistant");
        assert_eq!(delta["tool_calls"][1]["index"], 1);
        assert_eq!(delta["tool_calls"][1]["function"]["arguments"], "{\"a\":1}");
        assert!(chunks[0]["choices"][0]["finish_reason"].is_null());
        assert_eq!(chunks[1]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[1]["choices"][0]["native_finish_reason"], "calls");
        assert_eq!(chunks[1]["choices"][0]["delta"], json!({}));
    }

    #[test]
    fn a_choice_without_a_finish_reason_has_no_finish_chunk() {
        let completion = object(json!({
            "id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": null}]
        }));
        assert_eq!(chunks_of(&completion).len(), 1);
    }
}
