//! Decodes a streamed Messages API response, one server-sent event at a time, into canonical
//! `chat.completion.chunk`s.

use std::collections::HashMap;

use crate::provider::*;
use crate::structured;
use crate::translate::ChunkWriter;
use serde_json::Value;

use super::citations::Tracker;
use super::error;
use super::response::{REASONING_FORMAT, shape, string};
use super::usage::{self, Counts};
use crate::web_search;

/// Per-stream decoder state.
#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    /// Writes the chunks, with the id and model from `message_start`.
    writer: ChunkWriter,
    /// Anthropic content block index → canonical tool call index, for `tool_use` blocks.
    tool_blocks: HashMap<u64, u32>,
    /// Tool calls seen so far.
    tool_count: u32,
    /// Usage so far.
    counts: Counts,
    /// Text blocks and their citations.
    text: Tracker,
    /// The content block index of the call to [`structured::JSON_TOOL`], whose input is the
    /// answer's text.
    json_block: Option<u64>,
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
            "content_block_stop" => Ok(self.block_stop(&value)),
            "message_delta" => self.message_delta(&value),
            "message_stop" => Ok(StreamOutput {
                done: true,
                ..StreamOutput::empty()
            }),
            "error" => Err(error::from_embedded(&value)),
            // ping and event types added later carry nothing to forward.
            _ => Ok(StreamOutput::empty()),
        }
    }
}

impl AnthropicDecoder {
    fn message_start(&mut self, value: &Value) -> StreamOutput {
        let message = value.get("message").unwrap_or(&Value::Null);
        self.writer.id = string(message, "id").to_owned();
        self.writer.model = string(message, "model").to_owned();
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
            Some("tool_use") if string(block, "name") == structured::JSON_TOOL => {
                self.json_block = value.get("index").and_then(Value::as_u64);
                StreamOutput::empty()
            }
            Some("tool_use") => {
                let index = self.tool_count;
                self.tool_count = self.tool_count.saturating_add(1);
                if let Some(block_index) = value.get("index").and_then(Value::as_u64) {
                    self.tool_blocks.insert(block_index, index);
                }
                let field = |name: &str| Some(string(block, name).to_owned());
                self.writer
                    .tool_call_start(index, field("id"), field("name"))
            }
            Some("text") => {
                let text = string(block, "text");
                let opening = self.text.start(u64::from(block_index(value)), block);
                self.text.text(text);
                match opening {
                    Some(opening) => self.writer.delta(Delta {
                        content: (!text.is_empty()).then(|| text.to_owned()),
                        text_citations: Some(vec![opening]),
                        ..Delta::default()
                    }),
                    None => self.writer.text(text, false),
                }
            }
            Some("thinking") => self.reasoning(value, Some(string(block, "thinking")), None),
            Some("redacted_thinking") => {
                let index = block_index(value);
                let data = string(block, "data").to_owned();
                self.writer.reasoning_detail(ReasoningDetail::encrypted(
                    data,
                    Some(REASONING_FORMAT),
                    index,
                ))
            }
            _ => StreamOutput::empty(),
        }
    }

    fn block_delta(&mut self, value: &Value) -> StreamOutput {
        let delta = value.get("delta").unwrap_or(&Value::Null);
        match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => {
                let text = string(delta, "text");
                self.text.text(text);
                self.writer.text(text, false)
            }
            Some("thinking_delta") => self.reasoning(value, Some(string(delta, "thinking")), None),
            Some("signature_delta") => {
                self.reasoning(value, None, Some(string(delta, "signature")))
            }
            Some("input_json_delta") => {
                let fragment = string(delta, "partial_json");
                let block = value.get("index").and_then(Value::as_u64);
                if block.is_some() && block == self.json_block {
                    return self.writer.text(fragment, false);
                }
                let tool = block.and_then(|block| self.tool_blocks.get(&block).copied());
                match tool {
                    Some(index) => self.writer.tool_call_arguments(index, fragment),
                    None => StreamOutput::empty(),
                }
            }
            Some("citations_delta") => match delta.get("citation") {
                Some(citation) => {
                    let piece = self.text.citation(u64::from(block_index(value)), citation);
                    self.citations(piece)
                }
                None => StreamOutput::empty(),
            },
            _ => StreamOutput::empty(),
        }
    }

    /// The end of a block: a cited text block's closing entry.
    fn block_stop(&mut self, value: &Value) -> StreamOutput {
        match self.text.stop(u64::from(block_index(value))) {
            Some(closing) => self.citations(closing),
            None => StreamOutput::empty(),
        }
    }

    /// A chunk carrying one `text_citations` entry.
    fn citations(&mut self, piece: TextCitations) -> StreamOutput {
        self.writer.delta(Delta {
            text_citations: Some(vec![piece]),
            ..Delta::default()
        })
    }

    /// A piece of the thinking block of `value`'s index: text and/or its signature.
    fn reasoning(
        &mut self,
        value: &Value,
        text: Option<&str>,
        signature: Option<&str>,
    ) -> StreamOutput {
        self.writer.reasoning_detail(ReasoningDetail::text(
            text.map(str::to_owned),
            signature.filter(|s| !s.is_empty()).map(str::to_owned),
            Some(REASONING_FORMAT),
            block_index(value),
        ))
    }

    /// The finish chunk (naming the stop sequence that matched, if one did) and the usage.
    fn message_delta(&mut self, value: &Value) -> Result<StreamOutput, PluginError> {
        let known = self.counts.merge(value.get("usage"));
        let delta = value.get("delta").unwrap_or(&Value::Null);
        let finish = delta
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(usage::finish)
            .map(|finish| match self.json_block {
                Some(_) => structured::answered(finish),
                None => finish,
            });
        let mut output = match finish {
            Some(finish) => self.writer.finish(finish),
            None => StreamOutput::empty(),
        };
        let matched = delta.get("stop_sequence").and_then(Value::as_str);
        output.chunks = std::mem::take(&mut output.chunks)
            .into_iter()
            .map(|chunk| usage::with_matched_stop(chunk, matched))
            .collect::<Result<_, _>>()?;
        output.usage = known.then(|| self.counts.usage());
        let searches = usage::searches(value.get("usage"));
        if searches > 0 {
            let reported = web_search::reported(searches);
            for (field, value) in reported {
                output.chunks.push(self.writer.carrier(&field, value));
            }
        }
        Ok(output)
    }
}

/// The content block index of a block event.
fn block_index(value: &Value) -> u32 {
    value.get("index").and_then(Value::as_u64).unwrap_or(0) as u32
}
