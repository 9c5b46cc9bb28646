//! Identity of one generation and the host-owned fields written into every response and chunk.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};

/// The id, creation time, model and provider the client sees for one generation.
#[derive(Debug, Clone)]
pub struct Generation {
    /// `gen-<unix seconds>-<random>`.
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// Canonical model id actually used.
    pub model: String,
    /// Provider name actually used.
    pub provider: String,
}

/// Base-62 digits of the time within the second an id starts its suffix with (62⁶ > 10⁹ ns).
const SUBSEC_DIGITS: usize = 6;

/// Appends `value` in `digits` base-62 digits, in ASCII order (`0-9A-Za-z`), most significant
/// first, so that ids sort as their values do.
fn push_base62(text: &mut String, value: u64, digits: usize) {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let start = text.len();
    let mut value = value;
    for _ in 0..digits {
        let digit = (value % 62) as usize;
        text.insert(start, char::from(ALPHABET[digit]));
        value /= 62;
    }
}

impl Generation {
    /// A fresh generation id for `model` served by `provider`.
    pub fn new(model: &str, provider: &str) -> Generation {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let created = since_epoch.as_secs();
        // The time within the second first, then randomness: ids sort by time, so the
        // generation records' index grows at its end instead of everywhere at once.
        let mut id = format!("gen-{created}-");
        push_base62(
            &mut id,
            u64::from(since_epoch.subsec_nanos()),
            SUBSEC_DIGITS,
        );
        id.extend(
            rand::rng()
                .sample_iter(&Alphanumeric)
                .take(20 - SUBSEC_DIGITS)
                .map(char::from),
        );
        Generation {
            id,
            created,
            model: model.to_owned(),
            provider: provider.to_owned(),
        }
    }

    /// Overwrites the host-owned fields of a response or chunk object.
    pub fn stamp(&self, object: &mut Map<String, Value>, kind: &str) {
        set(object, "id", Value::String(self.id.clone()));
        set(object, "object", Value::String(kind.to_owned()));
        set(object, "created", Value::from(self.created));
        set(object, "model", Value::String(self.model.clone()));
        set(object, "provider", Value::String(self.provider.clone()));
    }

    /// A chunk with no choices carrying the final usage.
    pub fn usage_chunk(&self, usage: Value) -> Value {
        let mut chunk = Map::new();
        self.stamp(&mut chunk, CHUNK);
        chunk.insert("choices".to_owned(), Value::Array(Vec::new()));
        chunk.insert("usage".to_owned(), usage);
        Value::Object(chunk)
    }

    /// The chunk that ends a stream that failed after its first byte (`finish_reason: error`).
    pub fn error_chunk(&self, status: u16, message: &str) -> Value {
        let mut chunk = Map::new();
        self.stamp(&mut chunk, CHUNK);
        chunk.insert(
            "error".to_owned(),
            json!({ "code": status, "message": message }),
        );
        chunk.insert(
            "choices".to_owned(),
            json!([{ "index": 0, "delta": { "content": "" }, "finish_reason": "error", "native_finish_reason": "error" }]),
        );
        Value::Object(chunk)
    }
}

/// Sets `key` of `object` to `value`, reusing the key's entry when the plugin wrote one (every
/// chunk carries these keys: a new key string per chunk and field is saved).
fn set(object: &mut Map<String, Value>, key: &str, value: Value) {
    match object.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            object.insert(key.to_owned(), value);
        }
    }
}

/// The `object` of a streamed chunk.
pub const CHUNK: &str = "chat.completion.chunk";
/// The `object` of a whole response.
pub const COMPLETION: &str = "chat.completion";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_keep_their_shape() {
        let base62 = |value| {
            let mut text = String::new();
            push_base62(&mut text, value, SUBSEC_DIGITS);
            text
        };
        assert_eq!(base62(0), "000000");
        assert_eq!(base62(61), "00000z");
        assert_eq!(base62(62), "000010");
        assert!(base62(999_999_999) > base62(999_999_998));
        let first = Generation::new("m", "p");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = Generation::new("m", "p");
        assert!(first.id < second.id, "{} then {}", first.id, second.id);
        let suffix = second.id.rsplit('-').next().unwrap_or_default();
        assert!(suffix.len() == 20 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(second.id, format!("gen-{}-{suffix}", second.created));
    }
}
