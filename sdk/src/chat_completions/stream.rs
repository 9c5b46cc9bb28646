//! Decodes a streamed Chat Completions response, one server-sent event at a time.

use std::marker::PhantomData;

use serde_json::{Map, Value};

use crate::provider::*;

use super::response::shape;
use super::{Dialect, normalize};

/// Per-stream decoder state of a Chat Completions stream in dialect `D`.
#[derive(Debug)]
pub struct ChatCompletionsDecoder<D: Dialect> {
    /// A chunk has been forwarded already (the first one carries `role: assistant`).
    sent_first: bool,
    /// Fills in missing tool-call indexes.
    tools: normalize::ToolIndexer,
    dialect: PhantomData<D>,
}

impl<D: Dialect> StreamDecoder for ChatCompletionsDecoder<D> {
    fn new(_endpoint: EndpointSettings) -> Self {
        ChatCompletionsDecoder {
            sent_first: false,
            tools: normalize::ToolIndexer::default(),
            dialect: PhantomData,
        }
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
        if let Some(error) = D::embedded_error(&value) {
            return Err(error);
        }
        if event.event.as_deref() == Some("error") {
            return Err(D::stream_error(&value));
        }
        let Value::Object(chunk) = value else {
            return Err(shape("a stream event is not a JSON object"));
        };
        self.chunk(chunk)
    }
}

impl<D: Dialect> ChatCompletionsDecoder<D> {
    /// Translates one `chat.completion.chunk`.
    fn chunk(&mut self, mut chunk: Map<String, Value>) -> Result<StreamOutput, PluginError> {
        let mut usage = chunk.remove("usage").as_ref().and_then(Usage::from_openai);
        if let Some(Value::Object(groq)) = chunk.get_mut("x_groq")
            && let Some(groq_usage) = groq.remove("usage")
        {
            usage = usage.or_else(|| Usage::from_openai(&groq_usage));
        }
        chunk.remove("obfuscation");
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
            // The usage-only last chunk (or a prompt-filter notice): nothing to forward.
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
            normalize::reasoning_and_content(delta);
            if delta.get("tool_calls").is_some_and(Value::is_null) {
                delta.remove("tool_calls");
            }
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
        // The host checks the chunk's shape; the guest only writes it.
        let bytes = serde_json::to_vec(&chunk)
            .map_err(|e| PluginError::Internal(format!("cannot serialise a chunk: {e}")))?;
        Ok(StreamOutput {
            chunks: vec![bytes],
            usage,
            finish,
            done: false,
        })
    }
}
