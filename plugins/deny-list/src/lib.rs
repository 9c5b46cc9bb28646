//! The `deny-list` transform: refuses requests, and answers, whose text contains a configured
//! term (case-insensitive) or matches a configured regular expression. A refused request is a
//! 400 in the client's API shape; a streamed answer that reaches a denied term ends there with
//! an error event and `finish_reason: "content_filter"`. Across chunks the transform keeps the
//! last [`TAIL_BYTES`] bytes of the answer's text in the host-carried state, so a term split
//! between two chunks is still found.
//!
//! Options:
//! ```toml
//! options = { terms = ["project falcon"], patterns = ['\bACME-\d{4}\b'], answers = true }
//! ```

use regex::RegexSet;
use serde::Deserialize;
use serde_json::Value;
use switchyard_sdk::transform::text::{edit_answer_texts, edit_request_texts};
use switchyard_sdk::transform::{Descriptor, Hooks, Outcome, Transform, descriptor, pass, refuse};

/// How much of a streamed answer's text is kept between chunks.
pub const TAIL_BYTES: usize = 512;

/// The code of every refusal.
pub const CODE: &str = "content_denied";

/// The transform's options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Terms refused anywhere in the text, case-insensitively.
    #[serde(default)]
    pub terms: Vec<String>,
    /// Regular expressions refused anywhere in the text.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Check answers too (whole and streamed). Default true.
    #[serde(default = "yes")]
    pub answers: bool,
}

fn yes() -> bool {
    true
}

impl Options {
    /// The rule `text` breaks first (1-based, terms before patterns), if any.
    pub fn violation(&self, text: &str) -> Option<usize> {
        let lower = text.to_lowercase();
        if let Some(index) = (self.terms.iter())
            .position(|term| !term.is_empty() && lower.contains(&term.to_lowercase()))
        {
            return Some(index + 1);
        }
        if self.patterns.is_empty() {
            return None;
        }
        let set = RegexSet::new(&self.patterns).ok()?;
        set.matches(text)
            .iter()
            .next()
            .map(|index| self.terms.len() + index + 1)
    }
}

/// The transform.
pub struct DenyList;

impl Transform for DenyList {
    type Options = Options;

    fn describe() -> Descriptor {
        descriptor(
            "deny-list",
            env!("CARGO_PKG_VERSION"),
            Hooks::REQUEST | Hooks::RESPONSE | Hooks::CHUNK,
        )
    }

    fn check(options: &Options) -> Result<(), String> {
        if options.terms.iter().any(String::is_empty) {
            return Err("`terms` holds an empty term".to_owned());
        }
        RegexSet::new(&options.patterns)
            .map(|_| ())
            .map_err(|error| format!("`patterns`: {error}"))
    }

    fn on_request(options: &Options, request: Vec<u8>, state: Vec<u8>) -> Outcome {
        let Ok(mut request) = serde_json::from_slice::<Value>(&request) else {
            return refuse(400, "invalid_request", "the request is not JSON");
        };
        let mut rule = None;
        edit_request_texts(&mut request, |text| {
            rule = rule.or_else(|| options.violation(text));
            false
        });
        match rule {
            Some(rule) => refuse(
                400,
                CODE,
                format!(
                    "the request contains content this gateway refuses (deny-list rule {rule})"
                ),
            ),
            None => pass(state),
        }
    }

    fn on_response(
        options: &Options,
        _request: Vec<u8>,
        response: Vec<u8>,
        state: Vec<u8>,
    ) -> Outcome {
        if !options.answers {
            return pass(state);
        }
        let Ok(mut answer) = serde_json::from_slice::<Value>(&response) else {
            return pass(state);
        };
        let mut rule = None;
        edit_answer_texts(&mut answer, |text| {
            rule = rule.or_else(|| options.violation(text));
            false
        });
        match rule {
            Some(rule) => refuse(400, CODE, answer_message(rule)),
            None => pass(state),
        }
    }

    fn on_chunk(options: &Options, chunk: Vec<u8>, state: Vec<u8>) -> Outcome {
        if !options.answers {
            return pass(state);
        }
        let Ok(mut chunk) = serde_json::from_slice::<Value>(&chunk) else {
            return pass(state);
        };
        let mut seen = String::from_utf8(state).unwrap_or_default();
        edit_answer_texts(&mut chunk, |text| {
            seen.push_str(text);
            false
        });
        if let Some(rule) = options.violation(&seen) {
            return refuse(400, CODE, answer_message(rule));
        }
        pass(tail(&seen, TAIL_BYTES).as_bytes().to_vec())
    }
}

fn answer_message(rule: usize) -> String {
    format!("the answer contains content this gateway refuses (deny-list rule {rule})")
}

/// The last `max` bytes of `text` at most, cut at a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

switchyard_sdk::export_transform!(DenyList);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::transform::Verdict;

    fn options() -> Options {
        switchyard_sdk::transform::parse_options::<DenyList>(
            r#"{"terms": ["Project Falcon"], "patterns": ["\\bACME-\\d{4}\\b"]}"#,
        )
        .expect("valid options")
    }

    fn refused(outcome: &Outcome) -> Option<&str> {
        match &outcome.verdict {
            Verdict::Refuse(refusal) => Some(&refusal.code),
            _ => None,
        }
    }

    #[test]
    fn requests_with_a_term_or_a_pattern_are_refused() {
        let fixture = include_bytes!("../tests/fixtures/request-denied.json");
        let outcome = DenyList::on_request(&options(), fixture.to_vec(), Vec::new());
        assert_eq!(refused(&outcome), Some(CODE));
        let clean = br#"{"model":"m","messages":[{"role":"user","content":"falcons fly"}]}"#;
        let outcome = DenyList::on_request(&options(), clean.to_vec(), Vec::new());
        assert_eq!(refused(&outcome), None);
        let pattern = br#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"ticket ACME-1234"}]}]}"#;
        let outcome = DenyList::on_request(&options(), pattern.to_vec(), Vec::new());
        assert_eq!(refused(&outcome), Some(CODE));
    }

    #[test]
    fn a_term_split_across_chunks_is_found() {
        let chunk = |text: &str| {
            serde_json::to_vec(&serde_json::json!({
                "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
            }))
            .expect("json")
        };
        let first = DenyList::on_chunk(&options(), chunk("about project fal"), Vec::new());
        assert_eq!(refused(&first), None);
        let second = DenyList::on_chunk(&options(), chunk("con today"), first.state);
        assert_eq!(refused(&second), Some(CODE));
    }

    #[test]
    fn bad_options_are_named() {
        let error = switchyard_sdk::transform::parse_options::<DenyList>(r#"{"patterns": ["("]}"#)
            .expect_err("refused");
        assert!(error.contains("patterns"), "{error}");
        let error = switchyard_sdk::transform::parse_options::<DenyList>(r#"{"term": []}"#)
            .expect_err("refused");
        assert!(error.contains("unknown field"), "{error}");
    }

    #[test]
    fn the_conformance_cases_pass() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
        let report = switchyard_sdk::transform::testing::run_cases::<DenyList>(dir).expect("cases");
        assert!(report.passed(), "{}", report.table());
    }
}
