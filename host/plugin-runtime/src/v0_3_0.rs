//! Boundary for `switchyard:plugin@0.3.0`, the frozen third contract (`wit/v0.3.0`): adds the
//! `aws-sigv4` credential placement (the host signs the request), and the endpoint weight and
//! rate-limited share that policies see.

mod provider_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.3.0",
        world: "switchyard:plugin/provider@0.3.0",
        exports: { default: async },
    });
}

mod router_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.3.0",
        world: "switchyard:plugin/router@0.3.0",
        exports: { default: async },
        with: { "switchyard:plugin/host@0.3.0": super::provider_bindings::switchyard::plugin::host },
    });
}

use provider_bindings::switchyard::plugin::host as wit_host;

super::boundary::contract_boundary!(
    credentials {
        wit::CredentialPlacement::AwsSigv4(scope) => CredentialPlacement::AwsSigv4 {
            service: scope.service,
            region: scope.region,
        },
    }
    candidate(candidate) { weight: candidate.weight }
    stats { rate_limited_rate: candidate.stats.rate_limited_rate }
    descriptor(descriptor) {
        embeddings: false,
        declared: None
    }
    errors {}
);
super::boundary::host_log_import!();
