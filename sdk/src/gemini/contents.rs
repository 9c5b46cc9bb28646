//! Translates the canonical conversation into Gemini `systemInstruction` and `contents`.

use crate::provider::*;
use crate::translate::{reasoning_details, tool_call_input};
use serde_json::{Value, json};

use super::response::REASONING_FORMAT;

/// Signature sent on replayed `functionCall` parts whose signature the client did not send back
/// (in `reasoning_details`): Gemini 3 requires a thought signature on the function calls of the
/// current turn, and documents this value for calls without one.
const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// The conversation in Gemini's shape.
#[derive(Debug, Default)]
pub struct Conversation {
    /// `systemInstruction`, when there are system or developer messages.
    pub system: Option<Value>,
    /// `contents`: `user` and `model` turns.
    pub contents: Vec<Value>,
}

/// One turn being assembled.
struct Turn {
    role: &'static str,
    parts: Vec<Value>,
    /// The turn holds only function responses, so the next tool message joins it.
    responses: bool,
}

/// Translates `messages`.
pub fn translate(messages: &[Message]) -> Result<Conversation, PluginError> {
    let mut system: Vec<Value> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for (position, message) in messages.iter().enumerate() {
        match message.role {
            Role::System | Role::Developer => {
                let text = message
                    .content
                    .as_ref()
                    .map(Content::text)
                    .unwrap_or_default();
                if !text.is_empty() {
                    system.push(json!({"text": text}));
                }
            }
            Role::User => {
                let parts = parts(message.content.as_ref())?;
                if !parts.is_empty() {
                    turns.push(Turn {
                        role: "user",
                        parts,
                        responses: false,
                    });
                }
            }
            Role::Assistant => {
                let mut parts = parts(message.content.as_ref())?;
                let signatures = reasoning_details(message);
                for call in message.tool_calls.iter().flatten() {
                    let signature = signatures
                        .iter()
                        .filter(|d| d.format.as_deref() == Some(REASONING_FORMAT))
                        .find(|d| d.id.as_deref() == Some(call.id.as_str()))
                        .and_then(|d| d.data.as_deref());
                    parts.push(function_call(call, signature)?);
                }
                if !parts.is_empty() {
                    turns.push(Turn {
                        role: "model",
                        parts,
                        responses: false,
                    });
                }
            }
            Role::Tool => {
                let part = function_response(message, &messages[..position])?;
                match turns.last_mut() {
                    Some(turn) if turn.responses => turn.parts.push(part),
                    _ => turns.push(Turn {
                        role: "user",
                        parts: vec![part],
                        responses: true,
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
        system: (!system.is_empty()).then(|| json!({"parts": system})),
        contents: turns
            .into_iter()
            .map(|turn| json!({"role": turn.role, "parts": turn.parts}))
            .collect(),
    })
}

/// Text and image parts of a message; empty texts are left out (Gemini rejects them).
fn parts(content: Option<&Content>) -> Result<Vec<Value>, PluginError> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(Content::Text(text)) => Ok(vec![json!({"text": text})]),
        Some(Content::Parts(list)) => {
            let mut parts = Vec::with_capacity(list.len());
            for part in list {
                match (part.kind.as_str(), &part.image_url) {
                    ("text", _) => {
                        let text = part.text.as_deref().unwrap_or("");
                        if !text.is_empty() {
                            parts.push(json!({"text": text}));
                        }
                    }
                    ("image_url", Some(image)) => parts.push(image_part(&image.url)?),
                    (kind, _) => {
                        return Err(PluginError::InvalidRequest(format!(
                            "content part type `{kind}` is not supported by the gemini adapter"
                        )));
                    }
                }
            }
            Ok(parts)
        }
    }
}

/// An image: a base64 data URI → `inlineData`, an http(s) URL → `fileData`.
pub fn image_part(url: &str) -> Result<Value, PluginError> {
    if let Some(data_uri) = base64_data_uri(url) {
        let data_uri = data_uri?;
        return Ok(json!({"inlineData": {"mimeType": data_uri.media_type, "data": data_uri.data}}));
    }
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("gs://") {
        return Ok(json!({"fileData": {"mimeType": mime_from_url(&lower), "fileUri": url}}));
    }
    Err(PluginError::InvalidRequest(
        "an image must be an http(s) URL or a base64 data URI".to_owned(),
    ))
}

/// The image MIME type of a URL by its extension; JPEG when unknown.
fn mime_from_url(lower: &str) -> &'static str {
    let path = lower.split(['?', '#']).next().unwrap_or(lower);
    let extension = path.rsplit('.').next().unwrap_or("");
    match extension {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => "image/jpeg",
    }
}

/// An assistant tool call as a `functionCall` part; its JSON argument string becomes `args`,
/// and the thought signature the client sent back for it (else the documented skip value)
/// becomes `thoughtSignature`.
fn function_call(call: &ToolCall, signature: Option<&str>) -> Result<Value, PluginError> {
    let args = tool_call_input(call)?;
    Ok(json!({
        "functionCall": {"name": call.function.name, "args": args},
        "thoughtSignature": signature.unwrap_or(SKIP_SIGNATURE),
    }))
}

/// A tool message as a `functionResponse` part. Gemini matches results to calls by function
/// name, found from the latest earlier assistant call with the message's `tool_call_id` (or the
/// message's own `name`).
fn function_response(message: &Message, earlier: &[Message]) -> Result<Value, PluginError> {
    let id = message.tool_call_id.as_deref().unwrap_or("");
    let from_call = earlier.iter().rev().find_map(|m| {
        m.tool_calls
            .iter()
            .flatten()
            .find(|call| call.id == id)
            .map(|call| call.function.name.clone())
    });
    let Some(name) = from_call.or_else(|| message.name.clone()) else {
        return Err(PluginError::InvalidRequest(format!(
            "tool message `{id}` answers no earlier tool call"
        )));
    };
    let text = message
        .content
        .as_ref()
        .map(Content::text)
        .unwrap_or_default();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Value::Object(object),
        Ok(other) => json!({"result": other}),
        Err(_) => json!({"result": text}),
    };
    Ok(json!({"functionResponse": {"name": name, "response": response}}))
}
