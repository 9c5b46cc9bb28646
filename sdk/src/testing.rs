//! Helpers for testing a provider adapter natively (`cargo test`), without the gateway: build
//! endpoint and response records, replay a recorded stream through a decoder and put the
//! streamed chunks back together. [`conformance`] runs the conformance kit of
//! `switchyard plugin test` over a folder of recorded answers.

use std::collections::BTreeMap;

use serde_json::Value;

pub use crate::conformance::native::conformance;
use crate::openai::ChatChunk;
use crate::provider::{
    EndpointSettings, Finish, HttpResponse, PluginError, SseEvent, StreamDecoder, Usage,
};

/// An endpoint at `base_url` serving `model`, with operator `options`.
pub fn endpoint(base_url: &str, model: &str, options: &[(&str, &str)]) -> EndpointSettings {
    EndpointSettings {
        base_url: base_url.to_owned(),
        upstream_model: model.to_owned(),
        options: options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// An HTTP response record.
pub fn http(status: u16, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.to_vec(),
    }
}

/// An event with data only.
pub fn data(data: &str) -> SseEvent {
    SseEvent {
        event: None,
        data: data.to_owned(),
    }
}

/// Everything a replayed stream produced.
#[derive(Debug, Default)]
pub struct Replay {
    /// Every chunk, parsed.
    pub chunks: Vec<Value>,
    /// The last usage reported.
    pub usage: Option<Usage>,
    /// Every finish reported.
    pub finishes: Vec<Finish>,
    /// A `done` was reported.
    pub done: bool,
    /// The first error, after which the replay stopped.
    pub error: Option<PluginError>,
}

/// Feeds `events` in order to a fresh decoder `D` for `endpoint`, stopping at the first error.
///
/// # Panics
/// When the decoder breaks the contract: a chunk that is not a canonical `chat.completion.chunk`,
/// or output after `done`.
pub fn replay<D: StreamDecoder>(
    endpoint: EndpointSettings,
    events: impl IntoIterator<Item = SseEvent>,
) -> Replay {
    let mut decoder = D::new(endpoint);
    let mut replay = Replay::default();
    for event in events {
        match decoder.decode(event) {
            Ok(output) => {
                assert!(!replay.done, "the decoder produced output after done");
                for chunk in output.chunks {
                    if let Err(error) = serde_json::from_slice::<ChatChunk>(&chunk) {
                        panic!(
                            "not a canonical chunk ({error}): {}",
                            String::from_utf8_lossy(&chunk)
                        );
                    }
                    replay
                        .chunks
                        .push(serde_json::from_slice(&chunk).unwrap_or_default());
                }
                if output.usage.is_some() {
                    replay.usage = output.usage;
                }
                replay.finishes.extend(output.finish);
                replay.done |= output.done;
            }
            Err(error) => {
                replay.error = Some(error);
                break;
            }
        }
    }
    replay
}

/// A streamed tool call put back together.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Call {
    /// Call id.
    pub id: String,
    /// Function name.
    pub name: String,
    /// Concatenated argument fragments.
    pub arguments: String,
}

/// Text, reasoning and tool calls (by index) reassembled from streamed chunks.
pub fn assemble(chunks: &[Value]) -> (String, String, BTreeMap<u64, Call>) {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls: BTreeMap<u64, Call> = BTreeMap::new();
    for chunk in chunks {
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            let delta = &choice["delta"];
            text.push_str(delta["content"].as_str().unwrap_or(""));
            reasoning.push_str(delta["reasoning"].as_str().unwrap_or(""));
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let entry = calls
                    .entry(call["index"].as_u64().unwrap_or(u64::MAX))
                    .or_default();
                if let Some(id) = call["id"].as_str() {
                    entry.id = id.to_owned();
                }
                if let Some(name) = call["function"]["name"].as_str() {
                    entry.name.push_str(name);
                }
                entry
                    .arguments
                    .push_str(call["function"]["arguments"].as_str().unwrap_or(""));
            }
        }
    }
    (text, reasoning, calls)
}

/// A usage record as `[prompt, completion, cached, cache_write, reasoning]`.
pub fn counts(usage: &Usage) -> [u64; 5] {
    [
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cached_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
    ]
}

/// A finish as `(normalised, native)`.
pub fn finish(finish: &Finish) -> (&'static str, &str) {
    (finish.reason.as_openai(), finish.native.as_str())
}

/// The non-empty, trimmed lines of a recorded stream (`*.chunks.txt`: one payload per line).
pub fn chunk_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The events of raw server-sent-event bytes, fed to the SDK's parser `piece` bytes at a time
/// (as the host does with network reads), so framing split at any byte is exercised.
pub fn sse_events(wire: &[u8], piece: usize) -> Vec<SseEvent> {
    let mut parser = crate::sse::SseParser::new();
    let mut events: Vec<SseEvent> = Vec::new();
    for chunk in wire.chunks(piece.max(1)) {
        events.extend(parser.push(chunk).into_iter().map(SseEvent::from));
    }
    events.extend(parser.finish().map(SseEvent::from));
    events
}

/// Recorded Bedrock stream lines (the decoded form `{"<event-type>": payload}`) encoded back
/// into AWS binary event-stream frames, as the upstream sends them.
///
/// # Panics
/// When a line is not a one-member JSON object.
pub fn event_stream_wire(lines: &[String]) -> Vec<u8> {
    let mut wire = Vec::new();
    for line in lines {
        let decoded: Value = serde_json::from_str(line).unwrap_or_default();
        match crate::eventstream::encode_decoded(&decoded) {
            Some(frame) => wire.extend(frame),
            None => panic!("not a decoded event-stream message: {line}"),
        }
    }
    wire
}

/// The events of event-stream bytes, fed to the SDK's parser `piece` bytes at a time and named
/// as the host names them ([`crate::eventstream::Message::into_event`]).
///
/// # Panics
/// When the framing is invalid.
pub fn event_stream_events(wire: &[u8], piece: usize) -> Vec<SseEvent> {
    let mut parser = crate::eventstream::EventStreamParser::new();
    let mut events = Vec::new();
    for chunk in wire.chunks(piece.max(1)) {
        let messages = match parser.push(chunk) {
            Ok(messages) => messages,
            Err(error) => panic!("invalid event-stream framing: {error}"),
        };
        for message in messages {
            match message.into_event() {
                Ok(event) => events.push(SseEvent::from(event)),
                Err(error) => panic!("an event-stream error message: {error}"),
            }
        }
    }
    if let Err(error) = parser.finish() {
        panic!("invalid event-stream framing: {error}");
    }
    events
}

/// The canonical body of a parsed response, checked to be a well-formed `chat.completion`.
///
/// # Panics
/// When the body is not one.
pub fn canonical_body(parsed: &crate::provider::ParsedResponse) -> Value {
    if let Err(error) = serde_json::from_slice::<crate::openai::ChatCompletion>(&parsed.body) {
        panic!(
            "not a canonical completion ({error}): {}",
            String::from_utf8_lossy(&parsed.body)
        );
    }
    serde_json::from_slice(&parsed.body).unwrap_or_default()
}

/// Checks what every complete stream must meet: no error, `done`, `role` on the first chunk
/// only, no usage inside chunks, and exactly one finish, carried by the last chunk.
///
/// # Panics
/// When one of these does not hold.
pub fn assert_complete_stream(replay: &Replay) {
    assert!(replay.error.is_none(), "{:?}", replay.error);
    assert!(replay.done, "the stream did not report done");
    assert!(!replay.chunks.is_empty(), "the stream produced no chunk");
    assert_eq!(replay.chunks[0]["choices"][0]["delta"]["role"], "assistant");
    for (position, chunk) in replay.chunks.iter().enumerate() {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(
            chunk.get("usage").is_none(),
            "usage inside a chunk: {chunk}"
        );
        if position > 0 {
            assert!(
                chunk["choices"][0]["delta"].get("role").is_none(),
                "role repeated: {chunk}"
            );
        }
    }
    assert_eq!(replay.finishes.len(), 1, "{:?}", replay.finishes);
    let last = replay.chunks.last().map(|chunk| &chunk["choices"][0]);
    assert_eq!(
        last.map(|c| c["finish_reason"].clone()),
        Some(Value::from(replay.finishes[0].reason.as_openai()))
    );
    assert_eq!(
        last.map(|c| c["native_finish_reason"].clone()),
        Some(Value::from(replay.finishes[0].native.clone()))
    );
}
