//! Serde types for the canonical format: OpenAI chat completions as extended by OpenRouter.
//!
//! Every object keeps the fields it does not name in an `extra` map, so a request or response
//! passes through an adapter without losing what this crate does not model yet.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The top-level request field for what only an Anthropic-native upstream can use and the
/// canonical format has no place for: the client's `anthropic-beta` and `anthropic-version`
/// headers, `cache_control` on tools, the `tool_result` details (`is_error`, `cache_control`,
/// image content), and the content blocks that canonical parts stand for (`blocks`: documents
/// with their `citations`, `title` and `context`, search results, cited text, each with the
/// message and part index it replaces). Switchyard's Anthropic Messages API writes it and the
/// Anthropic adapter reads it; adapters for other wire formats never send it upstream.
pub const ANTHROPIC_EXTENSION: &str = "anthropic";

/// A chat completion request (`POST /v1/chat/completions` body).
///
/// `M` is how its messages are read: typed ([`Message`], the default), or with their content
/// kept as the client's JSON text (`provider::PassedMessage`) by an adapter that passes the
/// conversation on as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>"))]
pub struct ChatRequest<M = Message> {
    /// Model id requested by the client.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<M>,
    /// Whether the client asked for a streamed response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Legacy output token limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Output token limit (newer name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences: one string or a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `"auto"`, `"none"`, `"required"` or `{"type":"function","function":{"name":...}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<M> ChatRequest<M> {
    /// The output token limit, whichever of the two fields carried it.
    pub fn output_token_limit(&self) -> Option<u64> {
        self.max_completion_tokens.or(self.max_tokens)
    }

    /// The stop sequences, one or many, without empty ones.
    pub fn stop_sequences(&self) -> Vec<String> {
        let mut stops = self.stop.as_ref().map(Stop::to_vec).unwrap_or_default();
        stops.retain(|stop| !stop.is_empty());
        stops
    }
}

/// Stop sequences as sent by the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// A single stop sequence.
    One(String),
    /// Several stop sequences.
    Many(Vec<String>),
}

impl Stop {
    /// The stop sequences as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Stop::One(one) => vec![one.clone()],
            Stop::Many(many) => many.clone(),
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// System instructions.
    System,
    /// Developer instructions (the newer name for system).
    Developer,
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
}

/// One message of the conversation. `C` is how its content is read: typed ([`Content`], the
/// default) or, in an adapter, as the client's JSON text (`provider::PassedMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "C: Deserialize<'de>"))]
pub struct Message<C = Content> {
    /// Author of the message.
    pub role: Role,
    /// Text or content parts; absent on assistant messages that only call tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<C>,
    /// Optional participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Message content: a plain string or a list of typed parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Typed parts (text, images...).
    Parts(Vec<ContentPart>),
}

/// Read by the JSON type it meets (a string or an array), straight from the input: a derived
/// untagged enum buffers the value first and copies every string once more, for the bulk of a
/// conversation's bytes.
impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;

        impl<'de> serde::de::Visitor<'de> for ContentVisitor {
            type Value = Content;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a string or an array of content parts")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Content, E> {
                Ok(Content::Text(text.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Content, E> {
                Ok(Content::Text(text))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Content, A::Error> {
                let parts = serde::de::value::SeqAccessDeserializer::new(seq);
                Vec::<ContentPart>::deserialize(parts).map(Content::Parts)
            }
        }

        deserializer.deserialize_any(ContentVisitor)
    }
}

impl Content {
    /// The text of the content: the string itself, or the text parts joined with newlines.
    pub fn text(&self) -> String {
        match self {
            Content::Text(text) => text.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|part| part.text.as_deref())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// One typed content part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentPart {
    /// Part type: `text`, `image_url`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a `text` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Image of an `image_url` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An image reference: an `https:` URL or a `data:` URI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// The URL or data URI.
    pub url: String,
    /// Requested detail level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `function` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function definition.
    pub function: FunctionDefinition,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// Function name.
    pub name: String,
    /// What the function does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

/// A complete tool call in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id, echoed by the tool result.
    pub id: String,
    /// Always `function` today.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    /// The called function.
    pub function: FunctionCall,
}

fn function_kind() -> String {
    "function".to_owned()
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments as a JSON string.
    pub arguments: String,
}

/// A whole (non-streamed) chat completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// Response id. The host replaces it with its generation id.
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    /// Unix time in seconds.
    pub created: u64,
    /// Model that answered. The host replaces it with the canonical model id.
    pub model: String,
    /// The generated choices.
    pub choices: Vec<Choice>,
    /// Usage as the host reports it. Adapters leave it `None` and report typed usage instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Value>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One generated choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Choice index.
    pub index: u32,
    /// The generated message.
    pub message: ResponseMessage,
    /// Normalised finish reason: `stop`, `length`, `tool_calls`, `content_filter`, `error`.
    pub finish_reason: Option<String>,
    /// The provider's own finish reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_finish_reason: Option<String>,
}

/// The message of a choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// Always `assistant`.
    pub role: String,
    /// Generated text; `null` when the model only called tools.
    pub content: Option<String>,
    /// Reasoning text, when the provider returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The reasoning in a form the client can send back on the next turn (signed text,
    /// encrypted or redacted reasoning), when the provider returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_details: Option<Vec<ReasoningDetail>>,
    /// Tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Refusal text, when the model refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// The text blocks of `content` that carry citations, when the provider cites its sources
    /// (Switchyard's extension, see [`TextCitations`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_citations: Option<Vec<TextCitations>>,
}

/// One text block of an answer's `content` and the citations it carries: Switchyard's
/// `text_citations` field of a message or a stream delta, so that the Anthropic Messages API can
/// give a client its text blocks back with their citations. Offsets count Unicode scalar values
/// (Python string indices) of the message's whole `content`; each citation is kept whole in the
/// shape of Anthropic's Messages API (`char_location`, `page_location`,
/// `content_block_location`, `web_search_result_location`, `search_result_location`...).
///
/// In a message, an entry is one whole block: `start`, `end` and all its citations. In a stream,
/// entries with the same `start` are pieces of one block, in order: the first opens it (its
/// text follows), each adds its citations, and the one with `end` closes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextCitations {
    /// Offset of the block's first character in `content`.
    pub start: u64,
    /// Offset just past the block's last character; in a stream, only on the closing piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
    /// The citations (of this piece, in a stream).
    #[serde(default)]
    pub citations: Vec<Value>,
}

/// One entry of OpenRouter's `reasoning_details`: a block of reasoning as the provider returned
/// it, so a client can send it back in the assistant message of the next turn (which some
/// providers require around tool calls).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningDetail {
    /// [`ReasoningDetail::TEXT`], [`ReasoningDetail::ENCRYPTED`] or `reasoning.summary`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The reasoning text (`reasoning.text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A summary of the reasoning (`reasoning.summary`, OpenAI's Responses API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The provider's signature over the text (`reasoning.text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Opaque encrypted or redacted reasoning (`reasoning.encrypted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Whose format the entry is in, e.g. `anthropic-claude-v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Position of the entry in the message; streamed pieces of one entry share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The tool call the entry belongs to, when it belongs to one (Gemini's signed calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ReasoningDetail {
    /// The type of reasoning text, possibly signed.
    pub const TEXT: &'static str = "reasoning.text";
    /// The type of encrypted or redacted reasoning.
    pub const ENCRYPTED: &'static str = "reasoning.encrypted";
    /// The type of a reasoning summary.
    pub const SUMMARY: &'static str = "reasoning.summary";

    /// A `reasoning.text` entry (or a piece of one).
    pub fn text(
        text: Option<String>,
        signature: Option<String>,
        format: Option<&str>,
        index: u32,
    ) -> Self {
        ReasoningDetail {
            kind: Self::TEXT.to_owned(),
            text,
            signature,
            format: format.map(str::to_owned),
            index: Some(index),
            ..ReasoningDetail::default()
        }
    }

    /// A `reasoning.encrypted` entry.
    pub fn encrypted(data: String, format: Option<&str>, index: u32) -> Self {
        ReasoningDetail {
            kind: Self::ENCRYPTED.to_owned(),
            data: Some(data),
            format: format.map(str::to_owned),
            index: Some(index),
            ..ReasoningDetail::default()
        }
    }
}

/// One streamed chunk (`chat.completion.chunk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    /// Stream id. The host replaces it with its generation id.
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    /// Unix time in seconds.
    pub created: u64,
    /// Model that answered. The host replaces it with the canonical model id.
    pub model: String,
    /// Choice deltas.
    pub choices: Vec<ChunkChoice>,
}

impl ChatChunk {
    /// A chunk with one choice carrying `delta`.
    pub fn new(id: &str, created: u64, model: &str, delta: Delta) -> Self {
        ChatChunk {
            id: id.to_owned(),
            object: "chat.completion.chunk".to_owned(),
            created,
            model: model.to_owned(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: None,
                native_finish_reason: None,
            }],
        }
    }

    /// This chunk as JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One choice of a chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Choice index.
    pub index: u32,
    /// What this chunk adds.
    pub delta: Delta,
    /// Normalised finish reason, on the last chunk of the choice.
    pub finish_reason: Option<String>,
    /// The provider's own finish reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_finish_reason: Option<String>,
}

/// The incremental part of a chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// `assistant` on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Text added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Reasoning text added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Reasoning details added (pieces of the entry with the same `index`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_details: Option<Vec<ReasoningDetail>>,
    /// Tool call fragments added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Pieces of cited text blocks (see [`TextCitations`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_citations: Option<Vec<TextCitations>>,
}

/// A fragment of a streamed tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call of the message this fragment belongs to.
    pub index: u32,
    /// Call id, on the first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function`, on the first fragment.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name and argument fragment.
    pub function: FunctionCallDelta,
}

/// The function part of a tool call fragment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    /// Function name, on the first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Next piece of the JSON argument string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_reads_as_text_or_parts_and_writes_back_the_same() {
        let text: Content = serde_json::from_str(r#""line\none""#).expect("text");
        assert_eq!(text, Content::Text("line\none".to_owned()));
        let json = r#"[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]"#;
        let parts: Content = serde_json::from_str(json).expect("parts");
        assert!(matches!(&parts, Content::Parts(parts) if parts.len() == 1));
        assert_eq!(serde_json::to_string(&parts).expect("serialises"), json);
        let from_value: Content = serde_json::from_value(serde_json::json!("x")).expect("value");
        assert_eq!(from_value, Content::Text("x".to_owned()));
    }

    #[test]
    fn content_of_another_type_is_refused_with_what_was_expected() {
        for json in ["5", r#"{"type":"text"}"#, "true", r#"[{"text":"no type"}]"#] {
            let error = serde_json::from_str::<Content>(json).expect_err(json);
            let message = error.to_string();
            assert!(
                message.contains("a string or an array of content parts")
                    || message.contains("missing field `type`"),
                "{json}: {message}"
            );
        }
        let message = r#"{"role":"user","content":null}"#;
        let message: Message = serde_json::from_str(message).expect("null content");
        assert_eq!(message.content, None);
    }
}
