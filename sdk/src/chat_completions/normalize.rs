//! In-place normalisation of OpenAI-compatible messages, deltas and choices to the canonical
//! format, shared by whole responses and stream chunks.

use crate::provider::{Finish, FinishReason};
use serde_json::{Map, Value};

/// Moves provider-specific reasoning into `reasoning` and flattens content part lists:
/// - DeepSeek/vLLM `reasoning_content` → `reasoning` (a `null` one is dropped);
/// - Mistral content lists: `text` parts → `content` string, `thinking` parts → `reasoning`.
pub fn reasoning_and_content(message: &mut Map<String, Value>) {
    if let Some(Value::String(reasoning)) = message.remove("reasoning_content") {
        append_reasoning(message, &reasoning);
    }
    if let Some(Value::Array(parts)) = message.get("content") {
        let mut text = String::new();
        let mut thinking = String::new();
        for part in parts {
            match part.get("type").and_then(Value::as_str) {
                Some("text") => {
                    text.push_str(part.get("text").and_then(Value::as_str).unwrap_or(""))
                }
                Some("thinking") => thinking.push_str(&thinking_text(part.get("thinking"))),
                _ => {}
            }
        }
        message.insert("content".to_owned(), Value::String(text));
        if !thinking.is_empty() {
            append_reasoning(message, &thinking);
        }
    }
}

/// Text of a Mistral `thinking` member: a string or a list of `{type: text, text}` parts.
fn thinking_text(thinking: Option<&Value>) -> String {
    match thinking {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

fn append_reasoning(message: &mut Map<String, Value>, text: &str) {
    match message.get_mut("reasoning") {
        Some(Value::String(existing)) => existing.push_str(text),
        _ => {
            message.insert("reasoning".to_owned(), Value::String(text.to_owned()));
        }
    }
}

/// Repairs the tool calls of a whole message: `type: function` when the provider left it out
/// (Mistral does), and `arguments` given as a JSON object (some local servers) turned into the
/// JSON string the canonical format requires.
pub fn tool_calls(message: &mut Map<String, Value>) {
    if let Some(Value::Array(calls)) = message.get_mut("tool_calls") {
        for call in calls.iter_mut().filter_map(Value::as_object_mut) {
            call.entry("type")
                .or_insert_with(|| Value::String("function".to_owned()));
            if let Some(Value::Object(function)) = call.get_mut("function") {
                stringify_arguments(function);
            }
        }
    }
}

/// Turns non-string `arguments` (an object) into its compact JSON text.
fn stringify_arguments(function: &mut Map<String, Value>) {
    if let Some(arguments) = function.get_mut("arguments")
        && !arguments.is_string()
        && !arguments.is_null()
    {
        *arguments = Value::String(arguments.to_string());
    }
}

/// Assigns indexes to streamed tool-call fragments that lack one (Mistral sends whole calls
/// with an `id` and no `index`): a fragment with an `id` starts the next call, one without
/// continues the last call.
#[derive(Debug, Default)]
pub struct ToolIndexer {
    /// Index the next new call gets.
    next: u64,
    /// Index of the call seen last.
    last: Option<u64>,
}

impl ToolIndexer {
    /// Fills in `index` (and `type: function` on a call's first fragment) in `delta.tool_calls`.
    pub fn fill(&mut self, delta: &mut Map<String, Value>) {
        let Some(Value::Array(calls)) = delta.get_mut("tool_calls") else {
            return;
        };
        for call in calls.iter_mut().filter_map(Value::as_object_mut) {
            let starts = call.get("id").is_some_and(Value::is_string);
            let index = match call.get("index").and_then(Value::as_u64) {
                Some(index) => index,
                None if starts => self.next,
                None => self.last.unwrap_or(0),
            };
            call.insert("index".to_owned(), Value::from(index));
            if starts {
                call.entry("type")
                    .or_insert_with(|| Value::String("function".to_owned()));
            }
            match call
                .entry("function")
                .or_insert_with(|| Value::Object(Map::new()))
            {
                Value::Object(function) => stringify_arguments(function),
                other => *other = Value::Object(Map::new()),
            }
            self.last = Some(index);
            self.next = self.next.max(index.saturating_add(1));
        }
    }
}

/// Normalises a choice's `finish_reason` and keeps the provider's own in
/// `native_finish_reason`. Returns the finish when the choice carried one.
pub fn finish(choice: &mut Map<String, Value>) -> Option<Finish> {
    let native = choice.get("finish_reason")?.as_str()?.to_owned();
    let reason = FinishReason::from_openai(&native);
    choice.insert(
        "finish_reason".to_owned(),
        Value::String(reason.as_openai().to_owned()),
    );
    if !choice
        .get("native_finish_reason")
        .is_some_and(Value::is_string)
    {
        choice.insert(
            "native_finish_reason".to_owned(),
            Value::String(native.clone()),
        );
    }
    Some(Finish { reason, native })
}

/// Makes sure `id`, `object`, `created` and `model` exist (the host overwrites `id`, `model`
/// and `created`, but the canonical schema requires them).
pub fn envelope(object: &mut Map<String, Value>, kind: &str) {
    object.insert("object".to_owned(), Value::String(kind.to_owned()));
    if !object.get("created").is_some_and(Value::is_u64) {
        object.insert("created".to_owned(), Value::from(0u64));
    }
    if !object.get("model").is_some_and(Value::is_string) {
        object.insert("model".to_owned(), Value::String(String::new()));
    }
    if !object.get("id").is_some_and(Value::is_string) {
        object.insert("id".to_owned(), Value::String(String::new()));
    }
}
