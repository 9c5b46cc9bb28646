//! Recorded upstream answers, read from a fixtures folder and framed as the gateway frames the
//! wire (the conventions of the Switchyard repository's `tests/fixtures/README.md`):
//!
//! - `<name>.json`: one whole non-streaming body. A body with a top-level `error` object is an
//!   error answer; its HTTP status is `error.code` when that is a number.
//! - `<name>.chunks.txt`: one streamed event per line, the `data:` payload only. A line with a
//!   string `type` (Anthropic, Cohere) is the SSE event of that name; a line that is a single
//!   `{"<eventType>": {...}}` member (AWS event-stream, decoded) is the event `<eventType>` with the
//!   member's value as data; any other line is a data-only event. A data-only recording ends with
//!   `data: [DONE]` when the adapter has not seen its terminal event by then (OpenAI style).
//! - `<name>.txt`: raw SSE bytes as sent, split by the SDK's SSE parser.
//! - `<name>.http.json`: a whole HTTP exchange in any wire format ([`Exchange`]): the upstream's
//!   `status`, `headers` and body (`body` as JSON, `body_text` as text, or `body_file`, a file of
//!   the folder holding the raw bytes, e.g. a stream), and whether the client asked for a
//!   `stream`. `<name>.expect.json` beside it says what the adapter must make of it
//!   ([`Expectation`]).

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::sse::{Event, SseParser};

/// The terminal event of OpenAI-style streams.
pub const DONE: &str = "[DONE]";

/// One recorded answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The file name without its extension, e.g. `mistral-text` (`.chunks` for streams).
    pub name: String,
    /// What the upstream answered.
    pub answer: Answer,
}

/// A recorded answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A whole body.
    Body {
        /// The body bytes.
        body: Vec<u8>,
        /// For an error body: its status when the body says it (`error.code`), else `None`.
        error_status: Option<Option<u16>>,
    },
    /// A stream, as the events the gateway hands the adapter.
    Stream {
        /// The events, in order.
        events: Vec<Event>,
        /// No event is named: the stream may need a final `[DONE]`.
        data_only: bool,
        /// An event of the recording reports an error: the adapter must answer with a typed
        /// error rather than a finished stream.
        reports_error: bool,
    },
    /// A recorded HTTP exchange and what the adapter must make of it.
    Exchange(Box<Exchange>),
}

/// One recorded upstream answer in any wire format (`<name>.http.json`), with its expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The upstream's HTTP status.
    pub status: u16,
    /// Its headers (`retry-after`...).
    pub headers: Vec<(String, String)>,
    /// Its raw body.
    pub body: Vec<u8>,
    /// The client asked for a stream: an adapter that streams decodes the body as server-sent
    /// events; one that cannot is asked for a whole answer, as the gateway does, and parses it.
    pub stream: bool,
    /// What the adapter must produce (`<name>.expect.json`; nothing more than the checks of its
    /// kind of answer when absent).
    pub expect: Expectation,
}

/// What an adapter must make of an [`Exchange`] (`<name>.expect.json`). Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The class of the status the gateway answers the client with: `2xx` (a success), `4xx` or
    /// `5xx` (see [`super::checks::client_status`]).
    pub status_class: Option<String>,
    /// The error variant, as the contract names it (`rate-limited`, `overloaded`...).
    pub error: Option<String>,
    /// The wait a rate limit reports, in milliseconds.
    pub retry_after_ms: Option<u64>,
    /// The usage reported.
    pub usage: Option<ExpectedUsage>,
    /// The normalised finish reason (`stop`, `length`...).
    pub finish: Option<String>,
}

/// Token counts an [`Expectation`] names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedUsage {
    /// Prompt tokens.
    pub prompt: Option<u64>,
    /// Completion tokens.
    pub completion: Option<u64>,
}

/// The `<name>.http.json` file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeFile {
    status: u16,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    stream: bool,
    body: Option<Value>,
    body_text: Option<String>,
    body_file: Option<String>,
}

/// Reads the exchange `<name>.http.json` of `dir` and its `<name>.expect.json`.
fn exchange(dir: &Path, name: &str, text: &[u8]) -> std::io::Result<Answer> {
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let file: ExchangeFile =
        serde_json::from_slice(text).map_err(|e| invalid(format!("{name}.http.json: {e}")))?;
    let body = match (file.body, file.body_text, file.body_file) {
        (Some(body), None, None) => body.to_string().into_bytes(),
        (None, Some(text), None) => text.into_bytes(),
        (None, None, Some(path)) => std::fs::read(dir.join(path))?,
        (None, None, None) => Vec::new(),
        _ => {
            let what = "give one of body, body_text and body_file";
            return Err(invalid(format!("{name}.http.json: {what}")));
        }
    };
    let expect_path = dir.join(format!("{name}.expect.json"));
    let expect = match std::fs::read(&expect_path) {
        Ok(text) => serde_json::from_slice(&text)
            .map_err(|e| invalid(format!("{name}.expect.json: {e}")))?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Expectation::default(),
        Err(error) => return Err(error),
    };
    Ok(Answer::Exchange(Box::new(Exchange {
        status: file.status,
        headers: file.headers.into_iter().collect(),
        body,
        stream: file.stream,
        expect,
    })))
}

impl Exchange {
    /// The body as the events a streaming adapter's decoder is fed.
    pub fn events(&self) -> Vec<Event> {
        sse_events(&self.body)
    }

    /// Whether the upstream answered with a success (2xx).
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Every recording of `dir` (not recursive), sorted by file name. Other files are skipped.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<Recording>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    let mut recordings = Vec::new();
    for path in paths {
        let Some(file) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if file.ends_with(".expect.json") {
            continue; // read with its exchange
        }
        let answer = if let Some(name) = file.strip_suffix(".http.json") {
            Some((name, exchange(dir, name, &std::fs::read(&path)?)?))
        } else if let Some(name) = file.strip_suffix(".json") {
            Some((name, body(std::fs::read(&path)?)))
        } else if let Some(name) = file.strip_suffix(".chunks.txt") {
            let text = std::fs::read_to_string(&path)?;
            Some((name, stream_from_lines(text.lines())))
        } else if let Some(name) = file.strip_suffix(".txt") {
            Some((name, raw_stream(&std::fs::read(&path)?)))
        } else {
            None
        };
        if let Some((name, answer)) = answer {
            let name = match &answer {
                Answer::Stream { .. } => format!("{name} (stream)"),
                Answer::Exchange(exchange) if exchange.stream => format!("{name} (streamed)"),
                Answer::Body { .. } | Answer::Exchange(_) => name.to_owned(),
            };
            recordings.push(Recording { name, answer });
        }
    }
    Ok(recordings)
}

/// A whole body, told apart as a success or an error.
pub fn body(body: Vec<u8>) -> Answer {
    let error = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|value| value.get("error").filter(|e| e.is_object()).cloned());
    let error_status = error.map(|error| {
        error
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|code| u16::try_from(code).ok())
            .filter(|code| (400..600).contains(code))
    });
    Answer::Body { body, error_status }
}

/// A stream from `.chunks.txt` lines.
pub fn stream_from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Answer {
    let events: Vec<Event> = lines
        .into_iter()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(event_from_line)
        .collect();
    stream(events)
}

/// A stream from raw SSE bytes.
pub fn raw_stream(bytes: &[u8]) -> Answer {
    stream(sse_events(bytes))
}

/// Raw SSE bytes split into events by the SDK's parser.
fn sse_events(bytes: &[u8]) -> Vec<Event> {
    let mut parser = SseParser::new();
    let mut events = parser.push(bytes);
    events.extend(parser.finish());
    events
}

fn stream(events: Vec<Event>) -> Answer {
    Answer::Stream {
        data_only: events.iter().all(|event| event.event.is_none()),
        reports_error: events.iter().any(reports_error),
        events,
    }
}

fn event_from_line(line: &str) -> Event {
    let data_only = || Event {
        event: None,
        data: line.to_owned(),
    };
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(line) else {
        return data_only();
    };
    if let Some(kind) = object.get("type").and_then(Value::as_str) {
        return Event {
            event: Some(kind.to_owned()),
            data: line.to_owned(),
        };
    }
    match object.iter().next() {
        Some((name, payload @ Value::Object(_)))
            if object.len() == 1 && name.starts_with(|c: char| c.is_ascii_lowercase()) =>
        {
            Event {
                event: Some(name.clone()),
                data: payload.to_string(),
            }
        }
        _ => data_only(),
    }
}

/// An event naming an error (`error`, `response.failed`, an exception) or carrying an `error`
/// object.
fn reports_error(event: &Event) -> bool {
    let named = event.event.as_deref().is_some_and(|name| {
        let name = name.to_ascii_lowercase();
        name.contains("error") || name.contains("failed") || name.contains("exception")
    });
    named
        || serde_json::from_str::<Value>(&event.data)
            .is_ok_and(|value| value.get("error").is_some_and(Value::is_object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_lines_like_the_wire() {
        let Answer::Stream {
            events,
            data_only,
            reports_error,
        } = stream_from_lines([
            r#"{"type":"message_start","message":{}}"#,
            r#"{"messageStart":{"role":"assistant"}}"#,
            r#"{"choices":[]}"#,
            "",
        ])
        else {
            panic!("a stream");
        };
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].event.as_deref(), Some("message_start"));
        assert_eq!(events[1].event.as_deref(), Some("messageStart"));
        assert_eq!(events[1].data, r#"{"role":"assistant"}"#);
        assert_eq!(events[2].event, None);
        assert!(!data_only && !reports_error);

        let Answer::Stream { reports_error, .. } =
            stream_from_lines([r#"{"type":"error","error":{"type":"overloaded_error"}}"#])
        else {
            panic!("a stream");
        };
        assert!(reports_error);
    }

    #[test]
    fn tells_error_bodies_apart() {
        assert_eq!(
            body(br#"{"error":{"code":429,"message":"slow down"}}"#.to_vec()),
            Answer::Body {
                body: br#"{"error":{"code":429,"message":"slow down"}}"#.to_vec(),
                error_status: Some(Some(429))
            }
        );
        let Answer::Body { error_status, .. } = body(br#"{"error":{"code":"quota"}}"#.to_vec())
        else {
            panic!("a body");
        };
        assert_eq!(error_status, Some(None));
        let Answer::Body { error_status, .. } = body(br#"{"id":"x","error":null}"#.to_vec()) else {
            panic!("a body");
        };
        assert_eq!(error_status, None);
    }
}
