//! Where a request goes: the publisher serving the model and the model's URL.

use switchyard_sdk::provider::{EndpointSettings, PluginError, join_url};

use crate::options::{Options, host_of, region_of};

/// Who publishes a model on Vertex AI, and so which wire format it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    /// Google's models (Gemini, text embeddings): `generateContent`, `predict`.
    Google,
    /// Anthropic's models (Claude): `rawPredict`, Messages API bodies.
    Anthropic,
}

/// A model on Vertex AI: its publisher and its id there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model<'a> {
    /// The publisher.
    pub publisher: Publisher,
    /// The model id in the URL, e.g. `claude-sonnet-4-5@20250929`.
    pub id: &'a str,
}

impl<'a> Model<'a> {
    /// The model of `upstream_model`: `anthropic/<id>` or `google/<id>` name the publisher, a
    /// bare `claude-*` id is Anthropic's, any other Google's.
    pub fn of(upstream_model: &'a str) -> Model<'a> {
        if let Some(id) = upstream_model.strip_prefix("anthropic/") {
            return Model {
                publisher: Publisher::Anthropic,
                id,
            };
        }
        if let Some(id) = upstream_model.strip_prefix("google/") {
            return Model {
                publisher: Publisher::Google,
                id,
            };
        }
        let id = upstream_model.trim_start_matches("models/");
        let publisher = if id.starts_with("claude") {
            Publisher::Anthropic
        } else {
            Publisher::Google
        };
        Model { publisher, id }
    }

    /// `<base_url>/projects/<p>/locations/<r>/publishers/<publisher>/models/<id>:<method>`.
    /// A base URL on a Google host must be the one serving the configured region.
    pub fn url(
        &self,
        endpoint: &EndpointSettings,
        options: &Options,
        method: &str,
    ) -> Result<String, PluginError> {
        if let Some(served) = region_of(&endpoint.base_url)
            && served != options.region
        {
            return Err(PluginError::Internal(format!(
                "vertex adapter: region {:?} is served at https://{}/v1, but the base URL is {:?}",
                options.region,
                host_of(&options.region),
                endpoint.base_url
            )));
        }
        let publisher = match self.publisher {
            Publisher::Google => "google",
            Publisher::Anthropic => "anthropic",
        };
        Ok(join_url(
            &endpoint.base_url,
            &format!(
                "projects/{}/locations/{}/publishers/{publisher}/models/{}:{method}",
                options.project, options.region, self.id
            ),
        ))
    }
}
