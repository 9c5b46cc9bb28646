//! Embeddings through `publishers/google/models/<model>:predict` (`text-embedding-*`,
//! `gemini-embedding-*`): one instance per text, answered by one prediction per instance, in
//! order, each with its token count.

use serde_json::{Map, Value, json};
use switchyard_sdk::embeddings::{embeddings_list, malformed_answer};
use switchyard_sdk::gemini::embeddings::task_type;
use switchyard_sdk::provider::*;

/// The `predict` body: `instances[].content` (with `task_type` from `input_type`) and
/// `parameters.outputDimensionality` from `dimensions`.
pub fn body(request: &EmbeddingsRequest) -> Result<Value, PluginError> {
    let texts = request.texts_only("vertex")?;
    let task = request.input_type().map(task_type).transpose()?;
    let instances: Vec<Value> = texts
        .into_iter()
        .map(|text| {
            let mut instance = Map::new();
            instance.insert("content".to_owned(), json!(text));
            if let Some(task) = task {
                instance.insert("task_type".to_owned(), json!(task));
            }
            Value::Object(instance)
        })
        .collect();
    let mut body = Map::new();
    body.insert("instances".to_owned(), Value::Array(instances));
    if let Some(dimensions) = request.dimensions {
        body.insert(
            "parameters".to_owned(),
            json!({ "outputDimensionality": dimensions }),
        );
    }
    Ok(Value::Object(body))
}

/// Reads `{"predictions": [{"embeddings": {"values": [...], "statistics": {"token_count"}}}]}`;
/// the prompt tokens are the sum of the token counts.
pub fn parse(response: &HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
    let body: Value = parse_json(&response.body)?;
    let predictions = body
        .get("predictions")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed_answer("no `predictions` list"))?;
    let mut tokens = Some(0_u64);
    let mut vectors = Vec::with_capacity(predictions.len());
    for prediction in predictions {
        let embeddings = prediction
            .get("embeddings")
            .ok_or_else(|| malformed_answer("a prediction has no `embeddings`"))?;
        let values = embeddings
            .get("values")
            .cloned()
            .ok_or_else(|| malformed_answer("an embedding has no `values`"))?;
        let count = embeddings
            .get("statistics")
            .and_then(|statistics| statistics.get("token_count"))
            .and_then(|count| count.as_f64())
            .map(|count| count as u64);
        tokens = tokens.zip(count).map(|(sum, count)| sum + count);
        vectors.push(values);
    }
    embeddings_list(vectors, Value::Null, tokens)
}
