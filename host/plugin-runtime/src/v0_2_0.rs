//! Boundary for `switchyard:plugin@0.2.0`, the frozen second contract (`wit/v0.2.0`): adds the
//! `host` import (plugin logging).

mod provider_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.2.0",
        world: "switchyard:plugin/provider@0.2.0",
        exports: { default: async },
    });
}

mod router_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.2.0",
        world: "switchyard:plugin/router@0.2.0",
        exports: { default: async },
        with: { "switchyard:plugin/host@0.2.0": super::provider_bindings::switchyard::plugin::host },
    });
}

use provider_bindings::switchyard::plugin::host as wit_host;

super::boundary::contract_boundary!();
super::boundary::host_log_import!();
