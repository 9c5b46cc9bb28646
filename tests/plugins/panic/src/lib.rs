//! A hostile provider adapter for tests: it loads and describes itself like a good plugin, then
//! panics on every request. The gateway must answer that request with a 502 and keep serving.

use switchyard_sdk::provider::*;

/// The panicking adapter.
pub struct Panic;

/// Its decoder, which panics too.
pub struct PanicDecoder;

impl Provider for Panic {
    type Decoder = PanicDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "test-panic".to_owned(),
            version: "0.1.0".to_owned(),
            allowed_hosts: vec!["api.panic.example".to_owned()],
            capabilities: Capabilities {
                streaming: true,
                tools: false,
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
        switchyard_sdk::log::error("about to panic\nforged: line");
        panic!("test-panic plugin panics on purpose")
    }

    fn parse_response(_response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        panic!("test-panic plugin panics on purpose")
    }
}

impl StreamDecoder for PanicDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        PanicDecoder
    }

    fn decode(&mut self, _event: SseEvent) -> Result<StreamOutput, PluginError> {
        panic!("test-panic plugin panics on purpose")
    }
}

switchyard_sdk::export_provider!(Panic);
