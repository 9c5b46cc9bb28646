//! Responses API stream events decoded into chat chunks.

use serde_json::{Value, json};
use switchyard_sdk::provider::*;
use switchyard_sdk::responses::RESPONSES_EXTENSION;
use switchyard_sdk::translate::ChunkWriter;
use switchyard_sdk::web_search;

use crate::error;
use crate::response::{
    builtin_calls, cited, encrypted_detail, finish, searches, summary_detail, usage,
};

/// Decodes one Responses stream. Events before the first output (`response.created`,
/// `response.in_progress`) produce nothing, so an early `error` still fails over.
#[derive(Debug, Default)]
pub struct ResponsesDecoder {
    writer: ChunkWriter,
    /// Output item id → its tool call index.
    calls: Vec<String>,
    /// (item id, summary index) → its reasoning detail index.
    details: Vec<(String, u64)>,
    /// Item markers not sent yet: they go out with (before) the next chunks that carry output,
    /// so a marker never starts a stream on its own and a stream that fails before any output
    /// still fails over.
    markers: Vec<Vec<u8>>,
    /// Characters of answer text sent so far, and where the `output_text` part being streamed
    /// starts in it: the offsets of its annotations.
    text_length: u64,
    part_start: u64,
}

impl StreamDecoder for ResponsesDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        ResponsesDecoder::default()
    }

    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        let mut output = self.translate(event)?;
        if !output.chunks.is_empty() && !self.markers.is_empty() {
            let mut chunks = std::mem::take(&mut self.markers);
            chunks.append(&mut output.chunks);
            output.chunks = chunks;
        }
        Ok(output)
    }
}

impl ResponsesDecoder {
    /// One upstream event as chat chunks, with the upstream's own output items marked for a
    /// Responses API client ([`RESPONSES_EXTENSION`]: `{"added": item}` when an item starts,
    /// `{"done": item}` when it is complete). Other clients never see the markers.
    fn translate(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        if event.data.trim() == "[DONE]" {
            return Ok(StreamOutput::empty());
        }
        let data: Value = serde_json::from_str(&event.data).map_err(|error| {
            PluginError::UpstreamUnavailable(format!("upstream sent an invalid event: {error}"))
        })?;
        let kind = data["type"]
            .as_str()
            .or(event.event.as_deref())
            .unwrap_or("");
        let item_id = data["item_id"].as_str().unwrap_or_default();
        Ok(match kind {
            "response.created" => {
                self.writer.id = data["response"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                self.writer.model = data["response"]["model"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                StreamOutput::empty()
            }
            "response.output_item.added" if data["item"]["type"] == "function_call" => {
                let item = &data["item"];
                self.mark("added", item);
                let index = self.calls.len() as u32;
                self.calls
                    .push(item["id"].as_str().unwrap_or_default().to_owned());
                let mut output = self.writer.tool_call_start(
                    index,
                    item["call_id"].as_str().map(str::to_owned),
                    item["name"].as_str().map(str::to_owned),
                );
                let arguments = item["arguments"].as_str().unwrap_or_default();
                output
                    .chunks
                    .extend(self.writer.tool_call_arguments(index, arguments).chunks);
                output
            }
            "response.function_call_arguments.delta" => {
                let index = self.calls.iter().position(|id| id == item_id).unwrap_or(0) as u32;
                self.writer
                    .tool_call_arguments(index, data["delta"].as_str().unwrap_or_default())
            }
            "response.content_part.added" if data["part"]["type"] == "output_text" => {
                self.part_start = self.text_length;
                StreamOutput::empty()
            }
            "response.output_text.delta" => {
                let delta = data["delta"].as_str().unwrap_or_default();
                self.text_length = (self.text_length).saturating_add(delta.chars().count() as u64);
                self.writer.text(delta, false)
            }
            // A cited web page: a block of the part's text that opens and closes at once.
            "response.output_text.annotation.added" => {
                let part = json!({ "annotations": [data["annotation"]] });
                let pieces = cited(&part, self.part_start);
                match pieces.is_empty() {
                    true => StreamOutput::empty(),
                    false => self.writer.delta(Delta {
                        text_citations: Some(pieces),
                        ..Delta::default()
                    }),
                }
            }
            "response.refusal.delta" => self
                .writer
                .text(data["delta"].as_str().unwrap_or_default(), false),
            "response.reasoning_text.delta" => self
                .writer
                .text(data["delta"].as_str().unwrap_or_default(), true),
            // Summaries after the first start on a new paragraph of the reasoning text.
            "response.reasoning_summary_part.added" if data["summary_index"].as_u64() > Some(0) => {
                self.writer.text("\n\n", true)
            }
            "response.reasoning_summary_text.delta" => {
                let delta = data["delta"].as_str().unwrap_or_default();
                let summary = data["summary_index"].as_u64().unwrap_or(0);
                let index = self.detail_index(item_id, summary);
                self.writer.delta(Delta {
                    reasoning: Some(delta.to_owned()),
                    reasoning_details: Some(vec![summary_detail(
                        delta,
                        Some(item_id.to_owned()),
                        index,
                    )]),
                    ..Delta::default()
                })
            }
            "response.output_item.added" => {
                self.mark("added", &data["item"]);
                StreamOutput::empty()
            }
            "response.output_item.done" if data["item"]["type"] == "reasoning" => {
                let item = &data["item"];
                let mut output = match item["encrypted_content"].as_str() {
                    Some(encrypted) => {
                        let id = item["id"].as_str().unwrap_or_default();
                        let index = self.detail_index(id, u64::MAX);
                        self.writer.delta(Delta {
                            reasoning_details: Some(vec![encrypted_detail(
                                encrypted,
                                Some(id.to_owned()),
                                index,
                            )]),
                            ..Delta::default()
                        })
                    }
                    None => StreamOutput::empty(),
                };
                // After the encrypted content it completes, or with the next output.
                if output.chunks.is_empty() {
                    self.mark("done", item);
                } else {
                    output.chunks.push(self.marker("done", item));
                }
                output
            }
            "response.output_item.done" => {
                self.mark("done", &data["item"]);
                StreamOutput::empty()
            }
            "response.completed" | "response.incomplete" => {
                let response = &data["response"];
                let mut output = self.writer.finish(finish(response, !self.calls.is_empty()));
                output.usage = usage(&response["usage"]);
                let builtin = builtin_calls(response);
                for (field, value) in web_search::reported_with(searches(response), &builtin) {
                    output.chunks.push(self.writer.carrier(&field, value));
                }
                output.done = true;
                output
            }
            "response.failed" => return Err(error::from_object(&data["response"]["error"])),
            "error" => return Err(error::from_object(data.get("error").unwrap_or(&data))),
            _ => StreamOutput::empty(),
        })
    }

    /// Queues the marker of `item` to go out with the next output.
    fn mark(&mut self, stage: &str, item: &Value) {
        let marker = self.marker(stage, item);
        self.markers.push(marker);
    }

    fn marker(&self, stage: &str, item: &Value) -> Vec<u8> {
        self.writer
            .carrier(RESPONSES_EXTENSION, json!({ stage: item }))
    }

    /// The reasoning detail index of summary `summary` of item `item` (`u64::MAX`: its
    /// encrypted content), assigned in order of appearance.
    fn detail_index(&mut self, item: &str, summary: u64) -> u32 {
        let position = self
            .details
            .iter()
            .position(|(id, s)| id == item && *s == summary);
        match position {
            Some(position) => position as u32,
            None => {
                self.details.push((item.to_owned(), summary));
                (self.details.len() - 1) as u32
            }
        }
    }
}
