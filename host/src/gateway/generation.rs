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

impl Generation {
    /// A fresh generation id for `model` served by `provider`.
    pub fn new(model: &str, provider: &str) -> Generation {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let suffix: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        Generation {
            id: format!("gen-{created}-{suffix}"),
            created,
            model: model.to_owned(),
            provider: provider.to_owned(),
        }
    }

    /// Overwrites the host-owned fields of a response or chunk object.
    pub fn stamp(&self, object: &mut Map<String, Value>, kind: &str) {
        object.insert("id".to_owned(), Value::String(self.id.clone()));
        object.insert("object".to_owned(), Value::String(kind.to_owned()));
        object.insert("created".to_owned(), Value::from(self.created));
        object.insert("model".to_owned(), Value::String(self.model.clone()));
        object.insert("provider".to_owned(), Value::String(self.provider.clone()));
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

/// The `object` of a streamed chunk.
pub const CHUNK: &str = "chat.completion.chunk";
/// The `object` of a whole response.
pub const COMPLETION: &str = "chat.completion";
