//! Healing a streamed answer: `on-request` notes in the host-carried state whether the request
//! asked for JSON (and its schema); each chunk's content then goes out repaired as it streams
//! (a [`Repairer`] per choice, carried in the state), and the chunk with a choice's finish reason
//! carries what completes its JSON. At the end the JSON is checked against the schema; an answer
//! with no JSON, or one off its schema, ends the stream with the transform's refusal.
//!
//! The state is a JSON header, a zero byte, then the JSON sent so far (what the schema is
//! checked against), so that it stays within what the host carries: past [`MAX_TEXT`] bytes of
//! JSON the syntax is still repaired, but the schema is not checked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::repair::Repairer;

/// Bytes of the streamed JSON kept to check against the schema (the host carries 1 MiB of
/// state, header included).
pub const MAX_TEXT: usize = 896 * 1024;

/// What the state of a streamed answer holds besides the JSON texts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Header {
    /// The request's schema, when it gave one.
    schema: Option<Value>,
    /// Each choice's healing so far; their texts follow the header in this order.
    choices: BTreeMap<u64, Choice>,
    /// The texts outgrew [`MAX_TEXT`]: the schema is not checked.
    unchecked: bool,
}

/// One choice of a streamed answer.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Choice {
    repairer: Repairer,
    /// Some text came (an answer that is only tool calls has none).
    seen: bool,
    /// The bytes of its JSON text in the state.
    length: usize,
}

/// The state of a stream that asked for JSON (with `schema`, when given).
pub fn start(schema: Option<&Value>) -> Vec<u8> {
    let header = Header {
        schema: schema.cloned(),
        ..Header::default()
    };
    encode(&header, &BTreeMap::new())
}

fn encode(header: &Header, texts: &BTreeMap<u64, Vec<u8>>) -> Vec<u8> {
    let mut state = serde_json::to_vec(header).unwrap_or_default();
    state.push(0);
    for text in texts.values() {
        state.extend_from_slice(text);
    }
    state
}

/// The header and each choice's text, when `state` is one [`start`] began.
fn decode(state: &[u8]) -> Option<(Header, BTreeMap<u64, Vec<u8>>)> {
    let split = state.iter().position(|byte| *byte == 0)?;
    let header = serde_json::from_slice::<Header>(&state[..split]).ok()?;
    let mut texts = BTreeMap::new();
    let mut rest = &state[split + 1..];
    for (index, choice) in &header.choices {
        let (text, after) = rest.split_at_checked(choice.length)?;
        texts.insert(*index, text.to_vec());
        rest = after;
    }
    Some((header, texts))
}

/// What healing did to a chunk.
pub enum Healed {
    /// The chunk is unchanged.
    Same,
    /// The chunk's repaired bytes.
    Changed(Vec<u8>),
    /// The answer cannot be the JSON asked for: why.
    Impossible(String),
}

/// Heals `chunk` with `state` (from [`start`]); the verdict and the state for the next chunk.
/// A state that is not one (the request did not ask for JSON) leaves the chunk unchanged.
pub fn chunk(chunk: &[u8], state: Vec<u8>) -> (Healed, Vec<u8>) {
    let (Some((mut header, mut texts)), Ok(mut answer)) =
        (decode(&state), serde_json::from_slice::<Value>(chunk))
    else {
        return (Healed::Same, state);
    };
    let mut total: usize = texts.values().map(Vec::len).sum();
    let mut changed = false;
    let choices = answer.get_mut("choices").and_then(Value::as_array_mut);
    for choice in choices.into_iter().flatten() {
        let index = choice["index"].as_u64().unwrap_or(0);
        let finished = !choice["finish_reason"].is_null();
        let delta = &mut choice["delta"];
        let content = delta.get("content").and_then(Value::as_str);
        // A tool call or a refusal is not a JSON answer.
        if content.is_none() && !(finished && header.choices.contains_key(&index)) {
            continue;
        }
        let healing = header.choices.entry(index).or_default();
        healing.seen |= content.is_some_and(|text| !text.trim().is_empty());
        let mut healed = healing.repairer.push(content.unwrap_or(""));
        if finished {
            healed.push_str(&healing.repairer.finish());
        }
        if content != Some(healed.as_str()) && (content.is_some() || !healed.is_empty()) {
            delta["content"] = Value::String(healed.clone());
            changed = true;
        }
        let text = texts.entry(index).or_default();
        let over = total + healed.len() > MAX_TEXT;
        if !over {
            text.extend_from_slice(healed.as_bytes());
            total += healed.len();
        }
        healing.length = text.len();
        let (started, seen) = (healing.repairer.started(), healing.seen);
        header.unchecked |= over;
        if !finished {
            continue;
        }
        let whole = texts.remove(&index).unwrap_or_default();
        header.choices.remove(&index);
        if seen && !started {
            return (Healed::Impossible("no JSON value in it".to_owned()), state);
        }
        if started && let Err(reason) = check(&header, &whole) {
            return (Healed::Impossible(reason), state);
        }
    }
    let state = encode(&header, &texts);
    match changed {
        true => match serde_json::to_vec(&answer) {
            Ok(bytes) => (Healed::Changed(bytes), state),
            Err(_) => (Healed::Same, state),
        },
        false => (Healed::Same, state),
    }
}

/// The finished JSON `text` parses and meets the schema (unless too long to check).
fn check(header: &Header, text: &[u8]) -> Result<(), String> {
    if header.unchecked {
        return Ok(());
    }
    let value = serde_json::from_slice::<Value>(text)
        .map_err(|error| format!("still not JSON after repair: {error}"))?;
    match &header.schema {
        Some(schema) => crate::schema::validate(schema, &value, "$"),
        None => Ok(()),
    }
}
