//! Translates the canonical conversation into Converse's `system` and `messages`.

use serde_json::{Value, json};
use switchyard_sdk::anthropic::Extension;
use switchyard_sdk::provider::*;
use switchyard_sdk::translate::{self, reasoning_details, tool_call_input};

use crate::native::{cache_point, has_cache_control, tool_result_cached};

/// The conversation in Converse's shape.
#[derive(Debug, Default)]
pub struct Conversation {
    /// `system` text blocks.
    pub system: Vec<Value>,
    /// `messages`: alternating user and assistant turns of content blocks.
    pub messages: Vec<Value>,
}

/// Translates the messages of `request`. System and developer messages become `system`
/// blocks; tool messages become `toolResult` blocks of a user turn; consecutive turns of one
/// role are merged, as Converse wants roles to alternate. With `cache_points`, a cache point
/// follows each block the client marked with `cache_control` (a content part, or a tool
/// result through the Anthropic `extension`).
pub fn translate(
    request: &ChatRequest,
    extension: &Extension,
    cache_points: bool,
) -> Result<Conversation, PluginError> {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let blocks_of = |message: &Message, images: bool| {
        content_blocks(message.content.as_ref(), images, cache_points)
    };
    for message in &request.messages {
        let (role, blocks) = match message.role {
            Role::System | Role::Developer => {
                system.extend(blocks_of(message, false)?);
                continue;
            }
            Role::User => ("user", blocks_of(message, true)?),
            Role::Assistant => {
                let mut blocks = reasoning_blocks(message);
                blocks.extend(blocks_of(message, false)?);
                for call in message.tool_calls.iter().flatten() {
                    blocks.push(tool_use(call)?);
                }
                ("assistant", blocks)
            }
            Role::Tool => {
                let (id, result) = tool_result(message)?;
                let mut blocks = vec![result];
                if cache_points && tool_result_cached(extension, &id) {
                    blocks.push(cache_point());
                }
                ("user", blocks)
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    if turns.is_empty() {
        return Err(PluginError::InvalidRequest(
            "the request has no user or assistant messages".to_owned(),
        ));
    }
    Ok(Conversation {
        system,
        messages: turns
            .into_iter()
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect(),
    })
}

/// Content blocks of a message: non-empty `text` blocks, and `image` blocks when allowed; with
/// `cache_points`, a cache point after each part marked with `cache_control` (unless nothing
/// precedes it).
fn content_blocks(
    content: Option<&Content>,
    images: bool,
    cache_points: bool,
) -> Result<Vec<Value>, PluginError> {
    let parts = match content {
        None => return Ok(Vec::new()),
        Some(Content::Text(text)) => return Ok(text_block(text).into_iter().collect()),
        Some(Content::Parts(parts)) => parts,
    };
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        match (part.kind.as_str(), &part.image_url) {
            ("text", _) => blocks.extend(text_block(part.text.as_deref().unwrap_or(""))),
            ("image_url", Some(image)) if images => blocks.push(image_block(&image.url)?),
            (kind, _) => {
                return Err(PluginError::InvalidRequest(format!(
                    "content part type `{kind}` is not supported here by the bedrock adapter"
                )));
            }
        }
        if cache_points && has_cache_control(&part.extra) && !blocks.is_empty() {
            blocks.push(cache_point());
        }
    }
    Ok(blocks)
}

/// A `text` block; Converse refuses blank ones.
fn text_block(text: &str) -> Option<Value> {
    (!text.trim().is_empty()).then(|| json!({"text": text}))
}

/// A base64 data URI as an `image` block (`bytes` are base64 in Converse's JSON).
fn image_block(url: &str) -> Result<Value, PluginError> {
    let Some(data_uri) = base64_data_uri(url) else {
        return Err(PluginError::InvalidRequest(
            "bedrock takes images as base64 data URIs only (no image URLs)".to_owned(),
        ));
    };
    let data_uri = data_uri?;
    let format = match data_uri.media_type.to_ascii_lowercase().as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => {
            return Err(PluginError::InvalidRequest(format!(
                "bedrock does not take images of type `{other}` (png, jpeg, gif or webp)"
            )));
        }
    };
    Ok(json!({"image": {"format": format, "source": {"bytes": data_uri.data}}}))
}

/// The reasoning a client sent back (`reasoning_details` this adapter returned: no `format`)
/// as `reasoningContent` blocks: signed text, or redacted content. Unsigned text cannot be
/// replayed and is left out.
fn reasoning_blocks(message: &Message) -> Vec<Value> {
    reasoning_details(message)
        .into_iter()
        .filter(|detail| detail.format.is_none())
        .filter_map(|detail| match (detail.kind.as_str(), detail.signature, detail.data) {
            (ReasoningDetail::TEXT, Some(signature), _) => Some(json!({"reasoningContent": {
                "reasoningText": {"text": detail.text.unwrap_or_default(), "signature": signature}
            }})),
            (ReasoningDetail::ENCRYPTED, _, Some(data)) => {
                Some(json!({"reasoningContent": {"redactedContent": data}}))
            }
            _ => None,
        })
        .collect()
}

/// An assistant tool call as a `toolUse` block; its JSON argument string becomes `input`.
fn tool_use(call: &ToolCall) -> Result<Value, PluginError> {
    let input = tool_call_input(call)?;
    Ok(json!({"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": input}}))
}

/// A tool message as a `toolResult` block with one text block, and the id of its call.
fn tool_result(message: &Message) -> Result<(String, Value), PluginError> {
    let (id, text) = translate::tool_result(message)?;
    let block = json!({"toolResult": {"toolUseId": id, "content": [{"text": text}]}});
    Ok((id.to_owned(), block))
}
