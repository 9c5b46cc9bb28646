//! A stored answer: the canonical body (a `chat.completion` without its id, time, usage and
//! routing trace, or an embeddings list), what it used and cost, and who served it. A hit
//! renders it again in the shape the request asks for.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use switchyard_domain::plugin_types::Usage;

/// Fields of an answer that belong to one generation, never to a stored entry.
const GENERATION_FIELDS: &[&str] = &["id", "created", "usage", "routing"];

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The model that served it.
    pub model: String,
    /// The provider that served it.
    pub provider: String,
    /// What it used.
    pub usage: StoredUsage,
    /// What the upstream charged for it.
    pub upstream_cost: Decimal,
    /// What the client paid for it (upstream and fee).
    pub total_cost: Decimal,
    /// The first choice's finish reason.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// The answer without [`GENERATION_FIELDS`].
    pub body: Map<String, Value>,
}

/// [`Usage`], stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUsage {
    /// Input tokens.
    pub prompt: u64,
    /// Output tokens.
    pub completion: u64,
    /// Input tokens read from a prompt cache.
    pub cached: u64,
    /// Input tokens written to a prompt cache.
    pub cache_write: u64,
    /// Reasoning tokens.
    pub reasoning: u64,
}

impl From<StoredUsage> for Usage {
    fn from(stored: StoredUsage) -> Usage {
        Usage {
            prompt_tokens: stored.prompt,
            completion_tokens: stored.completion,
            cached_tokens: stored.cached,
            cache_write_tokens: stored.cache_write,
            reasoning_tokens: stored.reasoning,
            // A hit searches nothing: what the original's searches cost is in the stored
            // upstream cost a hit is charged a share of.
            web_search_requests: 0,
            builtin_tool_calls: Default::default(),
        }
    }
}

impl Entry {
    /// The entry of a served answer (with its `model`, `provider` and priced `usage`);
    /// `None` for one without them.
    pub fn of_answer(mut body: Map<String, Value>) -> Option<Entry> {
        let usage = body.get("usage")?;
        let count = |value: &Value| value.as_u64().unwrap_or_default();
        let stored = StoredUsage {
            prompt: count(&usage["prompt_tokens"]),
            completion: count(&usage["completion_tokens"]),
            cached: count(&usage["prompt_tokens_details"]["cached_tokens"]),
            cache_write: count(&usage["prompt_tokens_details"]["cache_write_tokens"]),
            reasoning: count(&usage["completion_tokens_details"]["reasoning_tokens"]),
        };
        let money = |value: &Value| Decimal::from_str(&value.to_string()).ok();
        let total_cost = money(&usage["cost"])?;
        let upstream_cost =
            money(&usage["cost_details"]["upstream_inference_cost"]).unwrap_or(total_cost);
        let model = body.get("model")?.as_str()?.to_owned();
        let provider = body.get("provider")?.as_str()?.to_owned();
        let finish_reason = body
            .get("choices")
            .and_then(|choices| choices.get(0))
            .and_then(|choice| choice.get("finish_reason"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        for field in GENERATION_FIELDS {
            body.remove(*field);
        }
        Some(Entry {
            model,
            provider,
            usage: stored,
            upstream_cost,
            total_cost,
            finish_reason,
            body,
        })
    }

    /// The entry as stored.
    pub fn encode(&self) -> Vec<u8> {
        // Serialising plain data into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A stored entry; `None` when it is not one (a store of another version).
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_answer_is_stored_without_its_generation_and_read_back() {
        let answer = json!({
            "id": "gen-1", "created": 5, "object": "chat.completion", "model": "a/b",
            "provider": "p", "routing": {"x": 1},
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
                "prompt_tokens_details": {"cached_tokens": 1, "cache_write_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 2},
                "cost": 0.00015414, "cost_details": {"upstream_inference_cost": 0.0001468}}
        });
        let entry = Entry::of_answer(answer.as_object().cloned().unwrap()).unwrap();
        assert_eq!(entry.total_cost, Decimal::new(15414, 8));
        assert_eq!(entry.upstream_cost, Decimal::new(1468, 7));
        assert_eq!(entry.usage.reasoning, 2);
        assert_eq!(entry.finish_reason.as_deref(), Some("stop"));
        for field in ["id", "created", "usage", "routing"] {
            assert!(!entry.body.contains_key(field), "{field}");
        }
        assert_eq!(Entry::decode(&entry.encode()), Some(entry));
        assert_eq!(Entry::decode(b"{}"), None);
        assert!(Entry::of_answer(Map::new()).is_none());
    }
}
