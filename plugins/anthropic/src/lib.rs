//! Switchyard provider adapter for the Anthropic Messages API (`POST <base_url>/messages`).
//!
//! Requests: system and developer messages are lifted to the top-level `system`; `max_tokens` is
//! required upstream and defaults to the `default_max_tokens` option; `temperature` (clamped to
//! Anthropic's 0–1), `top_p`, `top_k`, `stop` (→ `stop_sequences`), `tools`, `tool_choice`,
//! `parallel_tool_calls: false` (→ `disable_parallel_tool_use`), `user` (→ `metadata.user_id`)
//! and OpenRouter's `reasoning` (→ extended `thinking` with a token budget) are translated;
//! `response_format` becomes a forced tool carrying the schema, whose call answers as JSON text
//! ([`switchyard_sdk::structured`]);
//! assistant tool calls become `tool_use` blocks, tool messages become `tool_result` blocks in a
//! user turn, `image_url` parts become image blocks and `file` parts (PDFs) document blocks.
//! Other OpenAI fields have no Anthropic equivalent and are not sent (Anthropic rejects unknown
//! fields). The request's Anthropic extension (the `anthropic` field, written by Switchyard's
//! Messages API) adds what the canonical format cannot say: the client's `anthropic-beta`
//! values (merged with the endpoint's, each sent once) and `anthropic-version`, `cache_control`
//! on tools, tool results' `is_error`, `cache_control` and content blocks (images), and the
//! blocks that canonical parts stand for, sent as the client wrote them: documents with their
//! `citations`, `title` and `context` (their source taken from the part), search results, and
//! cited text sent back.
//!
//! Responses and streams come back as canonical `chat.completion` / `chat.completion.chunk`
//! objects: text → `content`, thinking → `reasoning` plus `reasoning_details` (the thinking with
//! its signature, redacted thinking as `reasoning.encrypted`, format `anthropic-claude-v1`; sent
//! back in an assistant message they become `thinking` / `redacted_thinking` blocks again),
//! `tool_use` → `tool_calls`, text blocks' `citations` → the message's `text_citations` (each
//! cited block's character offsets in `content` with its citations whole; streamed, an entry
//! opens the block, each `citations_delta` adds one and `content_block_stop` closes it), stop
//! reasons
//! normalised (`end_turn`/`stop_sequence` → stop, `max_tokens` → length, `tool_use` →
//! tool_calls, `refusal` → content_filter; the `stop_sequence` that matched is the choice's
//! `stop_reason`, as vLLM names it), usage typed with
//! `prompt_tokens = input_tokens + cache_read_input_tokens + cache_creation_input_tokens`.
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `default_max_tokens` | integer, default `4096` | `max_tokens` sent when the request sets neither `max_tokens` nor `max_completion_tokens` |
//! | `anthropic_version` | default `2023-06-01` | value of the `anthropic-version` header when the client sent none |
//! | `anthropic_beta` | e.g. `prompt-caching-2024-07-31` (comma-separated) | betas always sent in the `anthropic-beta` header, before the client's |
//! | `auth` | `x-api-key` (default), `bearer` or `none` | where the host puts the credential (`bearer` for gateways that want `Authorization`) |
//! | `path` | default `messages` | path appended to the base URL |
//!
//! An unknown option (a typo) or an invalid value makes `build-request` fail with an internal
//! error naming the option.

mod options;

use switchyard_sdk::anthropic::request::{self, Settings};
use switchyard_sdk::anthropic::{error, response};
use switchyard_sdk::provider::*;

pub use switchyard_sdk::anthropic::AnthropicDecoder;

use options::Options;
/// The Anthropic Messages API provider adapter.
pub struct Anthropic;

/// Request parameters the adapter translates.
const SUPPORTED_PARAMETERS: &[&str] = switchyard_sdk::anthropic::SUPPORTED_PARAMETERS;

impl Provider for Anthropic {
    type Decoder = AnthropicDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "anthropic".to_owned(),
            version: "0.1.0".to_owned(),
            allowed_hosts: vec!["api.anthropic.com".to_owned()],
            capabilities: Capabilities {
                streaming: true,
                tools: true,
                supported_parameters: SUPPORTED_PARAMETERS
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect(),
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
        switchyard_sdk::fields::refuse_unserved(&request, "anthropic", SUPPORTED_PARAMETERS)?;
        let options = Options::parse(&endpoint)?;
        let translated = request::body(
            &request,
            Settings {
                model: Some(&endpoint.upstream_model),
                default_max_tokens: options.default_max_tokens,
                stream,
            },
        )?;
        let extension = translated.extension;
        let version = extension.version.clone().unwrap_or(options.version);
        let mut headers = vec![("anthropic-version".to_owned(), version)];
        if let Some(beta) = extension.beta_header(options.beta.as_deref()) {
            headers.push(("anthropic-beta".to_owned(), beta));
        }
        json_post(
            join_url(&endpoint.base_url, &options.path),
            &translated.body,
            headers,
            options.credential,
        )
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        response::parse(&response)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        error::from_response(&response)
    }
}

switchyard_sdk::export_provider!(Anthropic);
