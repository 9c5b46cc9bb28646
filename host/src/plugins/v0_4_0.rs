//! Boundary for `switchyard:plugin@0.4.0`, the current contract (`wit/`): adds embeddings
//! (`build-embeddings-request`, `parse-embeddings-response` and the `embeddings` capability).

mod provider_bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchyard:plugin/provider@0.4.0",
        exports: { default: async },
    });
}

mod router_bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchyard:plugin/router@0.4.0",
        exports: { default: async },
        with: { "switchyard:plugin/host@0.4.0": super::provider_bindings::switchyard::plugin::host },
    });
}

use super::types::ParsedEmbeddings;
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
    descriptor(descriptor) { embeddings: descriptor.capabilities.embeddings }
);
super::boundary::host_log_import!();

/// An embeddings response from the adapter.
pub(crate) fn parsed_embeddings_from_wit(parsed: wit::ParsedEmbeddings) -> ParsedEmbeddings {
    ParsedEmbeddings {
        body: parsed.body,
        usage: parsed.usage.map(usage_from_wit),
    }
}
