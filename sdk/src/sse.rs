//! An incremental server-sent events parser (the WHATWG `text/event-stream` framing).
//!
//! The host feeds it bytes as they arrive from the network and hands each complete event to a
//! plugin's stream decoder; tests use it to replay recorded streams. It handles LF, CRLF and CR
//! line endings, comments, multi-line `data:`, events split across reads at any byte (including
//! inside a UTF-8 character or between `\r` and `\n`), and a final event without its blank line.

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, when present.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Turns a byte stream into [`Event`]s.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line being read (not yet terminated).
    line: Vec<u8>,
    /// The previous byte was `\r`: a following `\n` belongs to the same line ending.
    after_cr: bool,
    /// `event:` of the event being assembled.
    event: Option<String>,
    /// `data:` lines of the event being assembled.
    data: Option<String>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes and returns the events they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        let mut bytes = bytes;
        while let Some((&first, rest)) = bytes.split_first() {
            if std::mem::take(&mut self.after_cr) && first == b'\n' {
                bytes = rest;
                continue;
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) else {
                self.line.extend_from_slice(bytes);
                break;
            };
            self.after_cr = bytes[end] == b'\r';
            if self.line.is_empty() {
                self.end_line(&bytes[..end], &mut events);
            } else {
                // The line began in an earlier read: complete it in its buffer, kept for reuse.
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[..end]);
                self.end_line(&line, &mut events);
                line.clear();
                self.line = line;
            }
            bytes = &bytes[end + 1..];
        }
        events
    }

    /// Ends the stream: returns the last event if the stream stopped before its blank line.
    pub fn finish(&mut self) -> Option<Event> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.end_line(&line, &mut events);
        }
        self.dispatch(&mut events);
        events.pop()
    }

    fn end_line(&mut self, line: &[u8], events: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        if line.first() == Some(&b':') {
            return; // a comment, e.g. a keep-alive
        }
        let line = match std::str::from_utf8(line) {
            Ok(line) => std::borrow::Cow::Borrowed(line),
            Err(_) => String::from_utf8_lossy(line),
        };
        let (field, value) = match line.find(':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {} // `id`, `retry` and unknown fields do not matter to decoders
        }
    }

    fn dispatch(&mut self, events: &mut Vec<Event>) {
        let event = self.event.take();
        // As the standard says, an event whose data is empty is not dispatched.
        if let Some(data) = self.data.take().filter(|data| !data.is_empty()) {
            events.push(Event { event, data });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &[u8], piece: usize) -> Vec<Event> {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for chunk in input.chunks(piece) {
            events.extend(parser.push(chunk));
        }
        events.extend(parser.finish());
        events
    }

    #[test]
    fn lf_crlf_and_cr_framing_give_the_same_events() {
        let lf = b"event: a\ndata: 1\n\ndata: 2\n\n".to_vec();
        let crlf = b"event: a\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n".to_vec();
        let cr = b"event: a\rdata: 1\r\rdata: 2\r\r".to_vec();
        let expected = vec![
            Event {
                event: Some("a".into()),
                data: "1".into(),
            },
            Event {
                event: None,
                data: "2".into(),
            },
        ];
        for input in [lf, crlf, cr] {
            for piece in 1..input.len() {
                assert_eq!(
                    parse_in_pieces(&input, piece),
                    expected,
                    "piece size {piece}"
                );
            }
        }
    }

    #[test]
    fn comments_are_skipped_and_multi_line_data_is_joined() {
        let input = b": keep-alive\n\ndata: first\ndata:second\nid: 7\n\n";
        assert_eq!(
            parse_in_pieces(input, 3),
            vec![Event {
                event: None,
                data: "first\nsecond".into()
            }]
        );
    }

    #[test]
    fn a_utf8_character_split_across_reads_survives() {
        let input = "data: héllo ✓\n\n".as_bytes();
        assert_eq!(parse_in_pieces(input, 1)[0].data, "héllo ✓");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_many_events_in_one_read_all_come_out() {
        let mut parser = SseParser::new();
        let events = parser.push(b"data: a\xffb\n\nevent: e\ndata: 2\r\n\r\ndata: 3\n\n");
        let data: Vec<&str> = events.iter().map(|event| event.data.as_str()).collect();
        assert_eq!(data, ["a\u{FFFD}b", "2", "3"]);
        assert_eq!(events[1].event.as_deref(), Some("e"));
    }

    #[test]
    fn a_final_event_without_blank_line_is_returned_by_finish() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: last").is_empty());
        assert_eq!(
            parser.finish(),
            Some(Event {
                event: None,
                data: "last".into()
            })
        );
        assert_eq!(parser.finish(), None);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"event: ping\n\ndata\n\ndata:\n\n").is_empty());
    }
}
