//! Helpers shared by the adapter's tests: fixture loading, HTTP records and stream replay.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use switchyard_plugin_cohere::{Cohere, CohereDecoder};
use switchyard_sdk::provider::*;
pub use switchyard_sdk::testing::{Call, Replay, assemble, counts, data, finish, http};

/// Feeds `events` to a fresh decoder for the default endpoint, stopping at the first error.
pub fn replay(events: impl IntoIterator<Item = SseEvent>) -> Replay {
    switchyard_sdk::testing::replay::<CohereDecoder>(endpoint(), events)
}

/// Bytes of `tests/fixtures/cohere/<path>` at the workspace root.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../../tests/fixtures/cohere/{path}",
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
    switchyard_sdk::testing::endpoint(base_url, model, options)
}

/// The default test endpoint.
pub fn endpoint() -> EndpointSettings {
    endpoint_with("https://api.cohere.com/v2", "command-a-03-2025", &[])
}

/// An SSE event named after the payload's `type`, as on Cohere's wire.
pub fn typed(line: &str) -> SseEvent {
    let value: Value = serde_json::from_str(line).unwrap();
    SseEvent {
        event: value["type"].as_str().map(str::to_owned),
        data: line.to_owned(),
    }
}

/// Replays a `*.chunks.txt` fixture as Cohere sends it (`event: <type>` + `data:`), through the
/// SDK's SSE parser `piece` bytes at a time.
pub fn replay_wire(path: &str, piece: usize) -> Replay {
    let wire: String = lines(path)
        .iter()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            format!(
                "event: {}\ndata: {line}\n\n",
                value["type"].as_str().unwrap()
            )
        })
        .collect();
    let mut parser = switchyard_sdk::sse::SseParser::new();
    let mut events: Vec<SseEvent> = Vec::new();
    for chunk in wire.as_bytes().chunks(piece) {
        events.extend(parser.push(chunk).into_iter().map(SseEvent::from));
    }
    events.extend(parser.finish().map(SseEvent::from));
    replay(events)
}

/// Parses a 2xx body with the adapter.
pub fn parse_ok(body: &[u8]) -> Result<ParsedResponse, PluginError> {
    <Cohere as Provider>::parse_response(http(200, &[], body))
}

/// The canonical body of a parsed response.
pub fn body(parsed: &ParsedResponse) -> Value {
    serde_json::from_slice::<ChatCompletion>(&parsed.body).expect("canonical completion");
    serde_json::from_slice(&parsed.body).unwrap()
}

/// Checks invariants every complete stream must meet: no error, done, role on the first chunk
/// only, no usage in chunks, one finish on the last chunk.
pub fn assert_clean(replay: &Replay) {
    assert!(replay.error.is_none(), "{:?}", replay.error);
    assert!(replay.done);
    assert_eq!(replay.chunks[0]["choices"][0]["delta"]["role"], "assistant");
    for (position, chunk) in replay.chunks.iter().enumerate() {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk.get("usage").is_none());
        if position > 0 {
            assert!(chunk["choices"][0]["delta"].get("role").is_none());
        }
    }
    assert_eq!(replay.finishes.len(), 1);
    let last = replay.chunks.last().unwrap();
    assert_eq!(
        last["choices"][0]["finish_reason"],
        replay.finishes[0].reason.as_openai()
    );
    assert_eq!(
        last["choices"][0]["native_finish_reason"],
        replay.finishes[0].native
    );
}
