//! Transcodes the gateway's chat chunk stream into Anthropic's event sequence: `message_start`,
//! `ping`, then per content block `content_block_start` / `content_block_delta` (`text_delta`,
//! `citations_delta`, `thinking_delta`, `signature_delta`, `input_json_delta`) /
//! `content_block_stop`, then `message_delta` with the stop reason and the whole usage (which
//! arrives in the gateway's final usage chunk), then `message_stop`. Cited text blocks follow
//! the delta's `text_citations` (see [`super::citations`]). An error chunk becomes `event: error`; a stream that
//! ends without `[DONE]` and without an error chunk also ends with an error event.

use serde_json::{Value, json};

use switchyard_sdk::openai::TextCitations;

use super::citations::entries;
use super::error;
use super::names::{ToolNames, client_tool_id};
use super::response::{stop, usage};

/// The content block being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    /// Text with citations, with the offset in the content where it starts.
    Cited(u64),
    /// Thinking, with the reasoning detail index it comes from.
    Thinking(Option<u64>),
    /// A tool use, with the canonical tool call index.
    Tool(u64),
    /// Redacted thinking, which comes whole.
    Redacted,
}

/// Per-stream state.
#[derive(Debug)]
pub struct Transcoder {
    names: ToolNames,
    model: String,
    started: bool,
    open: Option<Open>,
    /// Index of the next content block.
    next_block: u64,
    stop_reason: Option<&'static str>,
    /// The stop sequence that ended the generation, when the upstream named it.
    stop_sequence: Option<String>,
    usage: Option<Value>,
    routing: Option<Value>,
    ended: bool,
}

impl Transcoder {
    /// A transcoder restoring tool `names`, naming the client's `model`.
    pub fn new(names: ToolNames, model: String) -> Self {
        Transcoder {
            names,
            model,
            started: false,
            open: None,
            next_block: 0,
            stop_reason: None,
            stop_sequence: None,
            usage: None,
            routing: None,
            ended: false,
        }
    }

    /// The events for one `data:` payload of the chat stream.
    pub fn data(&mut self, data: &str) -> Vec<u8> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        if data.trim() == "[DONE]" {
            self.finish(&mut out);
            return out;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            self.fail(
                &mut out,
                502,
                "the gateway produced an invalid stream chunk",
            );
            return out;
        };
        self.start(&mut out, &chunk);
        if let Some(failure) = chunk.get("error") {
            let status = failure.get("code").and_then(Value::as_u64).unwrap_or(502);
            let message = failure
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream error");
            self.fail(&mut out, u16::try_from(status).unwrap_or(502), message);
            return out;
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(usage.clone());
        }
        if let Some(routing) = chunk.get("routing") {
            self.routing = Some(routing.clone());
        }
        if let Some(choice) = chunk.pointer("/choices/0") {
            self.choice(&mut out, choice);
        }
        out
    }

    /// The body ended: an error event unless the stream finished or failed already.
    pub fn end(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.ended {
            self.fail(&mut out, 502, "the stream ended before it was complete");
        }
        out
    }

    fn start(&mut self, out: &mut Vec<u8>, chunk: &Value) {
        if self.started {
            return;
        }
        self.started = true;
        let id = chunk.get("id").cloned().unwrap_or(Value::Null);
        let message = json!({
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": usage(None),
        });
        event(
            out,
            "message_start",
            &json!({"type": "message_start", "message": message}),
        );
        event(out, "ping", &json!({"type": "ping"}));
    }

    fn choice(&mut self, out: &mut Vec<u8>, choice: &Value) {
        let delta = choice.get("delta").unwrap_or(&Value::Null);
        match delta.get("reasoning_details").and_then(Value::as_array) {
            Some(details) if !details.is_empty() => {
                for detail in details {
                    self.reasoning_detail(out, detail);
                }
            }
            _ => {
                if let Some(text) = delta
                    .get("reasoning")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    self.open(out, Open::Thinking(None));
                    self.delta(out, json!({"type": "thinking_delta", "thinking": text}));
                }
            }
        }
        // Pieces of cited blocks: opening and citing ones before the text, closing ones after.
        let (closing, opening): (Vec<_>, Vec<_>) = entries(delta)
            .into_iter()
            .partition(|piece| piece.end.is_some());
        for piece in opening {
            self.cited(out, piece);
        }
        if let Some(text) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            if !matches!(self.open, Some(Open::Cited(_))) {
                self.open(out, Open::Text);
            }
            self.delta(out, json!({"type": "text_delta", "text": text}));
        }
        for piece in closing {
            // A closing piece for a block already closed has nothing left to say.
            if self.open == Some(Open::Cited(piece.start)) || !piece.citations.is_empty() {
                self.cited(out, piece);
                self.close_block(out);
            }
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.tool_call(out, call);
        }
        if choice.get("finish_reason").is_some_and(Value::is_string) {
            let (reason, sequence) = stop(choice);
            self.stop_reason = Some(reason);
            self.stop_sequence = sequence;
            self.close(out);
        }
    }

    /// A piece of the cited text block starting at `piece.start`: opens it (with `citations:
    /// []`, as Anthropic does) unless it is open, then one `citations_delta` per citation.
    fn cited(&mut self, out: &mut Vec<u8>, piece: TextCitations) {
        let kind = Open::Cited(piece.start);
        if self.open != Some(kind) {
            self.close(out);
            let block = json!({"type": "text", "text": "", "citations": []});
            self.start_block(out, block, kind);
        }
        for citation in piece.citations {
            self.delta(
                out,
                json!({"type": "citations_delta", "citation": citation}),
            );
        }
    }

    fn reasoning_detail(&mut self, out: &mut Vec<u8>, detail: &Value) {
        let field = |name: &str| {
            detail
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        match field("type") {
            Some("reasoning.text") => {
                self.open(
                    out,
                    Open::Thinking(detail.get("index").and_then(Value::as_u64)),
                );
                if let Some(text) = field("text") {
                    self.delta(out, json!({"type": "thinking_delta", "thinking": text}));
                }
                if let Some(signature) = field("signature") {
                    self.delta(
                        out,
                        json!({"type": "signature_delta", "signature": signature}),
                    );
                }
            }
            Some("reasoning.encrypted") => {
                if let Some(data) = field("data") {
                    self.close(out);
                    let block = json!({"type": "redacted_thinking", "data": data});
                    self.start_block(out, block, Open::Redacted);
                    self.close_block(out);
                }
            }
            _ => {}
        }
    }

    fn tool_call(&mut self, out: &mut Vec<u8>, call: &Value) {
        let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let function = call.get("function").unwrap_or(&Value::Null);
        if let Some(id) = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
        {
            self.close(out);
            let name = function.get("name").and_then(Value::as_str).unwrap_or("");
            let position = usize::try_from(index).unwrap_or(0);
            let block = json!({
                "type": "tool_use",
                "id": client_tool_id(id, position),
                "name": self.names.client(name),
                "input": {},
            });
            self.start_block(out, block, Open::Tool(index));
        } else if self.open != Some(Open::Tool(index)) {
            tracing::warn!(
                index,
                "a tool call fragment arrived after its block was closed; dropped"
            );
            return;
        }
        if let Some(fragment) = function
            .get("arguments")
            .and_then(Value::as_str)
            .filter(|f| !f.is_empty())
        {
            self.delta(
                out,
                json!({"type": "input_json_delta", "partial_json": fragment}),
            );
        }
    }

    /// Makes `kind` the open block, closing another one first.
    fn open(&mut self, out: &mut Vec<u8>, kind: Open) {
        if self.open == Some(kind) {
            return;
        }
        self.close(out);
        let block = match kind {
            Open::Text => json!({"type": "text", "text": ""}),
            Open::Thinking(_) => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Open::Cited(_) | Open::Tool(_) | Open::Redacted => return,
        };
        self.start_block(out, block, kind);
    }

    fn start_block(&mut self, out: &mut Vec<u8>, block: Value, kind: Open) {
        let start = json!({"type": "content_block_start", "index": self.next_block, "content_block": block});
        event(out, "content_block_start", &start);
        self.open = Some(kind);
    }

    fn delta(&self, out: &mut Vec<u8>, delta: Value) {
        let body = json!({"type": "content_block_delta", "index": self.next_block, "delta": delta});
        event(out, "content_block_delta", &body);
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open.is_some() {
            self.close_block(out);
        }
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        let stop = json!({"type": "content_block_stop", "index": self.next_block});
        event(out, "content_block_stop", &stop);
        self.open = None;
        self.next_block += 1;
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start(out, &Value::Null);
        self.close(out);
        let mut delta = json!({
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": self.stop_sequence},
            "usage": usage(self.usage.as_ref()),
        });
        if let (Some(routing), Some(object)) = (self.routing.take(), delta.as_object_mut()) {
            object.insert("routing".to_owned(), routing);
        }
        event(out, "message_delta", &delta);
        event(out, "message_stop", &json!({"type": "message_stop"}));
        self.ended = true;
    }

    fn fail(&mut self, out: &mut Vec<u8>, status: u16, message: &str) {
        event(out, "error", &error::body(status, message));
        self.ended = true;
    }
}

/// Appends one named server-sent event.
fn event(out: &mut Vec<u8>, name: &str, data: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `(event name, data)` pairs of transcoded output.
    fn events(bytes: &[u8]) -> Vec<(String, Value)> {
        let text = String::from_utf8_lossy(bytes);
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                let (name, data) = e.split_once('\n').expect("two lines");
                let name = name.strip_prefix("event: ").expect("event line").to_owned();
                let data = data.strip_prefix("data: ").expect("data line");
                (name, serde_json::from_str(data).expect("JSON"))
            })
            .collect()
    }

    fn run(chunks: &[Value]) -> Vec<(String, Value)> {
        let mut transcoder = Transcoder::new(ToolNames::default(), "m".to_owned());
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(transcoder.data(&chunk.to_string()));
        }
        out.extend(transcoder.data("[DONE]"));
        out.extend(transcoder.end());
        events(&out)
    }

    #[test]
    fn thinking_text_and_tool_use_become_blocks_in_order() {
        let delta = |delta: Value| json!({"id": "gen-1", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
        let events = run(&[
            delta(
                json!({"role": "assistant", "reasoning": "hm", "reasoning_details": [{"type": "reasoning.text", "text": "hm", "index": 0}]}),
            ),
            delta(
                json!({"reasoning_details": [{"type": "reasoning.text", "signature": "sig", "index": 0}]}),
            ),
            delta(json!({"content": "Hi"})),
            delta(
                json!({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]}),
            ),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]})),
            json!({"id": "gen-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls", "native_finish_reason": "tool_use"}]}),
            json!({"id": "gen-1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}),
        ]);
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "ping",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
            ]
        );
        assert_eq!(
            events[4].1["delta"],
            json!({"type": "signature_delta", "signature": "sig"})
        );
        assert_eq!(events[6].1["index"], 1);
        assert_eq!(events[9].1["content_block"]["id"], "call_1");
        assert_eq!(events[10].1["delta"]["partial_json"], "{\"a\":");
        assert_eq!(events[13].1["delta"]["stop_reason"], "tool_use");
        assert_eq!(events[13].1["usage"]["input_tokens"], 5);
        assert_eq!(events[13].1["usage"]["output_tokens"], 3);
    }

    #[test]
    fn cited_blocks_open_with_empty_citations_then_cite_then_write_their_text() {
        let delta = |delta: Value| json!({"id": "gen-1", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
        let citation =
            |n: u64| json!({"type": "char_location", "cited_text": "c", "start_char_index": n});
        let events = run(&[
            delta(json!({"role": "assistant", "content": "Per the docs, "})),
            delta(json!({"text_citations": [{"start": 14, "citations": []}]})),
            delta(json!({"text_citations": [{"start": 14, "citations": [citation(0)]}]})),
            delta(json!({"text_citations": [{"start": 14, "citations": [citation(1)]}]})),
            delta(json!({"content": "grass"})),
            delta(json!({"content": " is green"})),
            delta(json!({"text_citations": [{"start": 14, "end": 28, "citations": []}]})),
            delta(json!({"text_citations": [{"start": 14, "end": 28, "citations": []}]})),
            delta(json!({"content": "."})),
            json!({"id": "gen-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        ]);
        let shown: Vec<(String, Value)> = events
            .iter()
            .filter(|(name, _)| name.starts_with("content_block"))
            .map(|(name, data)| {
                let detail = match name.as_str() {
                    "content_block_start" => data["content_block"].clone(),
                    "content_block_delta" => data["delta"].clone(),
                    _ => Value::Null,
                };
                assert!(data["index"].is_u64());
                (format!("{name}@{}", data["index"]), detail)
            })
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "content_block_start@0".to_owned(),
                    json!({"type": "text", "text": ""})
                ),
                (
                    "content_block_delta@0".to_owned(),
                    json!({"type": "text_delta", "text": "Per the docs, "})
                ),
                ("content_block_stop@0".to_owned(), Value::Null),
                (
                    "content_block_start@1".to_owned(),
                    json!({"type": "text", "text": "", "citations": []})
                ),
                (
                    "content_block_delta@1".to_owned(),
                    json!({"type": "citations_delta", "citation": citation(0)})
                ),
                (
                    "content_block_delta@1".to_owned(),
                    json!({"type": "citations_delta", "citation": citation(1)})
                ),
                (
                    "content_block_delta@1".to_owned(),
                    json!({"type": "text_delta", "text": "grass"})
                ),
                (
                    "content_block_delta@1".to_owned(),
                    json!({"type": "text_delta", "text": " is green"})
                ),
                ("content_block_stop@1".to_owned(), Value::Null),
                (
                    "content_block_start@2".to_owned(),
                    json!({"type": "text", "text": ""})
                ),
                (
                    "content_block_delta@2".to_owned(),
                    json!({"type": "text_delta", "text": "."})
                ),
                ("content_block_stop@2".to_owned(), Value::Null),
            ]
        );
    }

    #[test]
    fn an_error_chunk_or_a_cut_stream_ends_with_an_error_event() {
        let mut transcoder = Transcoder::new(ToolNames::default(), "m".to_owned());
        let mut out = transcoder.data(
            &json!({"id": "g", "choices": [{"index": 0, "delta": {"content": "x"}}]}).to_string(),
        );
        out.extend(
            transcoder.data(
                &json!({"id": "g", "error": {"code": 502, "message": "boom"}, "choices": []})
                    .to_string(),
            ),
        );
        out.extend(transcoder.end());
        let received = events(&out);
        let (name, data) = received.last().expect("events");
        assert_eq!(name, "error");
        assert_eq!(
            data["error"],
            json!({"type": "api_error", "message": "boom"})
        );
        assert_eq!(received.iter().filter(|(n, _)| n == "error").count(), 1);

        let mut transcoder = Transcoder::new(ToolNames::default(), "m".to_owned());
        transcoder.data(
            &json!({"id": "g", "choices": [{"index": 0, "delta": {"content": "x"}}]}).to_string(),
        );
        let events_after_cut = events(&transcoder.end());
        assert_eq!(events_after_cut[0].0, "error");
    }
}
