//! AWS binary event-stream framing (`application/vnd.amazon.eventstream`), the framing of
//! Bedrock's ConverseStream.
//!
//! A message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes, all
//! big-endian), the headers, the payload and a CRC32 of everything before it. The host feeds
//! an [`EventStreamParser`] bytes as they arrive and hands each message to a plugin's stream
//! decoder as an [`Event`](crate::sse::Event) ([`Message::into_event`]); the mock upstream and
//! tests build frames with [`encode`].

use std::fmt;

use crate::sse::Event;

/// Bytes before the headers: total length, headers length, prelude CRC.
const PRELUDE: usize = 12;
/// The message CRC after the payload.
const TRAILER: usize = 4;
/// The largest message accepted: AWS caps payloads at 16 MiB and headers at 128 KiB.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024 + 128 * 1024 + PRELUDE + TRAILER;

/// Why a byte stream is not valid event-stream framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The prelude's CRC does not match its lengths.
    PreludeChecksum,
    /// The message CRC does not match its bytes.
    MessageChecksum,
    /// The lengths in a prelude are impossible or over [`MAX_MESSAGE_BYTES`].
    BadLength(u32),
    /// A header is cut short or has an unknown value type.
    BadHeader,
    /// The stream ended inside a message.
    Truncated(usize),
    /// The upstream sent an `error` message (`:error-code`, `:error-message`).
    Remote {
        /// The `:error-code` header.
        code: String,
        /// The `:error-message` header.
        message: String,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::PreludeChecksum => write!(f, "event-stream prelude checksum mismatch"),
            FrameError::MessageChecksum => write!(f, "event-stream message checksum mismatch"),
            FrameError::BadLength(length) => {
                write!(f, "event-stream message length {length} is invalid")
            }
            FrameError::BadHeader => write!(f, "event-stream message has a malformed header"),
            FrameError::Truncated(bytes) => {
                write!(
                    f,
                    "event stream ended inside a message ({bytes} bytes left)"
                )
            }
            FrameError::Remote { code, message } => {
                write!(f, "upstream stream error {code}: {message}")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// One decoded message: its string-valued headers and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Headers whose value is a string, in order. Headers of other types are skipped.
    pub headers: Vec<(String, String)>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl Message {
    /// The value of the string header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The message as a decoder event: an `event` message is named by `:event-type`, an
    /// `exception` by `:exception-type` (so the decoder can classify it), with the payload as
    /// data. An `error` message is a [`FrameError::Remote`].
    pub fn into_event(self) -> Result<Event, FrameError> {
        let name = match self.header(":message-type") {
            Some("error") => {
                return Err(FrameError::Remote {
                    code: self.header(":error-code").unwrap_or("unknown").to_owned(),
                    message: self.header(":error-message").unwrap_or("").to_owned(),
                });
            }
            Some("exception") => self.header(":exception-type"),
            _ => self.header(":event-type"),
        };
        Ok(Event {
            event: name.map(str::to_owned),
            data: String::from_utf8_lossy(&self.payload).into_owned(),
        })
    }
}

/// Turns a byte stream into [`Message`]s, whatever the read boundaries.
#[derive(Debug, Default)]
pub struct EventStreamParser {
    buffer: Vec<u8>,
}

impl EventStreamParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes and returns the messages they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Message>, FrameError> {
        self.buffer.extend_from_slice(bytes);
        let mut messages = Vec::new();
        let mut start = 0;
        while let Some(length) = message_length(&self.buffer[start..])? {
            if self.buffer.len() - start < length {
                break;
            }
            messages.push(decode_message(&self.buffer[start..start + length])?);
            start += length;
        }
        self.buffer.drain(..start);
        Ok(messages)
    }

    /// Ends the stream: fails if it stopped inside a message.
    pub fn finish(&mut self) -> Result<(), FrameError> {
        match self.buffer.len() {
            0 => Ok(()),
            left => Err(FrameError::Truncated(left)),
        }
    }
}

/// The total length of the message starting `bytes`, once its prelude is complete and valid.
fn message_length(bytes: &[u8]) -> Result<Option<usize>, FrameError> {
    if bytes.len() < PRELUDE {
        return Ok(None);
    }
    let total = read_u32(&bytes[0..4]);
    let headers = read_u32(&bytes[4..8]);
    if crc32fast::hash(&bytes[0..8]) != read_u32(&bytes[8..12]) {
        return Err(FrameError::PreludeChecksum);
    }
    let length = total as usize;
    if !(PRELUDE + TRAILER..=MAX_MESSAGE_BYTES).contains(&length)
        || headers as usize > length - PRELUDE - TRAILER
    {
        return Err(FrameError::BadLength(total));
    }
    Ok(Some(length))
}

/// Decodes one whole message whose prelude [`message_length`] accepted.
fn decode_message(bytes: &[u8]) -> Result<Message, FrameError> {
    let (body, crc) = bytes.split_at(bytes.len() - TRAILER);
    if crc32fast::hash(body) != read_u32(crc) {
        return Err(FrameError::MessageChecksum);
    }
    let headers_end = PRELUDE + read_u32(&bytes[4..8]) as usize;
    Ok(Message {
        headers: decode_headers(&body[PRELUDE..headers_end])?,
        payload: body[headers_end..].to_vec(),
    })
}

fn decode_headers(mut bytes: &[u8]) -> Result<Vec<(String, String)>, FrameError> {
    let mut headers = Vec::new();
    while let Some((&name_length, rest)) = bytes.split_first() {
        let (name, rest) = split(rest, name_length as usize)?;
        let (&kind, rest) = rest.split_first().ok_or(FrameError::BadHeader)?;
        let value_length = match kind {
            0 | 1 => 0,
            2 => 1,
            3 => 2,
            4 => 4,
            5 | 8 => 8,
            9 => 16,
            6 | 7 => {
                let (length, _) = split(rest, 2)?;
                2 + u16::from_be_bytes([length[0], length[1]]) as usize
            }
            _ => return Err(FrameError::BadHeader),
        };
        let (value, rest) = split(rest, value_length)?;
        if kind == 7 {
            headers.push((
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(&value[2..]).into_owned(),
            ));
        }
        bytes = rest;
    }
    Ok(headers)
}

fn split(bytes: &[u8], at: usize) -> Result<(&[u8], &[u8]), FrameError> {
    bytes.split_at_checked(at).ok_or(FrameError::BadHeader)
}

fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Encodes one message with string-valued `headers` (names up to 255 bytes, values up to 64 KiB)
/// and `payload`.
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut encoded_headers = Vec::new();
    for (name, value) in headers {
        encoded_headers.push(name.len() as u8);
        encoded_headers.extend_from_slice(name.as_bytes());
        encoded_headers.push(7);
        encoded_headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        encoded_headers.extend_from_slice(value.as_bytes());
    }
    let total = PRELUDE + encoded_headers.len() + payload.len() + TRAILER;
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&(total as u32).to_be_bytes());
    message.extend_from_slice(&(encoded_headers.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&message);
    message.extend_from_slice(&prelude_crc.to_be_bytes());
    message.extend_from_slice(&encoded_headers);
    message.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&message);
    message.extend_from_slice(&message_crc.to_be_bytes());
    message
}

/// Encodes an `event` message of type `event_type` with a JSON payload.
pub fn encode_event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// Encodes a message in its decoded form `{"<event-type>": payload}` (how recordings of
/// Bedrock streams store each message) back into an `event` frame, or an `exception` frame when
/// the type ends in `Exception`. `None` when `decoded` is not an object with exactly one member.
pub fn encode_decoded(decoded: &serde_json::Value) -> Option<Vec<u8>> {
    let object = decoded.as_object().filter(|object| object.len() == 1)?;
    let (kind, payload) = object.iter().next()?;
    let payload = payload.to_string();
    Some(if kind.ends_with("Exception") {
        encode(
            &[
                (":exception-type", kind),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            payload.as_bytes(),
        )
    } else {
        encode_event(kind, payload.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_events() -> Vec<u8> {
        let mut bytes = encode_event("messageStart", br#"{"role":"assistant"}"#);
        bytes.extend(encode_event("messageStop", br#"{"stopReason":"end_turn"}"#));
        bytes
    }

    #[test]
    fn messages_split_at_every_byte_decode_the_same() {
        let bytes = two_events();
        for piece in 1..bytes.len() {
            let mut parser = EventStreamParser::new();
            let mut events = Vec::new();
            for chunk in bytes.chunks(piece) {
                for message in parser.push(chunk).expect("valid framing") {
                    events.push(message.into_event().expect("an event"));
                }
            }
            parser.finish().expect("nothing left");
            assert_eq!(
                events,
                vec![
                    Event {
                        event: Some("messageStart".into()),
                        data: r#"{"role":"assistant"}"#.into()
                    },
                    Event {
                        event: Some("messageStop".into()),
                        data: r#"{"stopReason":"end_turn"}"#.into()
                    },
                ],
                "piece size {piece}"
            );
        }
    }

    /// Headers of every value type (bool true/false, byte, short, int, long, byte array, string,
    /// timestamp, uuid): the string ones are kept, the others skipped.
    #[test]
    fn headers_of_every_type_are_parsed_and_only_strings_kept() {
        let mut headers = Vec::new();
        let mut header = |name: &str, kind: u8, value: &[u8]| {
            headers.push(name.len() as u8);
            headers.extend_from_slice(name.as_bytes());
            headers.push(kind);
            headers.extend_from_slice(value);
        };
        header("t", 0, &[]);
        header("f", 1, &[]);
        header("byte", 2, &[0xcf]);
        header("short", 3, &[0, 42]);
        header("int", 4, &[0, 0, 0xa0, 0x0c]);
        header("long", 5, &[0; 8]);
        header("bytes", 6, &[0, 3, 1, 2, 3]);
        header(":event-type", 7, &[0, 4, b'p', b'i', b'n', b'g']);
        header("timestamp", 8, &[0, 0, 0, 0, 0, 0x84, 0x5f, 0xed]);
        header("uuid", 9, &[7; 16]);
        let payload = b"{'foo':'bar'}";
        let total = (PRELUDE + headers.len() + payload.len() + TRAILER) as u32;
        let mut frame = total.to_be_bytes().to_vec();
        frame.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        let crc = crc32fast::hash(&frame);
        frame.extend_from_slice(&crc.to_be_bytes());
        frame.extend_from_slice(&headers);
        frame.extend_from_slice(payload);
        let crc = crc32fast::hash(&frame);
        frame.extend_from_slice(&crc.to_be_bytes());

        let messages = EventStreamParser::new()
            .push(&frame)
            .expect("a valid frame");
        assert_eq!(
            messages,
            vec![Message {
                headers: vec![(":event-type".to_owned(), "ping".to_owned())],
                payload: payload.to_vec(),
            }]
        );
    }

    #[test]
    fn an_unknown_header_type_is_refused() {
        let mut frame = encode_event("x", b"");
        // The first header's type byte follows its 1-byte length and 11-byte name.
        frame[PRELUDE + 12] = 42;
        let crc_at = frame.len() - TRAILER;
        let crc = crc32fast::hash(&frame[..crc_at]);
        frame[crc_at..].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            EventStreamParser::new().push(&frame),
            Err(FrameError::BadHeader)
        );
    }

    #[test]
    fn a_corrupted_payload_fails_the_message_checksum() {
        let mut bytes = encode_event("messageStart", br#"{"role":"assistant"}"#);
        let last_payload_byte = bytes.len() - TRAILER - 1;
        bytes[last_payload_byte] ^= 0x20;
        assert_eq!(
            EventStreamParser::new().push(&bytes),
            Err(FrameError::MessageChecksum)
        );
    }

    #[test]
    fn a_corrupted_length_fails_the_prelude_checksum() {
        let mut bytes = encode_event("messageStart", b"{}");
        bytes[3] ^= 0x01;
        assert_eq!(
            EventStreamParser::new().push(&bytes),
            Err(FrameError::PreludeChecksum)
        );
    }

    #[test]
    fn an_impossible_length_is_refused_before_buffering() {
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&u32::MAX.to_be_bytes());
        prelude.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32fast::hash(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(
            EventStreamParser::new().push(&prelude),
            Err(FrameError::BadLength(u32::MAX))
        );
    }

    #[test]
    fn a_stream_cut_inside_a_message_is_truncated() {
        let bytes = two_events();
        let mut parser = EventStreamParser::new();
        let messages = parser
            .push(&bytes[..bytes.len() - 5])
            .expect("valid so far");
        assert_eq!(messages.len(), 1);
        assert!(matches!(parser.finish(), Err(FrameError::Truncated(_))));
    }

    #[test]
    fn exceptions_are_named_by_their_type_and_errors_fail() {
        let exception = encode(
            &[
                (":exception-type", "throttlingException"),
                (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            br#"{"message":"slow down"}"#,
        );
        let error = encode(
            &[
                (":error-code", "InternalFailure"),
                (":error-message", "boom"),
                (":message-type", "error"),
            ],
            b"",
        );
        let mut parser = EventStreamParser::new();
        let mut messages = parser.push(&exception).expect("valid").into_iter();
        let event = messages.next().expect("one message").into_event();
        assert_eq!(
            event,
            Ok(Event {
                event: Some("throttlingException".into()),
                data: r#"{"message":"slow down"}"#.into()
            })
        );
        let mut messages = parser.push(&error).expect("valid").into_iter();
        assert_eq!(
            messages.next().expect("one message").into_event(),
            Err(FrameError::Remote {
                code: "InternalFailure".into(),
                message: "boom".into()
            })
        );
    }
}
