//! Decodes `streamGenerateContent?alt=sse`, one server-sent event (a whole
//! `GenerateContentResponse`) at a time, into canonical `chat.completion.chunk`s.
//!
//! Gemini sends no `[DONE]`: the event whose candidate carries `finishReason` is the terminal
//! one (see the crate documentation). A search-grounded answer's `groundingMetadata` is read at
//! the end, as a whole answer's is: its cited segments become `text_citations` and its searches
//! are reported (see [`crate::web_search`]).

use crate::provider::*;
use serde_json::{Map, Value};

use super::error;
use super::grounding;
use super::response::{self, Part, shape, string};
use super::usage::{self, call_id};

/// Per-stream decoder state.
#[derive(Debug, Default)]
pub struct GeminiDecoder {
    /// `responseId`, copied into every chunk.
    id: String,
    /// `modelVersion`, copied into every chunk.
    model: String,
    /// The first chunk (carrying `role: assistant`) went out.
    sent_role: bool,
    /// Function calls started so far.
    calls: u32,
    /// Thought signatures passed on so far.
    signatures: usize,
    /// A Vertex AI call whose arguments are still streaming (`partialArgs`).
    partial: Option<PartialCall>,
    /// The terminal event went through.
    done: bool,
    /// The answer's text so far: what grounding segments' byte offsets point into.
    text: String,
    /// The latest candidate that carried `groundingMetadata`, read at the end.
    grounded: Option<Value>,
}

/// A function call streamed in pieces: its canonical index and the arguments so far.
#[derive(Debug, Default)]
struct PartialCall {
    index: u32,
    args: Map<String, Value>,
}

impl StreamDecoder for GeminiDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        GeminiDecoder::default()
    }

    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        let data = event.data.trim();
        if data.is_empty() || self.done {
            return Ok(StreamOutput::empty());
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            PluginError::UpstreamUnavailable(format!("upstream sent an invalid stream event: {e}"))
        })?;
        if error::is_error(&value) {
            return Err(error::from_embedded(&value));
        }
        if !value.is_object() {
            return Err(shape("a stream event is not a JSON object"));
        }
        if let Some(id) = value.get("responseId").and_then(Value::as_str) {
            self.id = id.to_owned();
        }
        if let Some(model) = value.get("modelVersion").and_then(Value::as_str) {
            self.model = model.to_owned();
        }
        let mut output = StreamOutput {
            usage: usage::from_metadata(value.get("usageMetadata")),
            ..StreamOutput::empty()
        };
        let has_candidates = value
            .get("candidates")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty());
        if !has_candidates {
            // A usage-only event is fine; a blocked prompt or another shape is not.
            if output.usage.is_some() && value.get("promptFeedback").is_none() {
                return Ok(output);
            }
            response::first_candidate(&value)?;
        }
        let candidate = response::first_candidate(&value)?;
        for part in response::parts(candidate) {
            self.part(part, &mut output.chunks);
        }
        if candidate.get("groundingMetadata").is_some() {
            self.grounded = Some(candidate.clone());
        }
        if let Some(native) = candidate.get("finishReason").and_then(Value::as_str) {
            self.end_partial(&mut output.chunks);
            self.grounding(&mut output.chunks);
            let finish = usage::finish(native, self.calls > 0);
            let mut chunk = self.chunk(Delta::default());
            for choice in &mut chunk.choices {
                choice.finish_reason = Some(finish.reason.as_openai().to_owned());
                choice.native_finish_reason = Some(finish.native.clone());
            }
            output.chunks.push(chunk.to_bytes());
            output.finish = Some(finish);
            output.done = true;
            self.done = true;
        }
        Ok(output)
    }
}

impl GeminiDecoder {
    /// Translates one content part into zero or more chunks.
    fn part(&mut self, part: &Value, chunks: &mut Vec<Vec<u8>>) {
        let calls_before = self.calls;
        self.content(part, chunks);
        // A signed part: its signature follows, tied to the call the part started, if any.
        let call = (self.calls > calls_before).then(|| call_id(calls_before));
        let index = self.signatures;
        if let Some(detail) = response::signature_detail(part, call, index) {
            self.signatures = self.signatures.saturating_add(1);
            chunks.push(self.delta(Delta {
                reasoning_details: Some(vec![detail]),
                ..Delta::default()
            }));
        }
    }

    /// The text, thought or function call of a part.
    fn content(&mut self, part: &Value, chunks: &mut Vec<Vec<u8>>) {
        match response::classify(part) {
            Part::Text(text) => {
                self.text.push_str(text);
                chunks.push(self.delta(Delta {
                    content: Some(text.to_owned()),
                    ..Delta::default()
                }));
            }
            Part::Thought(text) => chunks.push(self.delta(Delta {
                reasoning: Some(text.to_owned()),
                ..Delta::default()
            })),
            Part::Call { name, args } => {
                self.end_partial(chunks);
                let index = self.next_call();
                chunks.push(self.call_start(index, name, args.to_string()));
            }
            Part::Other => {
                if let Some(call) = part.get("functionCall") {
                    self.streamed_call(call, chunks);
                }
            }
        }
    }

    /// A Vertex AI streamed function call piece: a named start (`willContinue`), argument
    /// fragments (`partialArgs`) or the terminator (no name, no `willContinue`).
    fn streamed_call(&mut self, call: &Value, chunks: &mut Vec<Vec<u8>>) {
        let continues = call.get("willContinue").and_then(Value::as_bool) == Some(true);
        if let Some(name) = call.get("name").and_then(Value::as_str) {
            self.end_partial(chunks);
            let index = self.next_call();
            self.partial = Some(PartialCall {
                index,
                args: Map::new(),
            });
            chunks.push(self.call_start(index, name, String::new()));
            return;
        }
        if let (Some(partial), Some(pieces)) = (
            self.partial.as_mut(),
            call.get("partialArgs").and_then(Value::as_array),
        ) {
            for piece in pieces {
                apply_partial(&mut partial.args, piece);
            }
        }
        if !continues {
            self.end_partial(chunks);
        }
    }

    /// Emits the assembled arguments of the call being streamed, if any.
    fn end_partial(&mut self, chunks: &mut Vec<Vec<u8>>) {
        if let Some(partial) = self.partial.take() {
            let arguments = Value::Object(partial.args).to_string();
            chunks.push(self.delta(Delta {
                tool_calls: Some(vec![ToolCallDelta {
                    index: partial.index,
                    id: None,
                    kind: None,
                    function: FunctionCallDelta {
                        name: None,
                        arguments: Some(arguments),
                    },
                }]),
                ..Delta::default()
            }));
        }
    }

    /// The cited segments of a grounded answer, each a block that opens and closes at once, and
    /// the chunk reporting its searches.
    fn grounding(&mut self, chunks: &mut Vec<Vec<u8>>) {
        let Some(candidate) = self.grounded.take() else {
            return;
        };
        let cited = grounding::citations(&candidate, &self.text);
        if !cited.is_empty() {
            chunks.push(self.delta(Delta {
                text_citations: Some(cited),
                ..Delta::default()
            }));
        }
        let reported = crate::web_search::reported(grounding::searches(&candidate));
        if reported.is_empty() {
            return;
        }
        let mut chunk = serde_json::to_value(self.chunk(Delta::default())).unwrap_or_default();
        if let Value::Object(chunk) = &mut chunk {
            chunk.insert("choices".to_owned(), Value::Array(Vec::new()));
            chunk.extend(reported);
        }
        chunks.push(serde_json::to_vec(&chunk).unwrap_or_default());
    }

    fn next_call(&mut self) -> u32 {
        let index = self.calls;
        self.calls = self.calls.saturating_add(1);
        index
    }

    /// The first fragment of a call: synthesised id, name and `arguments`.
    fn call_start(&mut self, index: u32, name: &str, arguments: String) -> Vec<u8> {
        self.delta(Delta {
            tool_calls: Some(vec![ToolCallDelta {
                index,
                id: Some(call_id(index)),
                kind: Some("function".to_owned()),
                function: FunctionCallDelta {
                    name: Some(name.to_owned()),
                    arguments: Some(arguments),
                },
            }]),
            ..Delta::default()
        })
    }

    fn delta(&mut self, delta: Delta) -> Vec<u8> {
        self.chunk(delta).to_bytes()
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

/// Applies one `partialArgs` entry (`{jsonPath: "$.a.b", stringValue|numberValue|boolValue|
/// nullValue}`) to `args`. String pieces of the same path are concatenated.
fn apply_partial(args: &mut Map<String, Value>, piece: &Value) {
    let path = string(piece, "jsonPath");
    let keys: Vec<&str> = path
        .trim_start_matches('$')
        .split('.')
        .filter(|k| !k.is_empty())
        .collect();
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut target = args;
    for key in parents {
        let entry = target
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(next) => target = next,
            _ => return,
        }
    }
    if let Some(text) = piece.get("stringValue").and_then(Value::as_str) {
        match target.get_mut(*last) {
            Some(Value::String(existing)) => existing.push_str(text),
            _ => {
                target.insert((*last).to_owned(), Value::String(text.to_owned()));
            }
        }
    } else if let Some(number) = piece.get("numberValue").filter(|v| v.is_number()) {
        target.insert((*last).to_owned(), number.clone());
    } else if let Some(flag) = piece.get("boolValue").filter(|v| v.is_boolean()) {
        target.insert((*last).to_owned(), flag.clone());
    } else if piece.get("nullValue").is_some() {
        target.insert((*last).to_owned(), Value::Null);
    }
}
