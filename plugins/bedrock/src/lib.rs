//! Switchyard provider adapter for AWS Bedrock's Converse API
//! (`POST <base_url>/model/<model id>/converse`, and `/converse-stream` for streams, whose
//! binary `application/vnd.amazon.eventstream` framing the host splits into one event per
//! message).
//!
//! The gateway signs every request with AWS Signature Version 4 (the `aws-sigv4` credential
//! placement of contract 0.3.0): the adapter never sees the AWS credentials, and the request
//! can only go to the configured base URL's host (the adapter declares no other host).
//!
//! Requests: system and developer messages → `system` text blocks; user text and base64
//! `image_url` parts (png, jpeg, gif, webp) → `text` / `image` blocks; assistant tool calls →
//! `toolUse` blocks; tool messages → `toolResult` blocks in a user turn; `max_tokens` /
//! `max_completion_tokens`, `temperature`, `top_p`, `stop` → `inferenceConfig`; `tools` →
//! `toolConfig.tools[].toolSpec`, `tool_choice` auto/required/named → `auto`/`any`/`tool`
//! (`none` sends no tools); `response_format` → a forced tool carrying the schema, whose call
//! answers as JSON text ([`switchyard_sdk::structured`]); OpenRouter's `reasoning` → Anthropic
//! `thinking` in
//! `additionalModelRequestFields` for Claude models (other models have no common reasoning
//! switch and do not get one). Image URLs other than data URIs are refused: Converse takes
//! bytes or S3 locations only. For Claude and Nova models, `cache_control` on a content part
//! (and, from an Anthropic Messages client, on a tool or a tool result) becomes a `cachePoint`
//! after that block; the client's `anthropic-beta` flags that Bedrock accepts go to Claude
//! models as `anthropic_beta` (Bedrock refuses any other flag, so the rest are left out).
//!
//! Responses and streams: `text` → `content`, `reasoningContent` → `reasoning` plus
//! `reasoning_details` (signed text, redacted content as `reasoning.encrypted`; sent back in an
//! assistant message they become `reasoningContent` blocks again), `toolUse` → `tool_calls`; `stopReason` normalised (`end_turn`/`stop_sequence` → stop, `max_tokens` /
//! `model_context_window_exceeded` → length, `tool_use` → tool_calls,
//! `guardrail_intervened`/`content_filtered` → content_filter); usage with
//! `prompt_tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens`. Errors are
//! classified by `x-amzn-errortype` (or the stream's exception event type).
//!
//! Embeddings go through InvokeModel (`POST <base_url>/model/<model id>/invoke`, signed the
//! same way) for Amazon Titan text embedding models (`amazon.titan-embed-…`: `inputText`, one
//! text per request — a request with several inputs is refused with an invalid-request error;
//! `dimensions`; vectors are normalised, Titan v2's default) and Cohere Embed models
//! (`cohere.embed-…`: `texts`, `input_type` defaulting to `search_document`, `output_dimension`).
//! Other models (Nova multimodal embeddings...) and token-id inputs are refused. Usage is the
//! `x-amzn-bedrock-input-token-count` header (or Titan's `inputTextTokenCount`).
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `region` | e.g. `us-east-1` | region of the signature; default: read from a `bedrock-runtime.<region>.amazonaws.com` base URL |
//! | `default_max_tokens` | integer | `inferenceConfig.maxTokens` when the request sets no output limit (default: the model's own) |
//!
//! An unknown option (a typo) or an invalid value makes `build-request` fail with an internal
//! error naming the option.

mod embeddings;
mod error;
mod messages;
mod native;
mod options;
mod request;
mod response;
mod stream;
mod usage;

use switchyard_sdk::provider::*;

pub use stream::BedrockDecoder;

/// The AWS Bedrock Converse provider adapter.
pub struct Bedrock;

/// Request parameters the adapter translates.
const SUPPORTED_PARAMETERS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "tools",
    "tool_choice",
    "reasoning",
    "response_format",
    "reasoning_effort",
];

impl Provider for Bedrock {
    type Decoder = BedrockDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "bedrock".to_owned(),
            version: "0.1.0".to_owned(),
            // Only the configured base URL's host: the host signs these requests with the
            // operator's AWS credentials, so they must not reach any other AWS endpoint.
            allowed_hosts: Vec::new(),
            capabilities: Capabilities {
                streaming: true,
                tools: true,
                supported_parameters: SUPPORTED_PARAMETERS
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect(),
                vision: true,
                documents: false,
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
        switchyard_sdk::fields::refuse_unserved(&request, "bedrock", SUPPORTED_PARAMETERS)?;
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

switchyard_sdk::export_provider!(Bedrock);
