//! An OpenAI-compatible adapter built against the frozen contract `switchyard:plugin@0.4.0`
//! (`wit/v0.4.0`) with wit-bindgen directly, as a third-party plugin compiled before 0.5.0 would
//! be. It shares the legacy 0.1.0 plugin's adapter code, and refuses embeddings as a 0.4.0
//! adapter without them does; the gateway must keep loading and serving it beside 0.5.0 plugins.

mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit/v0.4.0",
        world: "switchyard:plugin/provider@0.4.0",
    });
}

/// The plugin's name in the configuration.
const NAME: &str = "legacy-v040";

/// What the adapter declares: streaming, no tools, no embeddings (0.4.0 cannot declare more).
fn capabilities() -> bindings::exports::switchyard::plugin::adapter::Capabilities {
    bindings::exports::switchyard::plugin::adapter::Capabilities {
        streaming: true,
        tools: false,
        supported_parameters: Vec::new(),
        embeddings: false,
    }
}

/// The embeddings functions 0.4.0 added, refusing as an adapter without embeddings does.
macro_rules! since_0_4_0 {
    () => {
        fn build_embeddings_request(
            _request: Vec<u8>,
            _endpoint: EndpointSettings,
        ) -> Result<HttpRequest, PluginError> {
            Err(PluginError::InvalidRequest("no embeddings".to_owned()))
        }

        fn parse_embeddings_response(
            _response: HttpResponse,
        ) -> Result<bindings::switchyard::plugin::types::ParsedEmbeddings, PluginError> {
            Err(PluginError::InvalidRequest("no embeddings".to_owned()))
        }
    };
}

include!("../../legacy-v0-1-0/src/adapter.rs");
