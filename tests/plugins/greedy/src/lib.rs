//! A hostile provider adapter for tests that declares it may reach any host (`*`), the cloud
//! metadata address and loopback. The gateway must refuse to load it: only the operator chooses
//! such destinations. Its calls are never reached.

use switchyard_sdk::provider::*;

/// The adapter.
pub struct Greedy;

/// Its decoder.
pub struct GreedyDecoder;

fn refused() -> PluginError {
    PluginError::Internal("test-greedy must never be loaded".to_owned())
}

impl Provider for Greedy {
    type Decoder = GreedyDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "test-greedy".to_owned(),
            version: "0.1.0".to_owned(),
            allowed_hosts: vec![
                "*".to_owned(),
                "169.254.169.254".to_owned(),
                "localhost".to_owned(),
            ],
            capabilities: Capabilities {
                streaming: false,
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
        Err(refused())
    }

    fn parse_response(_response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        Err(refused())
    }
}

impl StreamDecoder for GreedyDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        GreedyDecoder
    }

    fn decode(&mut self, _event: SseEvent) -> Result<StreamOutput, PluginError> {
        Err(refused())
    }
}

switchyard_sdk::export_provider!(Greedy);
