//! A hostile provider adapter for tests: it loads and describes itself like a good plugin, then
//! spins forever on every request (`build_request`, `parse_response` and stream decoding). The
//! loop has an opaque side effect the optimiser cannot remove, so only the gateway's epoch
//! deadline can stop it.
//!
//! It exists to prove that a hostile plugin costs only its own request: the gateway must
//! interrupt the call, answer that request with a 502 naming the plugin and keep serving others.

use switchyard_sdk::provider::*;

/// The spinning adapter.
pub struct Spin;

/// Its decoder, which spins too.
pub struct SpinDecoder;

/// Loops forever. `black_box` makes the counter opaque, so the loop cannot be optimised away.
fn spin_forever() -> ! {
    let mut counter: u64 = 0;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

impl Provider for Spin {
    type Decoder = SpinDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "test-spin".to_owned(),
            version: "0.1.0".to_owned(),
            allowed_hosts: Vec::new(),
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
        spin_forever()
    }

    fn parse_response(_response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        spin_forever()
    }
}

impl StreamDecoder for SpinDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        SpinDecoder
    }

    fn decode(&mut self, _event: SseEvent) -> Result<StreamOutput, PluginError> {
        spin_forever()
    }
}

switchyard_sdk::export_provider!(Spin);
