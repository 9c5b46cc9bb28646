//! What one plugin instance may use: an empty WASI context (no files, environment, network,
//! sockets or inherited stdio; a frozen clock), a memory limit and a per-call deadline.

use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

/// How much of a plugin's stderr (panic messages, debug prints) is kept for the logs.
const STDERR_CAPACITY: usize = 8 * 1024;

use switchyard_domain::config::{Isolation, PluginsConfig};

/// How often the epoch advances. A call's deadline is counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Limits applied to every plugin store.
#[derive(Debug, Clone)]
pub(crate) struct SandboxLimits {
    /// Most linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Epoch ticks one call may run for.
    pub call_deadline_ticks: u64,
    /// The deadline as a duration, for messages.
    pub call_timeout: Duration,
    /// Most instances alive at once.
    pub max_instances: usize,
    /// Whether instances are kept warm across requests.
    pub isolation: Isolation,
    /// When a warm instance is retired.
    pub warm: WarmLimits,
}

/// When a warm instance is retired, from `[plugins.warm]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WarmLimits {
    /// Most idle instances one version keeps.
    pub idle: usize,
    /// Requests one instance serves at most.
    pub max_requests: u32,
    /// Oldest an instance may be.
    pub max_age: Duration,
    /// Most bytes its memories may grow past their initial size.
    pub max_growth_bytes: usize,
}

impl SandboxLimits {
    /// The limits of plugin `name` (`None`: the defaults), with its overrides applied.
    pub(crate) fn from_config(config: &PluginsConfig, name: Option<&str>) -> Self {
        let overrides = name
            .and_then(|name| config.overrides.get(name))
            .cloned()
            .unwrap_or_default();
        let call_timeout_ms = overrides.call_timeout_ms.unwrap_or(config.call_timeout_ms);
        let memory_limit_mib = overrides
            .memory_limit_mib
            .unwrap_or(config.memory_limit_mib);
        let max_instances = overrides.max_instances.unwrap_or(config.max_instances);
        let warm = &config.warm;
        let tick_ms = EPOCH_TICK.as_millis().max(1) as u64;
        SandboxLimits {
            memory_bytes: usize::try_from(memory_limit_mib.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
            call_deadline_ticks: call_timeout_ms.div_ceil(tick_ms).max(1),
            call_timeout: Duration::from_millis(call_timeout_ms),
            max_instances: max_instances as usize,
            isolation: overrides.isolation.unwrap_or(config.isolation),
            warm: WarmLimits {
                idle: warm.idle as usize,
                max_requests: warm.max_requests,
                max_age: Duration::from_secs(warm.max_age_secs),
                max_growth_bytes: usize::try_from(warm.max_growth_mib.saturating_mul(1024 * 1024))
                    .unwrap_or(usize::MAX),
            },
        }
    }
}

/// The data of one plugin store.
pub struct SandboxState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: GrowthLimits,
    /// Epoch ticks the current call may still run for.
    ticks_left: u64,
    /// What the plugin wrote to stderr, for the logs when it fails.
    stderr: MemoryOutputPipe,
    /// The plugin's name, to tag its log lines.
    plugin: String,
    /// Log lines the plugin may still write in this store.
    log_budget: u32,
}

/// Log lines one plugin store may write (one request); the rest are dropped.
const LOG_LINES_PER_STORE: u32 = 64;
/// Longest log line kept, in bytes.
const LOG_LINE_BYTES: usize = 1024;

impl SandboxState {
    /// Writes a plugin's log line to the gateway's log, within the store's budget.
    pub(crate) fn plugin_log(&mut self, level: tracing::Level, mut message: String) {
        if self.log_budget == 0 {
            return;
        }
        self.log_budget -= 1;
        if message.len() > LOG_LINE_BYTES {
            let mut end = LOG_LINE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        let plugin = &self.plugin;
        // Debug formatting escapes newlines: a plugin cannot forge log lines.
        match level {
            tracing::Level::ERROR => tracing::error!(%plugin, ?message, "plugin log"),
            tracing::Level::WARN => tracing::warn!(%plugin, ?message, "plugin log"),
            tracing::Level::INFO => tracing::info!(%plugin, ?message, "plugin log"),
            _ => tracing::debug!(%plugin, ?message, "plugin log"),
        }
        if self.log_budget == 0 {
            tracing::warn!(%plugin, "plugin log budget spent; further lines of this request dropped");
        }
    }

    /// What the plugin wrote to stderr so far (lossy UTF-8, trimmed).
    pub(crate) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_owned()
    }

    /// Prepares a warm store for its next request: a full log budget.
    pub(crate) fn begin_request(&mut self) {
        self.log_budget = LOG_LINES_PER_STORE;
    }

    /// Counts memory growth from now on: called once the instance exists, so its initial
    /// memories do not count.
    pub(crate) fn instantiated(&mut self) {
        self.limits.grown = 0;
    }

    /// Whether this store may serve another request: its memories grew past their initial
    /// size by at most `max_growth_bytes`, and it wrote nothing to stderr (a panic message or
    /// debug print belongs to the request that wrote it, and the pipe is bounded).
    pub(crate) fn reusable(&self, max_growth_bytes: usize) -> bool {
        self.limits.grown <= max_growth_bytes && self.stderr.contents().is_empty()
    }
}

/// The store's limits, counting how far its memories grew.
struct GrowthLimits {
    limits: StoreLimits,
    /// Bytes the memories grew by since [`SandboxState::instantiated`].
    grown: usize,
}

impl ResourceLimiter for GrowthLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.grown = self.grown.saturating_add(desired.saturating_sub(current));
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for SandboxState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A fresh store for plugin `plugin` with an empty WASI context and the memory limit applied.
pub(crate) fn new_store(
    engine: &Engine,
    limits: &SandboxLimits,
    plugin: &str,
) -> Store<SandboxState> {
    let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
    let state = SandboxState {
        // Nothing is inherited or preopened: no env, args, dirs or sockets; stderr goes to a
        // bounded buffer that the host logs when the plugin fails.
        wasi: WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .build(),
        table: ResourceTable::new(),
        limits: GrowthLimits {
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
            grown: 0,
        },
        ticks_left: limits.call_deadline_ticks,
        stderr,
        plugin: plugin.to_owned(),
        log_budget: LOG_LINES_PER_STORE,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    // At every tick a running call yields to the async runtime, so a busy plugin never starves
    // other requests; once its budget is spent it is interrupted (a trap).
    store.epoch_deadline_callback(|mut context| {
        let state = context.data_mut();
        if state.ticks_left == 0 {
            return Ok(UpdateDeadline::Interrupt);
        }
        state.ticks_left -= 1;
        Ok(UpdateDeadline::Yield(1))
    });
    store.set_epoch_deadline(1);
    store
}

/// The only clock a plugin sees: always the Unix epoch, never advancing. The contract gives a
/// plugin no time (the host stamps `created` and measures latency itself), and a frozen clock
/// leaves no timing side channel between requests.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}

/// Gives the next call a fresh deadline.
pub(crate) fn arm_deadline(store: &mut Store<SandboxState>, limits: &SandboxLimits) {
    store.data_mut().ticks_left = limits.call_deadline_ticks;
    store.set_epoch_deadline(1);
}
