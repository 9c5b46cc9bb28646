//! Translates the canonical conversation into Anthropic's `system` and `messages`.

use std::collections::HashMap;

use crate::anthropic::{Extension, ToolResult};
use crate::provider::*;
use crate::translate::{self, reasoning_details, tool_call_input};
use serde_json::{Map, Value, json};

use super::response::REASONING_FORMAT;

/// The conversation in Anthropic's shape.
#[derive(Debug, Default)]
pub struct Conversation {
    /// Top-level `system`: a string, or text blocks when a part carries `cache_control`.
    pub system: Option<Value>,
    /// The `messages` list (user and assistant turns).
    pub messages: Vec<Value>,
}

/// One turn being assembled.
struct Turn {
    role: &'static str,
    blocks: Vec<Value>,
    /// The turn holds only tool results, so the next tool message joins it.
    tool_results: bool,
}

/// Translates `messages`. System and developer messages are lifted into `system`; tool messages
/// become `tool_result` blocks, consecutive ones in one user turn, with the details the
/// `extension` gives their call ids; user and assistant parts the extension has a block for
/// become that block.
pub fn translate(messages: &[Message], extension: &Extension) -> Result<Conversation, PluginError> {
    let mut system: Vec<Value> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for (position, message) in messages.iter().enumerate() {
        let native = |part| extension.block(position, part);
        match message.role {
            Role::System | Role::Developer => {
                system.extend(content_blocks(message.content.as_ref(), false, &|_| None)?);
            }
            Role::User => turns.push(Turn {
                role: "user",
                blocks: content_blocks(message.content.as_ref(), true, &native)?,
                tool_results: false,
            }),
            Role::Assistant => {
                let mut blocks = thinking_blocks(message);
                blocks.extend(content_blocks(message.content.as_ref(), false, &native)?);
                blocks.retain(|block| block.get("text").and_then(Value::as_str) != Some(""));
                for call in message.tool_calls.iter().flatten() {
                    blocks.push(tool_use(call)?);
                }
                if !blocks.is_empty() {
                    turns.push(Turn {
                        role: "assistant",
                        blocks,
                        tool_results: false,
                    });
                }
            }
            Role::Tool => {
                let result = tool_result(message, &extension.tool_results)?;
                match turns.last_mut() {
                    Some(turn) if turn.tool_results => turn.blocks.push(result),
                    _ => turns.push(Turn {
                        role: "user",
                        blocks: vec![result],
                        tool_results: true,
                    }),
                }
            }
        }
    }
    if turns.is_empty() {
        return Err(PluginError::InvalidRequest(
            "the request has no user or assistant messages".to_owned(),
        ));
    }
    Ok(Conversation {
        system: system_value(system),
        messages: turns
            .into_iter()
            .map(|turn| json!({"role": turn.role, "content": turn.blocks}))
            .collect(),
    })
}

/// `system` as one string (texts joined by blank lines), or as blocks when any block carries
/// `cache_control`, which only the block form can express.
fn system_value(blocks: Vec<Value>) -> Option<Value> {
    let blocks: Vec<Value> = blocks
        .into_iter()
        .filter(|block| block.get("text").and_then(Value::as_str) != Some(""))
        .collect();
    if blocks.is_empty() {
        return None;
    }
    if blocks
        .iter()
        .any(|block| block.get("cache_control").is_some())
    {
        return Some(Value::Array(blocks));
    }
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect();
    Some(Value::String(texts.join("\n\n")))
}

/// The block the extension has for a part of the message being translated, by part index.
type NativeBlocks<'a> = dyn Fn(usize) -> Option<&'a Map<String, Value>> + 'a;

/// Content blocks of a message: text blocks, and image and document blocks when `images` are
/// allowed; a part `native` has a block for becomes that block.
fn content_blocks<'a>(
    content: Option<&Content>,
    images: bool,
    native: &NativeBlocks<'a>,
) -> Result<Vec<Value>, PluginError> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(text)) => Ok(vec![json!({"type": "text", "text": text})]),
        Some(Content::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(index, part)| match native(index) {
                Some(block) => native_block(block, part),
                None => content_part(part, images),
            })
            .collect(),
    }
}

/// A block the client sent, standing for `part`; a `document` without `source` takes it from
/// the part (a file's data or URL, or a text part's text as a plain-text source).
fn native_block(block: &Map<String, Value>, part: &ContentPart) -> Result<Value, PluginError> {
    let mut block = block.clone();
    if block.get("type").and_then(Value::as_str) == Some("document")
        && !block.contains_key("source")
    {
        let source = match part.kind.as_str() {
            "file" => document_source(part)?,
            "text" => json!({
                "type": "text",
                "media_type": "text/plain",
                "data": part.text.as_deref().unwrap_or(""),
            }),
            kind => {
                return Err(PluginError::InvalidRequest(format!(
                    "a document cannot stand for a `{kind}` part"
                )));
            }
        };
        block.insert("source".to_owned(), source);
    }
    Ok(Value::Object(block))
}

fn content_part(part: &ContentPart, images: bool) -> Result<Value, PluginError> {
    let mut block = match (part.kind.as_str(), &part.image_url) {
        ("text", _) => json!({"type": "text", "text": part.text.as_deref().unwrap_or("")}),
        ("image_url", Some(image)) if images => {
            json!({"type": "image", "source": image_source(&image.url)?})
        }
        ("image_url", _) if images => {
            return Err(PluginError::InvalidRequest(
                "an image_url part has no image_url".to_owned(),
            ));
        }
        ("file", _) if images => json!({"type": "document", "source": document_source(part)?}),
        (kind, _) => {
            return Err(PluginError::InvalidRequest(format!(
                "content part type `{kind}` is not supported here by the anthropic adapter"
            )));
        }
    };
    if let (Some(cache_control), Value::Object(block)) =
        (part.extra.get("cache_control"), &mut block)
    {
        block.insert("cache_control".to_owned(), cache_control.clone());
    }
    Ok(block)
}

/// An image `source`: `data:<media type>;base64,<data>` → base64 source, `http(s)://` → url.
pub fn image_source(url: &str) -> Result<Value, PluginError> {
    if let Some(data_uri) = base64_data_uri(url) {
        let data_uri = data_uri?;
        return Ok(
            json!({"type": "base64", "media_type": data_uri.media_type, "data": data_uri.data}),
        );
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Ok(json!({"type": "url", "url": url}));
    }
    Err(PluginError::InvalidRequest(
        "an image must be an http(s) URL or a base64 data URI".to_owned(),
    ))
}

/// The `source` of an OpenRouter `file` part (`{"file": {"file_data": ...}}`): a base64 data
/// URI or an http(s) URL, as for images.
fn document_source(part: &ContentPart) -> Result<Value, PluginError> {
    let data = part
        .extra
        .get("file")
        .and_then(|file| file.get("file_data"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            PluginError::InvalidRequest("a file part has no file.file_data".to_owned())
        })?;
    image_source(data)
}

/// The reasoning a client sent back (`reasoning_details` in Anthropic's format) as `thinking`
/// blocks with their signature, or `redacted_thinking` blocks. Unsigned text cannot be replayed
/// and is left out.
fn thinking_blocks(message: &Message) -> Vec<Value> {
    reasoning_details(message)
        .into_iter()
        .filter(|detail| {
            detail
                .format
                .as_deref()
                .is_none_or(|f| f == REASONING_FORMAT)
        })
        .filter_map(
            |detail| match (detail.kind.as_str(), detail.signature, detail.data) {
                (ReasoningDetail::TEXT, Some(signature), _) => Some(json!({
                    "type": "thinking",
                    "thinking": detail.text.unwrap_or_default(),
                    "signature": signature,
                })),
                (ReasoningDetail::ENCRYPTED, _, Some(data)) => {
                    Some(json!({"type": "redacted_thinking", "data": data}))
                }
                _ => None,
            },
        )
        .collect()
}

/// An assistant tool call as a `tool_use` block; its JSON argument string becomes `input`.
fn tool_use(call: &ToolCall) -> Result<Value, PluginError> {
    let input = tool_call_input(call)?;
    Ok(json!({"type": "tool_use", "id": call.id, "name": call.function.name, "input": input}))
}

/// A tool message as a `tool_result` block: its text as content, unless the details for its
/// call id carry the content blocks whole; their `is_error` and `cache_control` added.
fn tool_result(
    message: &Message,
    results: &HashMap<String, ToolResult>,
) -> Result<Value, PluginError> {
    let (id, text) = translate::tool_result(message)?;
    let details = results.get(id);
    let content = match details.and_then(|d| d.content.as_ref()) {
        Some(blocks) => Value::Array(blocks.clone()),
        None => Value::String(text),
    };
    let mut block = json!({"type": "tool_result", "tool_use_id": id, "content": content});
    if let (Some(details), Value::Object(fields)) = (details, &mut block) {
        if let Some(is_error) = details.is_error {
            fields.insert("is_error".to_owned(), Value::Bool(is_error));
        }
        if let Some(cache_control) = &details.cache_control {
            fields.insert("cache_control".to_owned(), cache_control.clone());
        }
    }
    Ok(block)
}
