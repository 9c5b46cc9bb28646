//! Provider adapter plugins: loading (type-check + self-test) and instances for requests, warm
//! within a tenant or fresh (see [`super::warm`]), for every supported contract version.
//! Generated types stay in the version boundary modules (`v0_1_0` to `v0_5_0`); this module
//! only dispatches.

use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;
use wasmtime::Store;
use wasmtime::component::{Component, ResourceAny};

use super::call::TimedCall;
use super::engine::PluginEngine;
use super::output::{CheckedResponse, CheckedStreamOutput, check_response, check_stream_output};
use super::passed_conversation;
use super::sandbox::{SandboxState, arm_deadline, new_store};
use super::trap::fault_from_wasm;
use super::version::VersionState;
use super::wall_clock;
use super::warm::{TenantScope, Warm, WarmPool};
use super::{v0_1_0, v0_2_0, v0_3_0, v0_4_0, v0_5_0};
use switchyard_domain::config::Isolation;
use switchyard_domain::plugin_fault::PluginFault;
use switchyard_domain::plugin_types::{
    EndpointSettings, ParsedEmbeddings, ProviderDescriptor, ProviderError, UpstreamRequest,
};
use switchyard_telemetry::metrics::labels::PluginLabels;

/// A request body at least this large can explain an adapter running out of time or memory
/// while translating it; smaller ones cannot, and the fault is the plugin's.
const INPUT_EXPLAINS_EXHAUSTION_BYTES: usize = 256 * 1024;

/// The pre-linked component, for the contract version it was built against.
enum AdapterPre {
    V0_1(v0_1_0::ProviderPre<SandboxState>),
    V0_2(v0_2_0::ProviderPre<SandboxState>),
    V0_3(v0_3_0::ProviderPre<SandboxState>),
    V0_4(v0_4_0::ProviderPre<SandboxState>),
    V0_5(v0_5_0::ProviderPre<SandboxState>),
}

/// A live instance, for the contract version it was built against.
enum AdapterInstance {
    V0_1(v0_1_0::Provider),
    V0_2(v0_2_0::Provider),
    V0_3(v0_3_0::Provider),
    V0_4(v0_4_0::Provider),
    V0_5(v0_5_0::Provider),
}

/// Runs `$body` with `$guest` bound to the instance's `adapter` export and `$v` to its
/// version's boundary module.
macro_rules! on_adapter {
    ($instance:expr, |$guest:ident, $v:ident| $body:expr) => {
        match $instance {
            AdapterInstance::V0_1(instance) => {
                use v0_1_0 as $v;
                let $guest = instance.switchyard_plugin_adapter();
                $body
            }
            AdapterInstance::V0_2(instance) => {
                use v0_2_0 as $v;
                let $guest = instance.switchyard_plugin_adapter();
                $body
            }
            AdapterInstance::V0_3(instance) => {
                use v0_3_0 as $v;
                let $guest = instance.switchyard_plugin_adapter();
                $body
            }
            AdapterInstance::V0_4(instance) => {
                use v0_4_0 as $v;
                let $guest = instance.switchyard_plugin_adapter();
                $body
            }
            AdapterInstance::V0_5(instance) => {
                use v0_5_0 as $v;
                let $guest = instance.switchyard_plugin_adapter();
                $body
            }
        }
    };
}

impl AdapterPre {
    /// Type-checks `component` against each supported `provider` world, newest first.
    fn new(engine: &PluginEngine, component: &Component) -> Result<AdapterPre, String> {
        let instance_pre = engine
            .linker()
            .instantiate_pre(component)
            .map_err(|e| format!("cannot link: {e:#}"))?;
        let current = match v0_5_0::ProviderPre::new(instance_pre.clone()) {
            Ok(pre) => return Ok(AdapterPre::V0_5(pre)),
            Err(current) => current,
        };
        if let Ok(pre) = v0_4_0::ProviderPre::new(instance_pre.clone()) {
            return Ok(AdapterPre::V0_4(pre));
        }
        if let Ok(pre) = v0_3_0::ProviderPre::new(instance_pre.clone()) {
            return Ok(AdapterPre::V0_3(pre));
        }
        if let Ok(pre) = v0_2_0::ProviderPre::new(instance_pre.clone()) {
            return Ok(AdapterPre::V0_2(pre));
        }
        v0_1_0::ProviderPre::new(instance_pre)
            .map(AdapterPre::V0_1)
            .map_err(|_| format!("not a provider adapter: {current:#}"))
    }

    async fn instantiate(
        &self,
        store: &mut Store<SandboxState>,
    ) -> wasmtime::Result<AdapterInstance> {
        Ok(match self {
            AdapterPre::V0_1(pre) => AdapterInstance::V0_1(pre.instantiate_async(store).await?),
            AdapterPre::V0_2(pre) => AdapterInstance::V0_2(pre.instantiate_async(store).await?),
            AdapterPre::V0_3(pre) => AdapterInstance::V0_3(pre.instantiate_async(store).await?),
            AdapterPre::V0_4(pre) => AdapterInstance::V0_4(pre.instantiate_async(store).await?),
            AdapterPre::V0_5(pre) => AdapterInstance::V0_5(pre.instantiate_async(store).await?),
        })
    }

    fn contract(&self) -> &'static str {
        match self {
            AdapterPre::V0_1(_) => "0.1.0",
            AdapterPre::V0_2(_) => "0.2.0",
            AdapterPre::V0_3(_) => "0.3.0",
            AdapterPre::V0_4(_) => "0.4.0",
            AdapterPre::V0_5(_) => "0.5.0",
        }
    }
}

/// A loaded, type-checked, self-tested provider adapter version.
pub struct ProviderPlugin {
    descriptor: ProviderDescriptor,
    state: VersionState,
    pre: AdapterPre,
    engine: PluginEngine,
    /// Idle instances by tenant; they go with this version.
    warm: WarmPool<AdapterInstance>,
}

impl std::fmt::Debug for ProviderPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderPlugin")
            .field("descriptor", &self.descriptor)
            .field("contract", &self.pre.contract())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ProviderPlugin {
    /// Type-checks `component` against the `provider` world of a supported contract version and
    /// runs its self-test (`describe` in a fresh instance). Fails if it is not a provider adapter.
    pub async fn load(
        engine: &PluginEngine,
        component: &Component,
        digest: String,
        origin: String,
    ) -> Result<ProviderPlugin, String> {
        let pre = AdapterPre::new(engine, component)?;
        let mut store = new_store(engine.engine(), engine.limits(), "self-test");
        let instance = pre
            .instantiate(&mut store)
            .await
            .map_err(|e| format!("cannot instantiate: {e:#}"))?;
        let descriptor = on_adapter!(&instance, |guest, v| guest
            .call_describe(&mut store)
            .await
            .map(v::descriptor_from_wit))
        .map_err(|e| format!("self-test (describe) failed: {e:#}"))?;
        let limits = engine.limits_for(&descriptor.name);
        Ok(ProviderPlugin {
            warm: WarmPool::new(limits.warm, engine.idle_budget().clone()),
            state: VersionState::new(
                digest,
                origin,
                limits,
                &engine.config().circuit_breaker,
                PluginLabels::new(&descriptor.name, &descriptor.version),
            ),
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

    /// The contract version the plugin was built against, e.g. `0.4.0`.
    pub fn contract(&self) -> &'static str {
        self.pre.contract()
    }

    /// The host's state of this version: digest, origin, instances, health.
    pub fn state(&self) -> &VersionState {
        &self.state
    }

    /// A fresh instance in a fresh store, never reused (the conformance kit, the replay gate).
    /// The instance keeps this version alive until it is dropped, so a replaced version drains.
    pub async fn instantiate(self: &Arc<Self>) -> Result<ProviderInstance, PluginFault> {
        let permit = self.state.admit(self.name())?;
        let warm = self.fresh().await?;
        Ok(ProviderInstance::new(self.clone(), warm, None, permit))
    }

    /// An instance for one request of tenant `scope`: a warm one that served only `scope`
    /// before, or a fresh one. It returns to this version's pool after a clean request, unless
    /// the plugin's isolation is `per-request`.
    pub async fn checkout(
        self: &Arc<Self>,
        scope: &TenantScope,
    ) -> Result<ProviderInstance, PluginFault> {
        if self.state.limits.isolation == Isolation::PerRequest {
            return self.instantiate().await;
        }
        let permit = self.state.admit(self.name())?;
        let warm = match self.warm.take(scope) {
            Some(warm) => match self.close_leftover(warm).await {
                Some(warm) => warm,
                None => self.fresh().await?,
            },
            None => self.fresh().await?,
        };
        Ok(ProviderInstance::new(
            self.clone(),
            warm,
            Some(scope.clone()),
            permit,
        ))
    }

    /// Drops the stream decoder the previous request left in a warm instance; `None` (the
    /// instance is retired) when that fails.
    async fn close_leftover(
        &self,
        mut warm: Warm<AdapterInstance>,
    ) -> Option<Warm<AdapterInstance>> {
        let Some(decoder) = warm.leftover.take() else {
            return Some(warm);
        };
        let limits = &self.state.limits;
        arm_deadline(&mut warm.store, limits);
        let dropped = decoder.resource_drop_async(&mut warm.store);
        match wall_clock::bounded(limits.call_timeout, dropped).await {
            Ok(()) => Some(warm),
            Err(error) => {
                tracing::warn!(plugin = %self.name(), %error, "dropping a stream decoder failed; the instance is retired");
                None
            }
        }
    }

    /// A new instance in a new store.
    async fn fresh(&self) -> Result<Warm<AdapterInstance>, PluginFault> {
        let limits = &self.state.limits;
        let mut store = new_store(self.engine.engine(), limits, self.name());
        let call = TimedCall::start("instantiate");
        let instantiate = self.pre.instantiate(&mut store);
        let instance = match wall_clock::bounded(limits.call_timeout, instantiate).await {
            Ok(instance) => instance,
            Err(error) => {
                self.state.record_fault();
                let timeout_ms = limits.call_timeout.as_millis();
                let fault = fault_from_wasm(self.name(), error, timeout_ms);
                call.finish(&self.state.labels, Some(&fault));
                return Err(fault);
            }
        };
        call.finish(&self.state.labels, None);
        Ok(Warm::new(store, instance))
    }

    /// Closes this version's pool of warm instances and drops them (it no longer serves), or
    /// opens it again (a rollback made it serve again).
    pub(crate) fn set_serving(&self, serving: bool) {
        self.warm.set_open(serving);
    }
}

/// One request's instance of a provider adapter. After a fault every call fails with it, and it
/// is never reused.
pub struct ProviderInstance {
    plugin: Arc<ProviderPlugin>,
    /// `None` only while it is dropped.
    warm: Option<Warm<AdapterInstance>>,
    /// The tenant whose pool it returns to; `None`: dropped after the request.
    scope: Option<TenantScope>,
    decoder: Option<ResourceAny>,
    poisoned: Option<PluginFault>,
    /// A call is under way: if the instance is dropped now (the request was cancelled), the
    /// guest stopped mid-call and the instance is not reused.
    in_call: bool,
    _permit: OwnedSemaphorePermit,
}

/// A call under way: its deadline, its timing, and the instance it runs in.
struct Call<'a> {
    deadline: std::time::Duration,
    timed: TimedCall,
    store: &'a mut Store<SandboxState>,
    instance: &'a AdapterInstance,
}

impl Drop for ProviderInstance {
    fn drop(&mut self) {
        let (Some(scope), Some(mut warm)) = (self.scope.take(), self.warm.take()) else {
            return;
        };
        if self.poisoned.is_some() || self.in_call {
            return;
        }
        warm.leftover = self.decoder.take();
        self.plugin.warm.put(scope, warm);
    }
}

impl ProviderInstance {
    fn new(
        plugin: Arc<ProviderPlugin>,
        warm: Warm<AdapterInstance>,
        scope: Option<TenantScope>,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        ProviderInstance {
            plugin,
            warm: Some(warm),
            scope,
            decoder: None,
            poisoned: None,
            in_call: false,
            _permit: permit,
        }
    }

    /// The plugin version this instance runs.
    pub fn plugin(&self) -> &Arc<ProviderPlugin> {
        &self.plugin
    }

    /// Refuses calls into a poisoned instance and arms the deadline of `timed`; returns the
    /// deadline for [`wall_clock::bounded`], the call and the instance to run it in.
    fn before_call(&mut self, timed: TimedCall) -> Result<Call<'_>, PluginFault> {
        if let Some(fault) = &self.poisoned {
            return Err(fault.clone());
        }
        let limits = &self.plugin.state.limits;
        let Some(Warm {
            store, instance, ..
        }) = self.warm.as_mut()
        else {
            return Err(PluginFault::contract(
                self.plugin.name(),
                "host bug: call into a returned instance",
            ));
        };
        arm_deadline(store, limits);
        self.in_call = true;
        Ok(Call {
            deadline: limits.call_timeout,
            timed,
            store,
            instance,
        })
    }

    /// Turns a call's wasmtime error into a fault and poisons the instance with it. The fault
    /// counts against the plugin version unless `input_bytes`, the size of the call's input, is
    /// large enough to explain running out of time or memory: then it counts against the request.
    fn after_call<T>(
        &mut self,
        result: wasmtime::Result<T>,
        input_bytes: usize,
        call: TimedCall,
    ) -> Result<T, PluginFault> {
        self.in_call = false;
        let state = &self.plugin.state;
        match result {
            Ok(value) => {
                state.record_call_ok();
                call.finish(&state.labels, None);
                Ok(value)
            }
            Err(error) => {
                let name = self.plugin.name();
                let fault = fault_from_wasm(name, error, state.limits.call_timeout.as_millis());
                let stderr = (self.warm.as_ref())
                    .map(|warm| warm.store.data().stderr_text())
                    .unwrap_or_default();
                if fault.exhaustion && input_bytes >= INPUT_EXPLAINS_EXHAUSTION_BYTES {
                    tracing::info!(plugin = %name, digest = %state.digest, reason = %fault.reason, input_bytes, "a large input exhausted the plugin: the request fails, the plugin is not blamed");
                } else {
                    tracing::warn!(plugin = %name, digest = %state.digest, reason = %fault.reason, ?stderr, "plugin call failed");
                    state.record_fault();
                }
                call.finish(&state.labels, Some(&fault));
                self.poisoned = Some(fault.clone());
                Err(fault)
            }
        }
    }

    /// Builds the upstream request for a canonical chat request. An adapter that passes the
    /// conversation through is handed the request without it, and the client's `messages` and
    /// `tools` are put back into its body ([`passed_conversation`]).
    pub async fn build_request(
        &mut self,
        request: &[u8],
        endpoint: &EndpointSettings,
        stream: bool,
    ) -> Result<Result<UpstreamRequest, ProviderError>, PluginFault> {
        let split = (self.plugin.descriptor().declared)
            .is_some_and(|declared| declared.passes_conversation)
            .then(|| passed_conversation::split(request))
            .flatten();
        let handed = split
            .as_ref()
            .map_or(request, |split| split.head.as_slice());
        let Call {
            deadline,
            timed: call,
            store,
            instance,
        } = self.before_call(TimedCall::start("build_request"))?;
        let result = wall_clock::bounded(deadline, async {
            on_adapter!(instance, |guest, v| guest
                .call_build_request(&mut *store, handed, &v::endpoint_to_wit(endpoint), stream)
                .await
                .map(|result| result
                    .map(v::request_from_wit)
                    .map_err(v::error_from_wit)))
        })
        .await;
        let result = match &split {
            Some(split) => checked(result, |mut request: UpstreamRequest| {
                request.body = split.splice(&request.body)?;
                Ok(request)
            }),
            None => result,
        };
        self.after_call(result, handed.len(), call)
    }

    /// Translates a successful non-streaming response. A completion that is not a canonical
    /// `chat.completion` is a fault of the plugin.
    pub async fn parse_response(
        &mut self,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Result<CheckedResponse, ProviderError>, PluginFault> {
        let Call {
            deadline,
            timed: call,
            store,
            instance,
        } = self.before_call(TimedCall::start("parse_response"))?;
        let result = wall_clock::bounded(deadline, async {
            on_adapter!(instance, |guest, v| guest
                .call_parse_response(&mut *store, &v::http_response(status, headers, body))
                .await
                .map(|result| result
                    .map(v::parsed_from_wit)
                    .map_err(v::error_from_wit)))
        })
        .await;
        self.after_call(checked(result, check_response), 0, call)
    }

    /// Classifies an unsuccessful response.
    pub async fn parse_error(
        &mut self,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<ProviderError, PluginFault> {
        let Call {
            deadline,
            timed: call,
            store,
            instance,
        } = self.before_call(TimedCall::start("parse_error"))?;
        let result = wall_clock::bounded(deadline, async {
            on_adapter!(instance, |guest, v| guest
                .call_parse_error(&mut *store, &v::http_response(status, headers, body))
                .await
                .map(v::error_from_wit))
        })
        .await;
        self.after_call(result, 0, call)
    }

    /// Builds the upstream request for a canonical embeddings request. Adapters built before
    /// contract 0.4.0 have no such function: they answer with an invalid-request error.
    pub async fn build_embeddings_request(
        &mut self,
        request: &[u8],
        endpoint: &EndpointSettings,
    ) -> Result<Result<UpstreamRequest, ProviderError>, PluginFault> {
        let no_embeddings = self.no_embeddings();
        let Call {
            deadline,
            timed: call,
            store,
            instance,
        } = self.before_call(TimedCall::start("build_embeddings_request"))?;
        let result = wall_clock::bounded(deadline, async {
            match instance {
                AdapterInstance::V0_4(instance) => {
                    v0_4_0::build_embeddings_request(instance, &mut *store, request, endpoint).await
                }
                AdapterInstance::V0_5(instance) => {
                    v0_5_0::build_embeddings_request(instance, &mut *store, request, endpoint).await
                }
                _ => Ok(Err(no_embeddings)),
            }
        })
        .await;
        self.after_call(result, request.len(), call)
    }

    /// Translates a successful embeddings response.
    pub async fn parse_embeddings_response(
        &mut self,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Result<ParsedEmbeddings, ProviderError>, PluginFault> {
        let no_embeddings = self.no_embeddings();
        let Call {
            deadline,
            timed: call,
            store,
            instance,
        } = self.before_call(TimedCall::start("parse_embeddings_response"))?;
        let result = wall_clock::bounded(deadline, async {
            match instance {
                AdapterInstance::V0_4(instance) => {
                    let store = &mut *store;
                    v0_4_0::parse_embeddings_response(instance, store, status, headers, body).await
                }
                AdapterInstance::V0_5(instance) => {
                    let store = &mut *store;
                    v0_5_0::parse_embeddings_response(instance, store, status, headers, body).await
                }
                _ => Ok(Err(no_embeddings)),
            }
        })
        .await;
        self.after_call(result, 0, call)
    }

    fn no_embeddings(&self) -> ProviderError {
        ProviderError::InvalidRequest(format!(
            "adapter {} (contract {}) does not serve embeddings",
            self.plugin.name(),
            self.plugin.contract()
        ))
    }

    /// Creates this instance's stream decoder.
    pub async fn start_stream(&mut self, endpoint: &EndpointSettings) -> Result<(), PluginFault> {
        let Call {
            deadline,
            timed: call,
            store,
            instance,
        } = self.before_call(TimedCall::start("start_stream"))?;
        let result = wall_clock::bounded(deadline, async {
            on_adapter!(instance, |guest, v| guest
                .stream_decoder()
                .call_constructor(&mut *store, &v::endpoint_to_wit(endpoint))
                .await)
        })
        .await;
        self.decoder = Some(self.after_call(result, 0, call)?);
        Ok(())
    }

    /// Decodes one event of the stream started with [`Self::start_stream`].
    pub async fn decode(
        &mut self,
        event: switchyard_sdk::sse::Event,
    ) -> Result<Result<CheckedStreamOutput, ProviderError>, PluginFault> {
        let Some(decoder) = self.decoder else {
            return Err(PluginFault::contract(
                self.plugin.name(),
                "host bug: decode called before start_stream",
            ));
        };
        let Call {
            deadline,
            timed: call,
            store,
            instance,
        } = self.before_call(TimedCall::start_untraced("decode"))?;
        let result = wall_clock::bounded(deadline, async {
            on_adapter!(instance, |guest, v| guest
                .stream_decoder()
                .call_decode(&mut *store, decoder, &v::sse_event(event))
                .await
                .map(|result| result
                    .map(v::stream_output_from_wit)
                    .map_err(v::error_from_wit)))
        })
        .await;
        self.after_call(checked(result, check_stream_output), 0, call)
    }
}

/// Applies the host's check to a call's successful output: a malformed output becomes an error
/// of the call, so it poisons the instance and counts against the plugin version like a trap.
fn checked<T, U>(
    result: wasmtime::Result<Result<T, ProviderError>>,
    check: impl FnOnce(T) -> Result<U, String>,
) -> wasmtime::Result<Result<U, ProviderError>> {
    match result? {
        Ok(output) => check(output).map(Ok).map_err(wasmtime::Error::msg),
        Err(error) => Ok(Err(error)),
    }
}
