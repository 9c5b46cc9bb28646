//! A hostile provider adapter for tests: it loads and describes itself like a good plugin, then
//! allocates without bound on every request (`build_request`, `parse_response` and stream
//! decoding). It keeps 1 MiB buffers alive and writes every byte, so the memory is really used,
//! until the store's memory limit makes an allocation fail and the instance traps.
//!
//! It exists to prove that a hostile plugin costs only its own request: the gateway must cap the
//! instance's memory, answer that request with a 502 naming the plugin and keep serving others.

use switchyard_sdk::provider::*;

/// The memory-hogging adapter.
pub struct Hog;

/// Its decoder, which hogs memory too.
pub struct HogDecoder;

/// Size of each buffer the hog keeps alive.
const CHUNK: usize = 1 << 20;

/// Allocates 1 MiB buffers forever, writing every byte and keeping each one reachable, until an
/// allocation fails (which aborts: the wasm instance traps).
fn hog_forever() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    let mut fill: u8 = 0;
    loop {
        fill = fill.wrapping_add(1) | 1;
        let mut chunk = vec![0u8; CHUNK];
        chunk.fill(std::hint::black_box(fill));
        hoard.push(chunk);
        std::hint::black_box(&mut hoard);
    }
}

impl Provider for Hog {
    type Decoder = HogDecoder;

    fn describe() -> Descriptor {
        Descriptor {
            name: "test-hog".to_owned(),
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
        hog_forever()
    }

    fn parse_response(_response: HttpResponse) -> Result<ParsedResponse, PluginError> {
        hog_forever()
    }
}

impl StreamDecoder for HogDecoder {
    fn new(_endpoint: EndpointSettings) -> Self {
        HogDecoder
    }

    fn decode(&mut self, _event: SseEvent) -> Result<StreamOutput, PluginError> {
        hog_forever()
    }
}

switchyard_sdk::export_provider!(Hog);
