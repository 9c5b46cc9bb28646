//! The context filter: routing leaves out a model's endpoints when its context window cannot hold
//! the request's estimated prompt plus the output it asks for, as OpenRouter does, rather than
//! send a prompt the upstream must refuse (and bill the failover for it).
//!
//! The estimate is meant to be low, so that no request an upstream would take is refused: the
//! text the model reads (messages, tool calls, tool definitions) at four bytes a token, with
//! images and files left out (their data is not text, and their tokens are far fewer than their
//! bytes).

use switchyard_sdk::openai::{ChatRequest, Content};

use switchyard_domain::pricing::anthropic_inputs::extension_inputs;

/// Bytes of text per token assumed: about what English and code average, more than most other
/// scripts take, so the estimate stays below the tokenizer's count.
const BYTES_PER_TOKEN: u64 = 4;

/// What a request needs of a model's context window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextNeed {
    /// The prompt's estimated size in tokens (a low estimate).
    pub prompt_tokens: u64,
    /// The output the request asks for (its output limit; 0 without one).
    pub output_tokens: u64,
    /// A context window an `anthropic-beta` lifts every model's to, if one does.
    pub lifted_context: Option<u64>,
}

impl ContextNeed {
    /// What `request` needs.
    pub fn of(request: &ChatRequest) -> ContextNeed {
        let mut bytes = 0usize;
        for message in &request.messages {
            match &message.content {
                Some(Content::Text(text)) => bytes = bytes.saturating_add(text.len()),
                Some(Content::Parts(parts)) => {
                    for text in parts.iter().filter_map(|part| part.text.as_deref()) {
                        bytes = bytes.saturating_add(text.len());
                    }
                }
                None => {}
            }
            for call in message.tool_calls.iter().flatten() {
                bytes = bytes
                    .saturating_add(call.function.name.len())
                    .saturating_add(call.function.arguments.len());
            }
        }
        for tool in request.tools.iter().flatten() {
            let function = &tool.function;
            bytes = bytes
                .saturating_add(function.name.len())
                .saturating_add(function.description.as_ref().map_or(0, String::len))
                .saturating_add(
                    function
                        .parameters
                        .as_ref()
                        .map_or(0, |schema| schema.to_string().len()),
                );
        }
        ContextNeed {
            prompt_tokens: u64::try_from(bytes).unwrap_or(u64::MAX) / BYTES_PER_TOKEN,
            output_tokens: request.output_token_limit().unwrap_or(0),
            lifted_context: extension_inputs(request).lifted_context,
        }
    }

    /// The tokens the context window must hold: prompt plus output.
    pub fn total(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.output_tokens)
    }

    /// The window a model of `context_length` offers this request (a beta may lift it).
    pub fn window(&self, context_length: Option<u64>) -> Option<u64> {
        match (context_length, self.lifted_context) {
            (Some(context), Some(lifted)) => Some(context.max(lifted)),
            (context, _) => context,
        }
    }

    /// The window of a model of `context_length` when it is too small for this request; `None`
    /// when it fits or the model declares no context length.
    pub fn too_small(&self, context_length: Option<u64>) -> Option<u64> {
        self.window(context_length)
            .filter(|window| *window < self.total())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn need(request: serde_json::Value) -> ContextNeed {
        ContextNeed::of(&serde_json::from_value(request).expect("request"))
    }

    #[test]
    fn text_counts_and_images_do_not() {
        let image = format!("data:image/png;base64,{}", "A".repeat(400_000));
        let found = need(json!({
            "model": "m",
            "max_tokens": 100,
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "x".repeat(400)},
                    {"type": "image_url", "image_url": {"url": image}},
                ]},
                {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                    "function": {"name": "abcd", "arguments": "y".repeat(396)}}]},
                {"role": "tool", "tool_call_id": "c", "content": "z".repeat(800)},
            ],
        }));
        assert_eq!(found.prompt_tokens, 400);
        assert_eq!(found.output_tokens, 100);
        assert_eq!(found.total(), 500);
        assert_eq!(found.too_small(Some(499)), Some(499));
        assert_eq!(found.too_small(Some(500)), None);
        assert_eq!(found.too_small(None), None);
    }

    #[test]
    fn a_beta_lifts_the_window() {
        let found = need(json!({
            "model": "m",
            "messages": [{"role": "user", "content": "x".repeat(4_000_000)}],
            "anthropic": {"beta": ["context-1m-2025-08-07"]},
        }));
        assert_eq!(found.prompt_tokens, 1_000_000);
        assert_eq!(found.too_small(Some(200_000)), None);
    }
}
