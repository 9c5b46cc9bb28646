//! The conformance kit for transforms: cases (`<name>.case.json`) that give a hook its input and
//! options and say what it must decide. `switchyard plugin test <component> --fixtures <dir>`
//! runs a compiled transform on them in the gateway's sandbox; a transform's own `cargo test`
//! runs them natively (`switchyard_sdk::transform::testing::run_cases`). Both use [`check`].
//!
//! ```json
//! {
//!   "hook": "request",
//!   "options": {"terms": ["project falcon"]},
//!   "input": {"model": "m", "messages": [{"role": "user", "content": "project falcon?"}]},
//!   "expect": {"verdict": "refuse", "status": 400, "code": "content_denied"}
//! }
//! ```
//!
//! `hook` is `request`, `routed` (with `endpoint`: `context_length`, `max_output_tokens`),
//! `response` (with the `request` it answers) or `chunk`. `expect.contains` and `expect.lacks`
//! are strings the modified output must and must not hold.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::checks::{FixtureReport, Outcome};
use crate::openai::{ChatChunk, ChatCompletion, ChatRequest};

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// `request`, `routed`, `response` or `chunk`.
    pub hook: String,
    /// The transform's options (default `{}`).
    #[serde(default = "empty_object")]
    pub options: Value,
    /// What the hook receives: a request, an answer or a chunk.
    pub input: Value,
    /// For `response`: the request the answer answers (default `{}`).
    #[serde(default = "empty_object")]
    pub request: Value,
    /// For `routed`: the endpoint.
    #[serde(default)]
    pub endpoint: CaseEndpoint,
    /// What the hook must decide.
    pub expect: Expect,
}

/// The endpoint of a `routed` case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseEndpoint {
    /// Its context window in tokens.
    pub context_length: Option<u64>,
    /// The output limit in tokens.
    pub max_output_tokens: Option<u64>,
}

/// What a case expects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `pass`, `modify` or `refuse`.
    pub verdict: String,
    /// For `refuse`: the status.
    #[serde(default)]
    pub status: Option<u16>,
    /// For `refuse`: the code.
    #[serde(default)]
    pub code: Option<String>,
    /// For `modify`: strings the output holds.
    #[serde(default)]
    pub contains: Vec<String>,
    /// For `modify`: strings the output must not hold.
    #[serde(default)]
    pub lacks: Vec<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// What a transform decided, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// It passed.
    Pass,
    /// It returned these bytes.
    Modify(Vec<u8>),
    /// It refused.
    Refuse {
        /// Status.
        status: u16,
        /// Code.
        code: String,
    },
}

/// Reads every `*.case.json` of `dir`, sorted by name: (name, case).
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<(String, Case)>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_string_lossy().ends_with(".case.json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            let case = serde_json::from_str(&text).map_err(|error| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {error}", path.display()),
                )
            })?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            Ok((name.unwrap_or_default(), case))
        })
        .collect()
}

/// Checks what the hook of `case` decided: the verdict, the refusal's status and code, and that
/// modified output is canonical for the hook and holds (and lacks) the expected strings.
pub fn check(name: &str, case: &Case, decided: &Decided) -> FixtureReport {
    let expect = &case.expect;
    let mut outcomes = Vec::new();
    let verdict = match decided {
        Decided::Pass => "pass",
        Decided::Modify(_) => "modify",
        Decided::Refuse { .. } => "refuse",
    };
    outcomes.push(Outcome {
        check: "verdict",
        failure: (verdict != expect.verdict)
            .then(|| format!("expected {}, got {verdict}", expect.verdict)),
    });
    match decided {
        Decided::Refuse { status, code } => {
            let wrong_status = expect.status.filter(|wanted| wanted != status);
            let wrong_code = expect.code.as_ref().filter(|wanted| *wanted != code);
            outcomes.push(Outcome {
                check: "refusal",
                failure: match (wrong_status, wrong_code) {
                    (None, None) => None,
                    _ => Some(format!("got status {status} and code {code}")),
                },
            });
        }
        Decided::Modify(bytes) => {
            outcomes.push(Outcome {
                check: "canonical output",
                failure: canonical(&case.hook, bytes).err(),
            });
            let text = String::from_utf8_lossy(bytes);
            let missing: Vec<&String> = expect
                .contains
                .iter()
                .filter(|s| !text.contains(s.as_str()))
                .collect();
            let present: Vec<&String> = expect
                .lacks
                .iter()
                .filter(|s| text.contains(s.as_str()))
                .collect();
            outcomes.push(Outcome {
                check: "content",
                failure: (!missing.is_empty() || !present.is_empty())
                    .then(|| format!("missing {missing:?}, present {present:?}")),
            });
        }
        Decided::Pass => {}
    }
    FixtureReport {
        fixture: name.to_owned(),
        outcomes,
    }
}

/// Whether `bytes` is what the host accepts from `hook`.
fn canonical(hook: &str, bytes: &[u8]) -> Result<(), String> {
    let parsed = match hook {
        "request" | "routed" => serde_json::from_slice::<ChatRequest>(bytes).map(|_| ()),
        "response" => serde_json::from_slice::<ChatCompletion>(bytes).map(|_| ()),
        "chunk" => serde_json::from_slice::<ChatChunk>(bytes).map(|_| ()),
        other => return Err(format!("unknown hook {other}")),
    };
    parsed.map_err(|error| error.to_string())
}
