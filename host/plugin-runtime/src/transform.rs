//! Transform plugins (contract 0.5.0 on): loading (type-check + self-test) and hook calls in warm
//! instances kept per tenant, under the same sandbox, limits and circuit breaker as the other
//! kinds. What a transform keeps across the hooks of one request travels in the host-carried
//! `state`, never in the instance (see `wit/transform.wit`).

use wasmtime::component::Component;

use super::call::TimedCall;
use super::engine::PluginEngine;
use super::sandbox::{SandboxState, arm_deadline, new_store};
use super::trap::fault_from_wasm;
use super::v0_5_0::{Transform, TransformPre, transform_wit as wit};
use super::version::VersionState;
use super::wall_clock;
use super::warm::{TenantScope, Warm, WarmPool};
use switchyard_domain::config::Isolation;
use switchyard_domain::plugin_fault::PluginFault;
use switchyard_telemetry::metrics::labels::PluginLabels;

/// The most state a transform may ask the host to carry for one request.
pub const MAX_STATE_BYTES: usize = 1024 * 1024;

/// The hooks a transform wants called.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hooks {
    /// `on-request`, before routing.
    pub request: bool,
    /// `on-routed`, once per endpoint tried.
    pub routed: bool,
    /// `on-response`, on a whole answer.
    pub response: bool,
    /// `on-chunk`, on each streamed chunk.
    pub chunk: bool,
}

/// A typed refusal from a transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status, 400 to 599.
    pub status: u16,
    /// Machine-readable code.
    pub code: String,
    /// Message for the client.
    pub message: String,
}

/// What a hook decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to change.
    Pass,
    /// The new JSON bytes.
    Modify(Vec<u8>),
    /// Refuse.
    Refuse(Refusal),
}

/// A hook's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Pass, modify or refuse.
    pub verdict: Verdict,
    /// State for the request's next call.
    pub state: Vec<u8>,
}

/// The endpoint routing chose, for `on-routed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedEndpoint {
    /// Provider name.
    pub provider: String,
    /// Canonical model id.
    pub model: String,
    /// Context window in tokens, when known.
    pub context_length: Option<u64>,
    /// Output token limit, when known.
    pub max_output_tokens: Option<u64>,
}

/// One hook call and its inputs.
#[derive(Debug, Clone, Copy)]
pub enum Hook<'a> {
    /// `on-request`.
    Request {
        /// The canonical request.
        request: &'a [u8],
    },
    /// `on-routed`.
    Routed {
        /// The request as `on-request` left it.
        request: &'a [u8],
        /// The endpoint.
        endpoint: &'a RoutedEndpoint,
    },
    /// `on-response`.
    Response {
        /// The request as the endpoint received it.
        request: &'a [u8],
        /// The `chat.completion`.
        response: &'a [u8],
    },
    /// `on-chunk`.
    Chunk {
        /// The `chat.completion.chunk`.
        chunk: &'a [u8],
    },
}

impl Hook<'_> {
    /// The WIT function's name, for metrics and spans.
    pub fn function(&self) -> &'static str {
        match self {
            Hook::Request { .. } => "on_request",
            Hook::Routed { .. } => "on_routed",
            Hook::Response { .. } => "on_response",
            Hook::Chunk { .. } => "on_chunk",
        }
    }

    /// Whether a transform declaring `hooks` wants this call.
    pub fn wanted_by(&self, hooks: Hooks) -> bool {
        match self {
            Hook::Request { .. } => hooks.request,
            Hook::Routed { .. } => hooks.routed,
            Hook::Response { .. } => hooks.response,
            Hook::Chunk { .. } => hooks.chunk,
        }
    }
}

/// A loaded, type-checked, self-tested transform version.
pub struct TransformPlugin {
    name: String,
    version: String,
    hooks: Hooks,
    state: VersionState,
    pre: TransformPre<SandboxState>,
    engine: PluginEngine,
    /// Idle instances by tenant: a transform sees client content.
    warm: WarmPool<Transform>,
}

impl std::fmt::Debug for TransformPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformPlugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl TransformPlugin {
    /// Type-checks `component` against the `transform` world and runs its self-test:
    /// `describe`, then `check-options` on `{}` (whose verdict may be either: some transforms
    /// need options) must return.
    pub async fn load(
        engine: &PluginEngine,
        component: &Component,
        digest: String,
        origin: String,
    ) -> Result<TransformPlugin, String> {
        let instance_pre = engine
            .linker()
            .instantiate_pre(component)
            .map_err(|e| format!("cannot link: {e:#}"))?;
        let pre = TransformPre::new(instance_pre).map_err(|e| format!("not a transform: {e:#}"))?;
        let mut store = new_store(engine.engine(), engine.limits(), "self-test");
        let self_test = async {
            let instance = pre.instantiate_async(&mut store).await?;
            let guest = instance.switchyard_plugin_transformer();
            let descriptor = guest.call_describe(&mut store).await?;
            // Either verdict is fine: some transforms need options.
            let _verdict = guest.call_check_options(&mut store, "{}").await?;
            Ok::<_, wasmtime::Error>(descriptor)
        };
        let descriptor = self_test
            .await
            .map_err(|e| format!("self-test failed: {e:#}"))?;
        if descriptor.name.is_empty() {
            return Err("self-test: the transform has no name".to_owned());
        }
        let hooks = Hooks {
            request: descriptor.hooks.contains(wit::Hooks::REQUEST),
            routed: descriptor.hooks.contains(wit::Hooks::ROUTED),
            response: descriptor.hooks.contains(wit::Hooks::RESPONSE),
            chunk: descriptor.hooks.contains(wit::Hooks::CHUNK),
        };
        let limits = engine.limits_for(&descriptor.name);
        Ok(TransformPlugin {
            warm: WarmPool::new(limits.warm, engine.idle_budget().clone()),
            state: VersionState::new(
                digest,
                origin,
                limits,
                &engine.config().circuit_breaker,
                PluginLabels::new(&descriptor.name, &descriptor.version),
            ),
            name: descriptor.name,
            version: descriptor.version,
            hooks,
            pre,
            engine: engine.clone(),
        })
    }

    /// The transform's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The transform's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The hooks it wants called.
    pub fn hooks(&self) -> Hooks {
        self.hooks
    }

    /// The contract version it was built against.
    pub fn contract(&self) -> &'static str {
        "0.5.0"
    }

    /// The host's state of this version.
    pub fn state(&self) -> &VersionState {
        &self.state
    }

    /// Closes (and empties) or opens this version's pool of warm instances.
    pub(crate) fn set_serving(&self, serving: bool) {
        self.warm.set_open(serving);
    }

    /// Checks `options` (a JSON object): the transform's verdict, or its fault.
    pub async fn check_options(
        &self,
        scope: &TenantScope,
        options: &str,
    ) -> Result<Result<(), String>, PluginFault> {
        match self.run(scope, Call::CheckOptions(options)).await? {
            Answer::Checked(verdict) => Ok(verdict),
            Answer::Outcome(_) => Err(PluginFault::contract(&self.name, "mixed-up call")),
        }
    }

    /// Calls `hook` with `options` and the request's `state`, in an instance of `scope`.
    pub async fn call(
        &self,
        scope: &TenantScope,
        options: &str,
        hook: Hook<'_>,
        state: &[u8],
    ) -> Result<Outcome, PluginFault> {
        let call = Call::Hook {
            options,
            hook,
            state,
        };
        let outcome = match self.run(scope, call).await? {
            Answer::Outcome(outcome) => outcome,
            Answer::Checked(_) => {
                return Err(PluginFault::contract(&self.name, "mixed-up call"));
            }
        };
        if outcome.state.len() > MAX_STATE_BYTES {
            self.state.record_fault();
            return Err(PluginFault::contract(
                &self.name,
                format!(
                    "returned {} bytes of state, over the {MAX_STATE_BYTES} the host carries",
                    outcome.state.len()
                ),
            ));
        }
        Ok(Outcome {
            verdict: match outcome.verdict {
                wit::Verdict::Pass => Verdict::Pass,
                wit::Verdict::Modify(bytes) => Verdict::Modify(bytes),
                wit::Verdict::Refuse(refusal) => Verdict::Refuse(Refusal {
                    status: refusal.status,
                    code: refusal.code,
                    message: refusal.message,
                }),
            },
            state: outcome.state,
        })
    }

    /// Runs one call in a warm instance of `scope` (or a fresh one), within the call deadline,
    /// admitted by and recorded in the version's circuit breaker; the instance goes back to the
    /// pool only after a clean call.
    async fn run(&self, scope: &TenantScope, call: Call<'_>) -> Result<Answer, PluginFault> {
        let _permit = self.state.admit(&self.name)?;
        let function = call.function();
        // A span per streamed chunk would outnumber everything else in a trace.
        let timed = match function {
            "on_chunk" => TimedCall::start_untraced(function),
            _ => TimedCall::start(function),
        };
        let limits = &self.state.limits;
        let timeout_ms = limits.call_timeout.as_millis();
        let bounded = wall_clock::bounded(limits.call_timeout, async {
            let warm = match limits.isolation {
                Isolation::Warm => self.warm.take(scope),
                Isolation::PerRequest => None,
            };
            let mut warm = match warm {
                Some(warm) => warm,
                None => {
                    let mut store = new_store(self.engine.engine(), limits, &self.name);
                    let instance = self.pre.instantiate_async(&mut store).await?;
                    Warm::new(store, instance)
                }
            };
            arm_deadline(&mut warm.store, limits);
            let answer = invoke(&mut warm, call).await?;
            Ok((warm, answer))
        });
        let result = match bounded.await {
            Ok((warm, answer)) => {
                if limits.isolation == Isolation::Warm {
                    self.warm.put(scope.clone(), warm);
                }
                Ok(answer)
            }
            Err(error) => Err(fault_from_wasm(&self.name, error, timeout_ms)),
        };
        match &result {
            Ok(_) => self.state.record_call_ok(),
            Err(_) => self.state.record_fault(),
        }
        timed.finish(&self.state.labels, result.as_ref().err());
        result
    }
}

/// One call into a transform.
enum Call<'a> {
    /// `check-options`.
    CheckOptions(&'a str),
    /// A hook.
    Hook {
        options: &'a str,
        hook: Hook<'a>,
        state: &'a [u8],
    },
}

impl Call<'_> {
    fn function(&self) -> &'static str {
        match self {
            Call::CheckOptions(_) => "check_options",
            Call::Hook { hook, .. } => hook.function(),
        }
    }
}

/// What a call returned.
enum Answer {
    /// `check-options`' verdict.
    Checked(Result<(), String>),
    /// A hook's outcome.
    Outcome(wit::Outcome),
}

/// Makes `call` in `warm`'s instance.
async fn invoke(warm: &mut Warm<Transform>, call: Call<'_>) -> wasmtime::Result<Answer> {
    let Warm {
        store, instance, ..
    } = warm;
    let guest = instance.switchyard_plugin_transformer();
    let (options, hook, state) = match call {
        Call::CheckOptions(options) => {
            let verdict = guest.call_check_options(&mut *store, options).await?;
            return Ok(Answer::Checked(verdict));
        }
        Call::Hook {
            options,
            hook,
            state,
        } => (options, hook, state),
    };
    let outcome = match hook {
        Hook::Request { request } => {
            (guest.call_on_request(&mut *store, options, request, state)).await?
        }
        Hook::Routed { request, endpoint } => {
            let endpoint = wit::Endpoint {
                provider: endpoint.provider.clone(),
                model: endpoint.model.clone(),
                context_length: endpoint.context_length,
                max_output_tokens: endpoint.max_output_tokens,
            };
            (guest.call_on_routed(&mut *store, options, request, &endpoint, state)).await?
        }
        Hook::Response { request, response } => {
            (guest.call_on_response(&mut *store, options, request, response, state)).await?
        }
        Hook::Chunk { chunk } => (guest.call_on_chunk(&mut *store, options, chunk, state)).await?,
    };
    Ok(Answer::Outcome(outcome))
}
