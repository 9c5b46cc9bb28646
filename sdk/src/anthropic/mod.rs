//! Anthropic Messages wire format, shared by the adapters that speak it: Anthropic's own API
//! (`anthropic`) and Claude on Vertex AI (`vertex`, `rawPredict` / `streamRawPredict`). The
//! adapters add the URL, the headers and the credential placement; everything in between is
//! here, with the canonical request's Anthropic extension ([`Extension`]) that Bedrock reads too.
//!
//! - [`request::body`] translates the canonical conversation (system lifted to `system`, tool
//!   calls → `tool_use`, tool messages → `tool_result`, images and documents → blocks,
//!   `reasoning` → `thinking`).
//! - [`response::parse`] and [`stream::AnthropicDecoder`] turn answers back into canonical
//!   completions and chunks (thinking → `reasoning` and `reasoning_details` of format
//!   `anthropic-claude-v1`, citations → `text_citations`, stop reasons normalised).
//! - [`error::from_response`] classifies Anthropic error bodies.

mod extension;

pub mod citations;
pub mod error;
pub mod messages;
pub mod request;
pub mod response;
pub mod stream;
pub mod usage;

pub use extension::*;
pub use stream::AnthropicDecoder;

/// The canonical request fields the translation serves (the `anthropic` adapter declares them;
/// `vertex` serves them for Claude models): any other a request sets is refused by name.
pub const SUPPORTED_PARAMETERS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "response_format",
    "user",
    "web_search_options",
    "reasoning_effort",
];
