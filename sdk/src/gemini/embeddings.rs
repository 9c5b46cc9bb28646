//! Embeddings through `models/<model>:batchEmbedContents`: one `EmbedContentRequest` per text,
//! answered by one `ContentEmbedding` (`values`) per request, in order. Gemini reports no token
//! usage for embeddings (the host charges an estimate).

use crate::embeddings::{embeddings_list, malformed_answer};
use crate::provider::*;
use serde_json::{Map, Value, json};

/// `input_type` (Cohere's names, or Gemini's own task types in any case) → Gemini `taskType`.
const TASK_TYPES: &[(&str, &str)] = &[
    ("search_document", "RETRIEVAL_DOCUMENT"),
    ("search_query", "RETRIEVAL_QUERY"),
    ("classification", "CLASSIFICATION"),
    ("clustering", "CLUSTERING"),
    ("retrieval_document", "RETRIEVAL_DOCUMENT"),
    ("retrieval_query", "RETRIEVAL_QUERY"),
    ("semantic_similarity", "SEMANTIC_SIMILARITY"),
    ("question_answering", "QUESTION_ANSWERING"),
    ("fact_verification", "FACT_VERIFICATION"),
    ("code_retrieval_query", "CODE_RETRIEVAL_QUERY"),
];

/// The `batchEmbedContents` body for `model` (without its `models/` prefix): each text one
/// request with the same model, `outputDimensionality` from `dimensions` and `taskType` from
/// `input_type`.
pub fn body(request: &EmbeddingsRequest, model: &str) -> Result<Value, PluginError> {
    let texts = request.texts_only("gemini")?;
    let mut shared = Map::new();
    shared.insert("model".to_owned(), json!(format!("models/{model}")));
    if let Some(task_type) = request.input_type().map(task_type).transpose()? {
        shared.insert("taskType".to_owned(), json!(task_type));
    }
    if let Some(dimensions) = request.dimensions {
        shared.insert("outputDimensionality".to_owned(), json!(dimensions));
    }
    let requests: Vec<Value> = texts
        .into_iter()
        .map(|text| {
            let mut one = shared.clone();
            one.insert("content".to_owned(), json!({"parts": [{"text": text}]}));
            Value::Object(one)
        })
        .collect();
    Ok(json!({ "requests": requests }))
}

/// Gemini's `taskType` for an `input_type` (Cohere's names, or Gemini's own in any case).
pub fn task_type(input_type: &str) -> Result<&'static str, PluginError> {
    let wanted = input_type.to_ascii_lowercase();
    TASK_TYPES
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, task)| *task)
        .ok_or_else(|| {
            PluginError::InvalidRequest(format!(
                "the gemini adapter does not know `input_type` {input_type:?}: use search_document, search_query, classification, clustering, semantic_similarity, question_answering, fact_verification or code_retrieval_query"
            ))
        })
}

/// Reads `{"embeddings": [{"values": [...]}, ...]}` (no usage).
pub fn parse(response: &HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
    let body: Value = parse_json(&response.body)?;
    let embeddings = body
        .get("embeddings")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed_answer("no `embeddings` list"))?;
    let vectors = embeddings
        .iter()
        .map(|embedding| {
            embedding
                .get("values")
                .cloned()
                .ok_or_else(|| malformed_answer("an embedding has no `values`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    embeddings_list(vectors, Value::Null, None)
}
