//! Helpers shared by the adapter's tests: fixture loading, HTTP records, stream replay and
//! reassembly of streamed chunks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::Value;
use switchyard_plugin_anthropic::{Anthropic, AnthropicDecoder};
use switchyard_sdk::provider::*;

/// Bytes of `tests/fixtures/anthropic/<path>` at the workspace root.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../../tests/fixtures/anthropic/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

/// The non-empty lines of a `*.chunks.txt` fixture.
pub fn lines(path: &str) -> Vec<String> {
    String::from_utf8(fixture(path))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An endpoint at `base_url` for `model` with `options`.
pub fn endpoint_with(base_url: &str, model: &str, options: &[(&str, &str)]) -> EndpointSettings {
    EndpointSettings {
        base_url: base_url.to_owned(),
        upstream_model: model.to_owned(),
        options: options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// The default test endpoint.
pub fn endpoint() -> EndpointSettings {
    endpoint_with("https://api.anthropic.com/v1", "claude-sonnet-4-5", &[])
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

/// What a whole replayed stream produced.
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

/// Feeds `events` to a fresh decoder in order, stopping at the first error.
pub fn replay(events: impl IntoIterator<Item = SseEvent>) -> Replay {
    let mut decoder = <AnthropicDecoder as StreamDecoder>::new(endpoint());
    let mut replay = Replay::default();
    for event in events {
        match decoder.decode(event) {
            Ok(output) => {
                assert!(!replay.done, "output after done");
                for chunk in output.chunks {
                    // Every chunk must be a canonical chunk.
                    serde_json::from_slice::<ChatChunk>(&chunk).expect("canonical chunk");
                    replay.chunks.push(serde_json::from_slice(&chunk).unwrap());
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

/// An SSE event with data only.
pub fn data(data: &str) -> SseEvent {
    SseEvent {
        event: None,
        data: data.to_owned(),
    }
}

/// Replays a `*.chunks.txt` fixture as Anthropic sends it: `event: <type>` plus the line.
pub fn replay_fixture(path: &str) -> Replay {
    replay(
        lines(path)
            .iter()
            .map(|line| typed(line))
            .collect::<Vec<_>>(),
    )
}

/// An SSE event named after the payload's `type`, as on Anthropic's wire.
pub fn typed(line: &str) -> SseEvent {
    let value: Value = serde_json::from_str(line).unwrap();
    SseEvent {
        event: value["type"].as_str().map(str::to_owned),
        data: line.to_owned(),
    }
}

/// Replays a raw SSE fixture through the SDK's SSE parser, `piece` bytes at a time.
pub fn replay_raw(path: &str, piece: usize) -> Replay {
    let bytes = fixture(path);
    let mut parser = switchyard_sdk::sse::SseParser::new();
    let mut events: Vec<SseEvent> = Vec::new();
    for chunk in bytes.chunks(piece) {
        events.extend(parser.push(chunk).into_iter().map(SseEvent::from));
    }
    events.extend(parser.finish().map(SseEvent::from));
    replay(events)
}

/// A streamed tool call put back together.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Call {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// Text, reasoning and tool calls reassembled from chunks.
pub fn assemble(chunks: &[Value]) -> (String, String, BTreeMap<u64, Call>) {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls: BTreeMap<u64, Call> = BTreeMap::new();
    for chunk in chunks {
        for choice in chunk["choices"].as_array().unwrap() {
            let delta = &choice["delta"];
            text.push_str(delta["content"].as_str().unwrap_or(""));
            reasoning.push_str(delta["reasoning"].as_str().unwrap_or(""));
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let entry = calls.entry(call["index"].as_u64().unwrap()).or_default();
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

/// Parses a 2xx body with the adapter.
pub fn parse_ok(body: &[u8]) -> Result<ParsedResponse, PluginError> {
    <Anthropic as Provider>::parse_response(http(200, &[], body))
}

/// The canonical body of a parsed response.
pub fn body(parsed: &ParsedResponse) -> Value {
    serde_json::from_slice::<ChatCompletion>(&parsed.body).expect("canonical completion");
    serde_json::from_slice(&parsed.body).unwrap()
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
