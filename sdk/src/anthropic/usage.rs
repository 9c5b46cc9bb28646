//! Anthropic usage counts and stop reasons in typed form, and the stop sequence that matched.

use crate::provider::{Finish, FinishReason, PluginError, Usage};
use serde_json::Value;

/// Usage counts as Anthropic reports them. Streams report them in pieces (`message_start`, then
/// cumulative `message_delta` updates), so each field is merged separately.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Uncached input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write: u64,
}

impl Counts {
    /// Overwrites each count that `usage` (an Anthropic `usage` object) carries as a number.
    /// Returns false when `usage` is not an object.
    pub fn merge(&mut self, usage: Option<&Value>) -> bool {
        let Some(usage) = usage.and_then(Value::as_object) else {
            return false;
        };
        let read = |name: &str, slot: &mut u64| {
            if let Some(count) = usage.get(name).and_then(Value::as_u64) {
                *slot = count;
            }
        };
        read("input_tokens", &mut self.input);
        read("output_tokens", &mut self.output);
        read("cache_read_input_tokens", &mut self.cache_read);
        read("cache_creation_input_tokens", &mut self.cache_write);
        true
    }

    /// The typed usage: prompt tokens are all input, cached and cache-written included.
    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self
                .input
                .saturating_add(self.cache_read)
                .saturating_add(self.cache_write),
            completion_tokens: self.output,
            cached_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            reasoning_tokens: 0,
        }
    }
}

/// The web searches an Anthropic `usage` object reports (`server_tool_use.web_search_requests`).
pub fn searches(usage: Option<&Value>) -> u64 {
    usage
        .and_then(|usage| usage.get("server_tool_use"))
        .and_then(|tools| tools.get("web_search_requests"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// Normalises an Anthropic `stop_reason`: `end_turn`, `stop_sequence` and `pause_turn` → stop,
/// `max_tokens` and `model_context_window_exceeded` → length, `tool_use` → tool_calls,
/// `refusal` → content_filter; unknown reasons read as stop.
pub fn finish(native: &str) -> Finish {
    let reason = match native {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    };
    Finish::new(reason, native)
}

/// The canonical choice field naming the stop sequence that ended the generation (vLLM's
/// `stop_reason`), filled from Anthropic's `stop_sequence`.
const MATCHED_STOP: &str = "stop_reason";

/// `body` (a serialised `chat.completion` or `chat.completion.chunk`) with the stop `sequence`
/// that ended the generation named on each choice; unchanged when none did.
pub fn with_matched_stop(body: Vec<u8>, sequence: Option<&str>) -> Result<Vec<u8>, PluginError> {
    let Some(sequence) = sequence else {
        return Ok(body);
    };
    let internal = |e: serde_json::Error| {
        PluginError::Internal(format!("cannot name the matched stop sequence: {e}"))
    };
    let mut value: Value = serde_json::from_slice(&body).map_err(internal)?;
    if let Some(Value::Array(choices)) = value.get_mut("choices") {
        for choice in choices.iter_mut().filter_map(Value::as_object_mut) {
            choice.insert(MATCHED_STOP.to_owned(), Value::String(sequence.to_owned()));
        }
    }
    serde_json::to_vec(&value).map_err(internal)
}
