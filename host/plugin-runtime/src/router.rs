//! Routing policy plugins: loading (type-check + self-test) and ordering calls, for every
//! supported contract version (generated types stay in `v0_1_0` to `v0_5_0`).

use wasmtime::Store;
use wasmtime::component::Component;

use super::call::TimedCall;
use super::engine::PluginEngine;
use super::sandbox::{SandboxState, arm_deadline, new_store};
use super::trap::fault_from_wasm;
use super::version::VersionState;
use super::wall_clock;
use super::warm::{TenantScope, Warm, WarmPool};
use switchyard_domain::config::Isolation;
use switchyard_domain::plugin_fault::PluginFault;
use switchyard_domain::plugin_types::{PolicyCandidate, PolicyRequest};
use switchyard_telemetry::metrics::labels::PluginLabels;

use super::{v0_1_0, v0_2_0, v0_3_0, v0_4_0, v0_5_0};

/// The pre-linked component, for the contract version it was built against.
enum PolicyPre {
    V0_1(v0_1_0::RouterPre<SandboxState>),
    V0_2(v0_2_0::RouterPre<SandboxState>),
    V0_3(v0_3_0::RouterPre<SandboxState>),
    V0_4(v0_4_0::RouterPre<SandboxState>),
    V0_5(v0_5_0::RouterPre<SandboxState>),
}

/// A live instance, for the contract version it was built against.
enum PolicyInstance {
    V0_1(v0_1_0::Router),
    V0_2(v0_2_0::Router),
    V0_3(v0_3_0::Router),
    V0_4(v0_4_0::Router),
    V0_5(v0_5_0::Router),
}

impl PolicyPre {
    async fn instantiate(
        &self,
        store: &mut Store<SandboxState>,
    ) -> wasmtime::Result<PolicyInstance> {
        Ok(match self {
            PolicyPre::V0_1(pre) => PolicyInstance::V0_1(pre.instantiate_async(store).await?),
            PolicyPre::V0_2(pre) => PolicyInstance::V0_2(pre.instantiate_async(store).await?),
            PolicyPre::V0_3(pre) => PolicyInstance::V0_3(pre.instantiate_async(store).await?),
            PolicyPre::V0_4(pre) => PolicyInstance::V0_4(pre.instantiate_async(store).await?),
            PolicyPre::V0_5(pre) => PolicyInstance::V0_5(pre.instantiate_async(store).await?),
        })
    }
}

/// Runs `$body` with `$guest` bound to the instance's `policy` export and `$v` to its
/// version's boundary module.
macro_rules! on_policy {
    ($instance:expr, |$guest:ident, $v:ident| $body:expr) => {
        match $instance {
            PolicyInstance::V0_1(instance) => {
                use v0_1_0 as $v;
                let $guest = instance.switchyard_plugin_policy();
                $body
            }
            PolicyInstance::V0_2(instance) => {
                use v0_2_0 as $v;
                let $guest = instance.switchyard_plugin_policy();
                $body
            }
            PolicyInstance::V0_3(instance) => {
                use v0_3_0 as $v;
                let $guest = instance.switchyard_plugin_policy();
                $body
            }
            PolicyInstance::V0_4(instance) => {
                use v0_4_0 as $v;
                let $guest = instance.switchyard_plugin_policy();
                $body
            }
            PolicyInstance::V0_5(instance) => {
                use v0_5_0 as $v;
                let $guest = instance.switchyard_plugin_policy();
                $body
            }
        }
    };
}

/// A loaded, type-checked, self-tested routing policy version.
pub struct RouterPlugin {
    name: String,
    version: String,
    state: VersionState,
    pre: PolicyPre,
    engine: PluginEngine,
    /// Idle instances, shared by every tenant (see [`RouterPlugin::order`]); they go with this
    /// version.
    warm: WarmPool<PolicyInstance>,
}

impl std::fmt::Debug for RouterPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterPlugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl RouterPlugin {
    /// Type-checks `component` against the `router` world and runs its self-test (`describe`,
    /// then `order` over an empty list).
    pub async fn load(
        engine: &PluginEngine,
        component: &Component,
        digest: String,
        origin: String,
    ) -> Result<RouterPlugin, String> {
        let instance_pre = engine
            .linker()
            .instantiate_pre(component)
            .map_err(|e| format!("cannot link: {e:#}"))?;
        let pre = match v0_5_0::RouterPre::new(instance_pre.clone()) {
            Ok(pre) => PolicyPre::V0_5(pre),
            Err(current) => match v0_4_0::RouterPre::new(instance_pre.clone()) {
                Ok(pre) => PolicyPre::V0_4(pre),
                Err(_) => match v0_3_0::RouterPre::new(instance_pre.clone()) {
                    Ok(pre) => PolicyPre::V0_3(pre),
                    Err(_) => match v0_2_0::RouterPre::new(instance_pre.clone()) {
                        Ok(pre) => PolicyPre::V0_2(pre),
                        Err(_) => v0_1_0::RouterPre::new(instance_pre)
                            .map(PolicyPre::V0_1)
                            .map_err(|_| format!("not a routing policy: {current:#}"))?,
                    },
                },
            },
        };
        let mut store = new_store(engine.engine(), engine.limits(), "self-test");
        let probe = PolicyRequest {
            model: "self-test/model".to_owned(),
            estimated_prompt_tokens: 0,
            max_tokens: None,
            seed: 0,
        };
        let self_test = async {
            let instance = pre.instantiate(&mut store).await?;
            on_policy!(&instance, |guest, v| {
                let descriptor = guest.call_describe(&mut store).await?;
                guest
                    .call_order(&mut store, &v::summary_to_wit(&probe), &[])
                    .await
                    .map(|order| (descriptor.name, descriptor.version, order))
            })
        };
        let (name, version, order) = self_test
            .await
            .map_err(|e: wasmtime::Error| format!("self-test failed: {e:#}"))?;
        match order {
            Ok(order) if order.is_empty() => {}
            Ok(order) => {
                return Err(format!(
                    "self-test: ordering no candidates returned {order:?}"
                ));
            }
            Err(message) => {
                return Err(format!(
                    "self-test: ordering no candidates failed: {message}"
                ));
            }
        }
        let descriptor = (name, version);
        let (name, version) = descriptor;
        let limits = engine.limits_for(&name);
        Ok(RouterPlugin {
            warm: WarmPool::new(limits.warm, engine.idle_budget().clone()),
            state: VersionState::new(
                digest,
                origin,
                limits,
                &engine.config().circuit_breaker,
                PluginLabels::new(&name, &version),
            ),
            name,
            version,
            pre,
            engine: engine.clone(),
        })
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The policy's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The contract version the policy was built against, e.g. `0.4.0`.
    pub fn contract(&self) -> &'static str {
        match self.pre {
            PolicyPre::V0_1(_) => "0.1.0",
            PolicyPre::V0_2(_) => "0.2.0",
            PolicyPre::V0_3(_) => "0.3.0",
            PolicyPre::V0_4(_) => "0.4.0",
            PolicyPre::V0_5(_) => "0.5.0",
        }
    }

    /// The host's state of this version: digest, origin, instances, health.
    pub fn state(&self) -> &VersionState {
        &self.state
    }

    /// Orders `candidates` in a warm instance (or a fresh one with `isolation = "per-request"`).
    /// Returns valid, distinct indexes, best first; a policy error or an index out of range is a
    /// fault, and retires the instance.
    ///
    /// A policy's warm instances are shared by every tenant: a policy receives no client content,
    /// only the model id, a rough prompt size, the output limit, a random seed and the candidates
    /// (catalog entries and live endpoint statistics), and returns nothing but an order of those
    /// candidates, which the host checks. What one tenant's request could leave in an instance
    /// is thus no more than the shared statistics already show.
    pub async fn order(
        &self,
        request: &PolicyRequest,
        candidates: &[PolicyCandidate],
    ) -> Result<Vec<usize>, PluginFault> {
        let _permit = self.state.admit(&self.name)?;
        let order = (self.bounded_order(TimedCall::start("order"), request, candidates)).await;
        match &order {
            Ok(_) => self.state.record_call_ok(),
            Err(_) => self.state.record_fault(),
        }
        order
    }

    /// [`Self::order`] for a shadow evaluation, whose order serves no request: under the same
    /// sandbox and instance limits, but neither admitted by nor recorded in the version's
    /// circuit breaker, so its faults never change how the version serves traffic.
    pub async fn shadow_order(
        &self,
        request: &PolicyRequest,
        candidates: &[PolicyCandidate],
    ) -> Result<Vec<usize>, PluginFault> {
        let _permit = self.state.instance(&self.name)?;
        let timed = TimedCall::start_untraced("shadow_order");
        self.bounded_order(timed, request, candidates).await
    }

    /// Runs `order` within the call deadline and checks the indexes; records the call's latency.
    /// The instance returns to the pool only after a clean call: one cut off by the deadline
    /// is dropped with the call's future.
    async fn bounded_order(
        &self,
        timed: TimedCall,
        request: &PolicyRequest,
        candidates: &[PolicyCandidate],
    ) -> Result<Vec<usize>, PluginFault> {
        let call = self.call_order(request, candidates);
        let timeout_ms = self.state.limits.call_timeout.as_millis();
        let order = match wall_clock::bounded(self.state.limits.call_timeout, call).await {
            Ok((warm, order)) => {
                let order = order
                    .map_err(|message| {
                        PluginFault::contract(&self.name, format!("policy error: {message}"))
                    })
                    .and_then(|order| self.checked(order, candidates.len()));
                if order.is_ok() && self.state.limits.isolation == Isolation::Warm {
                    self.warm.put(TenantScope::OPERATOR, warm);
                }
                order
            }
            Err(error) => Err(fault_from_wasm(&self.name, error, timeout_ms)),
        };
        timed.finish(&self.state.labels, order.as_ref().err());
        order
    }

    /// Runs `order` in a warm instance or a fresh one; returns the instance with the order.
    async fn call_order(
        &self,
        request: &PolicyRequest,
        candidates: &[PolicyCandidate],
    ) -> wasmtime::Result<(Warm<PolicyInstance>, Result<Vec<u32>, String>)> {
        let limits = &self.state.limits;
        let warm = match limits.isolation {
            Isolation::Warm => self.warm.take(&TenantScope::OPERATOR),
            Isolation::PerRequest => None,
        };
        let mut warm = match warm {
            Some(warm) => warm,
            None => {
                let mut store = new_store(self.engine.engine(), limits, &self.name);
                let instance = self.pre.instantiate(&mut store).await?;
                Warm::new(store, instance)
            }
        };
        arm_deadline(&mut warm.store, limits);
        let Warm {
            store, instance, ..
        } = &mut warm;
        let order = on_policy!(&*instance, |guest, v| {
            let candidates: Vec<_> = candidates.iter().map(v::candidate_to_wit).collect();
            guest
                .call_order(&mut *store, &v::summary_to_wit(request), &candidates)
                .await
        })?;
        Ok((warm, order))
    }

    /// Closes this version's pool of warm instances and drops them (it no longer serves), or
    /// opens it again (a rollback made it serve again).
    pub(crate) fn set_serving(&self, serving: bool) {
        self.warm.set_open(serving);
    }

    /// The order as distinct indexes below `count`, or a contract fault.
    fn checked(&self, order: Vec<u32>, count: usize) -> Result<Vec<usize>, PluginFault> {
        let mut seen = vec![false; count];
        let mut indexes = Vec::with_capacity(order.len());
        for index in order {
            let index = index as usize;
            match seen.get_mut(index) {
                Some(slot) if !*slot => {
                    *slot = true;
                    indexes.push(index);
                }
                Some(_) => {
                    return Err(PluginFault::contract(
                        &self.name,
                        format!("returned index {index} twice"),
                    ));
                }
                None => {
                    return Err(PluginFault::contract(
                        &self.name,
                        format!("returned index {index} for {count} candidates"),
                    ));
                }
            }
        }
        Ok(indexes)
    }
}
