//! Switchyard provider adapter for upstreams that speak OpenAI's Responses API
//! (`POST <base_url>/responses`): OpenAI's Responses-only models (the `-pro` and codex lines) and
//! Azure OpenAI's `/openai/v1/responses`.
//!
//! Requests are built from the canonical chat request: messages become input items (system and
//! developer messages, user text/image/file parts, assistant text, `function_call` items from
//! tool calls, `function_call_output` items from tool messages, and `reasoning` items from the
//! `reasoning_details` a client sends back, so encrypted reasoning round-trips); tools, tool
//! choice, `response_format` (→ `text.format`), `reasoning` (→ `reasoning.effort` with summaries
//! on), the output limit (→ `max_output_tokens`) and sampling parameters are translated. Requests
//! are stateless: `store: false`, with `include: ["reasoning.encrypted_content"]`.
//!
//! Answers and stream events become chat completions and chunks: output text, reasoning
//! summaries (`reasoning` plus `reasoning.summary` details), encrypted reasoning
//! (`reasoning.encrypted` details, format `openai-responses-v1`), function calls, and usage
//! with cached and reasoning tokens. `incomplete` answers finish with `length` (or
//! `content_filter`); `response.failed` and `error` events are typed errors.
//!
//! # Endpoint options
//!
//! | option | value | effect |
//! |---|---|---|
//! | `auth` | `bearer` (default), `api-key` or `none` | `Authorization: Bearer`, the `api-key` header (Azure), or no credential |
//! | `path` | default `responses` | path appended to the base URL |
//! | `header.<name>` | any | send the static header `<name>: <value>` upstream |

mod error;
mod request;
mod response;
mod stream;

use switchyard_sdk::provider::*;

pub use stream::ResponsesDecoder;

/// The Responses API provider adapter.
pub struct OpenAiResponses;

/// Parameters the adapter forwards.
const PARAMETERS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "structured_outputs",
    "reasoning",
    "include_reasoning",
    "user",
    "web_search_options",
    // The client's built-in tools (code interpreter, file search...) where the operator opted
    // the provider into them.
    switchyard_sdk::responses::BUILTIN_TOOLS,
];

impl Provider for OpenAiResponses {
    type Decoder = ResponsesDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "openai-responses".to_owned(),
            version: "0.1.0".to_owned(),
            allowed_hosts: vec!["api.openai.com".to_owned(), "*.openai.azure.com".to_owned()],
            capabilities: Capabilities {
                streaming: true,
                tools: true,
                supported_parameters: PARAMETERS.iter().map(|p| (*p).to_owned()).collect(),
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
        request::build(&request, &endpoint, stream)
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        response::parse(&response)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        error::from_response(&response)
    }
}

switchyard_sdk::export_provider!(OpenAiResponses);
