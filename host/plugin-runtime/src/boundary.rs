//! The conversions between one WIT version's generated types and the host's own types, written
//! once and stamped into each version's boundary module (`v0_1_0` to `v0_5_0`) by
//! [`contract_boundary!`] and [`host_log_import!`]: the rest of the host never sees generated
//! types.

/// Generates the conversion functions in a boundary module whose `provider_bindings` and
/// `router_bindings` modules hold that version's generated bindings. The arguments are what a
/// version added after 0.1.0: extra `credential-placement` match arms
/// (`wit::CredentialPlacement::X(..) => ..`), extra fields of the policy `candidate` and its
/// `endpoint-stats`, as `field: expression` over the `PolicyCandidate` named in `candidate(..)`,
/// whether the adapter serves embeddings and what else it declares, as expressions over the
/// generated descriptor named in `descriptor(..)` (`false` before 0.4.0, `None` before 0.5.0),
/// and extra `plugin-error` match arms (`wit::PluginError::X(m) => ..`).
macro_rules! contract_boundary {
    () => {
        $crate::boundary::contract_boundary!(
            credentials {} candidate(c) {} stats {}
            descriptor(descriptor) {
                embeddings: false,
                declared: None
            }
            errors {}
        );
    };
    (
        credentials { $($credential_arm:tt)* }
        candidate($candidate:ident) { $($candidate_field:ident: $candidate_value:expr),* $(,)? }
        stats { $($stats_field:ident: $stats_value:expr),* $(,)? }
        descriptor($descriptor:ident) { embeddings: $embeddings:expr, declared: $declared:expr }
        errors { $($error_arm:tt)* }
    ) => {
        use switchyard_domain::plugin_types::{
            CredentialPlacement, EndpointSettings, Finish, FinishReason, ParsedResponse,
            PolicyCandidate, PolicyRequest, ProviderDescriptor, ProviderError, StreamOutput,
            UpstreamRequest, Usage,
        };
        use provider_bindings::exports::switchyard::plugin::adapter as wit_adapter;
        use provider_bindings::switchyard::plugin::types as wit;
        use router_bindings::exports::switchyard::plugin::policy;

        pub use provider_bindings::{Provider, ProviderPre};
        pub use router_bindings::{Router, RouterPre};

        /// A response record for the adapter.
        pub(crate) fn http_response(
            status: u16,
            headers: Vec<(String, String)>,
            body: Vec<u8>,
        ) -> wit::HttpResponse {
            wit::HttpResponse {
                status,
                headers,
                body,
            }
        }

        /// An event record for the decoder.
        pub(crate) fn sse_event(event: switchyard_sdk::sse::Event) -> wit::SseEvent {
            wit::SseEvent {
                event: event.event,
                data: event.data,
            }
        }

        /// The request summary for a policy.
        pub(crate) fn summary_to_wit(request: &PolicyRequest) -> policy::RequestSummary {
            policy::RequestSummary {
                model: request.model.clone(),
                estimated_prompt_tokens: request.estimated_prompt_tokens,
                max_tokens: request.max_tokens,
                seed: request.seed,
            }
        }

        pub(crate) fn descriptor_from_wit(
            $descriptor: wit_adapter::Descriptor,
        ) -> ProviderDescriptor {
            ProviderDescriptor {
                embeddings: $embeddings,
                declared: $declared,
                name: $descriptor.name,
                version: $descriptor.version,
                allowed_hosts: $descriptor.allowed_hosts,
                streaming: $descriptor.capabilities.streaming,
                tools: $descriptor.capabilities.tools,
                supported_parameters: $descriptor.capabilities.supported_parameters,
            }
        }

        pub(crate) fn endpoint_to_wit(endpoint: &EndpointSettings) -> wit::EndpointSettings {
            wit::EndpointSettings {
                base_url: endpoint.base_url.clone(),
                upstream_model: endpoint.upstream_model.clone(),
                options: endpoint.options.clone(),
            }
        }

        pub(crate) fn request_from_wit(request: wit::HttpRequest) -> UpstreamRequest {
            UpstreamRequest {
                method: request.method,
                url: request.url,
                headers: request.headers,
                body: request.body,
                credential: match request.credential {
                    wit::CredentialPlacement::None => CredentialPlacement::None,
                    wit::CredentialPlacement::Bearer => CredentialPlacement::Bearer,
                    wit::CredentialPlacement::Header(name) => CredentialPlacement::Header(name),
                    wit::CredentialPlacement::Query(name) => CredentialPlacement::Query(name),
                    $($credential_arm)*
                },
            }
        }

        pub(crate) fn usage_from_wit(usage: wit::Usage) -> Usage {
            Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                cached_tokens: usage.cached_tokens,
                cache_write_tokens: usage.cache_write_tokens,
                reasoning_tokens: usage.reasoning_tokens,
                web_search_requests: 0,
                builtin_tool_calls: Default::default(),
            }
        }

        pub(crate) fn finish_from_wit(finish: wit::Finish) -> Finish {
            Finish {
                reason: match finish.reason {
                    wit::FinishReason::Stop => FinishReason::Stop,
                    wit::FinishReason::Length => FinishReason::Length,
                    wit::FinishReason::ToolCalls => FinishReason::ToolCalls,
                    wit::FinishReason::ContentFilter => FinishReason::ContentFilter,
                    wit::FinishReason::Error => FinishReason::Error,
                },
                native: finish.native,
            }
        }

        pub(crate) fn parsed_from_wit(parsed: wit::ParsedResponse) -> ParsedResponse {
            ParsedResponse {
                body: parsed.body,
                usage: parsed.usage.map(usage_from_wit),
                finish: parsed.finish.map(finish_from_wit),
            }
        }

        pub(crate) fn stream_output_from_wit(output: wit::StreamOutput) -> StreamOutput {
            StreamOutput {
                chunks: output.chunks,
                usage: output.usage.map(usage_from_wit),
                finish: output.finish.map(finish_from_wit),
                done: output.done,
            }
        }

        pub(crate) fn error_from_wit(error: wit::PluginError) -> ProviderError {
            match error {
                wit::PluginError::RateLimited(limit) => ProviderError::RateLimited {
                    message: limit.message,
                    retry_after_ms: limit.retry_after_ms,
                },
                wit::PluginError::Overloaded(m) => ProviderError::Overloaded(m),
                wit::PluginError::ContextLengthExceeded(m) => {
                    ProviderError::ContextLengthExceeded(m)
                }
                wit::PluginError::InvalidRequest(m) => ProviderError::InvalidRequest(m),
                wit::PluginError::Auth(m) => ProviderError::Auth(m),
                wit::PluginError::ContentFiltered(m) => ProviderError::ContentFiltered(m),
                wit::PluginError::UpstreamUnavailable(m) => ProviderError::UpstreamUnavailable(m),
                wit::PluginError::Internal(m) => ProviderError::Internal(m),
                $($error_arm)*
            }
        }

        pub(crate) fn candidate_to_wit($candidate: &PolicyCandidate) -> policy::Candidate {
            policy::Candidate {
                provider: $candidate.provider.clone(),
                model: $candidate.model.clone(),
                prompt_price: $candidate.prompt_price,
                completion_price: $candidate.completion_price,
                $($candidate_field: $candidate_value,)*
                stats: policy::EndpointStats {
                    latency_p50_ms: $candidate.stats.latency_p50_ms,
                    throughput_p50: $candidate.stats.throughput_p50,
                    error_rate: $candidate.stats.error_rate,
                    in_flight: $candidate.stats.in_flight,
                    ms_since_last_failure: $candidate.stats.ms_since_last_failure,
                    $($stats_field: $stats_value,)*
                },
            }
        }
    };
}

/// Generates `add_to_linker` and the `host` import (plugin logging, since 0.2.0) in a boundary
/// module whose `wit_host` names that version's generated `host` interface.
macro_rules! host_log_import {
    () => {
        /// Adds the host functions of this version to `linker`.
        pub(crate) fn add_to_linker(
            linker: &mut wasmtime::component::Linker<super::sandbox::SandboxState>,
        ) -> wasmtime::Result<()> {
            wit_host::add_to_linker::<
                super::sandbox::SandboxState,
                wasmtime::component::HasSelf<super::sandbox::SandboxState>,
            >(linker, |state| state)
        }

        impl wit_host::Host for super::sandbox::SandboxState {
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
    };
}

/// Generates the embeddings calls (since 0.4.0) in a boundary module whose `Provider` is that
/// version's generated instance type.
macro_rules! embeddings_calls {
    () => {
        /// Calls `build-embeddings-request` on `instance`.
        pub(crate) async fn build_embeddings_request(
            instance: &Provider,
            store: &mut wasmtime::Store<super::sandbox::SandboxState>,
            request: &[u8],
            endpoint: &EndpointSettings,
        ) -> wasmtime::Result<Result<UpstreamRequest, ProviderError>> {
            let result = instance
                .switchyard_plugin_adapter()
                .call_build_embeddings_request(store, request, &endpoint_to_wit(endpoint))
                .await?;
            Ok(result.map(request_from_wit).map_err(error_from_wit))
        }

        /// Calls `parse-embeddings-response` on `instance`.
        pub(crate) async fn parse_embeddings_response(
            instance: &Provider,
            store: &mut wasmtime::Store<super::sandbox::SandboxState>,
            status: u16,
            headers: Vec<(String, String)>,
            body: Vec<u8>,
        ) -> wasmtime::Result<
            Result<switchyard_domain::plugin_types::ParsedEmbeddings, ProviderError>,
        > {
            let response = http_response(status, headers, body);
            let result = instance
                .switchyard_plugin_adapter()
                .call_parse_embeddings_response(store, &response)
                .await?;
            Ok(result
                .map(|parsed| switchyard_domain::plugin_types::ParsedEmbeddings {
                    body: parsed.body,
                    usage: parsed.usage.map(usage_from_wit),
                })
                .map_err(error_from_wit))
        }
    };
}

pub(crate) use contract_boundary;
pub(crate) use embeddings_calls;
pub(crate) use host_log_import;
