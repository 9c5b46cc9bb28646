//! Boundary for `switchyard:plugin@0.2.0`, the current contract (`wit/`): adds the `host`
//! import (plugin logging).

use wasmtime::component::{HasSelf, Linker};

use super::sandbox::SandboxState;

mod provider_bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchyard:plugin/provider@0.2.0",
        exports: { default: async },
    });
}

mod router_bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchyard:plugin/router@0.2.0",
        exports: { default: async },
        with: { "switchyard:plugin/host@0.2.0": super::provider_bindings::switchyard::plugin::host },
    });
}

use provider_bindings::switchyard::plugin::host as wit_host;

super::boundary::contract_boundary!();

/// Adds the host functions of this version to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    wit_host::add_to_linker::<SandboxState, HasSelf<SandboxState>>(linker, |state| state)
}

impl wit_host::Host for SandboxState {
    fn log(&mut self, level: wit_host::LogLevel, message: String) {
        let level = match level {
            wit_host::LogLevel::Debug => tracing::Level::DEBUG,
            wit_host::LogLevel::Info => tracing::Level::INFO,
            wit_host::LogLevel::Warn => tracing::Level::WARN,
            wit_host::LogLevel::Error => tracing::Level::ERROR,
        };
        self.plugin_log(level, message);
    }
}
