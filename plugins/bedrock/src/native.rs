//! What a client asked of an Anthropic-native upstream (through the canonical request's
//! Anthropic extension, or `cache_control` on content parts) that Converse can still carry:
//! prompt cache points, for the models that cache (Claude and Nova), and the `anthropic-beta`
//! flags Bedrock accepts for Claude models. Bedrock refuses a request naming any other flag
//! ("invalid beta flag"), and clients such as Claude Code send several of those, so the others
//! are left out rather than failing the request.

use serde_json::{Map, Value, json};
use switchyard_sdk::anthropic::Extension;

/// The `anthropic-beta` flags Bedrock documents for Claude models (`anthropic_beta` in
/// `additionalModelRequestFields`).
pub const BEDROCK_BETAS: &[&str] = &[
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
    "token-efficient-tools-2025-02-19",
    "interleaved-thinking-2025-05-14",
    "output-128k-2025-02-19",
    "dev-full-thinking-2025-05-14",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "effort-2025-11-24",
    "tool-search-tool-2025-10-19",
    "tool-examples-2025-10-29",
];

/// Whether `model` is a Claude model (its id, inference profile or ARN names `anthropic.`).
pub fn is_claude(model: &str) -> bool {
    model.contains("anthropic.")
}

/// Whether `model` takes Converse cache points (Claude and Amazon Nova models).
pub fn caches(model: &str) -> bool {
    is_claude(model) || model.contains("amazon.nova")
}

/// A Converse cache point: what comes before it in its list is cached.
pub fn cache_point() -> Value {
    json!({"cachePoint": {"type": "default"}})
}

/// Whether `fields` (a content part's, or a tool's, extra fields) carry a `cache_control`.
pub fn has_cache_control(fields: &Map<String, Value>) -> bool {
    fields.get("cache_control").is_some_and(|c| !c.is_null())
}

/// The client's `anthropic-beta` flags that Bedrock accepts, each once, in the client's order.
pub fn betas(extension: &Extension) -> Vec<String> {
    let mut betas: Vec<String> = Vec::new();
    for beta in &extension.beta {
        if BEDROCK_BETAS.contains(&beta.as_str()) && !betas.contains(beta) {
            betas.push(beta.clone());
        }
    }
    betas
}

/// Whether the client put `cache_control` on tool `name` (Messages API tools).
pub fn tool_cached(extension: &Extension, name: &str) -> bool {
    extension
        .tool_cache_control
        .get(name)
        .is_some_and(|c| !c.is_null())
}

/// Whether the client put `cache_control` on the result of tool call `id` (Messages API
/// `tool_result` blocks).
pub fn tool_result_cached(extension: &Extension, id: &str) -> bool {
    extension
        .tool_results
        .get(id)
        .and_then(|result| result.cache_control.as_ref())
        .is_some_and(|c| !c.is_null())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(extension: Value) -> Extension {
        let request: switchyard_sdk::provider::ChatRequest = serde_json::from_value(json!({
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "anthropic": extension
        }))
        .expect("a chat request");
        Extension::of(&request).expect("a valid extension")
    }

    #[test]
    fn only_the_betas_bedrock_accepts_are_kept_once_in_order() {
        let request = request(json!({"beta": [
            "claude-code-20250219",
            "interleaved-thinking-2025-05-14",
            "prompt-caching-scope-2026-01-05",
            "context-1m-2025-08-07",
            "interleaved-thinking-2025-05-14"
        ]}));
        assert_eq!(
            betas(&request),
            ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]
        );
    }

    #[test]
    fn tool_and_tool_result_cache_control_are_read_from_the_extension() {
        let request = request(json!({
            "tool_cache_control": {"lookup": {"type": "ephemeral"}},
            "tool_results": {"toolu_1": {"cache_control": {"type": "ephemeral"}}, "toolu_2": {"is_error": true}}
        }));
        assert!(tool_cached(&request, "lookup"));
        assert!(!tool_cached(&request, "other"));
        assert!(tool_result_cached(&request, "toolu_1"));
        assert!(!tool_result_cached(&request, "toolu_2"));
    }

    #[test]
    fn claude_and_nova_cache_other_models_do_not() {
        assert!(caches("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
        assert!(caches("amazon.nova-pro-v1:0"));
        assert!(!caches("meta.llama3-70b-instruct-v1:0"));
        assert!(is_claude(
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku"
        ));
    }
}
