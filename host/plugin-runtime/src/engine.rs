//! The process-wide wasmtime engine: pooling allocator, async calls (plugins run on the tokio
//! runtime and yield at every epoch tick), epoch interruption driven by a ticker thread, and the
//! linker (an empty WASI is all a plugin may import).

use std::sync::Arc;

use wasmtime::component::{Component, Linker};
use wasmtime::{
    Cache, CacheConfig, Config, Enabled, Engine, InstanceAllocationStrategy,
    PoolingAllocationConfig,
};

use super::sandbox::{EPOCH_TICK, SandboxLimits, SandboxState};
use super::warm::IdleBudget;
use switchyard_domain::config::PluginsConfig;

/// Most bytes of one linear memory reset in place when its instance is dropped. Up to this much
/// (the pages a request wrote, found with Linux's `PAGEMAP_SCAN` where the kernel has it) is
/// restored with `memcpy`/`memset` and stays resident for the next instance; only the rest goes
/// back to the kernel with `madvise`, whose TLB shootdowns stall every core running the gateway.
/// A first-party plugin writes well under this per request.
const MEMORY_KEEP_RESIDENT: usize = 4 << 20;
/// Most bytes of one table reset in place (see [`MEMORY_KEEP_RESIDENT`]).
const TABLE_KEEP_RESIDENT: usize = 64 << 10;
/// Slots returned to the kernel in one batch (one TLB shootdown per batch, not per slot).
const DECOMMIT_BATCH: usize = 32;
/// The share of `max_instances` that idle warm instances may hold, over every plugin version;
/// the allocator has that many slots more than `max_instances`, so live instances keep theirs.
const IDLE_SHARE_DIVISOR: u32 = 8;

/// Why the engine could not be created or a component compiled.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(String);

/// The engine, the linker and the sandbox limits shared by every plugin.
#[derive(Clone)]
pub struct PluginEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    engine: Engine,
    linker: Linker<SandboxState>,
    config: PluginsConfig,
    limits: SandboxLimits,
    idle_budget: Arc<IdleBudget>,
}

impl PluginEngine {
    /// Creates the engine with limits from `config` and starts the epoch ticker.
    pub fn new(config: &PluginsConfig) -> Result<PluginEngine, EngineError> {
        let limits = SandboxLimits::from_config(config, None);
        let mut pool = PoolingAllocationConfig::default();
        // A wasm32-wasip2 Rust component holds a few core instances (the program and the WASI
        // adapter), two memories and a few tables; a componentize-py one holds 14 core instances.
        // Idle warm instances hold allocator slots too: they get their own share on top of
        // `max_instances`, so a full idle budget never leaves a live request without a slot.
        let idle_share = config.max_instances / IDLE_SHARE_DIVISOR;
        let instances = config.max_instances.saturating_add(idle_share);
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(4))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(4))
            .total_stacks(instances)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_core_instances_per_component(32)
            .max_memory_size(largest_memory_bytes(config, &limits))
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            .pagemap_scan(Enabled::Auto)
            .decommit_batch_size(DECOMMIT_BATCH);

        let mut wasm_config = Config::new();
        wasm_config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if config.perf_map {
            wasm_config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if let Some(directory) = cache_directory(config) {
            let mut cache_config = CacheConfig::new();
            cache_config.with_directory(&directory);
            match Cache::new(cache_config) {
                Ok(cache) => {
                    tracing::debug!(directory = %directory.display(), "compiled plugins are cached");
                    wasm_config.cache(Some(cache));
                }
                Err(error) => {
                    tracing::warn!(%error, directory = %directory.display(), "plugin compile cache disabled")
                }
            }
        }
        let engine = Engine::new(&wasm_config)
            .map_err(|e| EngineError(format!("cannot create engine: {e}")))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| EngineError(format!("cannot link WASI: {e}")))?;
        super::v0_2_0::add_to_linker(&mut linker)
            .and_then(|()| super::v0_3_0::add_to_linker(&mut linker))
            .and_then(|()| super::v0_4_0::add_to_linker(&mut linker))
            .and_then(|()| super::v0_5_0::add_to_linker(&mut linker))
            .map_err(|e| EngineError(format!("cannot link the host interface: {e}")))?;

        spawn_epoch_ticker(&engine);
        Ok(PluginEngine {
            inner: Arc::new(EngineInner {
                engine,
                linker,
                config: config.clone(),
                limits,
                idle_budget: Arc::new(IdleBudget::new(idle_share as usize)),
            }),
        })
    }

    /// Compiles a component. Slow (milliseconds to seconds): call it off the async runtime.
    pub fn compile(&self, bytes: &[u8]) -> Result<Component, EngineError> {
        Component::new(&self.inner.engine, bytes)
            .map_err(|e| EngineError(format!("not a valid component: {e}")))
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The linker every plugin is instantiated with.
    pub fn linker(&self) -> &Linker<SandboxState> {
        &self.inner.linker
    }

    /// The default per-store limits (used for the load-time self-test).
    pub(crate) fn limits(&self) -> &SandboxLimits {
        &self.inner.limits
    }

    /// The limits of the plugin called `name`, overrides applied.
    pub(crate) fn limits_for(&self, name: &str) -> SandboxLimits {
        SandboxLimits::from_config(&self.inner.config, Some(name))
    }

    /// The bound on idle warm instances shared by every plugin version.
    pub(crate) fn idle_budget(&self) -> &Arc<IdleBudget> {
        &self.inner.idle_budget
    }

    /// The plugin settings the engine was created with.
    pub fn config(&self) -> &PluginsConfig {
        &self.inner.config
    }
}

/// The largest memory any plugin may grow to: the default limit or a larger override. Every
/// pool slot is this big, so a plugin whose override raises its limit can use it.
fn largest_memory_bytes(config: &PluginsConfig, defaults: &SandboxLimits) -> usize {
    config
        .overrides
        .keys()
        .map(|name| SandboxLimits::from_config(config, Some(name)).memory_bytes)
        .fold(defaults.memory_bytes, usize::max)
}

/// The compile cache folder: configured, or the user's cache folder; `None` when disabled.
fn cache_directory(config: &PluginsConfig) -> Option<std::path::PathBuf> {
    if !config.cache {
        return None;
    }
    if let Some(directory) = &config.cache_dir {
        return Some(directory.clone());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("switchyard"))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("switchyard-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the epoch ticker: plugin deadlines will not fire");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::BUILTIN_PLUGINS;
    use crate::provider::ProviderPlugin;
    use crate::warm::TenantScope;

    /// `max_instances` live instances fit while an idle warm instance holds a slot: the
    /// allocator has the idle share on top (with 8, one more slot).
    #[tokio::test]
    async fn max_instances_live_instances_fit_beside_an_idle_one() {
        let config = PluginsConfig {
            max_instances: 8,
            cache: false,
            ..PluginsConfig::default()
        };
        let engine = PluginEngine::new(&config).expect("an engine");
        let (_, bytes) = BUILTIN_PLUGINS
            .iter()
            .find(|(package, _)| *package == "switchyard-plugin-openai")
            .expect("the openai plugin is built in");
        let component = engine.compile(bytes).expect("it compiles");
        let plugin = ProviderPlugin::load(&engine, &component, "d".to_owned(), "t".to_owned())
            .await
            .expect("it loads");
        let plugin = Arc::new(plugin);
        let idle = plugin.checkout(&TenantScope::of(Some("a"))).await;
        drop(idle.expect("an instance"));
        let mut live = Vec::new();
        for tenant in 0..8 {
            let scope = TenantScope::of(Some(&format!("other-{tenant}")));
            match plugin.checkout(&scope).await {
                Ok(instance) => live.push(instance),
                Err(fault) => panic!("live instance {tenant} got no slot: {}", fault.reason),
            }
        }
        assert_eq!(plugin.state().in_flight(), 8);
    }
}
