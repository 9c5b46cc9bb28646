//! Best-effort repair of almost-JSON, whole or as it streams ([`Repairer`]): the text before the
//! first `{` or `[` (prose, a code fence's opening) and after the value (a closing fence, more
//! prose) is dropped, trailing commas are removed, mismatched closers are completed, and at the
//! end an unclosed string, a key or a `:` without its value, a cut literal or number and the
//! unclosed arrays and objects are completed in order.

use serde::{Deserialize, Serialize};

/// Whitespace between two tokens kept at most (the rest of a long run is dropped: models in JSON
/// mode sometimes emit newlines without end).
const MAX_HELD: usize = 256;

/// Characters of a bare token (literal or number) remembered, to complete a cut one.
const MAX_TOKEN: usize = 32;

/// The repair of one text, fed in pieces: [`Repairer::push`] returns what can be sent now, and
/// [`Repairer::finish`] what completes the value. Serializable, so that a transform can carry it
/// between the chunks of a stream in its host-carried state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Repairer {
    /// A `{` or `[` was seen: the value started.
    started: bool,
    /// The value is complete (or a fence closed it): what follows is dropped.
    ended: bool,
    /// The closers of the open arrays and objects, innermost last.
    open: String,
    in_string: bool,
    /// A backslash in a string, held until the character it escapes.
    escaped: bool,
    /// The string being read is an object's key.
    key: bool,
    /// Whitespace and commas between tokens, held until the next token shows whether a comma
    /// was trailing.
    held: String,
    /// The last token character written or held outside strings.
    last: Option<char>,
    /// The bare token (literal or number) being written.
    token: String,
}

impl Repairer {
    /// Whether a JSON value started (a `{` or `[` was seen).
    pub fn started(&self) -> bool {
        self.started
    }

    /// Feeds `text`; returns the repaired text that can be sent now.
    pub fn push(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if self.ended {
                break;
            }
            if !self.started {
                if c != '{' && c != '[' {
                    continue;
                }
                self.started = true;
            }
            if self.in_string {
                self.string_char(c, &mut out);
            } else {
                self.token_char(c, &mut out);
            }
        }
        out
    }

    /// What completes the value once the text has ended (nothing when it was complete or never
    /// started).
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        if !self.started {
            return out;
        }
        if self.in_string {
            self.escaped = false;
            self.in_string = false;
            out.push('"');
            self.last = Some('"');
        }
        self.held.clear();
        if self.key && self.last == Some('"') {
            out.push_str(": null");
        } else if self.last == Some(':') {
            out.push_str(" null");
        } else if !self.token.is_empty() {
            out.push_str(&completion(&self.token));
        }
        self.key = false;
        self.token.clear();
        while let Some(close) = self.open.pop() {
            out.push(close);
        }
        self.ended = true;
        out
    }

    fn string_char(&mut self, c: char, out: &mut String) {
        if self.escaped {
            out.push('\\');
            out.push(c);
            self.escaped = false;
        } else if c == '\\' {
            self.escaped = true;
        } else {
            out.push(c);
            if c == '"' {
                self.in_string = false;
                self.last = Some('"');
            }
        }
    }

    fn token_char(&mut self, c: char, out: &mut String) {
        if c.is_whitespace() {
            if self.held.len() < MAX_HELD {
                self.held.push(c);
            }
            self.token.clear();
            return;
        }
        match c {
            ',' => {
                self.held.push(c);
                self.last = Some(c);
                self.token.clear();
            }
            // A code fence's closing: the value ends here.
            '`' => self.ended = true,
            '}' | ']' => self.close(c, out),
            _ => {
                let after = self.last;
                out.push_str(&self.held);
                self.held.clear();
                out.push(c);
                self.last = Some(c);
                match c {
                    '{' => self.open.push('}'),
                    '[' => self.open.push(']'),
                    '"' => {
                        self.in_string = true;
                        self.key = self.open.ends_with('}') && matches!(after, Some('{' | ','));
                    }
                    _ => {}
                }
                if c.is_alphanumeric() || matches!(c, '.' | '-' | '+') {
                    if self.token.len() < MAX_TOKEN {
                        self.token.push(c);
                    }
                } else {
                    self.token.clear();
                }
                if c != '"' {
                    self.key = false;
                }
            }
        }
    }

    /// A closer: a trailing comma before it is dropped, and the arrays or objects it skips are
    /// closed first; a closer that matches nothing open is dropped.
    fn close(&mut self, c: char, out: &mut String) {
        self.token.clear();
        if !self.open.contains(c) {
            return;
        }
        if let Some(comma) = self.held.rfind(',') {
            self.held.truncate(comma);
        }
        out.push_str(&self.held);
        self.held.clear();
        if self.key && self.last == Some('"') {
            out.push_str(": null");
        } else if self.last == Some(':') {
            out.push_str(" null");
        }
        self.key = false;
        while let Some(closer) = self.open.pop() {
            out.push(closer);
            if closer == c {
                break;
            }
        }
        self.last = Some(c);
        if self.open.is_empty() {
            self.ended = true;
        }
    }
}

/// What completes a cut bare token: the rest of `true`, `false` or `null`, or a digit after a
/// number's sign, point or exponent.
fn completion(token: &str) -> String {
    for literal in ["true", "false", "null"] {
        if let Some(rest) = literal.strip_prefix(token) {
            return rest.to_owned();
        }
    }
    match token.ends_with(['.', '-', '+', 'e', 'E']) {
        true => "0".to_owned(),
        false => String::new(),
    }
}

/// The repaired text, or `None` when it holds no `{` or `[`.
pub fn repair(text: &str) -> Option<String> {
    let mut repairer = Repairer::default();
    let mut out = repairer.push(text);
    if !repairer.started() {
        return None;
    }
    out.push_str(&repairer.finish());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROKEN: [(&str, &str); 10] = [
        ("```json\n{\"a\": [1, 2,],}\n```", r#"{"a": [1, 2]}"#),
        (r#"Here you go: {"a": {"b": "c"#, r#"{"a": {"b": "c"}}"#),
        (r#"[1, {"x": 2"#, r#"[1, {"x": 2}]"#),
        (r#"{"a": 1} and some prose {"#, r#"{"a": 1}"#),
        (r#"{"a":"#, r#"{"a": null}"#),
        (r#"{"a": [1, 2}"#, r#"{"a": [1, 2]}"#),
        (r#"{"a": 1, "b""#, r#"{"a": 1, "b": null}"#),
        (r#"{"a": tr"#, r#"{"a": true}"#),
        (r#"{"a": [1.5, -"#, r#"{"a": [1.5, -0]}"#),
        ("{\"a\": \"x\\", r#"{"a": "x"}"#),
    ];

    #[test]
    fn common_breakages_are_repaired() {
        for (broken, fixed) in BROKEN {
            assert_eq!(repair(broken).as_deref(), Some(fixed), "{broken}");
            assert!(serde_json::from_str::<serde_json::Value>(fixed).is_ok());
        }
        assert_eq!(repair("no json here"), None);
    }

    #[test]
    fn a_text_repaired_in_pieces_is_repaired_as_whole() {
        for (broken, fixed) in BROKEN {
            // Every piece a single character: each boundary falls everywhere once.
            let mut repairer = Repairer::default();
            let mut out = String::new();
            for c in broken.chars() {
                out.push_str(&repairer.push(&c.to_string()));
                // What was sent is never taken back: a prefix of the repaired text.
                assert!(fixed.starts_with(&out), "{broken}: sent {out}");
            }
            out.push_str(&repairer.finish());
            assert_eq!(out, fixed, "{broken}");
        }
    }

    #[test]
    fn whitespace_runs_are_bounded() {
        let endless = format!("{{\"a\": 1,{}", "\n".repeat(10_000));
        let repaired = repair(&endless).expect("repaired");
        assert_eq!(repaired, r#"{"a": 1}"#);
        let spaced = format!("[1,{}2]", " ".repeat(1_000));
        assert_eq!(repair(&spaced).expect("repaired").len(), 3 + MAX_HELD + 1);
    }
}
