//! Pieces of the OpenAI ↔ provider translation that adapters share: tool definitions and
//! `tool_choice`, tool-call arguments, Anthropic-style thinking budgets, the canonical
//! completion body, and a [`ChunkWriter`] that puts `role: assistant` on a stream's first
//! chunk.

use serde_json::{Map, Value};

use crate::openai::{
    ChatChunk, ChatCompletion, ChatRequest, Choice, Delta, FunctionCallDelta, Message,
    ReasoningDetail, ResponseMessage, ToolCall, ToolCallDelta,
};
use crate::provider::{Finish, PluginError, StreamOutput};

/// A parsed OpenAI `tool_choice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// `"auto"`: the model decides.
    Auto,
    /// `"none"`: no tool calls.
    None,
    /// `"required"`: at least one tool call.
    Required,
    /// `{"type": "function", "function": {"name": ...}}`: this tool.
    Named(String),
}

/// The request's `tool_choice`, if it sets one; an invalid-request error for anything else.
pub fn tool_choice(request: &ChatRequest) -> Result<Option<ToolChoice>, PluginError> {
    Ok(Some(match &request.tool_choice {
        None => return Ok(None),
        Some(Value::String(choice)) => match choice.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => {
                return Err(PluginError::InvalidRequest(format!(
                    "unknown tool_choice `{other}`"
                )));
            }
        },
        Some(named) => match named
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
        {
            Some(name) => ToolChoice::Named(name.to_owned()),
            None => {
                return Err(PluginError::InvalidRequest(
                    "tool_choice must be auto, none, required or name a function".to_owned(),
                ));
            }
        },
    }))
}

/// One function tool as most providers describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec<'a> {
    /// The function name.
    pub name: &'a str,
    /// Its description, when the client gave one.
    pub description: Option<&'a str>,
    /// The JSON schema of its parameters (an empty object schema when it has none).
    pub schema: Value,
}

/// The request's function tools (none when it has no `tools`); a tool of another type is an
/// invalid request naming `adapter`.
pub fn function_tools<'a>(
    request: &'a ChatRequest,
    adapter: &str,
) -> Result<Vec<FunctionSpec<'a>>, PluginError> {
    let mut specs = Vec::new();
    for tool in request.tools.iter().flatten() {
        if tool.kind != "function" {
            return Err(PluginError::InvalidRequest(format!(
                "tool type `{}` is not supported by the {adapter} adapter",
                tool.kind
            )));
        }
        specs.push(FunctionSpec {
            name: &tool.function.name,
            description: tool.function.description.as_deref(),
            schema: tool
                .function
                .parameters
                .clone()
                .filter(Value::is_object)
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
        });
    }
    Ok(specs)
}

/// An assistant tool call's JSON argument string as the object providers take as input (`{}`
/// when empty); anything else is an invalid request.
pub fn tool_call_input(call: &ToolCall) -> Result<Value, PluginError> {
    let arguments = call.function.arguments.trim();
    let input = if arguments.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str::<Value>(arguments).map_err(|e| {
            PluginError::InvalidRequest(format!(
                "tool call `{}` has arguments that are not JSON: {e}",
                call.id
            ))
        })?
    };
    if !input.is_object() {
        return Err(PluginError::InvalidRequest(format!(
            "tool call `{}` has arguments that are not a JSON object",
            call.id
        )));
    }
    Ok(input)
}

/// A tool message's call id and text (its parts joined); an invalid request without the id.
pub fn tool_result(message: &Message) -> Result<(&str, String), PluginError> {
    let id = message.tool_call_id.as_deref().ok_or_else(|| {
        PluginError::InvalidRequest("a tool message has no tool_call_id".to_owned())
    })?;
    let text = message
        .content
        .as_ref()
        .map(crate::openai::Content::text)
        .unwrap_or_default();
    Ok((id, text))
}

/// A provider's tool call as a canonical one: `input` (an object, `{}` when absent) becomes the
/// compact JSON `arguments` string.
pub fn tool_call(id: &str, name: &str, input: Option<&Value>) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        kind: "function".to_owned(),
        function: crate::openai::FunctionCall {
            name: name.to_owned(),
            arguments: input
                .map(Value::to_string)
                .unwrap_or_else(|| "{}".to_owned()),
        },
    }
}

/// OpenRouter's `reasoning` object of a request, or one made of OpenAI's `reasoning_effort`
/// (`{"effort": ...}`) when only that is set.
pub fn reasoning_object(request: &ChatRequest) -> Option<std::borrow::Cow<'_, Value>> {
    if let Some(reasoning) = request.extra.get("reasoning").filter(|r| r.is_object()) {
        return Some(std::borrow::Cow::Borrowed(reasoning));
    }
    let effort = request
        .extra
        .get("reasoning_effort")
        .and_then(Value::as_str)?;
    Some(std::borrow::Cow::Owned(
        serde_json::json!({ "effort": effort }),
    ))
}

/// Smallest thinking budget Anthropic models accept.
pub const MIN_THINKING_BUDGET: u64 = 1024;

/// The Anthropic-style thinking budget for OpenRouter's `reasoning` object: `reasoning.max_tokens`,
/// or a share of `max_tokens` by `effort` (xhigh and max 95 %, high 80 %, medium 50 %, low 20 %,
/// minimal 10 %), kept
/// below `max_tokens`. `None` when the request has no `reasoning`, disables it (`enabled:
/// false`, effort `none`), or the budget is under [`MIN_THINKING_BUDGET`].
pub fn thinking_budget(request: &ChatRequest, max_tokens: u64) -> Option<u64> {
    let reasoning = reasoning_object(request)?;
    if reasoning.get("enabled").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let share = |percent: u64| max_tokens.saturating_mul(percent) / 100;
    let budget = match (
        reasoning.get("max_tokens").and_then(Value::as_u64),
        reasoning.get("effort").and_then(Value::as_str),
    ) {
        (Some(budget), _) => budget,
        (None, Some("xhigh" | "max")) => share(95),
        (None, Some("high")) => share(80),
        (None, Some("low")) => share(20),
        (None, Some("minimal")) => share(10),
        (None, Some("none")) => return None,
        (None, _) => share(50),
    }
    .min(max_tokens.saturating_sub(1));
    (budget >= MIN_THINKING_BUDGET).then_some(budget)
}

/// The canonical `chat.completion` body of one assistant `message` with the upstream's `id` and
/// `model` (the host overwrites both). The role is `assistant`; `content` is `""` when the
/// message has neither text nor tool calls; empty tool calls and reasoning details are left out.
pub fn completion_body(
    id: &str,
    model: &str,
    message: ResponseMessage,
    finish: Option<&Finish>,
) -> Result<Vec<u8>, PluginError> {
    completion_body_with(id, model, message, finish, Map::new())
}

/// [`completion_body`] with top-level fields the canonical completion does not name (such as
/// the Responses extension's output items).
pub fn completion_body_with(
    id: &str,
    model: &str,
    mut message: ResponseMessage,
    finish: Option<&Finish>,
    extra: Map<String, Value>,
) -> Result<Vec<u8>, PluginError> {
    message.role = "assistant".to_owned();
    message.tool_calls = message.tool_calls.filter(|calls| !calls.is_empty());
    message.reasoning_details = message.reasoning_details.filter(|d| !d.is_empty());
    if message.content.is_none() && message.tool_calls.is_none() {
        message.content = Some(String::new());
    }
    let completion = ChatCompletion {
        id: id.to_owned(),
        object: "chat.completion".to_owned(),
        created: 0,
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: finish.map(|finish| finish.reason.as_openai().to_owned()),
            native_finish_reason: finish.map(|finish| finish.native.clone()),
        }],
        usage: None,
        extra,
    };
    serde_json::to_vec(&completion)
        .map_err(|e| PluginError::Internal(format!("cannot serialise the response: {e}")))
}

/// The `reasoning_details` a client sent back in an assistant message, with streamed pieces of
/// one entry (same type and `index`) joined: texts concatenated, the signature or data kept.
/// Entries that are not reasoning details are skipped.
pub fn reasoning_details(message: &Message) -> Vec<ReasoningDetail> {
    let entries = message
        .extra
        .get("reasoning_details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| serde_json::from_value::<ReasoningDetail>(entry.clone()).ok());
    let mut merged: Vec<ReasoningDetail> = Vec::new();
    for entry in entries {
        match merged.last_mut() {
            Some(last)
                if last.kind == entry.kind && last.index.is_some() && last.index == entry.index =>
            {
                if let Some(text) = entry.text {
                    last.text.get_or_insert_with(String::new).push_str(&text);
                }
                if let Some(summary) = entry.summary {
                    last.summary
                        .get_or_insert_with(String::new)
                        .push_str(&summary);
                }
                last.signature = entry.signature.or(last.signature.take());
                last.data = entry.data.or(last.data.take());
            }
            _ => merged.push(entry),
        }
    }
    merged
}

/// Writes a stream's chunks: the first one carries `role: assistant`, every one this stream's
/// `id` and `model` (which the host overwrites, but a decoder test can check).
#[derive(Debug, Default)]
pub struct ChunkWriter {
    /// The upstream's message id, once known.
    pub id: String,
    /// The upstream's model, once known.
    pub model: String,
    sent_role: bool,
}

impl ChunkWriter {
    /// One chunk carrying `delta`.
    pub fn delta(&mut self, delta: Delta) -> StreamOutput {
        StreamOutput {
            chunks: vec![self.chunk(delta).to_bytes()],
            ..StreamOutput::empty()
        }
    }

    /// A text (or, with `reasoning`, a reasoning) fragment; nothing for an empty one.
    pub fn text(&mut self, text: &str, reasoning: bool) -> StreamOutput {
        if text.is_empty() {
            return StreamOutput::empty();
        }
        let text = Some(text.to_owned());
        self.delta(if reasoning {
            Delta {
                reasoning: text,
                ..Delta::default()
            }
        } else {
            Delta {
                content: text,
                ..Delta::default()
            }
        })
    }

    /// A piece of a reasoning detail; its text (if any) is also the delta's `reasoning`.
    /// Nothing for a piece without text, signature or data.
    pub fn reasoning_detail(&mut self, detail: ReasoningDetail) -> StreamOutput {
        let text = detail.text.clone().filter(|text| !text.is_empty());
        if text.is_none() && detail.signature.is_none() && detail.data.is_none() {
            return StreamOutput::empty();
        }
        self.delta(Delta {
            reasoning: text,
            reasoning_details: Some(vec![detail]),
            ..Delta::default()
        })
    }

    /// The start of tool call `index`: its id, name and empty arguments.
    pub fn tool_call_start(
        &mut self,
        index: u32,
        id: Option<String>,
        name: Option<String>,
    ) -> StreamOutput {
        self.tool_call_delta(ToolCallDelta {
            index,
            id,
            kind: Some("function".to_owned()),
            function: FunctionCallDelta {
                name,
                arguments: Some(String::new()),
            },
        })
    }

    /// A fragment of tool call `index`'s arguments; nothing for an empty one.
    pub fn tool_call_arguments(&mut self, index: u32, fragment: &str) -> StreamOutput {
        if fragment.is_empty() {
            return StreamOutput::empty();
        }
        self.tool_call_delta(ToolCallDelta {
            index,
            id: None,
            kind: None,
            function: FunctionCallDelta {
                name: None,
                arguments: Some(fragment.to_owned()),
            },
        })
    }

    fn tool_call_delta(&mut self, call: ToolCallDelta) -> StreamOutput {
        self.delta(Delta {
            tool_calls: Some(vec![call]),
            ..Delta::default()
        })
    }

    /// The chunk carrying `finish` (normalised and native), with `finish` reported.
    pub fn finish(&mut self, finish: Finish) -> StreamOutput {
        let mut chunk = self.chunk(Delta::default());
        for choice in &mut chunk.choices {
            choice.finish_reason = Some(finish.reason.as_openai().to_owned());
            choice.native_finish_reason = Some(finish.native.clone());
        }
        StreamOutput {
            chunks: vec![chunk.to_bytes()],
            finish: Some(finish),
            ..StreamOutput::empty()
        }
    }

    /// A chunk with no choices that carries one top-level field the canonical chunk does not
    /// name (such as the Responses extension's item markers), as JSON bytes.
    pub fn carrier(&self, field: &str, value: Value) -> Vec<u8> {
        let mut chunk = Map::new();
        chunk.insert("id".to_owned(), Value::String(self.id.clone()));
        chunk.insert(
            "object".to_owned(),
            Value::String("chat.completion.chunk".to_owned()),
        );
        chunk.insert("created".to_owned(), Value::from(0));
        chunk.insert("model".to_owned(), Value::String(self.model.clone()));
        chunk.insert("choices".to_owned(), Value::Array(Vec::new()));
        chunk.insert(field.to_owned(), value);
        serde_json::to_vec(&chunk).unwrap_or_default()
    }

    fn chunk(&mut self, mut delta: Delta) -> ChatChunk {
        if !self.sent_role {
            delta.role = Some("assistant".to_owned());
            self.sent_role = true;
        }
        ChatChunk::new(&self.id, 0, &self.model, delta)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(extra: Value) -> ChatRequest {
        let mut value = json!({"model": "m", "messages": []});
        if let (Some(object), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            object.extend(extra.clone());
        }
        serde_json::from_value(value).unwrap_or_else(|e| panic!("a request: {e}"))
    }

    #[test]
    fn tool_choices_parse_and_bad_ones_are_invalid() {
        let choice = |value: Value| tool_choice(&request(json!({"tool_choice": value}))).ok();
        assert_eq!(choice(json!("auto")), Some(Some(ToolChoice::Auto)));
        assert_eq!(choice(json!("required")), Some(Some(ToolChoice::Required)));
        assert_eq!(
            choice(json!({"type": "function", "function": {"name": "f"}})),
            Some(Some(ToolChoice::Named("f".into())))
        );
        assert_eq!(choice(json!("sometimes")), None);
        assert_eq!(choice(json!({"type": "function"})), None);
        assert_eq!(tool_choice(&request(json!({}))).ok(), Some(None));
    }

    #[test]
    fn thinking_budgets_follow_effort_and_stay_below_the_limit() {
        let budget =
            |reasoning: Value, max| thinking_budget(&request(json!({"reasoning": reasoning})), max);
        assert_eq!(budget(json!({"effort": "high"}), 4000), Some(3200));
        // The efforts above `high` never get less than `high`.
        assert_eq!(budget(json!({"effort": "xhigh"}), 4000), Some(3800));
        assert_eq!(budget(json!({"effort": "max"}), 4000), Some(3800));
        assert_eq!(budget(json!({}), 4000), Some(2000));
        assert_eq!(budget(json!({"max_tokens": 9000}), 4000), Some(3999));
        assert_eq!(budget(json!({"effort": "minimal"}), 4000), None);
        assert_eq!(budget(json!({"enabled": false}), 4000), None);
        assert_eq!(thinking_budget(&request(json!({})), 4000), None);
    }

    #[test]
    fn streamed_reasoning_details_sent_back_are_joined_by_index() {
        let message: Message = serde_json::from_value(json!({
            "role": "assistant",
            "content": "hi",
            "reasoning_details": [
                {"type": "reasoning.text", "text": "Let me ", "index": 0},
                {"type": "reasoning.text", "text": "think.", "index": 0},
                {"type": "reasoning.text", "signature": "sig", "index": 0},
                {"type": "reasoning.encrypted", "data": "opaque", "index": 1},
                "not a detail"
            ]
        }))
        .unwrap_or_else(|e| panic!("a message: {e}"));
        assert_eq!(
            reasoning_details(&message),
            vec![
                ReasoningDetail::text(Some("Let me think.".into()), Some("sig".into()), None, 0),
                ReasoningDetail::encrypted("opaque".into(), None, 1),
            ]
        );
    }

    #[test]
    fn the_role_rides_on_the_first_chunk_only() {
        let mut writer = ChunkWriter::default();
        assert!(writer.text("", false).chunks.is_empty());
        let first: Value =
            serde_json::from_slice(&writer.text("a", false).chunks[0]).unwrap_or_default();
        let second: Value =
            serde_json::from_slice(&writer.text("b", true).chunks[0]).unwrap_or_default();
        assert_eq!(
            first["choices"][0]["delta"],
            json!({"role": "assistant", "content": "a"})
        );
        assert_eq!(second["choices"][0]["delta"], json!({"reasoning": "b"}));
    }
}
