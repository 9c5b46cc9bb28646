//! Server-sent-events framing of replayed fixtures, and the byte-level transformations used by
//! the `crlf` and `split` directives.

use bytes::Bytes;

use switchyard_sdk::eventstream::encode_decoded;

use crate::scenario::Format;

/// One SSE event as it goes on the wire (including its trailing blank line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The framed bytes, `\n` line endings.
    pub bytes: Bytes,
    /// Whether this is the stream's terminal event (`data: [DONE]` or Anthropic `message_stop`).
    pub terminal: bool,
}

/// Frames `.chunks.txt` lines for `format`.
///
/// OpenAI: `data: <line>\n\n` per line, then `data: [DONE]\n\n`. Anthropic and Cohere:
/// `event: <type>\n` (the line's `type`) before each `data:` line, no `[DONE]`; the terminal
/// event is `message_stop` / `message-end` (Responses API: the same, terminal
/// `response.completed`/`.incomplete`/`.failed`). Gemini: `data: <line>\r\n\r\n` (CRLF framing, as
/// Google sends it), no `[DONE]`; the terminal event is the one whose candidate carries a
/// `finishReason`. Bedrock: each decoded line `{"<event-type>": payload}` encoded as a binary
/// event-stream message; the terminal event is `metadata`.
pub fn events_from_lines(lines: &[String], format: Format) -> Vec<Event> {
    let mut events: Vec<Event> = lines
        .iter()
        .map(|line| match format {
            // Embeddings endpoints never stream: their answers are computed. Ledger never streams.
            Format::OpenAi
            | Format::OpenAiEmbeddings
            | Format::GeminiEmbeddings
            | Format::CohereEmbeddings
            | Format::BedrockInvoke
            | Format::VertexEmbeddings
            | Format::Ledger => Event {
                bytes: Bytes::from(format!("data: {line}\n\n")),
                terminal: false,
            },
            Format::OpenAiResponses => {
                let ty = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
                    .unwrap_or_default();
                Event {
                    terminal: matches!(
                        ty.as_str(),
                        "response.completed" | "response.incomplete" | "response.failed"
                    ),
                    bytes: Bytes::from(format!("event: {ty}\ndata: {line}\n\n")),
                }
            }
            Format::Anthropic | Format::Cohere => {
                let ty = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string));
                let bytes = match &ty {
                    Some(ty) => format!("event: {ty}\ndata: {line}\n\n"),
                    None => format!("data: {line}\n\n"),
                };
                let terminal = match format {
                    Format::Cohere => "message-end",
                    _ => "message_stop",
                };
                Event {
                    bytes: Bytes::from(bytes),
                    terminal: ty.as_deref() == Some(terminal),
                }
            }
            Format::Bedrock => {
                let decoded = serde_json::from_str::<serde_json::Value>(line).unwrap_or_default();
                Event {
                    terminal: decoded.get("metadata").is_some(),
                    bytes: Bytes::from(encode_decoded(&decoded).unwrap_or_default()),
                }
            }
            Format::Gemini => {
                let terminal = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| {
                        v.get("candidates")?
                            .as_array()?
                            .iter()
                            .find_map(|c| c.get("finishReason").map(|_| ()))
                    })
                    .is_some();
                Event {
                    bytes: Bytes::from(format!("data: {line}\r\n\r\n")),
                    terminal,
                }
            }
        })
        .collect();
    if format == Format::OpenAi {
        events.push(Event {
            bytes: Bytes::from_static(b"data: [DONE]\n\n"),
            terminal: true,
        });
    }
    events
}

/// A Bedrock `throttlingException` exception message, as ConverseStream sends it mid-stream.
pub fn bedrock_exception() -> Event {
    let decoded = serde_json::json!({"throttlingException": {
        "message": "mock upstream: Too many tokens, please wait before trying again."
    }});
    Event {
        bytes: Bytes::from(encode_decoded(&decoded).unwrap_or_default()),
        terminal: false,
    }
}

/// Splits raw SSE text into events, each ending after its blank line; concatenating the events
/// gives back `raw` exactly.
pub fn events_from_raw(raw: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < raw.len() {
        let end = if raw[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else if raw[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else {
            None
        };
        match end {
            Some(end) => {
                events.push(raw_event(&raw[start..end]));
                start = end;
                i = end;
            }
            None => i += 1,
        }
    }
    if start < raw.len() {
        events.push(raw_event(&raw[start..]));
    }
    events
}

fn raw_event(bytes: &[u8]) -> Event {
    let text = String::from_utf8_lossy(bytes);
    let terminal = text.lines().any(|l| {
        let l = l.trim();
        l == "event: message_stop" || l == "data: [DONE]"
    });
    Event {
        bytes: Bytes::copy_from_slice(bytes),
        terminal,
    }
}

/// Rewrites every bare `\n` as `\r\n`.
pub fn to_crlf(bytes: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    Bytes::from(out)
}

/// Awkward positions to cut `bytes` at: after the first byte, right after `data:`, between a
/// `\r` and its `\n`, inside the first multi-byte UTF-8 character, in the middle, and between
/// the last two bytes (inside the event's closing blank line). Sorted, deduplicated, all in
/// `1..bytes.len()`.
pub fn split_points(bytes: &[u8]) -> Vec<usize> {
    let len = bytes.len();
    let mut points = vec![1, len / 2, len.saturating_sub(1)];
    if let Some(p) = find(bytes, b"data:") {
        points.push(p + 5);
    }
    if let Some(p) = find(bytes, b"\r\n") {
        points.push(p + 1);
    }
    if let Some(p) = bytes.iter().position(|&b| b & 0b1100_0000 == 0b1000_0000) {
        points.push(p);
    }
    points.retain(|&p| p > 0 && p < len);
    points.sort_unstable();
    points.dedup();
    points
}

/// Cuts `bytes` at [`split_points`]; concatenating the pieces gives back `bytes`.
pub fn split_pieces(bytes: &Bytes) -> Vec<Bytes> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in split_points(bytes) {
        pieces.push(bytes.slice(start..p));
        start = p;
    }
    pieces.push(bytes.slice(start..));
    pieces.retain(|p| !p.is_empty());
    pieces
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn frames_openai_and_anthropic() {
        let lines = vec![r#"{"a":1}"#.to_string()];
        let ev = events_from_lines(&lines, Format::OpenAi);
        assert_eq!(ev.len(), 2);
        assert_eq!(&ev[0].bytes[..], b"data: {\"a\":1}\n\n");
        assert_eq!(&ev[1].bytes[..], b"data: [DONE]\n\n");
        assert!(ev[1].terminal && !ev[0].terminal);

        let lines = vec![
            r#"{"type":"ping"}"#.to_string(),
            r#"{"type":"message_stop"}"#.to_string(),
        ];
        let ev = events_from_lines(&lines, Format::Anthropic);
        assert_eq!(ev.len(), 2);
        assert_eq!(
            &ev[0].bytes[..],
            b"event: ping\ndata: {\"type\":\"ping\"}\n\n"
        );
        assert!(ev[1].terminal);

        let lines = vec![
            r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}"#.to_string(),
            r#"{"candidates":[{"finishReason":"STOP"}]}"#.to_string(),
        ];
        let ev = events_from_lines(&lines, Format::Gemini);
        assert_eq!(ev.len(), 2);
        assert!(ev[0].bytes.ends_with(b"}\r\n\r\n") && ev[0].bytes.starts_with(b"data: {"));
        assert!(!ev[0].terminal && ev[1].terminal);

        let lines = vec![
            r#"{"type":"content-delta"}"#.to_string(),
            r#"{"type":"message-end"}"#.to_string(),
        ];
        let ev = events_from_lines(&lines, Format::Cohere);
        assert_eq!(
            &ev[0].bytes[..],
            b"event: content-delta\ndata: {\"type\":\"content-delta\"}\n\n"
        );
        assert!(!ev[0].terminal && ev[1].terminal);
    }

    #[test]
    fn raw_events_roundtrip() {
        let raw = b"event: a\ndata: 1\n\nevent: message_stop\ndata: {}\n\ntrailing";
        let ev = events_from_raw(raw);
        assert_eq!(ev.len(), 3);
        assert!(ev[1].terminal);
        let joined: Vec<u8> = ev.iter().flat_map(|e| e.bytes.to_vec()).collect();
        assert_eq!(&joined[..], &raw[..]);
    }

    #[test]
    fn crlf_and_split() {
        assert_eq!(&to_crlf(b"a\nb\r\n\n")[..], b"a\r\nb\r\n\r\n");
        let ev = to_crlf("data: {\"t\":\"h\u{e9}\"}\n\n".as_bytes());
        let pieces = split_pieces(&ev);
        assert!(pieces.len() >= 4);
        let joined: Vec<u8> = pieces.iter().flat_map(|p| p.to_vec()).collect();
        assert_eq!(&joined[..], &ev[..]);
        // One piece ends with `\r` (split between `\r` and `\n`) and one is not valid UTF-8.
        assert!(pieces.iter().any(|p| p.ends_with(b"\r")));
        assert!(pieces.iter().any(|p| std::str::from_utf8(p).is_err()));
    }
}
