//! A stream of canonical chat chunks (server-sent events as the gateway relays them) rewritten
//! as the Responses API's event sequence: `response.created`, `response.in_progress`, output
//! items with their parts and deltas, then `response.completed`, `response.incomplete` or
//! `response.failed`. Every event carries a `sequence_number`.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_sdk::responses::{InputItem, OutputItem, RESPONSES_EXTENSION};

use super::output::{
    Identity, Reasoning, Status, annotations, function_call_item, output_text, reasoning_item,
    response,
};
use super::request::Echo;

/// The text item being streamed, if any.
#[derive(Debug)]
enum OpenText {
    Reasoning {
        index: usize,
        id: String,
        reasoning: Reasoning,
    },
    Message {
        index: usize,
        id: String,
        text: String,
        /// Its `url_citation` annotations so far, in the Responses API's shape.
        annotations: Vec<Value>,
    },
}

/// One streamed function call.
#[derive(Debug)]
struct Call {
    /// The chat `tool_calls[].index`.
    chat_index: u64,
    index: usize,
    id: String,
    call_id: String,
    name: String,
    arguments: String,
    done: bool,
}

/// Rewrites one stream; feed it every chat event's `data`, then call [`Translator::end`].
#[derive(Debug)]
pub struct Translator {
    echo: Echo,
    identity: Identity,
    sequence: u64,
    started: bool,
    finished: bool,
    /// Finished output items, by output index.
    output: Vec<Option<Value>>,
    open: Option<OpenText>,
    calls: Vec<Call>,
    usage: Option<Value>,
    finish_reason: Option<String>,
    routing: Option<Value>,
    /// The upstream's id for the next function call item, from its marker.
    next_call_id: Option<String>,
}

impl Translator {
    /// A translator for a request that echoed `echo`.
    pub fn new(echo: Echo) -> Translator {
        Translator {
            echo,
            identity: Identity::default(),
            sequence: 0,
            started: false,
            finished: false,
            output: Vec::new(),
            open: None,
            calls: Vec::new(),
            usage: None,
            finish_reason: None,
            routing: None,
            next_call_id: None,
        }
    }

    /// Translates one chat event's data (a chunk, or `[DONE]`) into zero or more Responses
    /// events, encoded as server-sent events.
    pub fn push(&mut self, data: &str) -> Vec<u8> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        if data.trim() == "[DONE]" {
            self.complete(&mut out);
            return out;
        }
        let Ok(Value::Object(chunk)) = serde_json::from_str::<Value>(data) else {
            self.fail(
                &mut out,
                "server_error",
                "the gateway relayed an invalid chunk",
            );
            return out;
        };
        self.start(&chunk, &mut out);
        if let Some(error) = chunk.get("error") {
            let code = match error.get("code").and_then(Value::as_u64) {
                Some(429) => "rate_limit_exceeded",
                _ => "server_error",
            };
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the upstream stream failed");
            self.fail(&mut out, code, message);
            return out;
        }
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(usage.clone());
        }
        if let Some(routing) = chunk.get("routing") {
            self.routing = Some(routing.clone());
        }
        if let Some(marker) = chunk.get(RESPONSES_EXTENSION) {
            self.marker(marker, &mut out);
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        for choice in choices.into_iter().flatten() {
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_owned());
            }
            let Some(delta) = choice.get("delta").and_then(Value::as_object) else {
                continue;
            };
            self.delta(delta, &mut out);
        }
        out
    }

    /// The relayed stream ended; fails the response when it ended before `[DONE]`.
    pub fn end(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.finished {
            self.fail(
                &mut out,
                "server_error",
                "the stream ended before the response completed",
            );
        }
        out
    }

    fn start(&mut self, chunk: &Map<String, Value>, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.identity = Identity::from_chat(chunk);
        let snapshot = response(&self.identity, &self.echo, "in_progress", Vec::new(), None);
        self.emit(out, "response.created", json!({ "response": snapshot }));
        self.emit(out, "response.in_progress", json!({ "response": snapshot }));
    }

    /// An upstream's own output item starting (`added`) or complete (`done`), from a Responses
    /// upstream: its id names the item from the start, and at the end the item itself (checked
    /// against the allow-list) stands in for the one rebuilt from the chunks, so a streamed
    /// answer keeps the upstream's ids, phases and several messages. An item the allow-list
    /// refuses changes nothing.
    ///
    /// A built-in tool's item (code interpreter, file search...: only an endpoint the operator
    /// opted into the tool makes one) goes out whole when it is complete.
    fn marker(&mut self, marker: &Value, out: &mut Vec<u8>) {
        let allowed = |stage: &str| {
            let item = OutputItem::deserialize(marker.get(stage)?).ok()?;
            let value = serde_json::to_value(&item).ok()?;
            Some((item, value))
        };
        if let Some((OutputItem::Item(item), value)) = allowed("added") {
            self.item_added(item, value, out);
        }
        match allowed("done") {
            Some((OutputItem::Item(item), value)) => self.item_done(item, value, out),
            Some((OutputItem::Builtin(_), value)) => self.whole_item(value, out),
            None => {}
        }
    }

    /// Opens the upstream's item `value` under its own id (a function call's id names the next
    /// call that starts).
    fn item_added(&mut self, item: InputItem, value: Value, out: &mut Vec<u8>) {
        match item {
            InputItem::Message(message) => {
                self.close_text(out, None);
                let id = message
                    .id
                    .unwrap_or_else(|| self.identity.item_id("msg", self.output.len()));
                self.open_message(id, value, out);
            }
            InputItem::Reasoning(reasoning) => {
                self.close_text(out, None);
                let id = reasoning
                    .id
                    .unwrap_or_else(|| self.identity.item_id("rs", self.output.len()));
                self.open_reasoning(id, value, out);
            }
            InputItem::FunctionCall(call) => self.next_call_id = call.id,
            InputItem::FunctionCallOutput(_) => {}
        }
    }

    /// Finishes the open item of the same kind as the upstream's `value`, as `value`; an item
    /// with nothing streamed (a refusal-only message, say) is added and finished at once.
    fn item_done(&mut self, item: InputItem, value: Value, out: &mut Vec<u8>) {
        match (&item, &self.open) {
            (InputItem::Message(_), Some(OpenText::Message { .. }))
            | (InputItem::Reasoning(_), Some(OpenText::Reasoning { .. })) => {
                return self.close_text(out, Some(value));
            }
            (InputItem::FunctionCall(call), _) => {
                let open = |c: &Call| c.call_id == call.call_id && !c.done;
                if let Some(position) = self.calls.iter().position(open) {
                    return self.close_call(position, out, Some(value));
                }
            }
            (InputItem::FunctionCallOutput(_), _) => return,
            _ => {}
        }
        self.whole_item(value, out);
    }

    /// Adds and finishes the upstream's item `value` at once, after the open text.
    fn whole_item(&mut self, value: Value, out: &mut Vec<u8>) {
        self.close_text(out, None);
        let index = self.next_index();
        self.emit(
            out,
            "response.output_item.added",
            json!({ "output_index": index, "item": value }),
        );
        self.finish_item(out, index, value);
    }

    fn delta(&mut self, delta: &Map<String, Value>, out: &mut Vec<u8>) {
        let mut reasoning = Reasoning::default();
        let (mut text, summaries) = match delta.get("reasoning_details") {
            Some(details) => reasoning.add_details(details),
            None => (String::new(), Vec::new()),
        };
        if text.is_empty()
            && let Some(plain) = delta.get("reasoning").and_then(Value::as_str)
        {
            text = plain.to_owned();
        }
        if !text.is_empty() || !summaries.is_empty() || reasoning.encrypted.is_some() {
            self.reasoning_delta(&text, &summaries, reasoning.encrypted, out);
        }
        if let Some(content) = delta.get("content").and_then(Value::as_str)
            && !content.is_empty()
        {
            self.text_delta(content, out);
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                self.call_delta(call, out);
            }
        }
        for annotation in annotations(delta.get("annotations")) {
            self.annotation(annotation, out);
        }
    }

    /// A cited web page of the message's text (the chat delta that ends the cited text carries
    /// it): `response.output_text.annotation.added`, and kept for the finished part.
    fn annotation(&mut self, annotation: Value, out: &mut Vec<u8>) {
        let Some(OpenText::Message {
            index,
            id,
            annotations,
            ..
        }) = &mut self.open
        else {
            return;
        };
        let event = json!({ "item_id": id, "output_index": index, "content_index": 0,
            "annotation_index": annotations.len(), "annotation": annotation });
        annotations.push(annotation);
        self.emit(out, "response.output_text.annotation.added", event);
    }

    fn reasoning_delta(
        &mut self,
        text: &str,
        summaries: &[String],
        encrypted: Option<String>,
        out: &mut Vec<u8>,
    ) {
        if !matches!(self.open, Some(OpenText::Reasoning { .. })) {
            self.close_text(out, None);
            let id = self.identity.item_id("rs", self.output.len());
            let item = reasoning_item(&id, &Reasoning::default());
            self.open_reasoning(id, item, out);
        }
        let Some(OpenText::Reasoning {
            index,
            id,
            reasoning,
        }) = &mut self.open
        else {
            return;
        };
        let (index, id) = (*index, id.clone());
        let mut events = Vec::new();
        if !text.is_empty() {
            reasoning.text.push_str(text);
            events.push((
                "response.reasoning_text.delta",
                json!({ "item_id": id, "output_index": index, "content_index": 0, "delta": text }),
            ));
        }
        for summary in summaries {
            let summary_index = reasoning.summaries.len();
            reasoning.summaries.push(summary.clone());
            let part = json!({ "type": "summary_text", "text": summary });
            let at =
                json!({ "item_id": id, "output_index": index, "summary_index": summary_index });
            events.push((
                "response.reasoning_summary_part.added",
                with(&at, "part", json!({ "type": "summary_text", "text": "" })),
            ));
            events.push((
                "response.reasoning_summary_text.delta",
                with(&at, "delta", json!(summary)),
            ));
            events.push((
                "response.reasoning_summary_text.done",
                with(&at, "text", json!(summary)),
            ));
            events.push((
                "response.reasoning_summary_part.done",
                with(&at, "part", part),
            ));
        }
        if encrypted.is_some() {
            reasoning.encrypted = encrypted;
        }
        for (kind, event) in events {
            self.emit(out, kind, event);
        }
    }

    /// Starts reasoning item `item` (whose id is `id`).
    fn open_reasoning(&mut self, id: String, item: Value, out: &mut Vec<u8>) {
        let index = self.next_index();
        self.emit(
            out,
            "response.output_item.added",
            json!({ "output_index": index, "item": item }),
        );
        self.open = Some(OpenText::Reasoning {
            index,
            id,
            reasoning: Reasoning::default(),
        });
    }

    /// Starts message item `item` (whose id is `id`) and its text part.
    fn open_message(&mut self, id: String, item: Value, out: &mut Vec<u8>) {
        let index = self.next_index();
        self.emit(
            out,
            "response.output_item.added",
            json!({ "output_index": index, "item": item }),
        );
        self.emit(
            out,
            "response.content_part.added",
            json!({ "item_id": id, "output_index": index, "content_index": 0, "part": output_text("") }),
        );
        self.open = Some(OpenText::Message {
            index,
            id,
            text: String::new(),
            annotations: Vec::new(),
        });
    }

    fn text_delta(&mut self, delta: &str, out: &mut Vec<u8>) {
        if !matches!(self.open, Some(OpenText::Message { .. })) {
            self.close_text(out, None);
            let id = self.identity.item_id("msg", self.output.len());
            let item = json!({ "type": "message", "id": id, "role": "assistant", "status": "in_progress", "content": [] });
            self.open_message(id, item, out);
        }
        if let Some(OpenText::Message {
            index, id, text, ..
        }) = &mut self.open
        {
            text.push_str(delta);
            let event = json!({ "item_id": id, "output_index": index, "content_index": 0, "delta": delta, "logprobs": [] });
            self.emit(out, "response.output_text.delta", event);
        }
    }

    fn call_delta(&mut self, call: &Value, out: &mut Vec<u8>) {
        let chat_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let function = call.get("function");
        let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
        let arguments = function
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let known = self
            .calls
            .iter()
            .position(|c| c.chat_index == chat_index && !c.done);
        let position = match known {
            Some(position) => position,
            None => {
                self.close_text(out, None);
                let index = self.next_index();
                let id = self
                    .next_call_id
                    .take()
                    .unwrap_or_else(|| self.identity.item_id("fc", index));
                let call_id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("call_{id}"));
                let name = name.unwrap_or_default().to_owned();
                let item = function_call_item(&id, &call_id, &name, "", "in_progress");
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({ "output_index": index, "item": item }),
                );
                self.calls.push(Call {
                    chat_index,
                    index,
                    id,
                    call_id,
                    name,
                    arguments: String::new(),
                    done: false,
                });
                self.calls.len() - 1
            }
        };
        if arguments.is_empty() {
            return;
        }
        let Some(call) = self.calls.get_mut(position) else {
            return;
        };
        call.arguments.push_str(arguments);
        let event = json!({ "item_id": call.id, "output_index": call.index, "delta": arguments });
        self.emit(out, "response.function_call_arguments.delta", event);
    }

    /// The output index of the next item.
    fn next_index(&mut self) -> usize {
        self.output.push(None);
        self.output.len() - 1
    }

    /// Finishes the open reasoning or message item; `upstream` is the item to finish it as,
    /// when the upstream sent its own.
    fn close_text(&mut self, out: &mut Vec<u8>, upstream: Option<Value>) {
        match self.open.take() {
            None => {}
            Some(OpenText::Reasoning {
                index,
                id,
                reasoning,
            }) => {
                if !reasoning.text.is_empty() {
                    let event = json!({ "item_id": id, "output_index": index, "content_index": 0, "text": reasoning.text });
                    self.emit(out, "response.reasoning_text.done", event);
                }
                let item = upstream.unwrap_or_else(|| reasoning_item(&id, &reasoning));
                self.finish_item(out, index, item);
            }
            Some(OpenText::Message {
                index,
                id,
                text,
                annotations,
            }) => {
                let at = json!({ "item_id": id, "output_index": index, "content_index": 0 });
                let mut done = with(&at, "text", json!(text));
                done["logprobs"] = json!([]);
                self.emit(out, "response.output_text.done", done);
                let mut part = output_text(&text);
                part["annotations"] = Value::Array(annotations);
                self.emit(
                    out,
                    "response.content_part.done",
                    with(&at, "part", part.clone()),
                );
                let item = upstream.unwrap_or_else(|| json!({ "type": "message", "id": id, "role": "assistant", "status": "completed", "content": [part] }));
                self.finish_item(out, index, item);
            }
        }
    }

    fn close_calls(&mut self, out: &mut Vec<u8>) {
        for position in 0..self.calls.len() {
            self.close_call(position, out, None);
        }
    }

    /// Finishes the call at `position` unless it is done; `upstream` is the item to finish it
    /// as, when the upstream sent its own.
    fn close_call(&mut self, position: usize, out: &mut Vec<u8>, upstream: Option<Value>) {
        let Some(call) = self.calls.get_mut(position).filter(|call| !call.done) else {
            return;
        };
        call.done = true;
        let (index, id) = (call.index, call.id.clone());
        let item = upstream.unwrap_or_else(|| {
            function_call_item(&id, &call.call_id, &call.name, &call.arguments, "completed")
        });
        let event = json!({ "item_id": id, "output_index": index, "name": call.name, "arguments": call.arguments });
        self.emit(out, "response.function_call_arguments.done", event);
        self.finish_item(out, index, item);
    }

    fn finish_item(&mut self, out: &mut Vec<u8>, index: usize, item: Value) {
        self.emit(
            out,
            "response.output_item.done",
            json!({ "output_index": index, "item": item }),
        );
        if let Some(slot) = self.output.get_mut(index) {
            *slot = Some(item);
        }
    }

    /// `[DONE]`: closes every item and sends the final response.
    fn complete(&mut self, out: &mut Vec<u8>) {
        self.close_text(out, None);
        self.close_calls(out);
        if self.output.is_empty() {
            // A stream without any output still answers with one (empty) message.
            let index = self.next_index();
            let id = self.identity.item_id("msg", index);
            let item = json!({ "type": "message", "id": id, "role": "assistant", "status": "completed", "content": [output_text("")] });
            self.emit(
                out,
                "response.output_item.added",
                json!({ "output_index": index, "item": item }),
            );
            self.finish_item(out, index, item);
        }
        let status = Status::from_finish_reason(self.finish_reason.as_deref());
        let output = self.output.iter().flatten().cloned().collect();
        let mut snapshot = response(
            &self.identity,
            &self.echo,
            status.as_str(),
            output,
            self.usage.as_ref(),
        );
        snapshot["incomplete_details"] = status.incomplete_details();
        if let Some(routing) = &self.routing {
            snapshot["routing"] = routing.clone();
        }
        let kind = match status {
            Status::Completed => "response.completed",
            Status::MaxOutputTokens | Status::ContentFilter => "response.incomplete",
        };
        self.emit(out, kind, json!({ "response": snapshot }));
        self.finished = true;
    }

    /// Ends the stream with `response.failed`.
    fn fail(&mut self, out: &mut Vec<u8>, code: &str, message: &str) {
        if !self.started {
            self.started = true;
            let snapshot = response(&self.identity, &self.echo, "in_progress", Vec::new(), None);
            self.emit(out, "response.created", json!({ "response": snapshot }));
        }
        let output = self.output.iter().flatten().cloned().collect();
        let mut snapshot = response(
            &self.identity,
            &self.echo,
            "failed",
            output,
            self.usage.as_ref(),
        );
        snapshot["error"] = json!({ "code": code, "message": message });
        self.emit(out, "response.failed", json!({ "response": snapshot }));
        self.finished = true;
    }

    /// Appends one event: `event: <type>` and its JSON with `type` and `sequence_number`.
    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, mut event: Value) {
        if let Some(object) = event.as_object_mut() {
            object.insert("type".to_owned(), json!(kind));
            object.insert("sequence_number".to_owned(), json!(self.sequence));
        }
        super::tools::name_back(&mut event, &self.echo.namespaces);
        self.sequence += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        // Serialising a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &event);
        out.extend_from_slice(b"\n\n");
    }
}

/// `base` with one more field.
fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut object = base.clone();
    object[key] = value;
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events' JSON payloads in order.
    fn events(bytes: &[u8]) -> Vec<Value> {
        String::from_utf8_lossy(bytes)
            .split("\n\n")
            .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
            .map(|data| serde_json::from_str(data).expect("event JSON"))
            .collect()
    }

    fn run(chunks: &[Value], done: bool) -> Vec<Value> {
        let mut translator = Translator::new(Echo::default());
        let mut bytes = Vec::new();
        for chunk in chunks {
            bytes.extend(translator.push(&chunk.to_string()));
        }
        if done {
            bytes.extend(translator.push("[DONE]"));
        }
        bytes.extend(translator.end());
        events(&bytes)
    }

    fn kinds(events: &[Value]) -> Vec<&str> {
        events.iter().filter_map(|e| e["type"].as_str()).collect()
    }

    #[test]
    fn an_upstreams_two_messages_stay_two_with_their_ids_and_phases() {
        let head = json!({"id": "gen-1-x", "created": 3, "model": "a/b", "provider": "p"});
        let text = |content: &str| {
            let mut chunk = head.clone();
            chunk["choices"] = json!([{"index": 0, "delta": {"content": content}}]);
            chunk
        };
        let marker = |stage: &str, item: Value| {
            let mut chunk = head.clone();
            chunk["choices"] = json!([]);
            chunk["openai_responses"] = json!({ stage: item });
            chunk
        };
        let message = |id: &str, phase: &str, text: &str, status: &str| {
            let content = if text.is_empty() {
                json!([])
            } else {
                json!([{"type": "output_text", "text": text, "annotations": []}])
            };
            json!({"type": "message", "id": id, "role": "assistant", "phase": phase,
                   "status": status, "content": content})
        };
        let events = run(
            &[
                marker("added", message("msg_a", "commentary", "", "in_progress")),
                text("Checking."),
                marker(
                    "done",
                    message("msg_a", "commentary", "Checking.", "completed"),
                ),
                marker("added", message("msg_b", "final_answer", "", "in_progress")),
                text("Done."),
                marker(
                    "done",
                    message("msg_b", "final_answer", "Done.", "completed"),
                ),
                // A built-in tool's item is not allowed through: it changes nothing.
                marker("done", json!({"type": "web_search_call", "id": "ws_1"})),
            ],
            true,
        );
        let items = |kind: &str| -> Vec<Value> {
            events
                .iter()
                .filter(|e| e["type"] == kind)
                .map(|e| e["item"].clone())
                .collect()
        };
        assert_eq!(
            items("response.output_item.done"),
            [
                message("msg_a", "commentary", "Checking.", "completed"),
                message("msg_b", "final_answer", "Done.", "completed")
            ]
        );
        let added: Vec<Value> = items("response.output_item.added")
            .iter()
            .map(|item| item["id"].clone())
            .collect();
        assert_eq!(added, [json!("msg_a"), json!("msg_b")]);
        let deltas: Vec<&Value> = events
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .map(|e| &e["item_id"])
            .collect();
        assert_eq!(deltas, [&json!("msg_a"), &json!("msg_b")]);
        let completed = events.last().expect("a final event");
        assert_eq!(completed["type"], "response.completed");
        assert_eq!(
            completed["response"]["output"],
            json!(items("response.output_item.done"))
        );
    }

    #[test]
    fn text_then_a_tool_call_follows_the_documented_sequence() {
        let head = json!({"id": "gen-1-x", "created": 3, "model": "a/b", "provider": "p"});
        let chunk = |delta: Value, finish: Value| {
            let mut chunk = head.clone();
            chunk["choices"] = json!([{"index": 0, "delta": delta, "finish_reason": finish}]);
            chunk
        };
        let events = run(
            &[
                chunk(json!({"role": "assistant", "reasoning": "hm"}), Value::Null),
                chunk(json!({"content": "Hel"}), Value::Null),
                chunk(json!({"content": "lo"}), Value::Null),
                chunk(
                    json!({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{\"a\""}}]}),
                    Value::Null,
                ),
                chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}),
                    json!("tool_calls"),
                ),
                json!({"id": "gen-1-x", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "cost": 1}}),
            ],
            true,
        );
        assert_eq!(
            kinds(&events),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_text.delta",
                "response.reasoning_text.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (number, event) in events.iter().enumerate() {
            assert_eq!(event["sequence_number"], number as u64);
        }
        let last = &events[events.len() - 1]["response"];
        assert_eq!(last["status"], "completed");
        assert_eq!(last["output"][1]["content"][0]["text"], "Hello");
        assert_eq!(last["output"][2]["arguments"], "{\"a\":1}");
        assert_eq!(last["usage"]["total_tokens"], 7);
    }

    #[test]
    fn an_error_chunk_or_a_cut_stream_fails_the_response() {
        let text = json!({"id": "gen-2", "choices": [{"index": 0, "delta": {"content": "x"}}]});
        let error = json!({"id": "gen-2", "error": {"code": 502, "message": "upstream broke"}, "choices": []});
        let failed = run(&[text.clone(), error], false);
        let last = failed.last().expect("events");
        assert_eq!(last["type"], "response.failed");
        assert_eq!(last["response"]["error"]["message"], "upstream broke");
        assert_eq!(
            run(&[text], false).last().expect("events")["type"],
            "response.failed"
        );
    }

    #[test]
    fn a_length_finish_is_incomplete() {
        let chunk = json!({"id": "gen-3", "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "length"}]});
        let events = run(&[chunk], true);
        let last = events.last().expect("events");
        assert_eq!(last["type"], "response.incomplete");
        assert_eq!(
            last["response"]["incomplete_details"]["reason"],
            "max_output_tokens"
        );
    }
}
