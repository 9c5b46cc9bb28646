//! Gemini `usageMetadata` and `finishReason` in typed form.

use crate::provider::{Finish, FinishReason, Usage};
use serde_json::Value;

/// Reads `usageMetadata`. Returns `None` when it is absent or carries no token count (Vertex AI
/// streams send `{"trafficType": ...}` alone on intermediate events).
pub fn from_metadata(metadata: Option<&Value>) -> Option<Usage> {
    let metadata = metadata?.as_object()?;
    const COUNTS: [&str; 5] = [
        "promptTokenCount",
        "candidatesTokenCount",
        "thoughtsTokenCount",
        "cachedContentTokenCount",
        "toolUsePromptTokenCount",
    ];
    if !COUNTS.iter().any(|name| metadata.contains_key(*name)) {
        return None;
    }
    let count = |name: &str| metadata.get(name).and_then(Value::as_u64).unwrap_or(0);
    let thoughts = count("thoughtsTokenCount");
    Some(Usage {
        prompt_tokens: count("promptTokenCount").saturating_add(count("toolUsePromptTokenCount")),
        completion_tokens: count("candidatesTokenCount").saturating_add(thoughts),
        cached_tokens: count("cachedContentTokenCount"),
        cache_write_tokens: 0,
        reasoning_tokens: thoughts,
    })
}

/// Normalises a `finishReason`; `called_tools` turns `STOP` into tool_calls.
pub fn finish(native: &str, called_tools: bool) -> Finish {
    let reason = match native {
        "STOP" if called_tools => FinishReason::ToolCalls,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION"
        | "LANGUAGE" => FinishReason::ContentFilter,
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => {
            FinishReason::Error
        }
        _ => FinishReason::Stop,
    };
    Finish::new(reason, native)
}

/// The synthesised id of the `index`-th function call of a response.
pub fn call_id(index: u32) -> String {
    format!("call_{index}")
}
