//! Provider adapter plugins: loading (type-check + self-test) and per-request instances. This is
//! the boundary for the `provider` world of `switchyard:plugin@0.1.0`: generated types are
//! converted to [`super::types`] here and nowhere else.

use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;
use wasmtime::component::{Component, ResourceAny};

use super::engine::PluginEngine;
use super::fault::PluginFault;
use super::sandbox::{SandboxState, arm_deadline, new_store};
use super::types::{
    CredentialPlacement, EndpointSettings, Finish, FinishReason, ParsedResponse,
    ProviderDescriptor, ProviderError, StreamOutput, UpstreamRequest, Usage,
};
use super::version::VersionState;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchyard:plugin/provider@0.1.0",
        exports: { default: async },
    });
}

use bindings::exports::switchyard::plugin::adapter as wit_adapter;
use bindings::switchyard::plugin::types as wit;

/// A loaded, type-checked, self-tested provider adapter version.
pub struct ProviderPlugin {
    descriptor: ProviderDescriptor,
    state: VersionState,
    pre: bindings::ProviderPre<SandboxState>,
    engine: PluginEngine,
}

impl std::fmt::Debug for ProviderPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderPlugin")
            .field("descriptor", &self.descriptor)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ProviderPlugin {
    /// Type-checks `component` against the `provider` world and runs its self-test
    /// (`describe` in a fresh instance). Fails if it is not a provider adapter.
    pub async fn load(
        engine: &PluginEngine,
        component: &Component,
        digest: String,
        origin: String,
    ) -> Result<ProviderPlugin, String> {
        let instance_pre = engine
            .linker()
            .instantiate_pre(component)
            .map_err(|e| format!("cannot link: {e:#}"))?;
        let pre = bindings::ProviderPre::new(instance_pre)
            .map_err(|e| format!("not a provider adapter: {e:#}"))?;
        let mut store = new_store(engine.engine(), engine.limits());
        let instance = pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| format!("cannot instantiate: {e:#}"))?;
        let descriptor = instance
            .switchyard_plugin_adapter()
            .call_describe(&mut store)
            .await
            .map_err(|e| format!("self-test (describe) failed: {e:#}"))?;
        let descriptor = descriptor_from_wit(descriptor);
        let limits = engine.limits_for(&descriptor.name);
        Ok(ProviderPlugin {
            state: VersionState::new(digest, origin, limits, &engine.config().circuit_breaker),
            descriptor,
            pre,
            engine: engine.clone(),
        })
    }

    /// What the plugin declared.
    pub fn descriptor(&self) -> &ProviderDescriptor {
        &self.descriptor
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.descriptor.name
    }

    /// The host's state of this version: digest, origin, instances, health.
    pub fn state(&self) -> &VersionState {
        &self.state
    }

    /// A fresh instance in a fresh store, for one request. The instance keeps this version alive
    /// until it is dropped, so a replaced version drains.
    pub async fn instantiate(self: &Arc<Self>) -> Result<ProviderInstance, PluginFault> {
        let permit = self.state.admit(self.name())?;
        let limits = &self.state.limits;
        let mut store = new_store(self.engine.engine(), limits);
        let instance = match self.pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            Err(error) => {
                self.state.record_fault();
                return Err(PluginFault::from_wasm(
                    self.name(),
                    error,
                    limits.call_timeout.as_millis(),
                ));
            }
        };
        Ok(ProviderInstance {
            plugin: self.clone(),
            store,
            instance,
            decoder: None,
            poisoned: None,
            _permit: permit,
        })
    }
}

/// One request's instance of a provider adapter. After a fault every call fails with it.
pub struct ProviderInstance {
    plugin: Arc<ProviderPlugin>,
    store: Store<SandboxState>,
    instance: bindings::Provider,
    decoder: Option<ResourceAny>,
    poisoned: Option<PluginFault>,
    _permit: OwnedSemaphorePermit,
}

impl ProviderInstance {
    /// The plugin version this instance runs.
    pub fn plugin(&self) -> &Arc<ProviderPlugin> {
        &self.plugin
    }

    /// Refuses calls into a poisoned instance and arms the next call's deadline.
    fn before_call(&mut self) -> Result<(), PluginFault> {
        if let Some(fault) = &self.poisoned {
            return Err(fault.clone());
        }
        arm_deadline(&mut self.store, &self.plugin.state.limits);
        Ok(())
    }

    /// Turns a call's wasmtime error into a fault and poisons the instance with it.
    fn after_call<T>(&mut self, result: wasmtime::Result<T>) -> Result<T, PluginFault> {
        let state = &self.plugin.state;
        match result {
            Ok(value) => {
                state.record_call_ok();
                Ok(value)
            }
            Err(error) => {
                let name = self.plugin.name();
                let fault =
                    PluginFault::from_wasm(name, error, state.limits.call_timeout.as_millis());
                let stderr = self.store.data().stderr_text();
                tracing::warn!(plugin = %name, digest = %state.digest, reason = %fault.reason, ?stderr, "plugin call failed");
                state.record_fault();
                self.poisoned = Some(fault.clone());
                Err(fault)
            }
        }
    }

    /// Builds the upstream request for a canonical chat request.
    pub async fn build_request(
        &mut self,
        request: &[u8],
        endpoint: &EndpointSettings,
        stream: bool,
    ) -> Result<Result<UpstreamRequest, ProviderError>, PluginFault> {
        self.before_call()?;
        let endpoint = endpoint_to_wit(endpoint);
        let guest = self.instance.switchyard_plugin_adapter();
        let result = guest
            .call_build_request(&mut self.store, request, &endpoint, stream)
            .await;
        Ok(self
            .after_call(result)?
            .map(request_from_wit)
            .map_err(error_from_wit))
    }

    /// Translates a successful non-streaming response.
    pub async fn parse_response(
        &mut self,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Result<ParsedResponse, ProviderError>, PluginFault> {
        self.before_call()?;
        let response = wit::HttpResponse {
            status,
            headers,
            body,
        };
        let guest = self.instance.switchyard_plugin_adapter();
        let result = guest.call_parse_response(&mut self.store, &response).await;
        Ok(self
            .after_call(result)?
            .map(parsed_from_wit)
            .map_err(error_from_wit))
    }

    /// Classifies an unsuccessful response.
    pub async fn parse_error(
        &mut self,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<ProviderError, PluginFault> {
        self.before_call()?;
        let response = wit::HttpResponse {
            status,
            headers,
            body,
        };
        let guest = self.instance.switchyard_plugin_adapter();
        let result = guest.call_parse_error(&mut self.store, &response).await;
        Ok(error_from_wit(self.after_call(result)?))
    }

    /// Creates this instance's stream decoder.
    pub async fn start_stream(&mut self, endpoint: &EndpointSettings) -> Result<(), PluginFault> {
        self.before_call()?;
        let endpoint = endpoint_to_wit(endpoint);
        let guest = self.instance.switchyard_plugin_adapter();
        let result = guest
            .stream_decoder()
            .call_constructor(&mut self.store, &endpoint)
            .await;
        self.decoder = Some(self.after_call(result)?);
        Ok(())
    }

    /// Decodes one event of the stream started with [`Self::start_stream`].
    pub async fn decode(
        &mut self,
        event: switchyard_sdk::sse::Event,
    ) -> Result<Result<StreamOutput, ProviderError>, PluginFault> {
        let Some(decoder) = self.decoder else {
            return Err(PluginFault::contract(
                self.plugin.name(),
                "host bug: decode called before start_stream",
            ));
        };
        self.before_call()?;
        let event = wit::SseEvent {
            event: event.event,
            data: event.data,
        };
        let guest = self.instance.switchyard_plugin_adapter();
        let result = guest
            .stream_decoder()
            .call_decode(&mut self.store, decoder, &event)
            .await;
        Ok(self
            .after_call(result)?
            .map(stream_output_from_wit)
            .map_err(error_from_wit))
    }
}

fn descriptor_from_wit(descriptor: wit_adapter::Descriptor) -> ProviderDescriptor {
    ProviderDescriptor {
        name: descriptor.name,
        version: descriptor.version,
        allowed_hosts: descriptor.allowed_hosts,
        streaming: descriptor.capabilities.streaming,
        tools: descriptor.capabilities.tools,
        supported_parameters: descriptor.capabilities.supported_parameters,
    }
}

fn endpoint_to_wit(endpoint: &EndpointSettings) -> wit::EndpointSettings {
    wit::EndpointSettings {
        base_url: endpoint.base_url.clone(),
        upstream_model: endpoint.upstream_model.clone(),
        options: endpoint.options.clone(),
    }
}

fn request_from_wit(request: wit::HttpRequest) -> UpstreamRequest {
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
        },
    }
}

fn usage_from_wit(usage: wit::Usage) -> Usage {
    Usage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cached_tokens: usage.cached_tokens,
        cache_write_tokens: usage.cache_write_tokens,
        reasoning_tokens: usage.reasoning_tokens,
    }
}

fn finish_from_wit(finish: wit::Finish) -> Finish {
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

fn parsed_from_wit(parsed: wit::ParsedResponse) -> ParsedResponse {
    ParsedResponse {
        body: parsed.body,
        usage: parsed.usage.map(usage_from_wit),
        finish: parsed.finish.map(finish_from_wit),
    }
}

fn stream_output_from_wit(output: wit::StreamOutput) -> StreamOutput {
    StreamOutput {
        chunks: output.chunks,
        usage: output.usage.map(usage_from_wit),
        finish: output.finish.map(finish_from_wit),
        done: output.done,
    }
}

fn error_from_wit(error: wit::PluginError) -> ProviderError {
    match error {
        wit::PluginError::RateLimited(limit) => ProviderError::RateLimited {
            message: limit.message,
            retry_after_ms: limit.retry_after_ms,
        },
        wit::PluginError::Overloaded(m) => ProviderError::Overloaded(m),
        wit::PluginError::ContextLengthExceeded(m) => ProviderError::ContextLengthExceeded(m),
        wit::PluginError::InvalidRequest(m) => ProviderError::InvalidRequest(m),
        wit::PluginError::Auth(m) => ProviderError::Auth(m),
        wit::PluginError::ContentFiltered(m) => ProviderError::ContentFiltered(m),
        wit::PluginError::UpstreamUnavailable(m) => ProviderError::UpstreamUnavailable(m),
        wit::PluginError::Internal(m) => ProviderError::Internal(m),
    }
}
