//! What the host tracks for one loaded version of a plugin, whatever its kind: where it came
//! from, its sandbox limits, the instances alive, a circuit breaker, and recent outcomes for
//! canary decisions.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::sandbox::SandboxLimits;
use switchyard_domain::config::BreakerConfig;
use switchyard_domain::plugin_fault::PluginFault;
use switchyard_health::breaker::{BreakerState, CircuitBreaker};
use switchyard_telemetry::metrics::labels::PluginLabels;

/// Loaded plugin versions alive in the process (a version stays alive while a request holds it).
static VERSIONS_ALIVE: AtomicUsize = AtomicUsize::new(0);

/// How many plugin versions are alive: installed ones plus replaced ones still draining.
pub fn versions_alive() -> usize {
    VERSIONS_ALIVE.load(Ordering::Relaxed)
}

/// How many recent outcomes a version keeps for canary decisions.
const OUTCOME_WINDOW: usize = 200;

/// Host-side state of one plugin version.
#[derive(Debug)]
pub struct VersionState {
    /// SHA-256 of the component bytes, hex.
    pub digest: String,
    /// Where the component came from (built-in, a file, the admin API).
    pub origin: String,
    /// Sandbox limits of its stores.
    pub(crate) limits: SandboxLimits,
    /// Its metric labels (name and version), built once at load.
    pub(crate) labels: PluginLabels,
    permits: Arc<Semaphore>,
    max_instances: usize,
    breaker: CircuitBreaker,
    outcomes: Mutex<VecDeque<bool>>,
    calls: AtomicU64,
    faults: AtomicU64,
    judged: AtomicU64,
    judged_failures: AtomicU64,
}

impl VersionState {
    pub(crate) fn new(
        digest: String,
        origin: String,
        limits: SandboxLimits,
        breaker: &BreakerConfig,
        labels: PluginLabels,
    ) -> Self {
        VERSIONS_ALIVE.fetch_add(1, Ordering::Relaxed);
        VersionState {
            digest,
            origin,
            max_instances: limits.max_instances,
            permits: Arc::new(Semaphore::new(limits.max_instances)),
            limits,
            labels,
            breaker: CircuitBreaker::new(*breaker),
            outcomes: Mutex::new(VecDeque::with_capacity(OUTCOME_WINDOW)),
            calls: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            judged: AtomicU64::new(0),
            judged_failures: AtomicU64::new(0),
        }
    }

    /// Admits one more instance, unless the breaker is open or the instance limit is reached.
    pub(crate) fn admit(&self, plugin: &str) -> Result<OwnedSemaphorePermit, PluginFault> {
        if let Err(remaining) = self.breaker.admit() {
            return Err(PluginFault::contract(
                plugin,
                format!(
                    "circuit open after repeated faults; retrying in {} ms",
                    remaining.as_millis()
                ),
            ));
        }
        self.instance(plugin)
    }

    /// Admits one more instance within the instance limit, whatever the breaker says: for calls
    /// whose outcome serves no traffic (shadow evaluation), which must not wait for the breaker
    /// nor move it.
    pub(crate) fn instance(&self, plugin: &str) -> Result<OwnedSemaphorePermit, PluginFault> {
        self.permits.clone().try_acquire_owned().map_err(|_| {
            PluginFault::contract(
                plugin,
                format!(
                    "at its limit of {} concurrent instances",
                    self.max_instances
                ),
            )
        })
    }

    /// Instances alive now.
    pub fn in_flight(&self) -> usize {
        self.max_instances - self.permits.available_permits()
    }

    /// Records a call that completed; closes the breaker.
    pub(crate) fn record_call_ok(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.breaker.success();
    }

    /// Records a fault (trap, deadline, memory, contract); may open the breaker.
    pub(crate) fn record_fault(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.faults.fetch_add(1, Ordering::Relaxed);
        if self.breaker.failure() {
            tracing::error!(digest = %self.digest, origin = %self.origin, "plugin circuit opened");
        }
    }

    /// Calls into this version that returned or faulted so far, and the faults among them.
    pub fn calls_and_faults(&self) -> (u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.faults.load(Ordering::Relaxed),
        )
    }

    /// Requests judged for canary decisions so far, and the failures among them (canary
    /// progress, read without a lock).
    pub fn judged_and_failed(&self) -> (u64, u64) {
        (
            self.judged.load(Ordering::Relaxed),
            self.judged_failures.load(Ordering::Relaxed),
        )
    }

    /// Records whether a request this version served succeeded, for canary decisions.
    pub fn record_outcome(&self, ok: bool) {
        self.judged.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.judged_failures.fetch_add(1, Ordering::Relaxed);
        }
        let mut outcomes = self.outcomes.lock().unwrap_or_else(|p| p.into_inner());
        if outcomes.len() == OUTCOME_WINDOW {
            outcomes.pop_front();
        }
        outcomes.push_back(ok);
    }

    /// Recent requests and the share of them that failed.
    pub fn error_rate(&self) -> (usize, f64) {
        let outcomes = self.outcomes.lock().unwrap_or_else(|p| p.into_inner());
        let failures = outcomes.iter().filter(|ok| !**ok).count();
        let rate = if outcomes.is_empty() {
            0.0
        } else {
            failures as f64 / outcomes.len() as f64
        };
        (outcomes.len(), rate)
    }

    /// `closed`, `open` or `half-open`.
    pub fn health(&self) -> &'static str {
        match self.breaker.current() {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

impl Drop for VersionState {
    fn drop(&mut self) {
        VERSIONS_ALIVE.fetch_sub(1, Ordering::Relaxed);
    }
}
