//! Helpers shared by the adapter's tests: fixture loading, HTTP records and stream replay.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use switchyard_plugin_mistral::{Mistral, MistralDecoder};
use switchyard_sdk::provider::*;
pub use switchyard_sdk::testing::{Call, Replay, assemble, counts, data, finish, http};

/// Feeds `events` to a fresh decoder for the default endpoint, stopping at the first error.
pub fn replay(events: impl IntoIterator<Item = SseEvent>) -> Replay {
    switchyard_sdk::testing::replay::<MistralDecoder>(endpoint(), events)
}

/// Bytes of `tests/fixtures/mistral/<path>` at the workspace root.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../../tests/fixtures/mistral/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
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
    endpoint_with("https://api.mistral.ai/v1", "mistral-small-latest", &[])
}

/// Replays a `*.chunks.txt` fixture as Mistral sends it: `data:` events then `data: [DONE]`,
/// through the SDK's SSE parser `piece` bytes at a time.
pub fn replay_wire(path: &str, piece: usize) -> Replay {
    let wire: String = lines(path)
        .iter()
        .map(|line| format!("data: {line}\n\n"))
        .chain(std::iter::once("data: [DONE]\n\n".to_owned()))
        .collect();
    replay(switchyard_sdk::testing::sse_events(wire.as_bytes(), piece))
}

/// Parses a 2xx body with the adapter.
pub fn parse_ok(body: &[u8]) -> Result<ParsedResponse, PluginError> {
    <Mistral as Provider>::parse_response(http(200, &[], body))
}

/// The canonical body of a parsed response.
pub fn body(parsed: &ParsedResponse) -> Value {
    switchyard_sdk::testing::canonical_body(parsed)
}

/// Checks the invariants of a complete stream (see the SDK's `assert_complete_stream`).
pub fn assert_clean_openai(replay: &Replay) {
    switchyard_sdk::testing::assert_complete_stream(replay);
}
