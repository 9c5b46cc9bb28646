//! The mock's embeddings endpoints in the other providers' wire formats, answered from the
//! request with the same deterministic vectors as the OpenAI one ([`crate::embeddings::vector`];
//! 8 numbers unless the request asks for another size; a text's tokens are its words):
//! - Gemini `:batchEmbedContents`: `{"embeddings": [{"values"}]}`, one per request, no usage
//!   (Gemini reports none);
//! - Vertex AI `:predict`: `{"predictions": [{"embeddings": {"values", "statistics":
//!   {"token_count"}}}]}`, one per instance;
//! - Cohere `/v2/embed`: `{"embeddings": {"float"}, "meta": {"billed_units": {"input_tokens"}}}`;
//!   requires `input_type` and `embedding_types` with `float`, as Cohere does;
//! - Bedrock `/model/{model}/invoke`: a Titan body (`inputText` → `embedding`,
//!   `inputTextTokenCount`) or a Cohere one (`texts` → `embeddings.float`), with the
//!   `x-amzn-bedrock-input-token-count` header.

use serde_json::{Value, json};

use crate::embeddings::{dimensions, vector, words};
use crate::scenario::Format;

/// A computed answer: the JSON body and extra response headers.
#[derive(Debug)]
pub struct Answer {
    /// The response body.
    pub body: Value,
    /// Headers to add, e.g. Bedrock's token count.
    pub headers: Vec<(&'static str, String)>,
}

/// The answer of an embeddings endpoint of `format` to `request`, or why it is malformed.
pub fn answer(format: Format, request: Option<&Value>) -> Result<Answer, String> {
    let plain = |body| Answer {
        body,
        headers: Vec::new(),
    };
    match format {
        Format::GeminiEmbeddings => gemini(request.ok_or("the body is not JSON")?).map(plain),
        Format::CohereEmbeddings => cohere(request.ok_or("the body is not JSON")?).map(plain),
        Format::BedrockInvoke => bedrock(request.ok_or("the body is not JSON")?),
        Format::VertexEmbeddings => vertex(request.ok_or("the body is not JSON")?).map(plain),
        _ => crate::embeddings::answer(request).map(plain),
    }
}

fn gemini(request: &Value) -> Result<Value, String> {
    let requests = request
        .get("requests")
        .and_then(Value::as_array)
        .filter(|requests| !requests.is_empty())
        .ok_or("`requests` is not a non-empty array")?;
    let mut embeddings = Vec::with_capacity(requests.len());
    for one in requests {
        let parts = one
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .ok_or("a request has no `content.parts`")?;
        let text: String = parts
            .iter()
            .map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Option<_>>()
            .ok_or("a part has no `text`")?;
        let size = dimensions(one, &["outputDimensionality"]);
        embeddings.push(json!({ "values": vector(&text, size) }));
    }
    Ok(json!({ "embeddings": embeddings }))
}

fn vertex(request: &Value) -> Result<Value, String> {
    let instances = request
        .get("instances")
        .and_then(Value::as_array)
        .filter(|instances| !instances.is_empty())
        .ok_or("`instances` is not a non-empty array")?;
    let size = request
        .get("parameters")
        .map(|parameters| dimensions(parameters, &["outputDimensionality"]))
        .unwrap_or(8);
    let mut predictions = Vec::with_capacity(instances.len());
    for instance in instances {
        let text = instance
            .get("content")
            .and_then(Value::as_str)
            .ok_or("an instance has no `content` string")?;
        predictions.push(json!({"embeddings": {
            "statistics": {"truncated": false, "token_count": words(text)},
            "values": vector(text, size),
        }}));
    }
    Ok(json!({ "predictions": predictions, "metadata": {"billableCharacterCount": 1} }))
}

fn cohere(request: &Value) -> Result<Value, String> {
    if request.get("input_type").and_then(Value::as_str).is_none() {
        return Err("`input_type` is required".to_owned());
    }
    let wants_floats = request
        .get("embedding_types")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t == "float"));
    if !wants_floats {
        return Err("`embedding_types` must include `float`".to_owned());
    }
    let (vectors, tokens) = cohere_vectors(request)?;
    Ok(json!({
        "id": "mock-embed",
        "embeddings": { "float": vectors },
        "texts": request["texts"],
        "meta": { "api_version": { "version": "2" }, "billed_units": { "input_tokens": tokens } },
        "response_type": "embeddings_by_type",
    }))
}

/// The float vectors of Cohere's `texts` and their token count.
fn cohere_vectors(request: &Value) -> Result<(Vec<Vec<f32>>, u64), String> {
    let texts: Vec<&str> = request
        .get("texts")
        .and_then(Value::as_array)
        .and_then(|texts| texts.iter().map(Value::as_str).collect())
        .ok_or("`texts` is not an array of strings")?;
    let size = dimensions(request, &["output_dimension"]);
    let vectors = texts.iter().map(|text| vector(text, size)).collect();
    Ok((vectors, texts.iter().map(|text| words(text)).sum()))
}

fn bedrock(request: &Value) -> Result<Answer, String> {
    let (body, tokens) = match request.get("inputText") {
        Some(Value::String(text)) => {
            let embedding = vector(text, dimensions(request, &["dimensions"]));
            let tokens = words(text);
            let body = json!({
                "embedding": embedding,
                "inputTextTokenCount": tokens,
                "embeddingsByType": { "float": embedding },
            });
            (body, tokens)
        }
        Some(_) => return Err("`inputText` is not a string".to_owned()),
        None => {
            let (vectors, tokens) = cohere_vectors(request)?;
            let body = json!({
                "id": "mock-embed",
                "embeddings": { "float": vectors },
                "texts": request["texts"],
                "response_type": "embeddings_by_type",
            });
            (body, tokens)
        }
    };
    Ok(Answer {
        body,
        headers: vec![("x-amzn-bedrock-input-token-count", tokens.to_string())],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_answers_one_vector_per_text_in_its_own_shape() {
        let gemini = answer(
            Format::GeminiEmbeddings,
            Some(&json!({"requests": [
                {"content": {"parts": [{"text": "a b"}]}, "outputDimensionality": 3},
                {"content": {"parts": [{"text": "c"}]}},
            ]})),
        )
        .expect("gemini");
        assert_eq!(
            gemini.body["embeddings"][0]["values"],
            json!(vector("a b", 3))
        );
        assert_eq!(
            gemini.body["embeddings"][1]["values"]
                .as_array()
                .map(Vec::len),
            Some(8)
        );

        let cohere_request = json!({"texts": ["a b", "c"], "input_type": "search_query", "embedding_types": ["float"]});
        let cohere = answer(Format::CohereEmbeddings, Some(&cohere_request)).expect("cohere");
        assert_eq!(cohere.body["embeddings"]["float"][1], json!(vector("c", 8)));
        assert_eq!(cohere.body["meta"]["billed_units"]["input_tokens"], 3);
        assert!(answer(Format::CohereEmbeddings, Some(&json!({"texts": ["a"]}))).is_err());

        let titan = answer(
            Format::BedrockInvoke,
            Some(&json!({"inputText": "a b c", "dimensions": 4})),
        )
        .expect("titan");
        assert_eq!(titan.body["embedding"], json!(vector("a b c", 4)));
        assert_eq!(
            titan.headers,
            [("x-amzn-bedrock-input-token-count", "3".to_owned())]
        );
        let on_bedrock =
            answer(Format::BedrockInvoke, Some(&cohere_request)).expect("cohere on bedrock");
        assert!(on_bedrock.body.get("meta").is_none());
        assert_eq!(on_bedrock.headers[0].1, "3");
    }
}
