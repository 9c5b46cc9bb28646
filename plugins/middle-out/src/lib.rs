//! The `middle-out` transform, OpenRouter's context compression: when the prompt does not fit
//! the context of the endpoint routing chose (with room for the output), it removes messages
//! from the middle of the conversation, where they matter least, until it fits: the system
//! prompt and the first user message stay, and so do the latest turns. When two messages are
//! left and they still do not fit, the longer one is truncated in its middle. It runs in
//! `on-routed`, the hook that knows the endpoint's context length; a prompt that cannot be made
//! to fit is refused there, and the gateway tries the next endpoint.
//!
//! Tokens are estimated as the gateway does: four bytes of JSON a token.

use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::transform::{
    Descriptor, Endpoint, Hooks, Outcome, Transform, descriptor, modify, pass, refuse,
};

/// Bytes a token, as the gateway estimates.
const BYTES_PER_TOKEN: usize = 4;

/// What replaces the cut part of a truncated message.
const ELLIPSIS: &str = "\n[... middle-out removed part of this message ...]\n";

/// The transform's options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {}

/// The transform.
pub struct MiddleOut;

impl Transform for MiddleOut {
    type Options = Options;

    fn describe() -> Descriptor {
        descriptor("middle-out", env!("CARGO_PKG_VERSION"), Hooks::ROUTED)
    }

    fn on_routed(
        _options: &Options,
        request: Vec<u8>,
        endpoint: Endpoint,
        state: Vec<u8>,
    ) -> Outcome {
        let Some(context) = endpoint.context_length else {
            return pass(state);
        };
        let output = endpoint.max_output_tokens.unwrap_or(0);
        let budget = (context.saturating_sub(output) as usize).saturating_mul(BYTES_PER_TOKEN);
        if request.len() <= budget {
            return pass(state);
        }
        let Ok(mut value) = serde_json::from_slice::<Value>(&request) else {
            return pass(state);
        };
        match compress(&mut value, budget) {
            Ok(()) => modify(serde_json::to_vec(&value).unwrap_or(request), state),
            Err(size) => refuse(
                400,
                "context_length_exceeded",
                format!(
                    "the prompt (about {} tokens after middle-out) does not fit {} on {}: its \
                     context is {context} tokens, {output} of them kept for the output",
                    size / BYTES_PER_TOKEN,
                    endpoint.model,
                    endpoint.provider
                ),
            ),
        }
    }
}

fn size(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
}

/// Cuts `request`'s messages from the middle until its JSON fits `budget` bytes; the size left
/// when it cannot.
pub fn compress(request: &mut Value, budget: usize) -> Result<(), usize> {
    loop {
        let current = size(request);
        if current <= budget {
            return Ok(());
        }
        let Some(messages) = request.get_mut("messages").and_then(Value::as_array_mut) else {
            return Err(current);
        };
        // Each truncation removes at least the excess (escaping can leave a few bytes over:
        // the loop cuts again).
        if !remove_middle(messages) && !truncate_longest(request, current - budget) {
            return Err(current);
        }
    }
}

/// Removes the middle unit of messages (an assistant turn with its tool results counts as one),
/// keeping the leading system messages, the first other message and the last one. False when
/// nothing is left to remove.
fn remove_middle(messages: &mut Vec<Value>) -> bool {
    let head = messages
        .iter()
        .take_while(|message| message["role"] == "system" || message["role"] == "developer")
        .count()
        + 1;
    if messages.len() <= head + 1 {
        return false;
    }
    let removable = head..messages.len() - 1;
    let mut start = removable.start + (removable.end - removable.start) / 2;
    // A tool result belongs to the assistant turn before it: start from that turn.
    while start > removable.start && messages[start]["role"] == "tool" {
        start -= 1;
    }
    let mut end = start + 1;
    while end < removable.end && messages[end]["role"] == "tool" {
        end += 1;
    }
    if messages[start]["role"] == "tool" {
        return false;
    }
    messages.drain(start..end);
    true
}

/// Removes `excess` bytes (and the ellipsis) from the middle of the longest text; false when no
/// text is long enough.
fn truncate_longest(request: &mut Value, excess: usize) -> bool {
    let Some(messages) = request.get_mut("messages").and_then(Value::as_array_mut) else {
        return false;
    };
    let longest = messages
        .iter_mut()
        .filter_map(|message| match message.get_mut("content") {
            Some(Value::String(text)) => Some(text),
            _ => None,
        })
        .max_by_key(|text| text.len());
    let Some(text) = longest else {
        return false;
    };
    let cut = excess + ELLIPSIS.len();
    if text.len() <= cut + 2 {
        return false;
    }
    let mut start = (text.len() - cut) / 2;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = start + cut;
    while !text.is_char_boundary(end) {
        end += 1;
    }
    text.replace_range(start..end, ELLIPSIS);
    true
}

switchyard_sdk::export_transform!(MiddleOut);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::transform::Verdict;

    fn endpoint(context: u64) -> Endpoint {
        Endpoint {
            provider: "p".to_owned(),
            model: "m/small".to_owned(),
            context_length: Some(context),
            max_output_tokens: Some(100),
        }
    }

    fn conversation() -> Vec<u8> {
        include_bytes!("../tests/fixtures/long-conversation.json").to_vec()
    }

    #[test]
    fn the_middle_goes_first_and_the_ends_stay() {
        let request = conversation();
        let outcome = MiddleOut::on_routed(&Options {}, request.clone(), endpoint(700), Vec::new());
        let Verdict::Modify(bytes) = outcome.verdict else {
            panic!("not cut: {:?}", outcome.verdict);
        };
        assert!(bytes.len() <= 600 * BYTES_PER_TOKEN, "{}", bytes.len());
        let cut: Value = serde_json::from_slice(&bytes).expect("json");
        let original: Value = serde_json::from_slice(&request).expect("json");
        let (kept, all) = (
            cut["messages"].as_array().expect("messages"),
            original["messages"].as_array().expect("messages"),
        );
        assert!(kept.len() < all.len());
        assert_eq!(kept[0], all[0], "the system prompt stays");
        assert_eq!(kept[1], all[1], "the first user message stays");
        assert_eq!(kept.last(), all.last(), "the latest message stays");
        // No tool result is left without its call.
        for (index, message) in kept.iter().enumerate() {
            if message["role"] == "tool" {
                assert!(
                    kept[index - 1]["role"] == "tool" || kept[index - 1]["tool_calls"].is_array()
                );
            }
        }
    }

    #[test]
    fn prompts_that_fit_pass_and_hopeless_ones_are_refused() {
        let fits = MiddleOut::on_routed(&Options {}, conversation(), endpoint(100_000), Vec::new());
        assert!(matches!(fits.verdict, Verdict::Pass));
        let hopeless = MiddleOut::on_routed(&Options {}, conversation(), endpoint(120), Vec::new());
        let Verdict::Refuse(refusal) = hopeless.verdict else {
            panic!("not refused");
        };
        assert_eq!(refusal.code, "context_length_exceeded");
        assert!(refusal.message.contains("m/small"), "{}", refusal.message);
    }

    #[test]
    fn two_long_messages_are_truncated_in_the_middle() {
        let long = "a".repeat(4000) + &"z".repeat(4000);
        let request = serde_json::to_vec(&serde_json::json!({
            "model": "m", "messages": [{"role": "user", "content": long}, {"role": "user", "content": "end"}]
        }))
        .expect("json");
        let outcome = MiddleOut::on_routed(&Options {}, request, endpoint(1100), Vec::new());
        let Verdict::Modify(bytes) = outcome.verdict else {
            panic!("not cut");
        };
        let cut: Value = serde_json::from_slice(&bytes).expect("json");
        let text = cut["messages"][0]["content"].as_str().expect("text");
        assert!(text.starts_with('a') && text.ends_with('z') && text.contains("middle-out"));
    }

    #[test]
    fn the_conformance_cases_pass() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
        let report =
            switchyard_sdk::transform::testing::run_cases::<MiddleOut>(dir).expect("cases");
        assert!(report.passed(), "{}", report.table());
    }
}
