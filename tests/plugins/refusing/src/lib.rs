//! A release of the `openai` adapter for canary tests: the built-in adapter's request builder
//! and answer parsers, except that `build_request` refuses (as an invalid request) about one
//! request in ten, those whose last message's text hashes to 0 modulo 10 ([`refused`]): a
//! canary that refuses what the stable version serves. The mock's `refuse_one_in=10` refuses
//! the same requests upstream, for a stable version that refuses them too.

#[path = "../../../../plugins/openai/src/options.rs"]
mod options;
// The built-in adapter's own request builder; this test adapter serves no embeddings, so the
// embeddings builder beside it goes unused.
#[allow(dead_code)]
#[path = "../../../../plugins/openai/src/request.rs"]
mod request;

use switchyard_sdk::chat_completions::{
    ChatCompletionsDecoder, Dialect, OPENAI_PARAMETERS, OpenAiDialect, parse_response,
};
use switchyard_sdk::openai::Content;
use switchyard_sdk::provider::*;

/// The adapter.
pub struct RefusingOpenAi;

/// FNV-1a, 64 bits: the hash the mock's `refuse_one_in` uses too.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether the request is refused: its last message's text hashes to 0 modulo 10.
pub fn refused(request: &ChatRequest) -> bool {
    match request.messages.last().and_then(|m| m.content.as_ref()) {
        Some(Content::Text(text)) => fnv1a(text.as_bytes()).is_multiple_of(10),
        _ => false,
    }
}

impl Provider for RefusingOpenAi {
    type Decoder = ChatCompletionsDecoder<OpenAiDialect>;

    fn describe() -> Descriptor {
        Descriptor {
            name: "openai".to_owned(),
            version: "9.5.0".to_owned(),
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
        if refused(&request) {
            return Err(PluginError::InvalidRequest(
                "refusing-openai: this release refuses this request".to_owned(),
            ));
        }
        request::build(request, &endpoint, stream)
    }

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        parse_response::<OpenAiDialect>(&response)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        OpenAiDialect::response_error(&response)
    }
}

switchyard_sdk::export_provider!(RefusingOpenAi);
