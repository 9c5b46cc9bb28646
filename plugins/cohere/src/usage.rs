//! Cohere usage and finish reasons in typed form.

use serde_json::Value;
use switchyard_sdk::provider::{Finish, FinishReason, Usage};

/// Reads a v2 `usage` object: the raw `tokens` the model processed when present (as every other
/// provider reports them; `billed_units` leave out the prompt template and cached tokens), else
/// `billed_units`; `cached_tokens` are the prompt tokens read from Cohere's cache. Returns `None`
/// when neither carries counts.
pub fn from_cohere(usage: Option<&Value>) -> Option<Usage> {
    let usage = usage?;
    let units = usage
        .get("tokens")
        .filter(|u| u.is_object())
        .or_else(|| usage.get("billed_units").filter(|u| u.is_object()))?;
    let count = |value: Option<&Value>| {
        value
            .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)))
            .unwrap_or(0)
    };
    let prompt_tokens = count(units.get("input_tokens"));
    Some(Usage {
        prompt_tokens,
        completion_tokens: count(units.get("output_tokens")),
        cached_tokens: count(usage.get("cached_tokens")).min(prompt_tokens),
        ..Usage::zero()
    })
}

/// Normalises a v2 `finish_reason`.
pub fn finish(native: &str) -> Finish {
    let reason = match native {
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        "ERROR" | "TIMEOUT" => FinishReason::Error,
        _ => FinishReason::Stop,
    };
    Finish::new(reason, native)
}
