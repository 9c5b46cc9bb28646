//! Switchyard provider adapter for the Cohere Chat v2 API (`POST <base_url>/chat`, base URL
//! `https://api.cohere.com/v2`).
//!
//! # Requests
//!
//! The credential goes in `Authorization: Bearer` (the host inserts it). Messages keep their
//! roles (`system`, `user`, `assistant`, `tool`; developer → system); user `image_url` parts are
//! passed in Cohere's own `image_url` part form (URL or data URI); assistant tool calls and tool
//! results keep the OpenAI shape, which v2 shares. Parameters: `max_tokens`/`max_completion_tokens`
//! → `max_tokens`, `temperature`, `top_p` → `p`, `top_k` → `k`, `stop` → `stop_sequences`,
//! `seed`, `presence_penalty`, `frequency_penalty`, `tools` (same shape), `tool_choice`
//! `required` → `REQUIRED`, `none` → `NONE`, `auto` → omitted, a named function → `REQUIRED` with
//! only that tool offered; `response_format` `json_object` → `{type: json_object}`, `json_schema`
//! → `{type: json_object, json_schema: <schema>}`; OpenRouter's `reasoning` → `thinking`
//! (`{type: enabled, token_budget}` from `max_tokens`, or `{type: disabled}` for `effort: none` /
//! `enabled: false`).
//!
//! # Responses and streams
//!
//! `text` content → `content`, `thinking` content and the `tool_plan` → `reasoning`,
//! `tool_calls` as they are. Finish reasons: `COMPLETE`/`STOP_SEQUENCE` → stop, `MAX_TOKENS` →
//! length, `TOOL_CALL` → tool_calls, `ERROR`/`TIMEOUT` → error. Usage is the raw `tokens`
//! the model processed (`billed_units` when they are absent), like every other adapter's, with
//! `cached_tokens` as the prompt tokens read from the cache.
//!
//! Streams are typed SSE events (`message-start`, `content-start`/`-delta`/`-end`,
//! `tool-plan-delta`, `tool-call-start`/`-delta`/`-end`, `citation-*`, `message-end`);
//! `message-end` carries the finish reason and usage and is the terminal event (`done`). A
//! `message-end` with finish reason `ERROR` is an upstream error.
//!
//! Errors (`{"message": ...}`) map by status: 429 → rate-limited, 401/402/403 → auth,
//! 400/404/422 → invalid request (context length when the message says so), 503 → overloaded,
//! other 5xx → upstream unavailable.
//!
//! # Embeddings
//!
//! `POST <base_url>/embed` (Embed v2): `model`, `texts`, `input_type` (Cohere requires one: the
//! request's `input_type` — `search_document`, `search_query`, `classification`, `clustering` —
//! else `search_document`), `embedding_types: ["float"]`, `dimensions` → `output_dimension`. The
//! answer's `embeddings.float` become the vectors; usage is `meta.billed_units.input_tokens`.
//! Token-id inputs are refused (invalid request). The `path` option applies to chat only.
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `auth` | `bearer` (default) or `none` | `Authorization: Bearer` credential or none |
//! | `path` | default `chat` | path appended to the base URL |
//! | `header.<name>` | any | send the static header `<name>: <value>` upstream (e.g. `header.X-Client-Name`) |

mod embeddings;
mod error;
mod request;
mod response;
mod stream;
mod usage;

use switchyard_sdk::provider::*;

pub use stream::CohereDecoder;

/// The Cohere Chat v2 provider adapter.
pub struct Cohere;

/// Request parameters the adapter translates.
const SUPPORTED_PARAMETERS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
    "tools",
    "tool_choice",
    "reasoning",
];

impl Provider for Cohere {
    type Decoder = CohereDecoder;

    fn describe() -> Descriptor {
        Descriptor::builder("cohere", "0.1.0")
            .allowed_hosts(&["api.cohere.com", "api.cohere.ai"])
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
        response::parse(&response)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        error::from_response(&response)
    }

    const EMBEDDINGS: bool = true;

    fn build_embeddings_request(
        request: EmbeddingsRequest,
        endpoint: EndpointSettings,
    ) -> Result<HttpRequest, PluginError> {
        embeddings::build(request, &endpoint)
    }

    fn parse_embeddings_response(response: HttpResponse) -> Result<ParsedEmbeddings, PluginError> {
        embeddings::parse(&response)
    }
}

switchyard_sdk::export_provider!(Cohere);
