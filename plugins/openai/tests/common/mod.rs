//! Helpers shared by the adapter's tests: fixture loading, HTTP records, stream replay and
//! reassembly of streamed chunks.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use switchyard_plugin_openai::{OpenAi, OpenAiDecoder};
use switchyard_sdk::provider::*;
pub use switchyard_sdk::testing::{Call, Replay, assemble, counts, data, finish, http};

/// Feeds `events` to a fresh decoder for the default endpoint, stopping at the first error.
pub fn replay(events: impl IntoIterator<Item = SseEvent>) -> Replay {
    switchyard_sdk::testing::replay::<OpenAiDecoder>(endpoint(), events)
}

/// Bytes of `tests/fixtures/<path>` at the workspace root.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

/// The non-empty lines of a `*.chunks.txt` fixture.
pub fn lines(path: &str) -> Vec<String> {
    switchyard_sdk::testing::chunk_lines(&fixture(path))
}

/// An endpoint at `base_url` for `model` with `options`.
pub fn endpoint_with(base_url: &str, model: &str, options: &[(&str, &str)]) -> EndpointSettings {
    switchyard_sdk::testing::endpoint(base_url, model, options)
}

/// The default test endpoint.
pub fn endpoint() -> EndpointSettings {
    endpoint_with("https://api.openai.com/v1", "gpt-4o-mini", &[])
}

/// Replays a `*.chunks.txt` fixture as OpenAI sends it, with the `[DONE]` terminator.
pub fn replay_fixture(path: &str) -> Replay {
    let mut events: Vec<SseEvent> = lines(path).iter().map(|l| data(l)).collect();
    events.push(data("[DONE]"));
    replay(events)
}

/// Parses a 2xx body with the adapter.
pub fn parse_ok(body: &[u8]) -> Result<ParsedResponse, PluginError> {
    <OpenAi as Provider>::parse_response(http(200, &[], body))
}

/// The canonical body of a parsed response.
pub fn body(parsed: &ParsedResponse) -> Value {
    switchyard_sdk::testing::canonical_body(parsed)
}
