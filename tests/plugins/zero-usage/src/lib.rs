//! A release of the `openai` adapter for replay-gate tests: the built-in adapter's request
//! builder and answer parsers, except that it reports zero usage for every answer, whole or
//! streamed. The gateway would charge nothing for what the upstream bills, so a replay gate
//! must refuse it.

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
use switchyard_sdk::provider::*;

/// The adapter.
pub struct ZeroUsageOpenAi;

/// Its decoder: the built-in one, its usage zeroed.
pub struct ZeroUsageDecoder(ChatCompletionsDecoder<OpenAiDialect>);

impl Provider for ZeroUsageOpenAi {
    type Decoder = ZeroUsageDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "openai".to_owned(),
            version: "9.6.0".to_owned(),
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

    fn parse_response(response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        let mut parsed = parse_response::<OpenAiDialect>(&response)?;
        parsed.usage = parsed.usage.map(|_| Usage::zero());
        Ok(parsed)
    }

    fn parse_error(response: HttpResponse) -> PluginError {
        OpenAiDialect::response_error(&response)
    }
}

impl StreamDecoder for ZeroUsageDecoder {
    fn new(endpoint: EndpointSettings) -> Self {
        ZeroUsageDecoder(ChatCompletionsDecoder::new(endpoint))
    }

    fn decode(&mut self, event: SseEvent) -> Result<StreamOutput, PluginError> {
        let mut output = self.0.decode(event)?;
        output.usage = output.usage.map(|_| Usage::zero());
        Ok(output)
    }
}

switchyard_sdk::export_provider!(ZeroUsageOpenAi);
