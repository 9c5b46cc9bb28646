//! Decodes a streamed Chat v2 response, one typed server-sent event at a time, into canonical
//! `chat.completion.chunk`s. `message-end` is the terminal event.

use std::collections::HashMap;

use serde_json::Value;
use switchyard_sdk::provider::*;

use crate::response::{shape, string};
use crate::usage;

/// Per-stream decoder state.
#[derive(Debug, Default)]
pub struct CohereDecoder {
    /// Message id from `message-start`, copied into every chunk.
    id: String,
    /// The first chunk (carrying `role: assistant`) went out.
    sent_role: bool,
    /// Content index → whether that content block is `thinking`.
    thinking: HashMap<u64, bool>,
    /// Cohere tool-call index → canonical tool call index.
    calls: HashMap<u64, u32>,
    /// Tool calls started so far.
    call_count: u32,
}

impl StreamDecoder for CohereDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        CohereDecoder::default()
    }

    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(StreamOutput::empty());
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            PluginError::UpstreamUnavailable(format!("upstream sent an invalid stream event: {e}"))
        })?;
        if !value.is_object() {
            return Err(shape("a stream event is not a JSON object"));
        }
        let kind = event
            .event
            .clone()
            .unwrap_or_else(|| string(&value, "type").to_owned());
        let index = value.get("index").and_then(Value::as_u64).unwrap_or(0);
        let message = value
            .get("delta")
            .and_then(|d| d.get("message"))
            .unwrap_or(&Value::Null);
        let output = match kind.as_str() {
            "message-start" => {
                self.id = string(&value, "id").to_owned();
                StreamOutput::empty()
            }
            "content-start" => {
                let content = message.get("content").unwrap_or(&Value::Null);
                let thinking = string(content, "type") == "thinking";
                self.thinking.insert(index, thinking);
                self.content(content, thinking)
            }
            "content-delta" => {
                let content = message.get("content").unwrap_or(&Value::Null);
                let thinking = self.thinking.get(&index).copied().unwrap_or(false)
                    || content.get("thinking").is_some();
                self.content(content, thinking)
            }
            "tool-plan-delta" => self.text(string(message, "tool_plan"), true),
            "tool-call-start" => {
                let call = message.get("tool_calls").unwrap_or(&Value::Null);
                let canonical = self.call_count;
                self.call_count = self.call_count.saturating_add(1);
                self.calls.insert(index, canonical);
                let function = call.get("function").unwrap_or(&Value::Null);
                self.output(Delta {
                    tool_calls: Some(vec![ToolCallDelta {
                        index: canonical,
                        id: Some(string(call, "id").to_owned()),
                        kind: Some("function".to_owned()),
                        function: FunctionCallDelta {
                            name: Some(string(function, "name").to_owned()),
                            arguments: Some(string(function, "arguments").to_owned()),
                        },
                    }]),
                    ..Delta::default()
                })
            }
            "tool-call-delta" => {
                let fragment = message
                    .get("tool_calls")
                    .and_then(|c| c.get("function"))
                    .map(|f| string(f, "arguments"))
                    .unwrap_or("");
                match self.calls.get(&index).copied() {
                    Some(canonical) if !fragment.is_empty() => self.output(Delta {
                        tool_calls: Some(vec![ToolCallDelta {
                            index: canonical,
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
            "message-end" => self.message_end(&value)?,
            // content-end, tool-call-end, citation-start/-end, debug...: nothing to forward.
            _ => StreamOutput::empty(),
        };
        Ok(output)
    }
}

impl CohereDecoder {
    /// The terminal event: finish reason, usage, done. `ERROR` is an upstream failure.
    fn message_end(&mut self, value: &Value) -> Result<StreamOutput, PluginError> {
        let delta = value.get("delta").unwrap_or(&Value::Null);
        let native = string(delta, "finish_reason");
        if native == "ERROR" {
            let message = delta
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the generation failed");
            return Err(PluginError::UpstreamUnavailable(format!(
                "cohere stream error: {message}"
            )));
        }
        let finish = usage::finish(if native.is_empty() {
            "COMPLETE"
        } else {
            native
        });
        let mut chunk = self.chunk(Delta::default());
        for choice in &mut chunk.choices {
            choice.finish_reason = Some(finish.reason.as_openai().to_owned());
            choice.native_finish_reason = Some(finish.native.clone());
        }
        Ok(StreamOutput {
            chunks: vec![chunk.to_bytes()],
            usage: usage::from_cohere(delta.get("usage")),
            finish: Some(finish),
            done: true,
        })
    }

    /// A content block's text or thinking fragment.
    fn content(&mut self, content: &Value, thinking: bool) -> StreamOutput {
        let text = if thinking {
            string(content, "thinking")
        } else {
            string(content, "text")
        };
        self.text(text, thinking)
    }

    /// A text or reasoning fragment; empty fragments are not forwarded.
    fn text(&mut self, text: &str, reasoning: bool) -> StreamOutput {
        if text.is_empty() {
            return StreamOutput::empty();
        }
        let text = Some(text.to_owned());
        let delta = if reasoning {
            Delta {
                reasoning: text,
                ..Delta::default()
            }
        } else {
            Delta {
                content: text,
                ..Delta::default()
            }
        };
        self.output(delta)
    }

    fn output(&mut self, delta: Delta) -> StreamOutput {
        StreamOutput {
            chunks: vec![self.chunk(delta).to_bytes()],
            ..StreamOutput::empty()
        }
    }

    /// A chunk with this stream's id; the first one carries `role: assistant`.
    fn chunk(&mut self, mut delta: Delta) -> ChatChunk {
        if !self.sent_role {
            delta.role = Some("assistant".to_owned());
            self.sent_role = true;
        }
        ChatChunk::new(&self.id, 0, "", delta)
    }
}
