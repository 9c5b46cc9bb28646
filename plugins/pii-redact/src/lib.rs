//! The `pii-redact` transform: masks e-mail addresses, phone numbers, card numbers (checked with
//! Luhn), IBANs (checked with their mod-97 digits) and API-key shapes in a request's messages
//! before any upstream sees them, as placeholders like `[EMAIL_1]`. With `restore = true`, the
//! placeholders the model repeats are put back in its answer, whole or streamed: the map of
//! placeholders travels in the host-carried state, never in the instance, and a placeholder
//! split across two chunks is held back until it is whole.
//!
//! Options:
//! ```toml
//! options = { kinds = ["email", "card"], restore = true }
//! ```

pub mod detect;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchyard_sdk::transform::text::{edit_answer_texts, edit_request_texts};
use switchyard_sdk::transform::{Descriptor, Hooks, Outcome, Transform, descriptor, modify, pass};

pub use detect::Kind;

/// The longest placeholder held back in a stream, in bytes (`[API_KEY_99999]`).
const MAX_PLACEHOLDER: usize = 24;

/// The transform's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// What to mask. Default: every kind.
    #[serde(default = "Kind::all")]
    pub kinds: Vec<Kind>,
    /// Put the originals back where the answer repeats a placeholder. Default false.
    #[serde(default)]
    pub restore: bool,
}

/// What the host carries for one request.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Placeholder and original, in the order found.
    pub map: Vec<(String, String)>,
    /// Streamed text held back: it may be the start of a placeholder.
    #[serde(default)]
    pub pending: String,
}

impl State {
    fn read(bytes: &[u8]) -> State {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `text` with every placeholder replaced by its original.
    fn restore(&self, text: &str) -> String {
        let mut restored = text.to_owned();
        for (placeholder, original) in &self.map {
            restored = restored.replace(placeholder.as_str(), original);
        }
        restored
    }
}

/// The transform.
pub struct PiiRedact;

impl Transform for PiiRedact {
    type Options = Options;

    fn describe() -> Descriptor {
        descriptor(
            "pii-redact",
            env!("CARGO_PKG_VERSION"),
            Hooks::REQUEST | Hooks::RESPONSE | Hooks::CHUNK,
        )
    }

    fn check(options: &Options) -> Result<(), String> {
        match options.kinds.is_empty() {
            true => Err("`kinds` is empty: nothing to mask".to_owned()),
            false => Ok(()),
        }
    }

    fn on_request(options: &Options, request: Vec<u8>, state: Vec<u8>) -> Outcome {
        let Ok(mut value) = serde_json::from_slice::<Value>(&request) else {
            return pass(state);
        };
        let mut found = State::read(&state);
        let changed = edit_request_texts(&mut value, |text| {
            match detect::mask(text, &options.kinds, &mut found.map) {
                Some(masked) => {
                    *text = masked;
                    true
                }
                None => false,
            }
        });
        match changed {
            true => modify(serde_json::to_vec(&value).unwrap_or(request), found.bytes()),
            false => pass(state),
        }
    }

    fn on_response(
        options: &Options,
        _request: Vec<u8>,
        response: Vec<u8>,
        state: Vec<u8>,
    ) -> Outcome {
        let found = State::read(&state);
        if !options.restore || found.map.is_empty() {
            return pass(state);
        }
        let Ok(mut value) = serde_json::from_slice::<Value>(&response) else {
            return pass(state);
        };
        let changed = edit_answer_texts(&mut value, |text| {
            let restored = found.restore(text);
            let changed = restored != *text;
            *text = restored;
            changed
        });
        match changed {
            true => modify(serde_json::to_vec(&value).unwrap_or(response), state),
            false => pass(state),
        }
    }

    fn on_chunk(options: &Options, chunk: Vec<u8>, state: Vec<u8>) -> Outcome {
        let mut found = State::read(&state);
        if !options.restore || found.map.is_empty() {
            return pass(state);
        }
        let Ok(mut value) = serde_json::from_slice::<Value>(&chunk) else {
            return pass(state);
        };
        let finished = value["choices"]
            .as_array()
            .is_some_and(|choices| choices.iter().any(|c| !c["finish_reason"].is_null()));
        let has_text = value["choices"][0]["delta"]["content"].is_string();
        if !has_text && !finished {
            return pass(state);
        }
        let mut text = std::mem::take(&mut found.pending);
        text.push_str(
            value["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or_default(),
        );
        let keep = if finished {
            text.len()
        } else {
            release_point(&text)
        };
        found.pending = text[keep..].to_owned();
        let released = found.restore(&text[..keep]);
        if let Some(delta) = value["choices"][0]["delta"].as_object_mut() {
            delta.insert("content".to_owned(), Value::String(released));
        }
        modify(serde_json::to_vec(&value).unwrap_or(chunk), found.bytes())
    }
}

/// Where `text` may be cut: before a trailing `[` that could start a placeholder not closed yet.
fn release_point(text: &str) -> usize {
    match text.rfind('[') {
        Some(start) if !text[start..].contains(']') && text.len() - start <= MAX_PLACEHOLDER => {
            start
        }
        _ => text.len(),
    }
}

switchyard_sdk::export_transform!(PiiRedact);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::transform::{Verdict, parse_options};

    fn options(text: &str) -> Options {
        parse_options::<PiiRedact>(text).expect("options")
    }

    fn modified(outcome: &Outcome) -> Value {
        match &outcome.verdict {
            Verdict::Modify(bytes) => serde_json::from_slice(bytes).expect("json"),
            other => panic!("not modified: {other:?}"),
        }
    }

    #[test]
    fn the_fixture_request_is_masked_and_the_answer_restored() {
        let fixture = include_bytes!("../tests/fixtures/request-with-pii.json");
        let options = options(r#"{"restore": true}"#);
        let outcome = PiiRedact::on_request(&options, fixture.to_vec(), Vec::new());
        let masked = modified(&outcome).to_string();
        for secret in [
            "jane.doe@example.com",
            "4111 1111 1111 1111",
            "GB82 WEST 1234 5698 7654 32",
            "+44 20 7946 0958",
            "sk-proj-abcdefghijklmnopqrstuvwx",
        ] {
            assert!(!masked.contains(secret), "{secret} left in {masked}");
        }
        for placeholder in [
            "[EMAIL_1]",
            "[CARD_1]",
            "[IBAN_1]",
            "[PHONE_1]",
            "[API_KEY_1]",
        ] {
            assert!(
                masked.contains(placeholder),
                "{placeholder} missing in {masked}"
            );
        }
        // Not a card: fails Luhn.
        assert!(masked.contains("4111 1111 1111 1112"), "{masked}");

        let answer = br#"{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Mail [EMAIL_1] now."},"finish_reason":"stop"}]}"#;
        let restored =
            PiiRedact::on_response(&options, Vec::new(), answer.to_vec(), outcome.state.clone());
        assert_eq!(
            modified(&restored)["choices"][0]["message"]["content"],
            "Mail jane.doe@example.com now."
        );

        let chunk = |text: &str, finish: Option<&str>| {
            serde_json::to_vec(&serde_json::json!({
                "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]
            }))
            .expect("json")
        };
        let first = PiiRedact::on_chunk(&options, chunk("Mail [EMA", None), outcome.state);
        assert_eq!(modified(&first)["choices"][0]["delta"]["content"], "Mail ");
        let second = PiiRedact::on_chunk(&options, chunk("IL_1] now", None), first.state);
        assert_eq!(
            modified(&second)["choices"][0]["delta"]["content"],
            "jane.doe@example.com now"
        );
        let last = PiiRedact::on_chunk(&options, chunk(" [", Some("stop")), second.state);
        assert_eq!(modified(&last)["choices"][0]["delta"]["content"], " [");
    }

    #[test]
    fn only_the_chosen_kinds_are_masked() {
        let request = br#"{"model":"m","messages":[{"role":"user","content":"jane@example.com 4111111111111111"}]}"#;
        let outcome = PiiRedact::on_request(
            &options(r#"{"kinds": ["card"]}"#),
            request.to_vec(),
            Vec::new(),
        );
        let masked = modified(&outcome)["messages"][0]["content"].clone();
        assert_eq!(masked, "jane@example.com [CARD_1]");
        assert!(parse_options::<PiiRedact>(r#"{"kinds": ["ssn"]}"#).is_err());
        assert!(parse_options::<PiiRedact>(r#"{"kinds": []}"#).is_err());
    }

    #[test]
    fn the_conformance_cases_pass() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
        let report =
            switchyard_sdk::transform::testing::run_cases::<PiiRedact>(dir).expect("cases");
        assert!(report.passed(), "{}", report.table());
    }
}
