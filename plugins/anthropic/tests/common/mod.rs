//! Helpers shared by the adapter's tests: fixture loading, HTTP records, stream replay and
//! reassembly of streamed chunks.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use switchyard_plugin_anthropic::{Anthropic, AnthropicDecoder};
use switchyard_sdk::provider::*;
pub use switchyard_sdk::testing::{Call, Replay, assemble, counts, data, finish, http};

/// Feeds `events` to a fresh decoder for the default endpoint, stopping at the first error.
pub fn replay(events: impl IntoIterator<Item = SseEvent>) -> Replay {
    switchyard_sdk::testing::replay::<AnthropicDecoder>(endpoint(), events)
}

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
    switchyard_sdk::testing::chunk_lines(&fixture(path))
}

/// An endpoint at `base_url` for `model` with `options`.
pub fn endpoint_with(base_url: &str, model: &str, options: &[(&str, &str)]) -> EndpointSettings {
    switchyard_sdk::testing::endpoint(base_url, model, options)
}

/// The default test endpoint.
pub fn endpoint() -> EndpointSettings {
    endpoint_with("https://api.anthropic.com/v1", "claude-sonnet-4-5", &[])
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
    replay(switchyard_sdk::testing::sse_events(&bytes, piece))
}

/// Parses a 2xx body with the adapter.
pub fn parse_ok(body: &[u8]) -> Result<ParsedResponse, PluginError> {
    <Anthropic as Provider>::parse_response(http(200, &[], body))
}

/// The canonical body of a parsed response.
pub fn body(parsed: &ParsedResponse) -> Value {
    switchyard_sdk::testing::canonical_body(parsed)
}
