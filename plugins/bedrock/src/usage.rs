//! Converse usage counts and stop reasons in typed form.

use serde_json::Value;
use switchyard_sdk::provider::{Finish, FinishReason, Usage};

/// A Converse `usage` object as typed usage: `inputTokens` excludes the prompt-cache tokens,
/// so `prompt_tokens` adds `cacheReadInputTokens` and `cacheWriteInputTokens`. `None` when
/// `usage` is not an object.
pub fn from_converse(usage: Option<&Value>) -> Option<Usage> {
    let usage = usage?.as_object()?;
    let count = |name: &str| usage.get(name).and_then(Value::as_u64).unwrap_or(0);
    let (input, cache_read, cache_write) = (
        count("inputTokens"),
        count("cacheReadInputTokens"),
        count("cacheWriteInputTokens"),
    );
    Some(Usage {
        prompt_tokens: input.saturating_add(cache_read).saturating_add(cache_write),
        completion_tokens: count("outputTokens"),
        cached_tokens: cache_read,
        cache_write_tokens: cache_write,
        reasoning_tokens: 0,
    })
}

/// Normalises a Converse `stopReason`: `end_turn` and `stop_sequence` → stop, `max_tokens` and
/// `model_context_window_exceeded` → length, `tool_use` → tool_calls, `guardrail_intervened`
/// and `content_filtered` → content_filter; unknown reasons read as stop.
pub fn finish(native: &str) -> Finish {
    let reason = match native {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    };
    Finish::new(reason, native)
}
