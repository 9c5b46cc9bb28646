//! A bad release of the `openai` adapter for tests: it loads and describes itself as `openai`
//! 9.9.9, then fails every request with an internal error. Installed as a canary, it must be rolled
//! back automatically; installed as a replacement, a rollback must restore the good version.

use switchyard_sdk::provider::*;

/// The broken adapter.
pub struct BrokenOpenAi;

/// Its decoder, broken too.
pub struct BrokenDecoder;

fn broken() -> PluginError {
    PluginError::Internal("broken-openai: this release is broken on purpose".to_owned())
}

impl Provider for BrokenOpenAi {
    type Decoder = BrokenDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "openai".to_owned(),
            version: "9.9.9".to_owned(),
            allowed_hosts: vec!["api.openai.com".to_owned()],
            capabilities: Capabilities {
                streaming: true,
                tools: true,
                supported_parameters: Vec::new(),
                ..Capabilities::default()
            },
        }
    }

    fn build_request(
        _request: ChatRequest,
        _endpoint: EndpointSettings,
        _stream: bool,
    ) -> Result<HttpRequest, PluginError> {
        Err(broken())
    }

    fn parse_response(_response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        Err(broken())
    }
}

impl StreamDecoder for BrokenDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        BrokenDecoder
    }

    fn decode(&mut self, _event: SseEvent) -> Result<StreamOutput, PluginError> {
        Err(broken())
    }
}

switchyard_sdk::export_provider!(BrokenOpenAi);
