//! A canonical `chat.completion` as an Anthropic `message`, and the pieces the stream transcoder
//! shares with it: stop reasons and usage.

use serde_json::{Value, json};

use super::citations::{entries, text_blocks};
use super::names::{ToolNames, client_tool_id};

/// Anthropic's own stop reasons, passed through when the upstream was Anthropic-native.
const NATIVE_STOP_REASONS: [&str; 7] = [
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
];

/// The Anthropic `stop_reason` of a choice: the native one when it is Anthropic's, else the
/// normalised finish reason mapped (stop → end_turn, length → max_tokens, tool_calls →
/// tool_use, content_filter → refusal).
fn stop_reason(finish: Option<&str>, native: Option<&str>) -> &'static str {
    if let Some(native) = native.and_then(|n| NATIVE_STOP_REASONS.into_iter().find(|r| *r == n)) {
        return native;
    }
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// The `stop_reason` and `stop_sequence` of a canonical choice. The stop sequence that matched
/// comes in the choice's `stop_reason` (vLLM's field, which the Anthropic adapter fills from
/// Anthropic's `stop_sequence`) when the upstream named it; a generation that ended on one
/// stops for `stop_sequence`.
pub fn stop(choice: &Value) -> (&'static str, Option<String>) {
    let finish = choice.get("finish_reason").and_then(Value::as_str);
    let native = choice.get("native_finish_reason").and_then(Value::as_str);
    let matched = choice
        .get("stop_reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match stop_reason(finish, native) {
        "end_turn" if matched.is_some() => ("stop_sequence", matched),
        "stop_sequence" => ("stop_sequence", matched),
        reason => (reason, None),
    }
}

/// Switchyard's usage object in Anthropic's shape: `input_tokens` excludes the tokens read from
/// and written to the prompt cache, which are counted apart; the web searches made are
/// `server_tool_use.web_search_requests`.
pub fn usage(usage: Option<&Value>) -> Value {
    let count = |path: &[&str]| {
        let mut value = usage;
        for key in path {
            value = value.and_then(|v| v.get(*key));
        }
        value.and_then(Value::as_u64).unwrap_or(0)
    };
    let prompt = count(&["prompt_tokens"]);
    let cache_read = count(&["prompt_tokens_details", "cached_tokens"]);
    let cache_write = count(&["prompt_tokens_details", "cache_write_tokens"]);
    let mut shaped = json!({
        "input_tokens": prompt.saturating_sub(cache_read).saturating_sub(cache_write),
        "output_tokens": count(&["completion_tokens"]),
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    });
    let searches = count(&["server_tool_use", "web_search_requests"]);
    if searches > 0 {
        shaped["server_tool_use"] = json!({"web_search_requests": searches});
    }
    shaped
}

/// A thinking block (with its signature, `""` when the provider gave none) or a redacted one,
/// from one merged reasoning detail.
pub fn thinking_block(detail: &Value) -> Option<Value> {
    let field = |name: &str| detail.get(name).and_then(Value::as_str);
    match field("type") {
        Some("reasoning.text") => Some(json!({
            "type": "thinking",
            "thinking": field("text").unwrap_or(""),
            "signature": field("signature").unwrap_or(""),
        })),
        Some("reasoning.encrypted") => {
            field("data").map(|data| json!({"type": "redacted_thinking", "data": data}))
        }
        _ => None,
    }
}

/// Translates a whole completion. `model` is the model id the client sent.
pub fn message(completion: &Value, names: &ToolNames, model: &str) -> Value {
    let choice = completion.pointer("/choices/0").unwrap_or(&Value::Null);
    let message = choice.get("message").unwrap_or(&Value::Null);
    let mut content = Vec::new();
    match message.get("reasoning_details").and_then(Value::as_array) {
        Some(details) if !details.is_empty() => {
            content.extend(details.iter().filter_map(thinking_block));
        }
        _ => {
            if let Some(reasoning) = message
                .get("reasoning")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            {
                content.push(json!({"type": "thinking", "thinking": reasoning, "signature": ""}));
            }
        }
    }
    if let Some(text) = message
        .get("content")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        content.extend(text_blocks(text, entries(message)));
    }
    for (position, call) in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        content.push(tool_use(call, names, position));
    }
    let (stop_reason, stop_sequence) = stop(choice);
    json!({
        "id": completion.get("id").cloned().unwrap_or(Value::Null),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage(completion.get("usage")),
    })
}

/// A canonical tool call as a `tool_use` block; arguments that are not a JSON object become
/// `{}` (a model's broken JSON cannot be given to a client that expects an object).
fn tool_use(call: &Value, names: &ToolNames, position: usize) -> Value {
    let id = call.get("id").and_then(Value::as_str).unwrap_or("");
    let function = call.get("function").unwrap_or(&Value::Null);
    let name = function.get("name").and_then(Value::as_str).unwrap_or("");
    let input = function
        .get("arguments")
        .and_then(Value::as_str)
        .and_then(|arguments| serde_json::from_str::<Value>(arguments).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    json!({
        "type": "tool_use",
        "id": client_tool_id(id, position),
        "name": names.client(name),
        "input": input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_becomes_a_message() {
        let completion = json!({
            "id": "gen-1",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "native_finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me look.",
                "reasoning": "hmm",
                "tool_calls": [{"id": "call:1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]
            }}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 30}}
        });
        let message = message(&completion, &ToolNames::default(), "claude-x");
        assert_eq!(
            message["content"][0],
            json!({"type": "thinking", "thinking": "hmm", "signature": ""})
        );
        assert_eq!(message["content"][1]["text"], "Let me look.");
        assert_eq!(
            message["content"][2],
            json!({"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}})
        );
        assert_eq!(message["stop_reason"], "tool_use");
        assert_eq!(
            message["usage"],
            json!({"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 60, "cache_creation_input_tokens": 30})
        );
    }

    #[test]
    fn cited_text_comes_back_as_blocks_with_their_citations() {
        let citation = json!({"type": "char_location", "cited_text": "green", "document_index": 0});
        let completion = json!({"id": "gen-1", "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "So: green.",
            "text_citations": [{"start": 4, "end": 9, "citations": [citation]}]
        }}]});
        let message = message(&completion, &ToolNames::default(), "claude-x");
        assert_eq!(
            message["content"],
            json!([
                {"type": "text", "text": "So: "},
                {"type": "text", "text": "green", "citations": [citation]},
                {"type": "text", "text": "."},
            ])
        );
    }

    #[test]
    fn native_stop_reasons_win_over_the_normalised_ones() {
        assert_eq!(
            stop_reason(Some("stop"), Some("stop_sequence")),
            "stop_sequence"
        );
        assert_eq!(stop_reason(Some("stop"), Some("pause_turn")), "pause_turn");
        assert_eq!(stop_reason(Some("length"), Some("length")), "max_tokens");
        assert_eq!(stop_reason(Some("content_filter"), None), "refusal");
        assert_eq!(stop_reason(None, None), "end_turn");
    }

    #[test]
    fn the_matched_stop_sequence_is_named() {
        let choice = |native: &str, matched: Value| json!({"finish_reason": "stop", "native_finish_reason": native, "stop_reason": matched});
        assert_eq!(
            stop(&choice("stop_sequence", json!("END"))),
            ("stop_sequence", Some("END".to_owned()))
        );
        // vLLM names the stop string it matched the same way.
        assert_eq!(
            stop(&choice("stop", json!("END"))),
            ("stop_sequence", Some("END".to_owned()))
        );
        // A token id (vLLM) or nothing is no stop sequence.
        assert_eq!(stop(&choice("stop", json!(2))), ("end_turn", None));
        assert_eq!(stop(&choice("end_turn", Value::Null)), ("end_turn", None));
    }
}
