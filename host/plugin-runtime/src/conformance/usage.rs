//! The usage a recording says the upstream billed, against what an adapter reports for it: an
//! adapter that reports less (zero usage, say) would have the gateway charge less than the
//! upstream bills, so a replay gate refuses it.
//!
//! The billed figures are read from the recorded JSON whatever the wire format: the largest
//! value of any member named as a provider names its prompt tokens (`prompt_tokens`,
//! `input_tokens`, `promptTokenCount`, `inputTokens`) or its output tokens (`completion_tokens`,
//! `output_tokens`, `candidatesTokenCount`, `outputTokens`), anywhere in the body or in any
//! event of a stream (streams report usage cumulatively). Cohere's `tokens` member (counts
//! that include its prompt template, beside the `billed_units` it bills) is skipped.

use serde_json::Value;
use switchyard_sdk::conformance::checks::{Counts, Outcome};

/// Names of the prompt token count in the wire formats of the adapters.
const PROMPT_KEYS: [&str; 4] = [
    "prompt_tokens",
    "input_tokens",
    "promptTokenCount",
    "inputTokens",
];

/// Names of the output token count.
const OUTPUT_KEYS: [&str; 4] = [
    "completion_tokens",
    "output_tokens",
    "candidatesTokenCount",
    "outputTokens",
];

/// Nesting followed at most.
const MAX_DEPTH: usize = 16;

/// The (prompt, output) tokens the upstream billed in `documents` (a body, or a stream's event
/// data), each `None` when no document says.
pub fn recorded<'a>(documents: impl Iterator<Item = &'a [u8]>) -> (Option<u64>, Option<u64>) {
    let mut found = (None, None);
    for document in documents {
        if let Ok(value) = serde_json::from_slice::<Value>(document) {
            walk(&value, &mut found, 0);
        }
    }
    found
}

fn walk(value: &Value, found: &mut (Option<u64>, Option<u64>), depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                if key == "tokens" {
                    continue;
                }
                if let Some(count) = member.as_u64() {
                    if PROMPT_KEYS.contains(&key.as_str()) {
                        found.0 = Some(found.0.map_or(count, |seen| seen.max(count)));
                    } else if OUTPUT_KEYS.contains(&key.as_str()) {
                        found.1 = Some(found.1.map_or(count, |seen| seen.max(count)));
                    }
                }
                walk(member, found, depth + 1);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, found, depth + 1)),
        _ => {}
    }
}

/// Checks that `reported` (the adapter's typed usage: prompt tokens, completion tokens, …)
/// covers what the recording says was billed.
pub fn check(billed: (Option<u64>, Option<u64>), reported: Option<&Counts>) -> Outcome {
    let failure = match (billed, reported) {
        ((None, None), _) => None,
        (_, None) => Some("the recording bills tokens, the adapter reports no usage".to_owned()),
        ((prompt, output), Some(counts)) => {
            let short = |billed: Option<u64>, reported: u64, what: &str| {
                billed
                    .filter(|billed| reported < *billed)
                    .map(|billed| format!("{what} tokens: reported {reported}, billed {billed}"))
            };
            let shortfalls: Vec<String> = [
                short(prompt, counts[0], "prompt"),
                short(output, counts[1], "completion"),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!shortfalls.is_empty()).then(|| shortfalls.join("; "))
        }
    };
    Outcome {
        check: "usage covers what the recording bills",
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn billed_usage_is_read_from_any_wire_format_and_under_reporting_fails() {
        let openai = json!({ "usage": { "prompt_tokens": 16, "completion_tokens": 363,
            "completion_tokens_details": { "reasoning_tokens": 0 } } })
        .to_string();
        let start = json!({ "type": "message_start", "message": { "usage": { "input_tokens": 12, "output_tokens": 1 } } }).to_string();
        let delta =
            json!({ "type": "message_delta", "usage": { "output_tokens": 29 } }).to_string();
        assert_eq!(
            recorded([openai.as_bytes()].into_iter()),
            (Some(16), Some(363))
        );
        let anthropic = recorded([start.as_bytes(), delta.as_bytes()].into_iter());
        assert_eq!(anthropic, (Some(12), Some(29)));
        assert!(check(anthropic, Some(&[12, 29, 0, 0, 0])).failure.is_none());
        assert!(check(anthropic, Some(&[0, 0, 0, 0, 0])).failure.is_some());
        assert!(check(anthropic, Some(&[12, 1, 0, 0, 0])).failure.is_some());
        assert!(check(anthropic, None).failure.is_some());
        assert!(check((None, None), None).failure.is_none());
    }
}
