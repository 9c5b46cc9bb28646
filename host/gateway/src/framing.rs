//! Splitting a streamed upstream body into the events a plugin's decoder takes: server-sent
//! events by default, AWS binary event-stream messages when the response says
//! `application/vnd.amazon.eventstream` (Bedrock's ConverseStream).

use switchyard_sdk::eventstream::{EventStreamParser, FrameError};
use switchyard_sdk::sse::{Event, SseParser};

/// The content type of AWS binary event streams.
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// The most bytes an upstream may send without completing an event: a stream that keeps one
/// line or event growing past this is broken (or hostile), not slow.
pub(super) const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// The most bytes of chunks a stream may send after its finish reason and before its terminal
/// event (they are held back until that event confirms the stream is complete).
pub(super) const MAX_HELD_BYTES: usize = 1024 * 1024;

/// Why a stream's framing is broken.
#[derive(Debug, PartialEq, thiserror::Error)]
pub(super) enum FramingError {
    /// The bytes are not valid framing.
    #[error("{0}")]
    Frame(FrameError),
    /// More than [`MAX_EVENT_BYTES`] arrived without completing an event.
    #[error("the upstream sent over {0} bytes without completing an event")]
    EventTooLarge(usize),
}

/// The framing of one upstream stream, and the bytes received since the last complete event.
#[derive(Debug)]
pub(super) struct Framing {
    parser: Parser,
    unfinished_bytes: usize,
}

#[derive(Debug)]
enum Parser {
    /// `text/event-stream` (and anything unknown: most providers send SSE).
    Sse(SseParser),
    /// `application/vnd.amazon.eventstream`: one event per message.
    EventStream(EventStreamParser),
}

impl Framing {
    /// The framing a response with this `Content-Type` uses.
    pub(super) fn for_content_type(content_type: Option<&str>) -> Framing {
        let media_type = content_type
            .and_then(|value| value.split(';').next())
            .map(str::trim);
        let parser = match media_type {
            Some(media) if media.eq_ignore_ascii_case(EVENT_STREAM) => {
                Parser::EventStream(EventStreamParser::new())
            }
            _ => Parser::Sse(SseParser::new()),
        };
        Framing {
            parser,
            unfinished_bytes: 0,
        }
    }

    /// Feeds the next bytes; returns the events they complete, or why the framing is broken.
    pub(super) fn push(&mut self, bytes: &[u8]) -> Result<Vec<Event>, FramingError> {
        let events = match &mut self.parser {
            Parser::Sse(parser) => parser.push(bytes),
            Parser::EventStream(parser) => parser
                .push(bytes)
                .map_err(FramingError::Frame)?
                .into_iter()
                .map(|message| message.into_event())
                .collect::<Result<_, _>>()
                .map_err(FramingError::Frame)?,
        };
        // An event completed in these bytes: what follows it is at most these bytes.
        self.unfinished_bytes = if events.is_empty() {
            self.unfinished_bytes.saturating_add(bytes.len())
        } else {
            0
        };
        if self.unfinished_bytes > MAX_EVENT_BYTES {
            return Err(FramingError::EventTooLarge(MAX_EVENT_BYTES));
        }
        Ok(events)
    }

    /// The upstream closed: a last SSE event without its blank line, or an error if the stream
    /// stopped inside a binary message.
    pub(super) fn finish(&mut self) -> Result<Option<Event>, FramingError> {
        match &mut self.parser {
            Parser::Sse(parser) => Ok(parser.finish()),
            Parser::EventStream(parser) => {
                parser.finish().map(|()| None).map_err(FramingError::Frame)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use switchyard_sdk::eventstream::encode_event;

    use super::*;

    #[test]
    fn the_content_type_selects_the_framing() {
        for content_type in [
            "application/vnd.amazon.eventstream",
            "Application/VND.Amazon.EventStream; charset=binary",
        ] {
            assert!(matches!(
                Framing::for_content_type(Some(content_type)).parser,
                Parser::EventStream(_)
            ));
        }
        for content_type in [Some("text/event-stream"), Some("application/json"), None] {
            assert!(matches!(
                Framing::for_content_type(content_type).parser,
                Parser::Sse(_)
            ));
        }
    }

    #[test]
    fn binary_messages_split_across_reads_become_events_in_order() {
        let mut bytes = encode_event("messageStart", br#"{"role":"assistant"}"#);
        bytes.extend(encode_event("messageStop", br#"{"stopReason":"end_turn"}"#));
        let mut framing = Framing::for_content_type(Some(EVENT_STREAM));
        let (first, second) = bytes.split_at(7);
        assert_eq!(framing.push(first), Ok(vec![]));
        let events = framing.push(second).expect("valid framing");
        let names: Vec<_> = events.iter().map(|e| e.event.as_deref()).collect();
        assert_eq!(names, [Some("messageStart"), Some("messageStop")]);
        assert_eq!(framing.finish(), Ok(None));
    }

    #[test]
    fn a_bad_checksum_or_a_cut_message_is_an_error() {
        let mut bytes = encode_event("messageStart", b"{}");
        let mut framing = Framing::for_content_type(Some(EVENT_STREAM));
        assert_eq!(framing.push(&bytes[..bytes.len() - 1]), Ok(vec![]));
        assert!(matches!(
            framing.finish(),
            Err(FramingError::Frame(FrameError::Truncated(_)))
        ));

        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let mut framing = Framing::for_content_type(Some(EVENT_STREAM));
        assert_eq!(
            framing.push(&bytes),
            Err(FramingError::Frame(FrameError::MessageChecksum))
        );
    }

    #[test]
    fn an_event_that_never_ends_is_cut_off() {
        let mut framing = Framing::for_content_type(Some("text/event-stream"));
        let line = vec![b'a'; 64 * 1024];
        assert_eq!(framing.push(b"data: "), Ok(vec![]));
        let mut outcome = Ok(vec![]);
        for _ in 0..=MAX_EVENT_BYTES / line.len() {
            outcome = framing.push(&line);
            if outcome.is_err() {
                break;
            }
        }
        assert_eq!(outcome, Err(FramingError::EventTooLarge(MAX_EVENT_BYTES)));

        let mut framing = Framing::for_content_type(Some("text/event-stream"));
        let event = b"data: {}\n\n".repeat(64 * 1024);
        for _ in 0..=MAX_EVENT_BYTES / event.len() + 1 {
            assert!(framing.push(&event).is_ok(), "complete events pass");
        }
    }
}
