//! Switchyard provider adapter for Google Vertex AI: Gemini models (`generateContent` /
//! `streamGenerateContent?alt=sse`), Claude models (`rawPredict` / `streamRawPredict`) and text
//! embeddings (`predict`), at
//! `<base_url>/projects/<project>/locations/<region>/publishers/<google|anthropic>/models/<model>:<method>`.
//!
//! The base URL is the API root of the region: `https://<region>-aiplatform.googleapis.com/v1`,
//! or `https://aiplatform.googleapis.com/v1` for the `global` location. The credential is a
//! Google OAuth access token in `Authorization: Bearer`, minted and refreshed by the host from a
//! service account key or the metadata server: the adapter never sees it.
//!
//! # Models
//!
//! The upstream model names its publisher (`anthropic/claude-sonnet-4-5@20250929`,
//! `google/gemini-2.5-flash`), or is a bare id: `claude-*` is Anthropic's, any other Google's.
//!
//! - **Gemini** requests, answers and streams are Gemini's wire format, translated by
//!   [`switchyard_sdk::gemini`] exactly as the `gemini` adapter does.
//! - **Claude** requests are Anthropic Messages bodies translated by
//!   [`switchyard_sdk::anthropic`], with the model in the URL instead of the body and
//!   `anthropic_version` (`vertex-2023-10-16`) in the body; answers and streams are Anthropic's.
//!   The client's `anthropic-beta` values travel in the `anthropic-beta` header.
//! - **Embeddings** go to `:predict` with one instance per text (`input_type` → `task_type`,
//!   `dimensions` → `parameters.outputDimensionality`); the token counts of the predictions are
//!   the usage.
//!
//! Errors are classified by their body: Anthropic's (`{"type": "error"}`) as the `anthropic`
//! adapter does, google.rpc bodies as the `gemini` adapter does.
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `project` | required | the Google Cloud project id |
//! | `region` | default: from the base URL's host | the Vertex AI location, e.g. `us-east5`, `europe-west1` or `global`; a base URL on a Google host must serve it |
//! | `anthropic_version` | default `vertex-2023-10-16` | `anthropic_version` of Claude bodies |
//! | `anthropic_beta` | comma-separated | betas always sent with Claude requests, before the client's |
//! | `default_max_tokens` | integer, default `4096` | Claude's `max_tokens` when the request sets no limit |
//! | `auth` | `bearer` (default) or `none` | where the host puts the access token |
//! | `header.<name>` | any | send the static header `<name>: <value>` upstream |

mod embeddings;
mod options;
mod route;

use serde::Deserialize;
use switchyard_sdk::anthropic::request::Settings;
use switchyard_sdk::anthropic::{self, AnthropicDecoder};
use switchyard_sdk::fields::refuse_unserved;
use switchyard_sdk::gemini::{self, GeminiDecoder};
use switchyard_sdk::provider::*;

use options::Options;
use route::{Model, Publisher};

/// The Google Vertex AI provider adapter.
pub struct Vertex;

/// Request parameters both Gemini and Claude translations carry (what the adapter declares);
/// each publisher's translation serves its own list, and refuses any other field by name.
const SUPPORTED_PARAMETERS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop",
    "tools",
    "tool_choice",
    "reasoning",
    "web_search_options",
];

impl Provider for Vertex {
    type Decoder = VertexDecoder;

    fn describe() -> Descriptor {
        Descriptor::builder("vertex", "0.1.0")
            .allowed_hosts(&["*.googleapis.com"])
            .streaming()
            .tools()
            .vision()
            .documents()
            .reasoning()
            .supported_parameters(SUPPORTED_PARAMETERS)
            .build()
    }

    fn build_request(
        request: ChatRequest,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        let options = Options::parse(&endpoint)?;
        let model = Model::of(&endpoint.upstream_model);
        match model.publisher {
            Publisher::Google => {
                refuse_unserved(&request, "vertex (Gemini)", gemini::SUPPORTED_PARAMETERS)?;
                let body = gemini::request::body(&request)?;
                let url = model.url(&endpoint, &options, gemini::request::method(stream))?;
                json_post(url, &body, options.headers, options.credential)
            }
            Publisher::Anthropic => {
                refuse_unserved(&request, "vertex (Claude)", anthropic::SUPPORTED_PARAMETERS)?;
                let translated = anthropic::request::body(
                    &request,
                    Settings {
                        model: None,
                        default_max_tokens: options.default_max_tokens,
                        stream,
                    },
                )?;
                let mut body = translated.body;
                body.insert(
                    "anthropic_version".to_owned(),
                    serde_json::Value::String(options.anthropic_version.clone()),
                );
                let method = if stream {
                    "streamRawPredict"
                } else {
                    "rawPredict"
                };
                let url = model.url(&endpoint, &options, method)?;
                let mut headers = options.headers;
                if let Some(beta) = translated
                    .extension
                    .beta_header(options.anthropic_beta.as_deref())
                {
                    headers.push(("anthropic-beta".to_owned(), beta));
                }
                json_post(url, &body, headers, options.credential)
            }
        }
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        if Kind::of(&response.body).is("message") {
            anthropic::response::parse(&response)
        } else {
            gemini::response::parse(&response)
        }
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        if Kind::of(&response.body).is("error") {
            anthropic::error::from_response(&response)
        } else {
            gemini::error::from_response(&response)
        }
    }

    const EMBEDDINGS: bool = true;

    fn build_embeddings_request(
        request: EmbeddingsRequest,
        endpoint: EndpointSettings,
    ) -> Result<HttpRequest, PluginError> {
        let options = Options::parse(&endpoint)?;
        let model = Model::of(&endpoint.upstream_model);
        if model.publisher != Publisher::Google {
            return Err(PluginError::InvalidRequest(format!(
                "the vertex adapter embeds with Google's models only, not {:?}",
                endpoint.upstream_model
            )));
        }
        let url = model.url(&endpoint, &options, "predict")?;
        json_post(
            url,
            &embeddings::body(&request)?,
            options.headers,
            options.credential,
        )
    }

    fn parse_embeddings_response(response: HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
        embeddings::parse(&response)
    }
}

/// The top-level `type` of an answer: Anthropic's bodies have one (`message`, `error`),
/// Google's do not.
#[derive(Deserialize, Default)]
struct Kind {
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

impl Kind {
    fn of(body: &[u8]) -> Kind {
        serde_json::from_slice(body).unwrap_or_default()
    }

    fn is(&self, kind: &str) -> bool {
        self.kind.as_deref() == Some(kind)
    }
}

/// A stream's decoder: Gemini's or Anthropic's, by the model's publisher.
pub enum VertexDecoder {
    /// A Gemini model's `streamGenerateContent` events.
    Gemini(GeminiDecoder),
    /// A Claude model's `streamRawPredict` events.
    Claude(AnthropicDecoder),
}

impl StreamDecoder for VertexDecoder {
    fn new(endpoint: EndpointSettings) -> Self {
        match Model::of(&endpoint.upstream_model).publisher {
            Publisher::Google => VertexDecoder::Gemini(GeminiDecoder::new(endpoint)),
            Publisher::Anthropic => VertexDecoder::Claude(AnthropicDecoder::new(endpoint)),
        }
    }

    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        match self {
            VertexDecoder::Gemini(decoder) => decoder.decode(event),
            VertexDecoder::Claude(decoder) => decoder.decode(event),
        }
    }
}

switchyard_sdk::export_provider!(Vertex);
