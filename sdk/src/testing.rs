//! Helpers for testing a provider adapter natively (`cargo test`), without the gateway: build
//! endpoint and response records, replay a recorded stream through a decoder and put the
//! streamed chunks back together.

use std::collections::BTreeMap;

use serde_json::Value;

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
