//! Decodes a streamed Messages API response, one server-sent event at a time, into canonical
//! `chat.completion.chunk`s.

use std::collections::HashMap;

use serde_json::Value;
use switchyard_sdk::provider::*;

use crate::error;
use crate::response::{shape, string};
use crate::usage::{self, Counts};

/// Per-stream decoder state.
#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    /// Message id from `message_start`, copied into every chunk.
    id: String,
    /// Model from `message_start`, copied into every chunk.
    model: String,
    /// The first chunk (carrying `role: assistant`) went out.
    sent_role: bool,
    /// Anthropic content block index → canonical tool call index, for `tool_use` blocks.
    tool_blocks: HashMap<u64, u32>,
    /// Tool calls seen so far.
    tool_count: u32,
    /// Usage so far.
    counts: Counts,
}

impl StreamDecoder for AnthropicDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        AnthropicDecoder::default()
    }

    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        if event.data.trim().is_empty() {
            return Ok(StreamOutput::empty());
        }
        let value: Value = serde_json::from_str(&event.data).map_err(|e| {
            PluginError::UpstreamUnavailable(format!("upstream sent an invalid stream event: {e}"))
        })?;
        if !value.is_object() {
            return Err(shape("a stream event is not a JSON object"));
        }
        // The `event:` name and the payload's `type` agree on Anthropic's wire; trust the name.
        let kind = event
            .event
            .clone()
            .unwrap_or_else(|| string(&value, "type").to_owned());
        match kind.as_str() {
            "message_start" => Ok(self.message_start(&value)),
            "content_block_start" => Ok(self.block_start(&value)),
            "content_block_delta" => Ok(self.block_delta(&value)),
            "message_delta" => Ok(self.message_delta(&value)),
            "message_stop" => Ok(StreamOutput {
                done: true,
                ..StreamOutput::empty()
            }),
            "error" => Err(error::from_embedded(&value)),
            // ping, content_block_stop and event types added later carry nothing to forward.
            _ => Ok(StreamOutput::empty()),
        }
    }
}

impl AnthropicDecoder {
    fn message_start(&mut self, value: &Value) -> StreamOutput {
        let message = value.get("message").unwrap_or(&Value::Null);
        self.id = string(message, "id").to_owned();
        self.model = string(message, "model").to_owned();
        let known = self.counts.merge(message.get("usage"));
        // No chunk yet: the role rides on the first content chunk, so the host can still fail
        // over if an error event follows before any content.
        StreamOutput {
            usage: known.then(|| self.counts.usage()),
            ..StreamOutput::empty()
        }
    }

    fn block_start(&mut self, value: &Value) -> StreamOutput {
        let block = value.get("content_block").unwrap_or(&Value::Null);
        match block.get("type").and_then(Value::as_str) {
            Some("tool_use") => {
                let index = self.tool_count;
                self.tool_count = self.tool_count.saturating_add(1);
                if let Some(block_index) = value.get("index").and_then(Value::as_u64) {
                    self.tool_blocks.insert(block_index, index);
                }
                self.output(Delta {
                    tool_calls: Some(vec![ToolCallDelta {
                        index,
                        id: Some(string(block, "id").to_owned()),
                        kind: Some("function".to_owned()),
                        function: FunctionCallDelta {
                            name: Some(string(block, "name").to_owned()),
                            arguments: Some(String::new()),
                        },
                    }]),
                    ..Delta::default()
                })
            }
            Some("text") => self.text(string(block, "text"), false),
            Some("thinking") => self.text(string(block, "thinking"), true),
            _ => StreamOutput::empty(),
        }
    }

    fn block_delta(&mut self, value: &Value) -> StreamOutput {
        let delta = value.get("delta").unwrap_or(&Value::Null);
        match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => self.text(string(delta, "text"), false),
            Some("thinking_delta") => self.text(string(delta, "thinking"), true),
            Some("input_json_delta") => {
                let fragment = string(delta, "partial_json");
                let tool = value
                    .get("index")
                    .and_then(Value::as_u64)
                    .and_then(|block| self.tool_blocks.get(&block).copied());
                match tool {
                    Some(index) if !fragment.is_empty() => self.output(Delta {
                        tool_calls: Some(vec![ToolCallDelta {
                            index,
                            id: None,
                            kind: None,
                            function: FunctionCallDelta {
                                name: None,
                                arguments: Some(fragment.to_owned()),
                            },
                        }]),
                        ..Delta::default()
                    }),
                    _ => StreamOutput::empty(),
                }
            }
            // signature_delta, citations_delta...: nothing canonical to forward.
            _ => StreamOutput::empty(),
        }
    }

    fn message_delta(&mut self, value: &Value) -> StreamOutput {
        let known = self.counts.merge(value.get("usage"));
        let finish = value
            .get("delta")
            .and_then(|d| d.get("stop_reason"))
            .and_then(Value::as_str)
            .map(usage::finish);
        let mut output = match &finish {
            Some(finish) => {
                let mut chunk = self.chunk(Delta::default());
                for choice in &mut chunk.choices {
                    choice.finish_reason = Some(finish.reason.as_openai().to_owned());
                    choice.native_finish_reason = Some(finish.native.clone());
                }
                StreamOutput {
                    chunks: vec![chunk.to_bytes()],
                    ..StreamOutput::empty()
                }
            }
            None => StreamOutput::empty(),
        };
        output.finish = finish;
        output.usage = known.then(|| self.counts.usage());
        output
    }

    /// A text or reasoning fragment; empty fragments are not forwarded.
    fn text(&mut self, text: &str, reasoning: bool) -> StreamOutput {
        if text.is_empty() {
            return StreamOutput::empty();
        }
        let delta = if reasoning {
            Delta {
                reasoning: Some(text.to_owned()),
                ..Delta::default()
            }
        } else {
            Delta {
                content: Some(text.to_owned()),
                ..Delta::default()
            }
        };
        self.output(delta)
    }

    /// One chunk carrying `delta`, as stream output.
    fn output(&mut self, delta: Delta) -> StreamOutput {
        let chunk = self.chunk(delta);
        StreamOutput {
            chunks: vec![chunk.to_bytes()],
            ..StreamOutput::empty()
        }
    }

    /// A chunk with this stream's id and model; the first one carries `role: assistant`.
    fn chunk(&mut self, mut delta: Delta) -> ChatChunk {
        if !self.sent_role {
            delta.role = Some("assistant".to_owned());
            self.sent_role = true;
        }
        ChatChunk::new(&self.id, 0, &self.model, delta)
    }
}
