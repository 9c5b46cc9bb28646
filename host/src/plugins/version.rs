//! What the host tracks for one loaded version of a plugin, whatever its kind: where it came
//! from, its sandbox limits, the instances alive, a circuit breaker, and recent outcomes for
//! canary decisions.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::fault::PluginFault;
use super::sandbox::SandboxLimits;
use crate::config::BreakerConfig;

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
    permits: Arc<Semaphore>,
    max_instances: usize,
    breaker: Breaker,
    outcomes: Mutex<VecDeque<bool>>,
    calls: AtomicU64,
    faults: AtomicU64,
}

impl VersionState {
    pub(crate) fn new(
        digest: String,
        origin: String,
        limits: SandboxLimits,
        breaker: &BreakerConfig,
    ) -> Self {
        VERSIONS_ALIVE.fetch_add(1, Ordering::Relaxed);
        VersionState {
            digest,
            origin,
            max_instances: limits.max_instances,
            permits: Arc::new(Semaphore::new(limits.max_instances)),
            limits,
            breaker: Breaker::new(breaker),
            outcomes: Mutex::new(VecDeque::with_capacity(OUTCOME_WINDOW)),
            calls: AtomicU64::new(0),
            faults: AtomicU64::new(0),
        }
    }

    /// Admits one more instance, unless the breaker is open or the instance limit is reached.
    pub(crate) fn admit(&self, plugin: &str) -> Result<OwnedSemaphorePermit, PluginFault> {
        if let Some(remaining) = self.breaker.open_for() {
            return Err(PluginFault::contract(
                plugin,
                format!(
                    "circuit open after repeated faults; retrying in {} ms",
                    remaining.as_millis()
                ),
            ));
        }
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
        self.breaker.failure();
    }

    /// Calls into this version that returned or faulted so far, and the faults among them.
    pub fn calls_and_faults(&self) -> (u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.faults.load(Ordering::Relaxed),
        )
    }

    /// Records whether a request this version served succeeded, for canary decisions.
    pub fn record_outcome(&self, ok: bool) {
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
        self.breaker.state()
    }
}

impl Drop for VersionState {
    fn drop(&mut self) {
        VERSIONS_ALIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Stops calling a plugin that keeps faulting: after `failures` consecutive faults it is open for
/// `cooldown`, then lets calls through again (half-open); the next fault reopens it, the next
/// success closes it.
#[derive(Debug)]
struct Breaker {
    threshold: u32,
    cooldown: Duration,
    consecutive: AtomicU32,
    opened_at: Mutex<Option<Instant>>,
}

impl Breaker {
    fn new(config: &BreakerConfig) -> Self {
        Breaker {
            threshold: config.failures.max(1),
            cooldown: Duration::from_millis(config.cooldown_ms),
            consecutive: AtomicU32::new(0),
            opened_at: Mutex::new(None),
        }
    }

    fn opened_at(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.opened_at.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long the breaker stays open, when it is open.
    fn open_for(&self) -> Option<Duration> {
        self.remaining(*self.opened_at())
    }

    /// What is left of the cooldown of a breaker opened at `opened`.
    fn remaining(&self, opened: Option<Instant>) -> Option<Duration> {
        self.cooldown
            .checked_sub(opened?.elapsed())
            .filter(|d| !d.is_zero())
    }

    fn success(&self) {
        self.consecutive.store(0, Ordering::Relaxed);
        *self.opened_at() = None;
    }

    fn failure(&self) {
        let count = self
            .consecutive
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let mut opened = self.opened_at();
        let half_open = opened.is_some() && self.remaining(*opened).is_none();
        if count >= self.threshold || half_open {
            if opened.is_none() || half_open {
                tracing::error!(
                    faults = count,
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "plugin circuit opened"
                );
            }
            *opened = Some(Instant::now());
        }
    }

    fn state(&self) -> &'static str {
        let opened = *self.opened_at();
        match opened {
            None => "closed",
            Some(_) if self.remaining(opened).is_some() => "open",
            Some(_) => "half-open",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_consecutive_faults_and_closes_on_success() {
        let breaker = Breaker::new(&BreakerConfig {
            failures: 3,
            cooldown_ms: 60_000,
        });
        breaker.failure();
        breaker.failure();
        assert_eq!(breaker.state(), "closed");
        breaker.failure();
        assert_eq!(breaker.state(), "open");
        assert!(breaker.open_for().is_some());
        breaker.success();
        assert_eq!(breaker.state(), "closed");
    }

    #[test]
    fn after_the_cooldown_the_breaker_is_half_open_and_one_fault_reopens_it() {
        let breaker = Breaker::new(&BreakerConfig {
            failures: 1,
            cooldown_ms: 0,
        });
        breaker.failure();
        assert_eq!(breaker.state(), "half-open");
        assert!(
            breaker.open_for().is_none(),
            "calls go through when half-open"
        );
        breaker.failure();
        assert_ne!(breaker.state(), "closed");
    }
}
