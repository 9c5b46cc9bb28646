//! The OpenAI Chat Completions wire format, shared by every adapter whose upstream speaks it
//! (OpenAI and its many compatibles, Azure OpenAI, Mistral...): response parsing, stream
//! decoding, normalisation to the canonical format, and error classification. Providers differ
//! in how they report errors; a [`Dialect`] says how.
//!
//! ```ignore
//! impl Provider for MyAdapter {
//!     type Decoder = ChatCompletionsDecoder<OpenAiDialect>;
//!     fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
//!         parse_response::<OpenAiDialect>(&response)
//!     }
//!     fn parse_error(response: HttpResponse) -> PluginError {
//!         OpenAiDialect::response_error(&response)
//!     }
//!     // build_request: `request_body(...)` plus the provider's own URL and auth
//! }
//! ```

pub mod error;
pub mod normalize;
mod request;
mod response;
mod stream;

use serde_json::Value;

use crate::provider::{HttpResponse, PluginError};

pub use request::{reasoning_budget, request_body};

/// The request parameters OpenAI's Chat Completions API accepts, forwarded as they are by the
/// adapters whose upstream is OpenAI itself or a faithful copy (Azure OpenAI).
pub const OPENAI_PARAMETERS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "response_format",
    "structured_outputs",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "reasoning_effort",
    "user",
    "n",
];

pub use response::{parse as parse_response, shape};
pub use stream::ChatCompletionsDecoder;

/// How one provider reports errors in the Chat Completions format.
pub trait Dialect: std::fmt::Debug + 'static {
    /// The error carried by a 2xx body or a stream chunk, if it is one.
    fn embedded_error(value: &Value) -> Option<PluginError>;

    /// The error for a stream event named `error` whose payload was not recognised as one.
    fn stream_error(value: &Value) -> PluginError {
        Self::embedded_error(value).unwrap_or_else(|| {
            PluginError::UpstreamUnavailable("upstream sent an error event".to_owned())
        })
    }

    /// Classifies an unsuccessful (non-2xx) response.
    fn response_error(response: &HttpResponse) -> PluginError;
}

/// OpenAI's error reporting, which most compatible servers imitate: `{"error": {...}}` with
/// `code`/`type` strings (see [`error`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenAiDialect;

impl Dialect for OpenAiDialect {
    fn embedded_error(value: &Value) -> Option<PluginError> {
        error::embedded_error(value).map(|_| error::from_embedded(value))
    }

    fn stream_error(value: &Value) -> PluginError {
        error::from_embedded(value)
    }

    fn response_error(response: &HttpResponse) -> PluginError {
        error::from_response(response)
    }
}
