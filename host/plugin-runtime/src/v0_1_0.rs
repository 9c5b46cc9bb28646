//! Boundary for `switchyard:plugin@0.1.0`, the frozen first contract (`wit/v0.1.0`): plugins
//! built against it keep loading beside current ones.

mod provider_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "switchyard:plugin/provider@0.1.0",
        exports: { default: async },
    });
}

mod router_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "switchyard:plugin/router@0.1.0",
        exports: { default: async },
    });
}

super::boundary::contract_boundary!();
