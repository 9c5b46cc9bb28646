//! Switchyard provider adapter for OpenAI and every OpenAI-compatible Chat Completions API
//! (OpenAI, Groq, Together, DeepSeek, Mistral, Fireworks, vLLM, Ollama, LM Studio...).
//!
//! The canonical format already is OpenAI chat completions, so the adapter mostly passes
//! requests and responses through: it points the request at `<base_url>/chat/completions`, sets
//! the upstream model, drops the OpenRouter-only fields upstreams reject (`models`, `provider`,
//! `route`, `transforms`, `plugins`, `usage`; `reasoning` becomes `reasoning_effort`), asks for
//! usage in streams, and on the way back normalises finish reasons, moves DeepSeek-style
//! `reasoning_content` (and Mistral's `thinking` content parts) to `reasoning`, strips usage and
//! padding (`obfuscation`, `p`) from chunks and reports usage as typed counts.
//!
//! It serves embeddings too (`POST <base_url>/embeddings`, OpenAI's shape, which every
//! OpenAI-compatible server shares).
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `auth` | `bearer` (default) or `none` | `Authorization: Bearer` credential, or no credential (local servers) |
//! | `api_key_header` | header name, e.g. `api-key` | put the raw credential in this header instead of `Authorization` |
//! | `api_key_query` | parameter name, e.g. `key` | put the credential in this query parameter instead |
//! | `path` | e.g. `chat/completions?api-version=2024-10-21` | path appended to the base URL (default `chat/completions`) |
//! | `embeddings_path` | e.g. `embeddings?api-version=2024-10-21` | path of embeddings requests (default `embeddings`) |
//! | `header.<name>` | any | send the static header `<name>: <value>` upstream (e.g. `header.OpenAI-Organization`) |
//! | `include_usage` | `true` (default) or `false` | send `stream_options.include_usage` on streamed requests (turn off for servers that reject `stream_options`) |
//! | `max_tokens_field` | `max_tokens` or `max_completion_tokens` | send the output token limit under this name only (reasoning models reject `max_tokens`; old servers ignore `max_completion_tokens`) |
//! | `reasoning_budget_field` | a field name, e.g. `thinking_budget` | send OpenRouter's `reasoning.max_tokens` under this top-level field; without it a request with `reasoning.max_tokens` is refused (OpenAI takes `reasoning_effort`, not a budget) |
//!
//! An unknown option (a typo) or an invalid value makes `build-request` fail with an internal
//! error naming the option.

mod options;
mod request;

use switchyard_sdk::provider::*;

use switchyard_sdk::chat_completions::{
    ChatCompletionsDecoder, Dialect, OPENAI_PARAMETERS, OpenAiDialect, parse_response,
};
use switchyard_sdk::embeddings::parse_openai_embeddings;

/// The stream decoder: the shared Chat Completions decoder with OpenAI's error reporting.
pub type OpenAiDecoder = ChatCompletionsDecoder<OpenAiDialect>;

/// The OpenAI-compatible provider adapter.
pub struct OpenAi;

impl Provider for OpenAi {
    type Decoder = OpenAiDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "openai".to_owned(),
            version: "0.1.0".to_owned(),
            allowed_hosts: vec!["api.openai.com".to_owned()],
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

    const EMBEDDINGS: bool = true;

    fn build_embeddings_request(
        request: EmbeddingsRequest,
        endpoint: EndpointSettings,
    ) -> Result<HttpRequest, PluginError> {
        request::build_embeddings(request, &endpoint)
    }

    fn parse_embeddings_response(response: HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
        parse_openai_embeddings(&response)
    }
}

switchyard_sdk::export_provider!(OpenAi);
