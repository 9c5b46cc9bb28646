//! A streamed answer put back together as the whole `chat.completion` it stands for, so that a
//! stream is stored once complete and any later request, streamed or not, can be served from
//! it. Only a stream that ended with `[DONE]`, carried a priced usage, and had no error is
//! stored: a failed or cut stream never is.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use switchyard_sdk::responses::RESPONSES_EXTENSION;

/// The chunks of one streamed answer, merged as they pass.
#[derive(Debug, Default)]
pub struct Assembler {
    /// The first chunk's own fields (`model`, `provider`, `system_fingerprint`...).
    head: Map<String, Value>,
    choices: BTreeMap<u64, Choice>,
    usage: Option<Value>,
    /// The data seen so far, in bytes.
    bytes: usize,
    /// Why it cannot be stored, once known.
    spoiled: bool,
    /// It passed the size limit.
    oversized: bool,
    done: bool,
}

/// One choice being put together.
#[derive(Debug, Default)]
struct Choice {
    message: Map<String, Value>,
    tool_calls: BTreeMap<u64, Map<String, Value>>,
    finish_reason: Option<Value>,
    native_finish_reason: Option<Value>,
}

impl Assembler {
    /// Takes one SSE event's data; stops keeping anything once past `limit` bytes.
    pub fn push(&mut self, data: &str, limit: usize) {
        if self.spoiled || self.done {
            return;
        }
        if data.trim() == "[DONE]" {
            self.done = true;
            return;
        }
        self.bytes += data.len();
        if self.bytes > limit {
            self.spoiled = true;
            self.oversized = true;
            return;
        }
        let Ok(Value::Object(chunk)) = serde_json::from_str::<Value>(data) else {
            self.spoiled = true;
            return;
        };
        if chunk.contains_key("error") || chunk.contains_key(RESPONSES_EXTENSION) {
            self.spoiled = true;
            return;
        }
        self.take(chunk);
    }

    fn take(&mut self, mut chunk: Map<String, Value>) {
        if let Some(usage) = chunk.remove("usage").filter(|usage| !usage.is_null()) {
            self.usage = Some(usage);
        }
        let choices = chunk.remove("choices");
        if self.head.is_empty() {
            self.head = chunk;
        }
        let Some(Value::Array(choices)) = choices else {
            return;
        };
        for (position, choice) in choices.into_iter().enumerate() {
            let Value::Object(mut choice) = choice else {
                continue;
            };
            let index = choice
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let merged = self.choices.entry(index).or_default();
            if let Some(finish) = choice.remove("finish_reason").filter(|f| !f.is_null()) {
                if finish == "error" {
                    self.spoiled = true;
                }
                merged.finish_reason = Some(finish);
            }
            if let Some(native) = choice
                .remove("native_finish_reason")
                .filter(|f| !f.is_null())
            {
                merged.native_finish_reason = Some(native);
            }
            if let Some(Value::Object(delta)) = choice.remove("delta") {
                merged.merge(delta);
            }
        }
    }

    /// Whether the stream passed the size limit.
    pub fn oversized(&self) -> bool {
        self.oversized
    }

    /// The whole answer, when the stream completed and may be stored.
    pub fn finish(self) -> Option<Map<String, Value>> {
        if !self.done || self.spoiled {
            return None;
        }
        let usage = self.usage?;
        let mut completion = self.head;
        completion.insert("object".to_owned(), Value::from("chat.completion"));
        let choices = self
            .choices
            .into_iter()
            .map(|(index, choice)| choice.into_value(index))
            .collect();
        completion.insert("choices".to_owned(), Value::Array(choices));
        completion.insert("usage".to_owned(), usage);
        Some(completion)
    }
}

impl Choice {
    /// Merges a delta: text is appended, lists extended, tool calls merged by `index`.
    fn merge(&mut self, delta: Map<String, Value>) {
        for (name, value) in delta {
            match (name.as_str(), value) {
                (_, Value::Null) => {
                    self.message.entry(name).or_insert(Value::Null);
                }
                ("tool_calls", Value::Array(calls)) => {
                    for (position, call) in calls.into_iter().enumerate() {
                        if let Value::Object(call) = call {
                            self.merge_call(position as u64, call);
                        }
                    }
                }
                ("role", value) => {
                    self.message.insert(name, value);
                }
                (_, Value::String(text)) => match self.message.get_mut(&name) {
                    Some(Value::String(existing)) => existing.push_str(&text),
                    _ => {
                        self.message.insert(name, Value::String(text));
                    }
                },
                (_, Value::Array(items)) => match self.message.get_mut(&name) {
                    Some(Value::Array(existing)) => existing.extend(items),
                    _ => {
                        self.message.insert(name, Value::Array(items));
                    }
                },
                (_, value) => {
                    self.message.insert(name, value);
                }
            }
        }
    }

    fn merge_call(&mut self, position: u64, mut call: Map<String, Value>) {
        let index = call
            .remove("index")
            .and_then(|index| index.as_u64())
            .unwrap_or(position);
        let merged = self.tool_calls.entry(index).or_default();
        for (name, value) in call {
            match (name.as_str(), value) {
                ("function", Value::Object(function)) => {
                    let Value::Object(existing) = merged
                        .entry("function")
                        .or_insert_with(|| Value::Object(Map::new()))
                    else {
                        continue;
                    };
                    for (field, part) in function {
                        match (existing.get_mut(&field), part) {
                            (Some(Value::String(text)), Value::String(more))
                                if field == "arguments" =>
                            {
                                text.push_str(&more);
                            }
                            (_, part) => {
                                existing.insert(field, part);
                            }
                        }
                    }
                }
                (_, Value::Null) => {}
                (_, value) => {
                    merged.insert(name, value);
                }
            }
        }
    }

    fn into_value(mut self, index: u64) -> Value {
        self.message
            .entry("role")
            .or_insert_with(|| Value::from("assistant"));
        if !self.tool_calls.is_empty() {
            let calls = self.tool_calls.into_values().map(Value::Object).collect();
            self.message
                .insert("tool_calls".to_owned(), Value::Array(calls));
        }
        let mut choice = Map::new();
        choice.insert("index".to_owned(), Value::from(index));
        choice.insert("message".to_owned(), Value::Object(self.message));
        choice.insert(
            "finish_reason".to_owned(),
            self.finish_reason.unwrap_or(Value::Null),
        );
        if let Some(native) = self.native_finish_reason {
            choice.insert("native_finish_reason".to_owned(), native);
        }
        Value::Object(choice)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn assemble(events: &[Value], done: bool) -> Option<Map<String, Value>> {
        let mut assembler = Assembler::default();
        for event in events {
            assembler.push(&event.to_string(), 1 << 20);
        }
        if done {
            assembler.push("[DONE]", 1 << 20);
        }
        assembler.finish()
    }

    fn chunk(delta: Value, finish: Value) -> Value {
        json!({"id": "gen-1", "object": "chat.completion.chunk", "model": "a/b", "provider": "p",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    }

    const USAGE: &str =
        r#"{"id":"gen-1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"cost":0}}"#;

    #[test]
    fn text_and_tool_calls_are_put_back_together() {
        let events = [
            chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null),
            chunk(
                json!({"content": "lo", "tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}),
                json!("tool_calls"),
            ),
            serde_json::from_str(USAGE).unwrap(),
        ];
        let completion = assemble(&events, true).expect("complete");
        let message = &completion["choices"][0]["message"];
        assert_eq!(message["content"], "Hello");
        assert_eq!(message["role"], "assistant");
        assert_eq!(
            message["tool_calls"][0]["function"]["arguments"],
            "{\"a\":1}"
        );
        assert_eq!(message["tool_calls"][0]["function"]["name"], "f");
        assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(completion["usage"]["completion_tokens"], 2);
        assert_eq!(completion["object"], "chat.completion");
        assert_eq!(completion["model"], "a/b");
    }

    #[test]
    fn cut_failed_or_oversized_streams_are_not_kept() {
        let text = chunk(json!({"content": "Hi"}), json!("stop"));
        let usage: Value = serde_json::from_str(USAGE).unwrap();
        assert!(assemble(&[text.clone(), usage.clone()], true).is_some());
        assert!(
            assemble(&[text.clone(), usage.clone()], false).is_none(),
            "no [DONE]"
        );
        assert!(
            assemble(std::slice::from_ref(&text), true).is_none(),
            "no usage"
        );
        let error = json!({"error": {"message": "x"}, "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]});
        assert!(assemble(&[text.clone(), error, usage.clone()], true).is_none());
        let mut assembler = Assembler::default();
        assembler.push(&text.to_string(), 10);
        assembler.push(&usage.to_string(), 10);
        assembler.push("[DONE]", 10);
        assert!(assembler.finish().is_none(), "over the limit");
    }
}
