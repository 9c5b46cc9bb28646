//! Embeddings (contract 0.4.0): the canonical request, the canonical answer, and helpers for the
//! wire formats several adapters share: OpenAI's `POST /embeddings` (every OpenAI-compatible
//! server, Mistral) and Cohere's Embed body (Cohere's API and Cohere models on Bedrock).

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

impl EmbeddingsRequest {
    /// The texts to embed, for upstreams that take text only: token-id inputs are refused as an
    /// invalid request naming `adapter`.
    pub fn texts_only(&self, adapter: &str) -> Result<Vec<String>, PluginError> {
        self.input.texts().ok_or_else(|| {
            PluginError::InvalidRequest(format!(
                "the {adapter} adapter embeds text only: send `input` as a string or an array of strings, not token ids"
            ))
        })
    }

    /// The request's `input_type` (Cohere's names: `search_document`, `search_query`,
    /// `classification`, `clustering`), when it carries one.
    pub fn input_type(&self) -> Option<&str> {
        self.extra.get("input_type").and_then(Value::as_str)
    }

    /// The fields of a Cohere Embed body: `texts` (token ids refused, naming `adapter`),
    /// `input_type` (the request's, else [`COHERE_DEFAULT_INPUT_TYPE`]: Cohere requires one),
    /// `embedding_types: ["float"]` and `output_dimension` from `dimensions`.
    pub fn cohere_embed_body(&self, adapter: &str) -> Result<Map<String, Value>, PluginError> {
        let mut body = Map::new();
        body.insert("texts".to_owned(), json!(self.texts_only(adapter)?));
        body.insert(
            "input_type".to_owned(),
            json!(self.input_type().unwrap_or(COHERE_DEFAULT_INPUT_TYPE)),
        );
        body.insert("embedding_types".to_owned(), json!(["float"]));
        if let Some(dimensions) = self.dimensions {
            body.insert("output_dimension".to_owned(), json!(dimensions));
        }
        Ok(body)
    }
}

/// The `input_type` a Cohere Embed request gets when the client names none: documents to store,
/// the usual reason to embed.
pub const COHERE_DEFAULT_INPUT_TYPE: &str = "search_document";

/// The vectors of a Cohere Embed answer asked for floats: `embeddings.float`.
pub fn cohere_float_vectors(body: &Value) -> Result<Vec<Value>, PluginError> {
    body.get("embeddings")
        .and_then(|embeddings| embeddings.get("float"))
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| malformed_answer("no `embeddings.float` list"))
}

/// The canonical embeddings answer for `vectors` (one per input, in input order, each a JSON
/// array of numbers): an OpenAI embeddings `list`, with `prompt_tokens` as typed usage when the
/// provider reported it. A vector that is not an array of numbers is an upstream error.
pub fn embeddings_list(
    vectors: Vec<Value>,
    model: Value,
    prompt_tokens: Option<u64>,
) -> Result<ParsedEmbeddings, PluginError> {
    let mut data = Vec::with_capacity(vectors.len());
    for (index, vector) in vectors.into_iter().enumerate() {
        if !vector
            .as_array()
            .is_some_and(|numbers| numbers.iter().all(Value::is_number))
        {
            return Err(malformed_answer("a vector is not an array of numbers"));
        }
        data.push(json!({ "object": "embedding", "index": index, "embedding": vector }));
    }
    let canonical = json!({
        "object": "list",
        "data": data,
        "model": model,
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

/// An upstream embeddings answer that is not what its API documents.
pub fn malformed_answer(what: &str) -> PluginError {
    PluginError::UpstreamUnavailable(format!("upstream embeddings answer: {what}"))
}

/// Reads an OpenAI-style embeddings `list` into the canonical one: `data` ordered by `index`,
/// each vector a list of numbers, `usage.prompt_tokens` as typed usage. A body that is not such
/// a list is an upstream error.
pub fn parse_openai_embeddings(response: &HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
    let body: Value = parse_json(&response.body)?;
    let items = body
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed_answer("no `data` list"))?;
    let mut indexed = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        let vector = item
            .get("embedding")
            .filter(|vector| vector.is_array())
            .ok_or_else(|| malformed_answer("an item has no numeric `embedding`"))?;
        let index = item
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        indexed.push((index, vector.clone()));
    }
    indexed.sort_by_key(|(index, _)| *index);
    let prompt_tokens = body
        .get("usage")
        .and_then(|usage| usage.get("prompt_tokens"))
        .and_then(Value::as_u64);
    embeddings_list(
        indexed.into_iter().map(|(_, vector)| vector).collect(),
        body.get("model").cloned().unwrap_or(Value::Null),
        prompt_tokens,
    )
}
