//! Embeddings (contract 0.4.0): the canonical request, and helpers for upstreams that speak
//! OpenAI's `POST /embeddings`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::provider::{HttpResponse, ParsedEmbeddings, PluginError, Usage, parse_json};

/// A canonical embeddings request (OpenAI `POST /v1/embeddings`). The host handles
/// `encoding_format` itself: adapters always return numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    /// Model id requested by the client.
    pub model: String,
    /// What to embed.
    pub input: EmbeddingInput,
    /// Output dimensions, for models that can shorten their vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u64>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `input` of an embeddings request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    Text(String),
    /// Several texts.
    Texts(Vec<String>),
    /// One text as token ids.
    Tokens(Vec<u64>),
    /// Several texts as token ids.
    TokenLists(Vec<Vec<u64>>),
}

impl EmbeddingInput {
    /// The texts, when the input is text (token ids are provider-specific and have none).
    pub fn texts(&self) -> Option<Vec<String>> {
        match self {
            EmbeddingInput::Text(text) => Some(vec![text.clone()]),
            EmbeddingInput::Texts(texts) => Some(texts.clone()),
            EmbeddingInput::Tokens(_) | EmbeddingInput::TokenLists(_) => None,
        }
    }
}

/// Reads an OpenAI-style embeddings `list` into the canonical one: `data` ordered by `index`,
/// each vector a list of numbers, `usage.prompt_tokens` as typed usage. A body that is not such
/// a list is an upstream error.
pub fn parse_openai_embeddings(response: &HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
    let body: Value = parse_json(&response.body)?;
    let broken = |what: &str| {
        PluginError::UpstreamUnavailable(format!("upstream embeddings answer: {what}"))
    };
    let items = body
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| broken("no `data` list"))?;
    let mut data = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        let vector = item
            .get("embedding")
            .and_then(Value::as_array)
            .filter(|vector| vector.iter().all(Value::is_number))
            .ok_or_else(|| broken("an item has no numeric `embedding`"))?;
        let index = item
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        data.push(json!({ "object": "embedding", "index": index, "embedding": vector }));
    }
    data.sort_by_key(|item| item["index"].as_u64());
    let prompt_tokens = body
        .get("usage")
        .and_then(|usage| usage.get("prompt_tokens"))
        .and_then(Value::as_u64);
    let canonical = json!({
        "object": "list",
        "data": data,
        "model": body.get("model").cloned().unwrap_or(Value::Null),
        "usage": { "prompt_tokens": prompt_tokens.unwrap_or(0), "total_tokens": prompt_tokens.unwrap_or(0) },
    });
    Ok(ParsedEmbeddings {
        body: serde_json::to_vec(&canonical)
            .map_err(|error| PluginError::Internal(format!("cannot serialise: {error}")))?,
        usage: prompt_tokens.map(|prompt_tokens| Usage {
            prompt_tokens,
            ..Usage::zero()
        }),
    })
}
