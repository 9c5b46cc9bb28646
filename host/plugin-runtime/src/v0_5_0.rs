//! Boundary for `switchyard:plugin@0.5.0`, the current contract (`wit/`): adds the capabilities
//! routing reads (`vision`, `documents`, `json-schema`, `reasoning`) and the `unsupported` error
//! (this endpoint cannot serve this request: fail over, blaming nobody).

mod provider_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "switchyard:plugin/provider@0.5.0",
        exports: { default: async },
    });
}

mod router_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "switchyard:plugin/router@0.5.0",
        exports: { default: async },
        with: { "switchyard:plugin/host@0.5.0": super::provider_bindings::switchyard::plugin::host },
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
        embeddings: descriptor.capabilities.embeddings,
        declared: Some(switchyard_domain::plugin_types::Declared {
            vision: descriptor.capabilities.vision,
            documents: descriptor.capabilities.documents,
            json_schema: descriptor.capabilities.json_schema,
            reasoning: descriptor.capabilities.reasoning,
            passes_conversation: descriptor.capabilities.passes_conversation,
        })
    }
    errors { wit::PluginError::Unsupported(m) => ProviderError::Unsupported(m), }
);
super::boundary::host_log_import!();
super::boundary::embeddings_calls!();

mod transform_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "switchyard:plugin/transform@0.5.0",
        exports: { default: async },
        with: { "switchyard:plugin/host@0.5.0": super::provider_bindings::switchyard::plugin::host },
    });
}

pub(super) use transform_bindings::exports::switchyard::plugin::transformer as transform_wit;
pub(super) use transform_bindings::{Transform, TransformPre};
