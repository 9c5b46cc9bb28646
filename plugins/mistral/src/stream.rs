//! Decodes a streamed Mistral response, one server-sent event at a time.

use serde_json::{Map, Value};
use switchyard_sdk::provider::*;

use crate::response::shape;
use crate::{error, normalize};

/// Per-stream decoder state.
#[derive(Debug, Default)]
pub struct MistralDecoder {
    /// A chunk has been forwarded already (the first one carries `role: assistant`).
    sent_first: bool,
    /// Fills in the tool-call indexes Mistral leaves out.
    tools: normalize::ToolIndexer,
}

impl StreamDecoder for MistralDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        MistralDecoder::default()
    }

    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            return Ok(StreamOutput {
                done: true,
                ..StreamOutput::empty()
            });
        }
        if data.is_empty() {
            return Ok(StreamOutput::empty());
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            PluginError::UpstreamUnavailable(format!("upstream sent an invalid stream event: {e}"))
        })?;
        if value
            .get("error")
            .is_some_and(|e| e.is_object() || e.is_string())
            || value.get("object").and_then(Value::as_str) == Some("error")
        {
            return Err(error::from_embedded(&value));
        }
        let Value::Object(chunk) = value else {
            return Err(shape("a stream event is not a JSON object"));
        };
        self.chunk(chunk)
    }
}

impl MistralDecoder {
    /// Translates one chunk; usage (on the finish chunk) is reported typed and removed.
    fn chunk(&mut self, mut chunk: Map<String, Value>) -> Result<StreamOutput, PluginError> {
        let usage = chunk.remove("usage").as_ref().and_then(Usage::from_openai);
        chunk.remove("p");
        let choices = match chunk.get_mut("choices") {
            Some(Value::Array(choices)) => choices,
            None | Some(Value::Null) if usage.is_some() => {
                return Ok(StreamOutput {
                    usage,
                    ..StreamOutput::empty()
                });
            }
            _ => return Err(shape("a stream event is not a chat.completion.chunk")),
        };
        if choices.is_empty() {
            return Ok(StreamOutput {
                usage,
                ..StreamOutput::empty()
            });
        }
        let mut finish = None;
        for (position, choice) in choices.iter_mut().enumerate() {
            let Some(choice) = choice.as_object_mut() else {
                return Err(shape("a chunk choice is not an object"));
            };
            choice
                .entry("index")
                .or_insert_with(|| Value::from(position));
            let delta = match choice
                .entry("delta")
                .or_insert_with(|| Value::Object(Map::new()))
            {
                Value::Object(delta) => delta,
                _ => return Err(shape("a chunk delta is not an object")),
            };
            if delta.get("tool_calls").is_some_and(Value::is_null) {
                delta.remove("tool_calls");
            }
            normalize::reasoning_and_content(delta);
            self.tools.fill(delta);
            if !self.sent_first && position == 0 {
                delta.insert("role".to_owned(), Value::String("assistant".to_owned()));
            }
            let choice_finish = normalize::finish(choice);
            if finish.is_none() {
                finish = choice_finish;
            }
        }
        self.sent_first = true;
        normalize::envelope(&mut chunk, "chat.completion.chunk");
        let bytes = serde_json::to_vec(&chunk)
            .map_err(|e| PluginError::Internal(format!("cannot serialise a chunk: {e}")))?;
        serde_json::from_slice::<ChatChunk>(&bytes)
            .map_err(|e| shape(&format!("not a chat.completion.chunk: {e}")))?;
        Ok(StreamOutput {
            chunks: vec![bytes],
            usage,
            finish,
            done: false,
        })
    }
}
