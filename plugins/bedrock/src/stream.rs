//! Decodes a ConverseStream response, one event-stream message at a time (the host names each
//! event by its `:event-type`, or `:exception-type` for exceptions), into canonical
//! `chat.completion.chunk`s.

use std::collections::HashMap;

use serde_json::Value;
use switchyard_sdk::provider::*;
use switchyard_sdk::structured;
use switchyard_sdk::translate::ChunkWriter;

use crate::error;
use crate::response::shape;
use crate::usage;

/// Per-stream decoder state.
#[derive(Debug, Default)]
pub struct BedrockDecoder {
    /// Writes the chunks (Converse streams carry no id or model: the host sets them).
    writer: ChunkWriter,
    /// Converse content block index → canonical tool call index, for `toolUse` blocks.
    tool_blocks: HashMap<u64, u32>,
    /// Tool calls seen so far.
    tool_count: u32,
    /// The content block index of the call to [`structured::JSON_TOOL`], whose input is the
    /// answer's text.
    json_block: Option<u64>,
}

impl StreamDecoder for BedrockDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        BedrockDecoder::default()
    }

    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        let Some(kind) = event.event.as_deref() else {
            return Err(shape("an event-stream message has no event type"));
        };
        let value: Value = serde_json::from_str(&event.data).map_err(|e| {
            PluginError::UpstreamUnavailable(format!("upstream sent an invalid stream event: {e}"))
        })?;
        if let Some(error) = error::from_exception(kind, &value) {
            return Err(error);
        }
        match kind {
            "contentBlockStart" => Ok(self.block_start(&value)),
            "contentBlockDelta" => Ok(self.block_delta(&value)),
            // The finish chunk; the stream is done only with the `metadata` event after it.
            "messageStop" => Ok(value
                .get("stopReason")
                .and_then(Value::as_str)
                .map(|native| {
                    let finish = usage::finish(native);
                    let finish = match self.json_block {
                        Some(_) => structured::answered(finish),
                        None => finish,
                    };
                    self.writer.finish(finish)
                })
                .unwrap_or_else(StreamOutput::empty)),
            "metadata" => Ok(StreamOutput {
                usage: usage::from_converse(value.get("usage")),
                done: true,
                ..StreamOutput::empty()
            }),
            // messageStart (the role rides on the first content chunk, so the host can still
            // fail over if an exception follows), contentBlockStop and later event types.
            _ => Ok(StreamOutput::empty()),
        }
    }
}

impl BedrockDecoder {
    fn block_start(&mut self, value: &Value) -> StreamOutput {
        let Some(tool_use) = value.pointer("/start/toolUse") else {
            return StreamOutput::empty();
        };
        if tool_use.get("name").and_then(Value::as_str) == Some(structured::JSON_TOOL) {
            self.json_block = value.get("contentBlockIndex").and_then(Value::as_u64);
            return StreamOutput::empty();
        }
        let index = self.tool_count;
        self.tool_count = self.tool_count.saturating_add(1);
        if let Some(block) = value.get("contentBlockIndex").and_then(Value::as_u64) {
            self.tool_blocks.insert(block, index);
        }
        let field = |name: &str| {
            tool_use
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        self.writer
            .tool_call_start(index, field("toolUseId"), field("name"))
    }

    fn block_delta(&mut self, value: &Value) -> StreamOutput {
        let delta = value.get("delta").unwrap_or(&Value::Null);
        let text = |pointer: &str| delta.pointer(pointer).and_then(Value::as_str);
        if let Some(text) = text("/text") {
            return self.writer.text(text, false);
        }
        let block = value.get("contentBlockIndex").and_then(Value::as_u64);
        if let Some(reasoning) = delta.get("reasoningContent") {
            let index = block.unwrap_or(0) as u32;
            let field = |name: &str| {
                reasoning
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let detail = match field("redactedContent") {
                Some(data) => ReasoningDetail::encrypted(data, None, index),
                None => ReasoningDetail::text(field("text"), field("signature"), None, index),
            };
            return self.writer.reasoning_detail(detail);
        }
        if block.is_some()
            && block == self.json_block
            && let Some(fragment) = text("/toolUse/input")
        {
            return self.writer.text(fragment, false);
        }
        let tool = block.and_then(|block| self.tool_blocks.get(&block).copied());
        match (tool, text("/toolUse/input")) {
            (Some(index), Some(fragment)) => self.writer.tool_call_arguments(index, fragment),
            _ => StreamOutput::empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use switchyard_sdk::testing::{
        assemble, assert_complete_stream, chunk_lines, counts, endpoint, event_stream_events,
        event_stream_wire, finish, replay,
    };

    use super::*;

    fn replay_fixture(name: &str, piece: usize) -> switchyard_sdk::testing::Replay {
        let path = format!(
            "{}/../../tests/fixtures/bedrock/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let lines = chunk_lines(&std::fs::read(&path).expect("the fixture"));
        let wire = event_stream_wire(&lines);
        replay::<BedrockDecoder>(
            endpoint("https://bedrock-runtime.us-east-1.amazonaws.com", "m", &[]),
            event_stream_events(&wire, piece),
        )
    }

    #[test]
    fn a_text_stream_split_at_any_read_size_decodes_whole() {
        for piece in [1, 7, 64, 4096] {
            let replay = replay_fixture("amazon-bedrock-text.chunks.txt", piece);
            assert_complete_stream(&replay);
            let (text, reasoning, calls) = assemble(&replay.chunks);
            assert_eq!(
                text,
                "Let me count the \"r\"s in \"strawberry\":\n\ns-t-**r**-a-w-b-e-**r**-**r**-y\n\nThere are **3** r's in \"strawberry.\""
            );
            assert!(reasoning.is_empty() && calls.is_empty());
            assert_eq!(replay.usage.as_ref().map(counts), Some([22, 55, 0, 0, 0]));
            assert_eq!(finish(&replay.finishes[0]), ("stop", "end_turn"));
        }
    }

    #[test]
    fn a_reasoning_stream_streams_reasoning_then_text() {
        let replay = replay_fixture("amazon-bedrock-reasoning.chunks.txt", 13);
        assert_complete_stream(&replay);
        let (text, reasoning, _) = assemble(&replay.chunks);
        assert!(reasoning.starts_with("Let me count the r's in \"strawberry\":"));
        assert!(reasoning.ends_with("So there are 3 r's."));
        assert!(!text.is_empty());
        let details: Vec<&Value> = replay
            .chunks
            .iter()
            .flat_map(|c| c["choices"][0]["delta"]["reasoning_details"].as_array())
            .flatten()
            .collect();
        let streamed: String = details.iter().filter_map(|d| d["text"].as_str()).collect();
        assert_eq!(streamed, reasoning);
        assert!(
            details
                .iter()
                .all(|d| d["type"] == "reasoning.text" && d["index"] == 0)
        );
        assert!(details.last().is_some_and(|d| {
            d["signature"]
                .as_str()
                .is_some_and(|s| s.starts_with("Ep0CCkgICxAB"))
        }));
    }

    #[test]
    fn a_tool_use_stream_reassembles_the_call() {
        let replay = replay_fixture("amazon-bedrock-redacted-content.chunks.txt", 5);
        assert_complete_stream(&replay);
        let (_, _, calls) = assemble(&replay.chunks);
        let call = &calls[&0];
        assert_eq!(call.id, "call_61f8fcbe423a58699163c53e076f1a06");
        assert_eq!(call.name, "propose");
        let arguments: Value = serde_json::from_str(&call.arguments).expect("JSON arguments");
        assert!(arguments.is_object());
        assert_eq!(finish(&replay.finishes[0]), ("tool_calls", "tool_use"));
        assert_eq!(replay.usage.as_ref().map(counts), Some([67, 70, 0, 0, 0]));
        let redacted = &replay.chunks[0]["choices"][0]["delta"]["reasoning_details"][0];
        assert_eq!(redacted["type"], "reasoning.encrypted");
        assert!(
            redacted["data"]
                .as_str()
                .is_some_and(|d| d.starts_with("cnNuX3BV"))
        );
    }

    #[test]
    fn an_exception_event_is_a_typed_error() {
        let events = vec![
            SseEvent {
                event: Some("messageStart".into()),
                data: r#"{"role":"assistant"}"#.into(),
            },
            SseEvent {
                event: Some("throttlingException".into()),
                data: r#"{"message":"Too many tokens, please wait before trying again."}"#.into(),
            },
        ];
        let replay = replay::<BedrockDecoder>(endpoint("http://h", "m", &[]), events);
        assert!(replay.chunks.is_empty());
        assert!(matches!(replay.error, Some(PluginError::RateLimited(_))));
    }
}
