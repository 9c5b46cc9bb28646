//! Embeddings through InvokeModel (`POST <base_url>/model/<model id>/invoke`) for the two text
//! embedding families Bedrock documents, told apart by the model id (inference profile prefixes
//! such as `us.` allowed):
//! - Amazon Titan Text Embeddings (`amazon.titan-embed-…`): one `inputText` per call, so a
//!   request with several inputs is refused; `dimensions` passed as is; the answer's `embedding`
//!   and `inputTextTokenCount`.
//! - Cohere Embed (`cohere.embed-…`): Cohere's body (`texts`, `input_type`, float
//!   `embedding_types`, `output_dimension`), answered by `embeddings.float`.
//!
//! Usage is the `x-amzn-bedrock-input-token-count` header when Bedrock sends it, else Titan's
//! `inputTextTokenCount`; without either the host charges an estimate.

use serde_json::{Value, json};
use switchyard_sdk::embeddings::{cohere_float_vectors, embeddings_list};
use switchyard_sdk::provider::*;

use crate::options::Options;
use crate::request::model_post;

/// The header in which Bedrock reports an invocation's input tokens.
const INPUT_TOKENS_HEADER: &str = "x-amzn-bedrock-input-token-count";

/// The embedding model families this adapter speaks.
enum Family {
    /// Amazon Titan Text Embeddings (G1, v2) and Titan Multimodal Embeddings (text only).
    Titan,
    /// Cohere Embed (v3, v4).
    Cohere,
}

/// The family of a Bedrock model id, or an invalid request for any other model.
fn family(model: &str) -> Result<Family, PluginError> {
    if model.contains("amazon.titan-embed") {
        Ok(Family::Titan)
    } else if model.contains("cohere.embed") {
        Ok(Family::Cohere)
    } else {
        Err(PluginError::InvalidRequest(format!(
            "the bedrock adapter serves embeddings from Amazon Titan (`amazon.titan-embed-…`) and Cohere Embed (`cohere.embed-…`) models; `{model}` is neither"
        )))
    }
}

/// Builds the signed InvokeModel request in the model family's body.
pub fn build(
    request: EmbeddingsRequest,
    endpoint: &EndpointSettings,
) -> Result<HttpRequest, PluginError> {
    let options = Options::parse(endpoint)?;
    let body = match family(&endpoint.upstream_model)? {
        Family::Titan => titan_body(&request)?,
        Family::Cohere => Value::Object(request.cohere_embed_body("bedrock")?),
    };
    model_post(endpoint, options.region, "invoke", &body)
}

/// `{"inputText", "dimensions"}`: Titan embeds exactly one text per call.
fn titan_body(request: &EmbeddingsRequest) -> Result<Value, PluginError> {
    let texts = request.texts_only("bedrock")?;
    let [text] = texts.as_slice() else {
        return Err(PluginError::InvalidRequest(format!(
            "Amazon Titan embedding models take one text per request; this one has {}: send one request per text",
            texts.len()
        )));
    };
    let mut body = json!({ "inputText": text });
    if let Some(dimensions) = request.dimensions {
        body["dimensions"] = json!(dimensions);
    }
    Ok(body)
}

/// Reads a Titan answer (`embedding`, `inputTextTokenCount`) or a Cohere one
/// (`embeddings.float`), with the input token count of the header when present.
pub fn parse(response: &HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
    let body: Value = parse_json(&response.body)?;
    let header_tokens = header(&response.headers, INPUT_TOKENS_HEADER)
        .and_then(|count| count.trim().parse::<u64>().ok());
    match body.get("embedding") {
        Some(vector) => {
            let tokens =
                header_tokens.or_else(|| body.get("inputTextTokenCount").and_then(Value::as_u64));
            embeddings_list(vec![vector.clone()], Value::Null, tokens)
        }
        None => embeddings_list(cohere_float_vectors(&body)?, Value::Null, header_tokens),
    }
}
