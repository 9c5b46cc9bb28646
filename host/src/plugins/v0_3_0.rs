//! Boundary for `switchyard:plugin@0.3.0`, the current contract (`wit/`): adds the
//! `aws-sigv4` credential placement (the host signs the request).

mod provider_bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchyard:plugin/provider@0.3.0",
        exports: { default: async },
    });
}

mod router_bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchyard:plugin/router@0.3.0",
        exports: { default: async },
        with: { "switchyard:plugin/host@0.3.0": super::provider_bindings::switchyard::plugin::host },
    });
}

use provider_bindings::switchyard::plugin::host as wit_host;

super::boundary::contract_boundary!(
    wit::CredentialPlacement::AwsSigv4(scope) => CredentialPlacement::AwsSigv4 {
        service: scope.service,
        region: scope.region,
    },
);
super::boundary::host_log_import!();
