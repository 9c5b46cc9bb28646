//! Embeddings through Embed v2 (`POST <base_url>/embed`): `texts` with the `input_type` Cohere
//! requires, answered by `embeddings.float` and `meta.billed_units.input_tokens`.

use serde_json::{Value, json};
use switchyard_sdk::embeddings::{cohere_float_vectors, embeddings_list};
use switchyard_sdk::provider::*;

use crate::request::DEFAULT_PATH;
use crate::usage;

/// The Embed v2 endpoint under the base URL.
const EMBED_PATH: &str = "embed";

/// Builds `POST <base_url>/embed`: `model`, `texts`, `input_type` (the request's, else
/// `search_document`), `embedding_types: ["float"]`, `output_dimension` from `dimensions`.
pub fn build(
    request: EmbeddingsRequest,
    endpoint: &EndpointSettings,
) -> Result<HttpRequest, PluginError> {
    let options = PathOptions::parse(endpoint, DEFAULT_PATH)?;
    let mut body = request.cohere_embed_body("cohere")?;
    body.insert("model".to_owned(), json!(endpoint.upstream_model));
    json_post(
        join_url(&endpoint.base_url, EMBED_PATH),
        &body,
        options.headers,
        options.credential,
    )
}

/// Reads `{"embeddings": {"float": [[...], ...]}, "meta": {"billed_units": {"input_tokens"}}}`.
pub fn parse(response: &HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
    let body: Value = parse_json(&response.body)?;
    let vectors = cohere_float_vectors(&body)?;
    let prompt_tokens = usage::from_cohere(body.get("meta")).map(|usage| usage.prompt_tokens);
    embeddings_list(vectors, Value::Null, prompt_tokens)
}
