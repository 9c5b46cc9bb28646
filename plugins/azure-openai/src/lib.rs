//! Switchyard provider adapter for Azure OpenAI (`https://<resource>.openai.azure.com`).
//!
//! Azure serves the OpenAI Chat Completions wire format at a deployment URL:
//! `POST <base_url>/openai/deployments/<upstream_model>/chat/completions?api-version=<version>`,
//! where `base_url` is the resource endpoint and `upstream_model` the deployment name. The
//! credential goes in the `api-key` header (the host inserts it). Otherwise requests and
//! responses are handled as by the `openai` adapter: OpenRouter-only fields are dropped
//! (`reasoning.effort` becomes `reasoning_effort`), streams ask for usage with
//! `stream_options.include_usage`, finish reasons are normalised (`content_filter` kept as
//! content_filter) with the native one kept, usage is reported typed, and the empty-`choices`
//! chunks Azure sends for prompt filter results are skipped. `response_format`, tools, images and
//! sampling parameters pass through natively.
//!
//! Errors: Azure's `content_filter` code → content-filtered, `429` → rate-limited with
//! `retry-after`, `401`/`403` → auth, `404` (unknown deployment) and `400` → invalid request (or
//! context length exceeded), `503` → overloaded.
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `api_version` | default `2024-10-21` | the `api-version` query parameter |
//! | `auth` | `api-key` (default), `bearer` or `none` | credential in the `api-key` header, as `Authorization: Bearer` (Microsoft Entra ID tokens), or none |
//! | `header.<name>` | any | send the static header `<name>: <value>` upstream |
//! | `include_usage` | `true` (default) or `false` | send `stream_options.include_usage` on streamed requests |
//! | `max_tokens_field` | `max_tokens` or `max_completion_tokens` | send the output token limit under this name only (o-series deployments reject `max_tokens`) |
//!
//! An unknown option or an invalid value makes `build-request` fail with an internal error
//! naming the option.

mod options;
mod request;

use switchyard_sdk::provider::*;

use switchyard_sdk::chat_completions::{
    ChatCompletionsDecoder, Dialect, OPENAI_PARAMETERS, OpenAiDialect, parse_response,
};

/// The stream decoder: the shared Chat Completions decoder with OpenAI's error reporting.
pub type AzureDecoder = ChatCompletionsDecoder<OpenAiDialect>;

/// The Azure OpenAI provider adapter.
pub struct AzureOpenAi;

impl Provider for AzureOpenAi {
    type Decoder = AzureDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "azure-openai".to_owned(),
            version: "0.1.0".to_owned(),
            allowed_hosts: vec![
                "*.openai.azure.com".to_owned(),
                "*.cognitiveservices.azure.com".to_owned(),
            ],
            capabilities: Capabilities {
                streaming: true,
                tools: true,
                supported_parameters: OPENAI_PARAMETERS.iter().map(|p| (*p).to_owned()).collect(),
                vision: true,
                documents: true,
                json_schema: true,
                reasoning: true,
            },
        }
    }

    fn build_request(
        request: ChatRequest,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        request::build(request, &endpoint, stream)
    }

    /// `messages` and `tools` go upstream as the client sent them: the host hands this adapter
    /// the request without them and puts them back into the body it builds.
    const PASSES_CONVERSATION: bool = true;

    /// What is left of the conversation passes through: it is never read into strings.
    fn build_request_from_json(
        request: &[u8],
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        request::build(read_passed_request(request)?, &endpoint, stream)
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        parse_response::<OpenAiDialect>(&response)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        OpenAiDialect::response_error(&response)
    }
}

switchyard_sdk::export_provider!(AzureOpenAi);
