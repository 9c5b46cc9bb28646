//! Switchyard provider adapter for the Mistral AI chat completions API
//! (`POST <base_url>/chat/completions`, base URL `https://api.mistral.ai/v1`).
//!
//! Mistral speaks the OpenAI format with quirks, which this adapter handles both ways.
//!
//! # Requests
//!
//! Mistral refuses unknown fields, so the body is rebuilt from an allow-list: `model`,
//! `messages`, `temperature`, `top_p`, `max_tokens` (from `max_completion_tokens` or
//! `max_tokens`), `stop`, `seed` → `random_seed`, `presence_penalty`, `frequency_penalty`, `n`,
//! `response_format` (json_object / json_schema, native), `tools`, `tool_choice` (`required` →
//! `any`), `parallel_tool_calls`, `safe_prompt`, `prompt_mode`, `prediction`, `stream`;
//! OpenRouter's `reasoning` (unless disabled) → `prompt_mode: "reasoning"`. Messages
//! keep `role` (developer → system), `content`, `name`, `tool_calls`, `tool_call_id` and `prefix`;
//! `image_url` parts are sent in Mistral's form (`"image_url": "<url or data URI>"`). Mistral
//! only accepts tool call ids of 9 letters and digits: other ids are mapped to such an id
//! (deterministically, so a call and its result keep matching).
//!
//! # Responses and streams
//!
//! Content part lists (reasoning models) are flattened: `text` parts → `content`, `thinking`
//! parts → `reasoning`. Tool calls get `type: function`; streamed tool-call deltas arrive whole,
//! without `index`, and get one (a delta with an `id` starts the next call). Finish reasons are
//! normalised (`model_length` → length) with the native one kept. Usage rides on the finish
//! chunk and is reported typed; the `p` padding field is dropped. `[DONE]` ends the stream.
//!
//! Errors map by status (429 → rate-limited with `retry-after`, 401/403 → auth, 400/404/422 →
//! invalid request or context length exceeded, 503 → overloaded, other 5xx → upstream
//! unavailable).
//!
//! # Embeddings
//!
//! `POST <base_url>/embeddings` (OpenAI's shape): `model`, `input` (a string or strings; token
//! ids are refused as an invalid request), `dimensions` → `output_dimension`; `user` and
//! `input_type` are not sent (Mistral refuses unknown fields). The answer is OpenAI's `list` with
//! `usage.prompt_tokens`. The `path` option applies to chat only.
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `auth` | `bearer` (default) or `none` | `Authorization: Bearer` credential or none |
//! | `path` | default `chat/completions` | path appended to the base URL |
//! | `header.<name>` | any | send the static header `<name>: <value>` upstream |

mod embeddings;
mod error;
mod request;

use switchyard_sdk::provider::*;

use switchyard_sdk::chat_completions::{ChatCompletionsDecoder, Dialect, parse_response};
use switchyard_sdk::embeddings::parse_openai_embeddings;

pub use error::MistralDialect;

/// The stream decoder: the shared Chat Completions decoder with Mistral's error reporting.
pub type MistralDecoder = ChatCompletionsDecoder<MistralDialect>;

/// The Mistral AI provider adapter.
pub struct Mistral;

/// Request parameters the adapter forwards.
const SUPPORTED_PARAMETERS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "response_format",
    "structured_outputs",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
];

impl Provider for Mistral {
    type Decoder = MistralDecoder;

    fn describe() -> Descriptor {
        Descriptor::builder("mistral", "0.1.0")
            .allowed_hosts(&["api.mistral.ai"])
            .streaming()
            .tools()
            .vision()
            .json_schema()
            .reasoning()
            .supported_parameters(SUPPORTED_PARAMETERS)
            .build()
    }

    fn build_request(
        request: ChatRequest,
        endpoint: EndpointSettings,
        stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        request::build(request, &endpoint, stream)
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        parse_response::<MistralDialect>(&response)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        MistralDialect::response_error(&response)
    }

    const EMBEDDINGS: bool = true;

    fn build_embeddings_request(
        request: EmbeddingsRequest,
        endpoint: EndpointSettings,
    ) -> Result<HttpRequest, PluginError> {
        embeddings::build(request, &endpoint)
    }

    fn parse_embeddings_response(response: HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
        parse_openai_embeddings(&response)
    }
}

switchyard_sdk::export_provider!(Mistral);
