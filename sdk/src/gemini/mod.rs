//! Google Gemini wire format (`generateContent`, `streamGenerateContent?alt=sse`,
//! `batchEmbedContents`), shared by the adapters that speak it: Google AI Studio (`gemini`) and
//! Vertex AI (`vertex`, Gemini models). The adapters add the URL, the credential placement and
//! their options; everything in between is here.
//!
//! - [`request::body`] translates the canonical conversation (system and developer messages →
//!   `systemInstruction`; tool calls → `functionCall` parts; tool results → `functionResponse`
//!   parts; sampling, limits, `response_format`, tools and `reasoning` → `generationConfig`,
//!   `tools` and `toolConfig`).
//! - [`response::parse`] and [`stream::GeminiDecoder`] turn answers back into canonical
//!   completions and chunks (call ids synthesised as `call_<n>`, thought signatures kept as
//!   `reasoning_details` of format `google-gemini-v1`, finish reasons normalised). A stream ends
//!   at the first event whose candidate carries a `finishReason`; Vertex AI streamed function
//!   arguments (`partialArgs` + `willContinue`) are assembled.
//! - [`error::from_response`] classifies google.rpc error bodies.
//! - [`embeddings`] builds `batchEmbedContents` bodies and reads their answers.

pub mod contents;
pub mod embeddings;
pub mod error;
pub mod grounding;
pub mod request;
pub mod response;
pub mod schema;
pub mod stream;
pub mod usage;

pub use stream::GeminiDecoder;

/// The canonical request fields the translation serves (the `gemini` adapter declares them;
/// `vertex` serves them for Gemini models): any other a request sets is refused by name.
pub const SUPPORTED_PARAMETERS: &[&str] = &[
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
    "structured_outputs",
    "tools",
    "tool_choice",
    "reasoning",
    "web_search_options",
    "reasoning_effort",
];
