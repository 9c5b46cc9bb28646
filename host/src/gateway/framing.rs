//! Splitting a streamed upstream body into the events a plugin's decoder takes: server-sent
//! events by default, AWS binary event-stream messages when the response says
//! `application/vnd.amazon.eventstream` (Bedrock's ConverseStream).

use switchyard_sdk::eventstream::{EventStreamParser, FrameError};
use switchyard_sdk::sse::{Event, SseParser};

/// The content type of AWS binary event streams.
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// The framing of one upstream stream.
#[derive(Debug)]
pub(super) enum Framing {
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
        match media_type {
            Some(media) if media.eq_ignore_ascii_case(EVENT_STREAM) => {
                Framing::EventStream(EventStreamParser::new())
            }
            _ => Framing::Sse(SseParser::new()),
        }
    }

    /// Feeds the next bytes; returns the events they complete, or why the framing is broken.
    pub(super) fn push(&mut self, bytes: &[u8]) -> Result<Vec<Event>, FrameError> {
        match self {
            Framing::Sse(parser) => Ok(parser.push(bytes)),
            Framing::EventStream(parser) => parser
                .push(bytes)?
                .into_iter()
                .map(|message| message.into_event())
                .collect(),
        }
    }

    /// The upstream closed: a last SSE event without its blank line, or an error if the stream
    /// stopped inside a binary message.
    pub(super) fn finish(&mut self) -> Result<Option<Event>, FrameError> {
        match self {
            Framing::Sse(parser) => Ok(parser.finish()),
            Framing::EventStream(parser) => parser.finish().map(|()| None),
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
                Framing::for_content_type(Some(content_type)),
                Framing::EventStream(_)
            ));
        }
        for content_type in [Some("text/event-stream"), Some("application/json"), None] {
            assert!(matches!(
                Framing::for_content_type(content_type),
                Framing::Sse(_)
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
        assert!(matches!(framing.finish(), Err(FrameError::Truncated(_))));

        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let mut framing = Framing::for_content_type(Some(EVENT_STREAM));
        assert_eq!(framing.push(&bytes), Err(FrameError::MessageChecksum));
    }
}
