//! An OpenAI-compatible adapter built against the frozen contract `switchyard:plugin@0.1.0`
//! (`wit/v0.1.0`) with wit-bindgen directly, as a third-party plugin compiled before 0.2.0 would
//! be. The gateway must keep loading and serving it beside current plugins.

mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit/v0.1.0",
        world: "switchyard:plugin/provider@0.1.0",
    });
}

/// The plugin's name in the configuration.
const NAME: &str = "legacy-v010";

/// What the adapter declares: streaming, no tools (all a contract before 0.4.0 can say).
fn capabilities() -> bindings::exports::switchyard::plugin::adapter::Capabilities {
    bindings::exports::switchyard::plugin::adapter::Capabilities {
        streaming: true,
        tools: false,
        supported_parameters: Vec::new(),
    }
}

/// Contracts before 0.4.0 have no embeddings functions.
macro_rules! since_0_4_0 {
    () => {};
}

include!("adapter.rs");
