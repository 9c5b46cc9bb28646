//! The checks an adapter's answers must pass, over plain data so that the gateway (`switchyard
//! plugin test`) and a plugin's own `cargo test` ([`crate::testing::conformance`]) run the same
//! ones.

use serde_json::Value;

use super::recording::Expectation;
use crate::openai::{ChatChunk, ChatCompletion};

/// The finish reasons of the canonical format.
pub const NORMALISED_FINISH_REASONS: [&str; 5] =
    ["stop", "length", "tool_calls", "content_filter", "error"];

/// Typed usage: `[prompt, completion, cached, cache_write, reasoning]` tokens.
pub type Counts = [u64; 5];

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What was checked, e.g. `canonical completion`.
    pub check: &'static str,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
}

impl Outcome {
    fn of(check: &'static str, failure: Option<String>) -> Self {
        Outcome { check, failure }
    }
}

/// What an adapter made of a whole successful body.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedBody {
    /// The canonical body it returned.
    pub body: Vec<u8>,
    /// Its typed usage.
    pub usage: Option<Counts>,
    /// Its typed finish: (normalised spelling, native).
    pub finish: Option<(String, String)>,
}

/// Checks a parsed body: a canonical `chat.completion` without `usage` in it, typed usage that
/// adds up, and a normalised finish reason that the body repeats.
pub fn completion(parsed: &ParsedBody) -> Vec<Outcome> {
    let value = serde_json::from_slice::<Value>(&parsed.body).unwrap_or(Value::Null);
    let canonical = match serde_json::from_slice::<ChatCompletion>(&parsed.body) {
        Err(error) => Some(format!("not a chat.completion: {error}")),
        Ok(body) if body.object != "chat.completion" => {
            Some(format!("object is {:?}", body.object))
        }
        Ok(body) if body.choices.is_empty() => Some("no choices".to_owned()),
        Ok(_) if value.get("usage").is_some() => {
            Some("usage inside the body (it travels typed)".to_owned())
        }
        Ok(_) => None,
    };
    let finish = match &parsed.finish {
        None => Some("no finish reported".to_owned()),
        Some((reason, native)) => normalised(reason).or_else(|| {
            let in_body = &value["choices"][0]["finish_reason"];
            (in_body != reason.as_str()).then(|| {
                format!("the body says {in_body}, the typed finish {reason} (native {native})")
            })
        }),
    };
    vec![
        Outcome::of("canonical completion", canonical),
        Outcome::of("usage", usage_problem(parsed.usage)),
        Outcome::of("finish reason", finish),
    ]
}

/// Checks the answer to an error body: `parse-response` must refuse it even with status 200 (no
/// fake success), and `parse-error` must classify it as its status says (`error_kind` is the
/// contract's variant name, e.g. `rate-limited`).
pub fn error(status: Option<u16>, refused_as_success: bool, error_kind: &str) -> Vec<Outcome> {
    let fake = (!refused_as_success)
        .then(|| "parse-response turned an error body into a success".to_owned());
    let expected: &[&str] = match status {
        Some(429) => &["rate-limited"],
        Some(401 | 403) => &["auth"],
        Some(400 | 404 | 413 | 422) => &[
            "invalid-request",
            "context-length-exceeded",
            "content-filtered",
        ],
        Some(500..=599) => &["overloaded", "upstream-unavailable"],
        _ => &[],
    };
    let typed = (!expected.is_empty() && !expected.contains(&error_kind)).then(|| {
        format!(
            "status {} classified as {error_kind}, expected {}",
            status.unwrap_or_default(),
            expected.join(" or ")
        )
    });
    vec![
        Outcome::of("no fake success", fake),
        Outcome::of("typed error", typed),
    ]
}

/// What an adapter made of a recorded exchange, for its expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Produced {
    /// An answer (whole or streamed).
    Answer {
        /// Its typed usage.
        usage: Option<Counts>,
        /// Its typed finish: (normalised spelling, native); the last one of a stream.
        finish: Option<(String, String)>,
    },
    /// A typed error.
    Error {
        /// The contract's variant name, e.g. `rate-limited`.
        kind: String,
        /// The wait a rate limit reported.
        retry_after_ms: Option<u64>,
    },
}

/// The status the gateway answers a client with for an adapter's error (the contract's variant
/// name): what an expectation's `status_class` is checked against.
pub fn client_status(kind: &str) -> u16 {
    match kind {
        "rate-limited" => 429,
        "overloaded" => 503,
        "context-length-exceeded" | "invalid-request" | "unsupported" => 400,
        "content-filtered" => 403,
        _ => 502,
    }
}

/// Checks what an adapter produced against the expectation of its exchange: one outcome per
/// field the expectation sets.
pub fn expected(expect: &Expectation, produced: &Produced) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let mismatch = |what: &str, want: &dyn std::fmt::Debug, got: &dyn std::fmt::Debug| {
        Some(format!("expected {what} {want:?}, got {got:?}"))
    };
    let (status, kind, retry_after, usage, finish) = match produced {
        Produced::Answer { usage, finish } => (200, None, None, *usage, finish.clone()),
        Produced::Error {
            kind,
            retry_after_ms,
        } => (
            client_status(kind),
            Some(kind.as_str()),
            *retry_after_ms,
            None,
            None,
        ),
    };
    if let Some(class) = &expect.status_class {
        let got = format!("{}xx", status / 100);
        let failure = (got != *class).then(|| {
            let what = kind.map_or("an answer".to_owned(), |kind| format!("{kind} → {status}"));
            format!("expected status class {class}, got {got} ({what})")
        });
        outcomes.push(Outcome::of("expected status class", failure));
    }
    if let Some(want) = &expect.error {
        let failure = (kind != Some(want.as_str()))
            .then(|| format!("expected error {want}, got {}", kind.unwrap_or("an answer")));
        outcomes.push(Outcome::of("expected error", failure));
    }
    if let Some(want) = expect.retry_after_ms {
        let failure = (retry_after != Some(want))
            .then(|| mismatch("retry-after (ms)", &want, &retry_after))
            .flatten();
        outcomes.push(Outcome::of("expected retry-after", failure));
    }
    if let Some(want) = expect.usage {
        let got = usage.map(|[prompt, completion, ..]| (prompt, completion));
        let fits = got.is_some_and(|(prompt, completion)| {
            want.prompt.is_none_or(|p| p == prompt)
                && want.completion.is_none_or(|c| c == completion)
        });
        let failure = (!fits)
            .then(|| {
                mismatch(
                    "usage (prompt, completion)",
                    &(want.prompt, want.completion),
                    &got,
                )
            })
            .flatten();
        outcomes.push(Outcome::of("expected usage", failure));
    }
    if let Some(want) = &expect.finish {
        let got = finish.as_ref().map(|(reason, _)| reason.as_str());
        let failure = (got != Some(want.as_str()))
            .then(|| mismatch("finish", want, &got))
            .flatten();
        outcomes.push(Outcome::of("expected finish", failure));
    }
    outcomes
}

/// What an adapter's decoder made of a replayed stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodedStream {
    /// Every chunk, as produced.
    pub chunks: Vec<Vec<u8>>,
    /// The last typed usage reported.
    pub usage: Option<Counts>,
    /// Every typed finish: (normalised spelling, native).
    pub finishes: Vec<(String, String)>,
    /// `done` was reported.
    pub done: bool,
    /// Output came after `done`.
    pub output_after_done: bool,
    /// The error that stopped the stream: the contract's variant name and message.
    pub error: Option<(String, String)>,
}

/// Checks a decoded stream. For a recording that reports an error (`reports_error`), the
/// decoder must stop with a typed error; otherwise the stream must be terminated (`done`,
/// nothing after it, no error), its chunks canonical `chat.completion.chunk`s without usage, its
/// usage typed and consistent, and exactly one normalised finish, carried by the last chunk.
/// `cut_done` says whether the same stream cut before its last event still reported `done`.
pub fn stream(decoded: &DecodedStream, reports_error: bool, cut_done: bool) -> Vec<Outcome> {
    let chunks = chunk_problem(decoded);
    if reports_error {
        let typed = match &decoded.error {
            Some(_) if decoded.done => Some("reported done and an error".to_owned()),
            Some(_) => None,
            None => Some("the recorded error became a finished stream".to_owned()),
        };
        return vec![
            Outcome::of("canonical chunks", chunks),
            Outcome::of("typed error", typed),
        ];
    }
    let terminated = if let Some((kind, message)) = &decoded.error {
        Some(format!("{kind}: {message}"))
    } else if !decoded.done {
        Some("never reported done".to_owned())
    } else if decoded.output_after_done {
        Some("output after done".to_owned())
    } else if cut_done {
        Some("reported done for a stream cut before its last event".to_owned())
    } else {
        None
    };
    vec![
        Outcome::of("canonical chunks", chunks),
        Outcome::of("stream terminated", terminated),
        Outcome::of("usage", usage_problem(decoded.usage)),
        Outcome::of("finish reason", finish_problem(decoded)),
    ]
}

fn chunk_problem(decoded: &DecodedStream) -> Option<String> {
    decoded.chunks.iter().enumerate().find_map(|(i, chunk)| {
        let text = String::from_utf8_lossy(chunk);
        let value = serde_json::from_slice::<Value>(chunk).unwrap_or(Value::Null);
        let problem = match serde_json::from_slice::<ChatChunk>(chunk) {
            Err(error) => Some(format!("not a chat.completion.chunk ({error})")),
            Ok(parsed) if parsed.object != "chat.completion.chunk" => {
                Some(format!("object is {:?}", parsed.object))
            }
            Ok(_) if value.get("usage").is_some() => Some("usage inside a chunk".to_owned()),
            Ok(parsed) => parsed
                .choices
                .iter()
                .find_map(|choice| choice.finish_reason.as_deref().and_then(normalised)),
        };
        problem.map(|problem| format!("chunk {i}: {problem}: {text}"))
    })
}

fn finish_problem(decoded: &DecodedStream) -> Option<String> {
    let [(reason, _native)] = decoded.finishes.as_slice() else {
        return Some(format!(
            "{} finishes reported, expected one",
            decoded.finishes.len()
        ));
    };
    if let Some(problem) = normalised(reason) {
        return Some(problem);
    }
    let last = decoded
        .chunks
        .last()
        .and_then(|chunk| serde_json::from_slice::<Value>(chunk).ok())
        .map(|chunk| chunk["choices"][0]["finish_reason"].clone())
        .unwrap_or(Value::Null);
    (last != reason.as_str())
        .then(|| format!("the last chunk's finish_reason is {last}, the typed finish {reason}"))
}

/// `None` when `reason` is a canonical finish reason.
fn normalised(reason: &str) -> Option<String> {
    (!NORMALISED_FINISH_REASONS.contains(&reason))
        .then(|| format!("finish reason {reason:?} is not normalised"))
}

/// Usage must be reported, count some prompt tokens, keep cached and cache-write tokens within
/// the prompt, and reasoning tokens within the completion.
fn usage_problem(usage: Option<Counts>) -> Option<String> {
    let Some([prompt, completion, cached, cache_write, reasoning]) = usage else {
        return Some("no usage reported".to_owned());
    };
    if prompt == 0 {
        Some("zero prompt tokens".to_owned())
    } else if cached.saturating_add(cache_write) > prompt {
        Some(format!(
            "{cached} cached + {cache_write} cache-write tokens exceed {prompt} prompt tokens"
        ))
    } else if reasoning > completion {
        Some(format!(
            "{reasoning} reasoning tokens exceed {completion} completion tokens"
        ))
    } else {
        None
    }
}

/// The checks of one recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureReport {
    /// The recording's name.
    pub fixture: String,
    /// Its checks, in order.
    pub outcomes: Vec<Outcome>,
}

impl FixtureReport {
    /// Every check passed.
    pub fn passed(&self) -> bool {
        self.outcomes
            .iter()
            .all(|outcome| outcome.failure.is_none())
    }
}

/// The checks of every recording of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One entry per recording.
    pub fixtures: Vec<FixtureReport>,
}

impl Report {
    /// At least one recording was replayed and every check passed.
    pub fn passed(&self) -> bool {
        !self.fixtures.is_empty() && self.fixtures.iter().all(FixtureReport::passed)
    }

    /// The failed checks, as `fixture: check: why`.
    pub fn failures(&self) -> Vec<String> {
        self.fixtures
            .iter()
            .flat_map(|fixture| {
                fixture.outcomes.iter().filter_map(move |outcome| {
                    let why = outcome.failure.as_ref()?;
                    Some(format!("{}: {}: {why}", fixture.fixture, outcome.check))
                })
            })
            .collect()
    }

    /// A table per recording: each check with `ok` or `FAIL` and why, then a summary line.
    pub fn table(&self) -> String {
        let mut text = String::new();
        for fixture in &self.fixtures {
            text.push_str(&format!("{}\n", fixture.fixture));
            for outcome in &fixture.outcomes {
                match &outcome.failure {
                    None => text.push_str(&format!("  {:<22} ok\n", outcome.check)),
                    Some(why) => text.push_str(&format!("  {:<22} FAIL  {why}\n", outcome.check)),
                }
            }
        }
        let failed = self.fixtures.iter().filter(|f| !f.passed()).count();
        text.push_str(&format!(
            "{} fixtures, {} passed, {failed} failed\n",
            self.fixtures.len(),
            self.fixtures.len() - failed
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(delta: &str, finish: Option<&str>) -> Vec<u8> {
        serde_json::json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": finish}]})
        .to_string()
        .into_bytes()
    }

    fn good_stream() -> DecodedStream {
        DecodedStream {
            chunks: vec![chunk("Hi", None), chunk("", Some("stop"))],
            usage: Some([3, 1, 0, 0, 0]),
            finishes: vec![("stop".into(), "end_turn".into())],
            done: true,
            ..DecodedStream::default()
        }
    }

    fn failures(outcomes: &[Outcome]) -> Vec<&'static str> {
        outcomes
            .iter()
            .filter(|o| o.failure.is_some())
            .map(|o| o.check)
            .collect()
    }

    #[test]
    fn a_good_stream_passes_and_each_defect_is_named() {
        assert!(failures(&stream(&good_stream(), false, false)).is_empty());
        assert_eq!(
            failures(&stream(&good_stream(), false, true)),
            ["stream terminated"]
        );
        let mut unnormalised = good_stream();
        unnormalised.chunks[1] = chunk("", Some("end_turn"));
        assert_eq!(
            failures(&stream(&unnormalised, false, false)),
            ["canonical chunks", "finish reason"]
        );
        let mut no_usage = good_stream();
        no_usage.usage = None;
        assert_eq!(failures(&stream(&no_usage, false, false)), ["usage"]);
        let mut inconsistent = good_stream();
        inconsistent.usage = Some([3, 1, 0, 0, 5]);
        assert_eq!(failures(&stream(&inconsistent, false, false)), ["usage"]);
        assert_eq!(
            failures(&stream(&good_stream(), true, false)),
            ["typed error"]
        );
    }

    #[test]
    fn error_bodies_are_typed_by_status() {
        assert!(failures(&error(Some(429), true, "rate-limited")).is_empty());
        assert_eq!(
            failures(&error(Some(429), false, "upstream-unavailable")),
            ["no fake success", "typed error"]
        );
        assert!(failures(&error(None, true, "internal")).is_empty());
    }

    #[test]
    fn the_table_names_fixtures_checks_and_failures() {
        let report = Report {
            fixtures: vec![FixtureReport {
                fixture: "x-text".into(),
                outcomes: stream(&DecodedStream::default(), false, false),
            }],
        };
        assert!(!report.passed());
        let table = report.table();
        assert!(table.contains("x-text\n") && table.contains("FAIL  never reported done"));
        assert!(
            table.ends_with("1 fixtures, 0 passed, 1 failed\n"),
            "{table}"
        );
        assert!(!Report::default().passed(), "nothing replayed is no pass");
    }
}
