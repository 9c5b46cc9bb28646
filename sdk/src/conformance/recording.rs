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

use std::path::Path;

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
        let answer = if let Some(name) = file.strip_suffix(".json") {
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
            let name = match answer {
                Answer::Stream { .. } => format!("{name} (stream)"),
                Answer::Body { .. } => name.to_owned(),
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
    let mut parser = SseParser::new();
    let mut events = parser.push(bytes);
    events.extend(parser.finish());
    stream(events)
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
