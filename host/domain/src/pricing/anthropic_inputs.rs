//! What the Anthropic extension ([`ANTHROPIC_EXTENSION`]) of a canonical request makes an
//! Anthropic-native upstream bill beyond the body's bytes: images and documents it fetches by
//! URL inside tool results and native blocks, and `anthropic-beta` values that lift the
//! context window or raise the prices.

use rust_decimal::Decimal;
use serde_json::Value;
use switchyard_sdk::openai::{ANTHROPIC_EXTENSION, ChatRequest};

/// The context window a `context-1m-*` beta gives a model (tokens).
pub const LIFTED_CONTEXT: u64 = 1_000_000;

/// Betas that bill a request at a higher rate, with the most they multiply its cost by: the
/// 1M-token context (long prompts at twice the prompt price and 1.5 times the completion
/// price) and fast mode (six times the prices).
const PRICED_BETAS: [(&str, u64); 2] = [("context-1m", 2), ("fast-mode", 6)];

/// What the extension adds to a request's bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionInputs {
    /// Images the upstream fetches by URL.
    pub images: u64,
    /// Documents the upstream fetches by URL (or reads from its own files).
    pub files: u64,
    /// The context window a beta lifts the model's to, if one does.
    pub lifted_context: Option<u64>,
    /// What the betas multiply the cost by (1 without such betas).
    pub price_factor: Decimal,
}

impl Default for ExtensionInputs {
    fn default() -> Self {
        ExtensionInputs {
            images: 0,
            files: 0,
            lifted_context: None,
            price_factor: Decimal::ONE,
        }
    }
}

/// What the Anthropic extension of `request` adds to its bill (nothing without one).
pub fn extension_inputs(request: &ChatRequest) -> ExtensionInputs {
    let mut found = ExtensionInputs::default();
    let Some(extension) = request.extra.get(ANTHROPIC_EXTENSION) else {
        return found;
    };
    let tool_results = extension
        .get("tool_results")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|results| results.values())
        .filter_map(|result| result.get("content").and_then(Value::as_array))
        .flatten();
    let blocks = extension
        .get("blocks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| block.get("block"));
    for block in tool_results.chain(blocks) {
        count_block(block, &mut found, 0);
    }
    let betas = extension
        .get("beta")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for beta in betas {
        if beta.starts_with("context-1m") {
            found.lifted_context = Some(LIFTED_CONTEXT);
        }
        for (prefix, factor) in PRICED_BETAS {
            if beta.starts_with(prefix) {
                found.price_factor = found.price_factor.max(Decimal::from(factor));
            }
        }
    }
    found
}

/// Nesting of content blocks followed at most (a document's content holds blocks).
const MAX_DEPTH: usize = 4;

/// Counts what `block` makes the upstream fetch.
fn count_block(block: &Value, found: &mut ExtensionInputs, depth: usize) {
    let source = block.get("source");
    let source_type = source
        .and_then(|source| source.get("type"))
        .and_then(Value::as_str);
    match (block.get("type").and_then(Value::as_str), source_type) {
        (Some("image"), Some("url" | "file")) => found.images = found.images.saturating_add(1),
        (Some("document"), Some("url" | "file")) => found.files = found.files.saturating_add(1),
        (Some("document"), Some("content")) if depth < MAX_DEPTH => {
            let inner = source
                .and_then(|source| source.get("content"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for block in inner {
                count_block(block, found, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_result_documents_images_and_context_betas_are_counted() {
        let request: ChatRequest = serde_json::from_value(json!({
            "model": "m",
            "messages": [{ "role": "tool", "tool_call_id": "t", "content": "" }],
            "anthropic": {
                "beta": ["context-1m-2025-08-07"],
                "tool_results": { "t": { "content": [
                    { "type": "document", "source": { "type": "url", "url": "https://example.com/a.pdf" } },
                    { "type": "image", "source": { "type": "url", "url": "https://example.com/a.png" } },
                    { "type": "image", "source": { "type": "base64", "media_type": "image/png", "data": "AAAA" } },
                ] } },
                "blocks": [{ "message": 0, "part": 0, "block": { "type": "document", "source": { "type": "content", "content": [
                    { "type": "image", "source": { "type": "url", "url": "https://example.com/b.png" } },
                ] } } }],
            },
        }))
        .expect("request");
        let found = extension_inputs(&request);
        assert_eq!(
            found,
            ExtensionInputs {
                images: 2,
                files: 1,
                lifted_context: Some(LIFTED_CONTEXT),
                price_factor: Decimal::from(2),
            }
        );
    }
}
