//! Embeddings through `POST <base_url>/embeddings`: OpenAI's shape, except that the vector size
//! is `output_dimension` and Mistral refuses fields it does not know.

use serde_json::{Map, json};
use switchyard_sdk::provider::*;

use crate::request::DEFAULT_PATH;

/// The embeddings endpoint under the base URL.
const EMBEDDINGS_PATH: &str = "embeddings";

/// Builds `POST <base_url>/embeddings` with `model`, `input` (text only) and `output_dimension`
/// from `dimensions`; `user` and `input_type` have no Mistral counterpart and are not sent.
pub fn build(
    request: EmbeddingsRequest,
    endpoint: &EndpointSettings,
) -> Result<HttpRequest, PluginError> {
    let options = PathOptions::parse(endpoint, DEFAULT_PATH)?;
    let texts = request.texts_only("mistral")?;
    let mut body = Map::new();
    body.insert("model".to_owned(), json!(endpoint.upstream_model));
    body.insert("input".to_owned(), json!(texts));
    if let Some(dimensions) = request.dimensions {
        body.insert("output_dimension".to_owned(), json!(dimensions));
    }
    json_post(
        join_url(&endpoint.base_url, EMBEDDINGS_PATH),
        &body,
        options.headers,
        options.credential,
    )
}
