//! What the demo upstream answers to a Chat Completions request: a short text or a tool call,
//! with token counts, in OpenAI's whole-body and streamed shapes.

use serde_json::{Map, Value, json};

/// The answer the demo model gives to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The upstream model that answered.
    pub model: String,
    /// What it says or calls.
    pub content: Content,
    /// Prompt tokens (about four characters of message text per token).
    pub prompt_tokens: u64,
}

/// A text answer, or a call of one of the request's tools.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Words, each one token.
    Text(Vec<String>),
    /// A function call with JSON arguments.
    ToolCall {
        /// The function's name.
        name: String,
        /// The arguments, a JSON object as text.
        arguments: String,
    },
}

impl Reply {
    /// The reply to a Chat Completions request body.
    pub fn to(request: &Value) -> Reply {
        let model = request["model"].as_str().unwrap_or("demo").to_owned();
        let messages = request["messages"].as_array().map(Vec::as_slice);
        let messages = messages.unwrap_or_default();
        let characters: usize = messages.iter().map(|m| message_text(m).len()).sum();
        let prompt_tokens = (characters as u64).div_ceil(4) + 3 * messages.len() as u64;
        let content = match tool_to_call(request, messages) {
            Some(tool) => Content::ToolCall {
                name: tool["name"].as_str().unwrap_or("tool").to_owned(),
                arguments: sample_arguments(&tool["parameters"]).to_string(),
            },
            None => Content::Text(words(&model, messages)),
        };
        Reply {
            model,
            content,
            prompt_tokens,
        }
    }

    /// Completion tokens: one per word, or one per eight characters of tool arguments.
    pub fn completion_tokens(&self) -> u64 {
        match &self.content {
            Content::Text(words) => words.len() as u64,
            Content::ToolCall { arguments, .. } => (arguments.len() as u64).div_ceil(8).max(1),
        }
    }

    /// OpenAI's `finish_reason`.
    pub fn finish_reason(&self) -> &'static str {
        match self.content {
            Content::Text(_) => "stop",
            Content::ToolCall { .. } => "tool_calls",
        }
    }

    /// OpenAI's `usage` object.
    pub fn usage(&self) -> Value {
        let completion = self.completion_tokens();
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "prompt_tokens_details": { "cached_tokens": 0 },
        })
    }

    /// The whole `chat.completion` body.
    pub fn completion(&self, id: &str, created: u64) -> Value {
        let message = match &self.content {
            Content::Text(words) => json!({ "role": "assistant", "content": words.concat() }),
            Content::ToolCall { name, arguments } => json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [tool_call(id, name, arguments)],
            }),
        };
        json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": self.model,
            "choices": [{ "index": 0, "message": message, "finish_reason": self.finish_reason() }],
            "usage": self.usage(),
        })
    }

    /// The `chat.completion.chunk` payloads of the stream, without `[DONE]`; the usage chunk
    /// last when `include_usage`.
    pub fn chunks(&self, id: &str, created: u64, include_usage: bool) -> Vec<Value> {
        let chunk = |choices: Value| {
            json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.model,
                "choices": choices,
            })
        };
        let delta =
            |delta: Value| chunk(json!([{ "index": 0, "delta": delta, "finish_reason": null }]));
        let mut chunks = vec![delta(json!({ "role": "assistant", "content": "" }))];
        match &self.content {
            Content::Text(words) => {
                chunks.extend(words.iter().map(|word| delta(json!({ "content": word }))));
            }
            Content::ToolCall { name, arguments } => {
                let mut call = tool_call(id, name, "");
                call["index"] = json!(0);
                chunks.push(delta(json!({ "tool_calls": [call] })));
                chunks.push(delta(
                    json!({ "tool_calls": [{ "index": 0, "function": { "arguments": arguments } }] }),
                ));
            }
        }
        chunks.push(chunk(
            json!([{ "index": 0, "delta": {}, "finish_reason": self.finish_reason() }]),
        ));
        if include_usage {
            let mut last = chunk(json!([]));
            last["usage"] = self.usage();
            chunks.push(last);
        }
        chunks
    }
}

fn tool_call(id: &str, name: &str, arguments: &str) -> Value {
    json!({
        "id": format!("call_{id}"),
        "type": "function",
        "function": { "name": name, "arguments": arguments },
    })
}

/// The text of a message: its string content, or its text parts joined.
fn message_text(message: &Value) -> String {
    match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The function the demo model calls: the one `tool_choice` names, else the first tool, unless
/// `tool_choice` is `none` or the conversation ends with a tool's result.
fn tool_to_call<'a>(request: &'a Value, messages: &[Value]) -> Option<&'a Value> {
    let tools = request["tools"].as_array()?;
    if request["tool_choice"] == "none" || messages.last()?["role"] == "tool" {
        return None;
    }
    let named = request["tool_choice"]["function"]["name"].as_str();
    let functions = tools.iter().map(|tool| &tool["function"]);
    match named {
        Some(name) => functions.into_iter().find(|f| f["name"] == name),
        None => functions.into_iter().next(),
    }
}

/// Arguments filling a JSON schema's required properties with sample values.
fn sample_arguments(schema: &Value) -> Value {
    let mut arguments = Map::new();
    let required = schema["required"].as_array().map(Vec::as_slice);
    for name in required
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
    {
        let sample = match schema["properties"][name]["type"].as_str() {
            Some("number" | "integer") => json!(1),
            Some("boolean") => json!(true),
            Some("array") => json!([]),
            Some("object") => json!({}),
            _ => match schema["properties"][name]["enum"].get(0) {
                Some(first) => first.clone(),
                None => json!("demo"),
            },
        };
        arguments.insert(name.to_owned(), sample);
    }
    Value::Object(arguments)
}

/// The text answer, split into words that keep their leading space.
fn words(model: &str, messages: &[Value]) -> Vec<String> {
    let last = messages.last();
    let text = match last.map(|m| (m["role"].as_str(), message_text(m))) {
        Some((Some("tool"), result)) => {
            format!("The tool answered {} characters. Done.", result.len())
        }
        Some((_, said)) => format!(
            "Hello from {model}, Switchyard's demo upstream. You wrote {} words. Set a provider's key to talk to a real model.",
            said.split_whitespace().count()
        ),
        None => format!("Hello from {model}, Switchyard's demo upstream."),
    };
    let mut words = Vec::new();
    for (index, word) in text.split(' ').enumerate() {
        words.push(if index == 0 {
            word.to_owned()
        } else {
            format!(" {word}")
        });
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_reply_counts_one_token_per_word() {
        let request = json!({
            "model": "swift-1",
            "messages": [{ "role": "user", "content": "Hello there, demo!" }],
        });
        let reply = Reply::to(&request);
        let body = reply.completion("x", 0);
        let text = body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default();
        assert!(text.starts_with("Hello from swift-1"), "{text}");
        assert!(text.contains("You wrote 3 words"), "{text}");
        assert_eq!(
            body["usage"]["completion_tokens"],
            json!(text.split(' ').count())
        );
        assert_eq!(body["usage"]["prompt_tokens"], json!(5 + 3));
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn tools_are_called_with_their_required_arguments() {
        let request = json!({
            "model": "m",
            "messages": [{ "role": "user", "content": "Weather?" }],
            "tools": [{ "type": "function", "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": { "city": { "type": "string" }, "days": { "type": "integer" },
                                    "unit": { "type": "string", "enum": ["c", "f"] } },
                    "required": ["city", "days", "unit"],
                },
            }}],
        });
        let reply = Reply::to(&request);
        assert_eq!(
            reply.content,
            Content::ToolCall {
                name: "get_weather".into(),
                arguments: json!({ "city": "demo", "days": 1, "unit": "c" }).to_string(),
            }
        );
        let chunks = reply.chunks("x", 0, true);
        let last = chunks.last().cloned().unwrap_or_default();
        assert_eq!(last["usage"], reply.usage());
        assert_eq!(
            chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
            "tool_calls"
        );
    }

    #[test]
    fn a_tool_result_gets_a_text_answer() {
        let request = json!({
            "model": "m",
            "messages": [
                { "role": "user", "content": "Weather?" },
                { "role": "tool", "tool_call_id": "c", "content": "sunny" },
            ],
            "tools": [{ "type": "function", "function": { "name": "get_weather" } }],
        });
        let reply = Reply::to(&request);
        assert!(matches!(reply.content, Content::Text(_)));
        let text: String = reply.chunks("x", 0, false)[1..]
            .iter()
            .filter_map(|chunk| {
                chunk["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(text, "The tool answered 5 characters. Done.");
    }
}
