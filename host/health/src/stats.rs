//! Live statistics per endpoint, kept by the host: rolling latency and throughput percentiles,
//! error and rate-limit shares, in-flight count, time since the last failure, and a circuit
//! breaker that takes a failing endpoint out of rotation and probes it back. Routing policies get
//! a snapshot per call; the endpoints API shows the same numbers. With shared statistics
//! (`stats_sync`) a snapshot also counts the other gateways' figures; the breaker stays local.

pub mod summary;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use serde::{Deserialize, Serialize};

pub use crate::breaker::BreakerState;
use crate::breaker::CircuitBreaker;
use summary::{Sampled, WindowSummary};
use switchyard_domain::config::BreakerConfig;
use switchyard_domain::failure::FailureClass;
use switchyard_domain::plugin_types::CandidateStats;

/// How many recent requests the rolling figures cover.
const WINDOW: usize = 256;

/// Once the window is full, its percentiles are computed again after this many new samples...
const REFRESH_SAMPLES: usize = 16;

/// ...or this long after they were last computed, whichever comes first. Snapshots run for every
/// candidate of every routed request; selecting percentiles each time was 2.5 % of the gateway's
/// CPU under load, while 16 of 256 samples barely move them.
const REFRESH_AFTER: Duration = Duration::from_millis(250);

/// Rolling statistics and the circuit breaker of one endpoint.
#[derive(Debug)]
pub struct EndpointStats {
    recent: Mutex<Recent>,
    in_flight: AtomicU32,
    breaker: CircuitBreaker,
    /// The other gateways' figures for this endpoint, when shared.
    peers: ArcSwapOption<WindowSummary>,
}

#[derive(Debug, Default)]
struct Recent {
    /// The last outcomes: `None` for a success, the class of the failure otherwise.
    outcomes: VecDeque<Option<FailureClass>>,
    /// Time to first byte of the last successful requests, in ms.
    first_byte_ms: VecDeque<f64>,
    /// Total time of the last successful requests, in ms.
    total_ms: VecDeque<f64>,
    /// Output tokens per second of the last successful requests.
    throughput: VecDeque<f64>,
    last_failure: Option<Instant>,
    /// When the last success was recorded.
    last_success: Option<Instant>,
    /// The percentiles of the three series, last computed.
    percentiles: Option<CachedPercentiles>,
}

/// Percentiles of a full window, reused until [`REFRESH_SAMPLES`] new samples or
/// [`REFRESH_AFTER`]; a window that is not full yet is computed afresh every time.
#[derive(Debug, Clone, Copy)]
struct CachedPercentiles {
    computed_at: Instant,
    samples_since: usize,
    first_byte_ms: Option<Sampled>,
    total_ms: Option<Sampled>,
    throughput: Option<Sampled>,
}

impl Recent {
    /// Notes a new sample: a cache of a window that is not full is dropped.
    fn sampled(&mut self) {
        let full = self.total_ms.len() == WINDOW;
        match &mut self.percentiles {
            Some(cached) if full => cached.samples_since += 1,
            _ => self.percentiles = None,
        }
    }

    /// The percentiles of the three series, from the cache while it is fresh.
    fn percentiles(&mut self) -> CachedPercentiles {
        if let Some(cached) = self.percentiles.filter(|cached| {
            cached.samples_since < REFRESH_SAMPLES && cached.computed_at.elapsed() < REFRESH_AFTER
        }) {
            return cached;
        }
        let computed = CachedPercentiles {
            computed_at: Instant::now(),
            samples_since: 0,
            first_byte_ms: Sampled::of(&self.first_byte_ms),
            total_ms: Sampled::of(&self.total_ms),
            throughput: Sampled::of(&self.throughput),
        };
        self.percentiles = Some(computed);
        computed
    }
}

/// p50/p75/p90/p99 of a rolling series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of the finite values; `None` when there are none.
    ///
    /// It runs for every candidate of every routed request, so it selects instead of sorting:
    /// the p99 rank first, then each lower rank within the values left of the previous one, in
    /// linear time overall.
    fn of(values: &VecDeque<f64>) -> Option<Percentiles> {
        let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            return None;
        }
        let rank = |percent: usize| ((finite.len() * percent).div_ceil(100)).max(1) - 1;
        let ranks = [rank(99), rank(90), rank(75), rank(50)];
        let mut found = [0.0; 4];
        let mut end = finite.len();
        for (slot, &index) in found.iter_mut().zip(&ranks) {
            // Everything before `end` is at most the previous percentile: select within it.
            let (_, value, _) = finite[..end].select_nth_unstable_by(index, f64::total_cmp);
            *slot = *value;
            end = index + 1;
        }
        let [p99, p90, p75, p50] = found;
        Some(Percentiles { p50, p75, p90, p99 })
    }
}

impl Sampled {
    /// The percentiles of the finite values and how many there are; `None` when there are none.
    fn of(values: &VecDeque<f64>) -> Option<Sampled> {
        Percentiles::of(values).map(|percentiles| Sampled {
            percentiles,
            samples: values.iter().filter(|v| v.is_finite()).count() as u64,
        })
    }
}

/// What the host knows about one endpoint right now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSnapshot {
    /// Requests in the rolling window.
    pub requests: usize,
    /// Time to first byte (first token when streaming), ms.
    pub first_byte_ms: Option<Percentiles>,
    /// Total request time, ms.
    pub latency_ms: Option<Percentiles>,
    /// Output tokens per second.
    pub throughput: Option<Percentiles>,
    /// Share of the window that failed, 0..1 (rate limits included).
    pub error_rate: f64,
    /// Share of the window that was rate-limited, 0..1.
    pub rate_limited_rate: f64,
    /// Requests in flight now.
    pub in_flight: u32,
    /// Milliseconds since the last failure, when there was one.
    pub ms_since_last_failure: Option<u64>,
    /// The circuit breaker.
    pub breaker: BreakerState,
}

impl StatsSnapshot {
    /// The figures a routing policy gets.
    pub fn for_policy(&self) -> CandidateStats {
        CandidateStats {
            latency_p50_ms: self.first_byte_ms.map(|p| p.p50),
            throughput_p50: self.throughput.map(|p| p.p50),
            error_rate: self.error_rate,
            rate_limited_rate: self.rate_limited_rate,
            in_flight: self.in_flight,
            ms_since_last_failure: self.ms_since_last_failure,
        }
    }

    /// Share of the window that succeeded, in percent (OpenRouter's `uptime`); 100 without data.
    pub fn uptime_percent(&self) -> f64 {
        100.0 * (1.0 - self.error_rate)
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, value: T) {
    if queue.len() == WINDOW {
        queue.pop_front();
    }
    queue.push_back(value);
}

impl Default for EndpointStats {
    fn default() -> Self {
        EndpointStats::new(BreakerConfig::default())
    }
}

impl EndpointStats {
    /// Empty statistics with the given breaker settings.
    pub fn new(breaker_config: BreakerConfig) -> Self {
        EndpointStats {
            recent: Mutex::default(),
            in_flight: AtomicU32::new(0),
            breaker: CircuitBreaker::new(breaker_config),
            peers: ArcSwapOption::empty(),
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        // A poisoned lock only means a panic elsewhere; the numbers are still usable.
        self.recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks a request as started; the guard marks it finished when dropped.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records a success: time to first byte, total time and, when known, throughput. Closes
    /// the breaker.
    pub fn record_success(
        &self,
        first_byte: Duration,
        total: Duration,
        tokens_per_second: Option<f64>,
    ) {
        let mut recent = self.recent();
        push_bounded(&mut recent.outcomes, None);
        push_bounded(&mut recent.first_byte_ms, first_byte.as_secs_f64() * 1000.0);
        push_bounded(&mut recent.total_ms, total.as_secs_f64() * 1000.0);
        if let Some(tps) = tokens_per_second {
            push_bounded(&mut recent.throughput, tps);
        }
        recent.sampled();
        recent.last_success = Some(Instant::now());
        drop(recent);
        self.breaker.success();
    }

    /// Whether the endpoint served a request to its end after `since`.
    pub fn served_since(&self, since: Instant) -> bool {
        self.recent().last_success.is_some_and(|at| at > since)
    }

    /// Records a failure of the endpoint. Enough consecutive failures, or a failed probe, open
    /// the breaker.
    pub fn record_failure(&self, class: FailureClass) {
        let mut recent = self.recent();
        push_bounded(&mut recent.outcomes, Some(class));
        recent.last_failure = Some(Instant::now());
        drop(recent);
        if self.breaker.failure() {
            tracing::warn!("endpoint circuit opened");
        }
    }

    /// Whether the endpoint may take a request now (see [`crate::breaker`]).
    pub fn admits(&self) -> bool {
        self.breaker.admit().is_ok()
    }

    /// This gateway's figures, without the other gateways'.
    pub fn local_summary(&self) -> WindowSummary {
        self.summarize(&mut self.recent())
    }

    /// Replaces the other gateways' figures (`None`: there are none).
    pub fn set_peer_figures(&self, peers: Option<WindowSummary>) {
        self.peers.store(peers.map(std::sync::Arc::new));
    }

    fn summarize(&self, recent: &mut Recent) -> WindowSummary {
        let percentiles = recent.percentiles();
        let count = |pred: fn(&Option<FailureClass>) -> bool| {
            recent
                .outcomes
                .iter()
                .filter(|outcome| pred(outcome))
                .count() as u64
        };
        WindowSummary {
            requests: recent.outcomes.len() as u64,
            failures: count(Option::is_some),
            rate_limited: count(|o| *o == Some(FailureClass::RateLimited)),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            last_failure_unix_ms: recent.last_failure.map(|at| {
                SystemTime::now()
                    .checked_sub(at.elapsed())
                    .map_or(0, unix_ms)
            }),
            first_byte_ms: percentiles.first_byte_ms,
            total_ms: percentiles.total_ms,
            throughput: percentiles.throughput,
        }
    }

    /// The breaker's state, read under the breaker's own lock, never the statistics' lock.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.current()
    }

    /// Requests in flight on this endpoint in this gateway.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// A snapshot of every figure, this gateway's and the other gateways' together.
    pub fn snapshot(&self) -> StatsSnapshot {
        let local = self.summarize(&mut self.recent());
        let breaker = self.breaker.current();
        let figures = match &*self.peers.load() {
            Some(peers) => local.merge(peers),
            None => local,
        };
        let now = unix_ms(SystemTime::now());
        StatsSnapshot {
            requests: usize::try_from(figures.requests).unwrap_or(usize::MAX),
            first_byte_ms: figures.first_byte_ms.map(|s| s.percentiles),
            latency_ms: figures.total_ms.map(|s| s.percentiles),
            throughput: figures.throughput.map(|s| s.percentiles),
            error_rate: figures.share(figures.failures),
            rate_limited_rate: figures.share(figures.rate_limited),
            in_flight: figures.in_flight,
            ms_since_last_failure: figures
                .last_failure_unix_ms
                .map(|at| now.saturating_sub(at)),
            breaker,
        }
    }
}

/// Milliseconds since the Unix epoch (0 before it).
fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// A request in flight on an endpoint.
pub struct InFlight<'a>(&'a EndpointStats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn snapshot_reports_rates_percentiles_and_in_flight() {
        let stats = EndpointStats::default();
        stats.record_success(ms(10), ms(100), Some(100.0));
        stats.record_success(ms(30), ms(300), Some(50.0));
        stats.record_success(ms(20), ms(200), None);
        stats.record_failure(FailureClass::RateLimited);
        let guard = stats.start();
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.requests, 4);
        assert_eq!(snapshot.error_rate, 0.25);
        assert_eq!(snapshot.rate_limited_rate, 0.25);
        assert_eq!(snapshot.uptime_percent(), 75.0);
        assert_eq!(snapshot.first_byte_ms.map(|p| p.p50), Some(20.0));
        assert_eq!(snapshot.first_byte_ms.map(|p| p.p99), Some(30.0));
        assert_eq!(snapshot.latency_ms.map(|p| p.p50), Some(200.0));
        assert_eq!(snapshot.throughput.map(|p| p.p50), Some(50.0));
        assert_eq!(snapshot.in_flight, 1);
        assert!(snapshot.ms_since_last_failure.is_some());
        assert_eq!(snapshot.for_policy().latency_p50_ms, Some(20.0));
        drop(guard);
        assert_eq!(stats.snapshot().in_flight, 0);
    }

    #[test]
    fn a_full_windows_percentiles_are_reused_until_enough_new_samples() {
        let stats = EndpointStats::default();
        let p99 = |stats: &EndpointStats| stats.snapshot().first_byte_ms.map(|p| p.p99);
        for _ in 0..WINDOW {
            stats.record_success(ms(10), ms(10), None);
        }
        let cached_at = Instant::now();
        assert_eq!(p99(&stats), Some(10.0));
        for _ in 1..REFRESH_SAMPLES {
            stats.record_success(ms(90), ms(90), None);
        }
        let reused = p99(&stats);
        // A run slower than the refresh time may recompute: only then is 90 right.
        if cached_at.elapsed() < REFRESH_AFTER {
            assert_eq!(reused, Some(10.0));
        }
        stats.record_success(ms(90), ms(90), None);
        assert_eq!(p99(&stats), Some(90.0));
    }

    #[test]
    fn a_window_that_is_not_full_is_computed_afresh() {
        let stats = EndpointStats::default();
        stats.record_success(ms(10), ms(10), None);
        assert_eq!(stats.snapshot().first_byte_ms.map(|p| p.p99), Some(10.0));
        stats.record_success(ms(90), ms(90), None);
        assert_eq!(stats.snapshot().first_byte_ms.map(|p| p.p99), Some(90.0));
    }

    #[test]
    fn a_snapshot_adds_the_peers_figures_but_keeps_its_own_breaker() {
        let stats = EndpointStats::new(BreakerConfig {
            failures: 1,
            cooldown_ms: 60_000,
        });
        stats.record_success(ms(100), ms(200), Some(10.0));
        stats.record_failure(FailureClass::Fault);
        let local = stats.local_summary();
        assert_eq!((local.requests, local.failures), (2, 1));
        assert_eq!(local.first_byte_ms.map(|s| s.samples), Some(1));
        let failed_at = local.last_failure_unix_ms.expect("a failure");

        stats.set_peer_figures(Some(WindowSummary {
            requests: 6,
            failures: 0,
            rate_limited: 0,
            in_flight: 2,
            last_failure_unix_ms: Some(failed_at - 60_000),
            first_byte_ms: Sampled::of(&VecDeque::from([300.0; 3])),
            total_ms: None,
            throughput: None,
        }));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.requests, 8);
        assert_eq!(snapshot.error_rate, 0.125);
        assert_eq!(snapshot.in_flight, 2);
        assert_eq!(snapshot.first_byte_ms.map(|p| p.p50), Some(250.0));
        assert_eq!(snapshot.latency_ms.map(|p| p.p50), Some(200.0));
        assert!(snapshot.ms_since_last_failure.expect("a failure") < 60_000);
        assert_eq!(snapshot.breaker, BreakerState::Open);
        // The published figures are this gateway's only.
        assert_eq!(stats.local_summary().requests, 2);

        stats.set_peer_figures(None);
        assert_eq!(stats.snapshot().requests, 2);
    }

    #[test]
    fn selected_percentiles_match_a_full_sort() {
        let mut seed = 7u64;
        for len in [1usize, 2, 3, 7, 64, 255, 256] {
            let values: VecDeque<f64> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 40) as f64 % 97.0
                })
                .collect();
            let mut sorted: Vec<f64> = values.iter().copied().collect();
            sorted.sort_by(f64::total_cmp);
            let rank = |p: usize| sorted[((len * p).div_ceil(100)).max(1) - 1];
            let expected = Percentiles {
                p50: rank(50),
                p75: rank(75),
                p90: rank(90),
                p99: rank(99),
            };
            assert_eq!(Percentiles::of(&values), Some(expected), "{len} values");
        }
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let values: VecDeque<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&values).expect("values");
        assert_eq!((p.p50, p.p75, p.p90, p.p99), (50.0, 75.0, 90.0, 99.0));
        assert_eq!(Percentiles::of(&VecDeque::from([f64::NAN])), None);
    }

    #[test]
    fn the_window_forgets_old_requests() {
        let stats = EndpointStats::default();
        stats.record_failure(FailureClass::Fault);
        for _ in 0..WINDOW {
            stats.record_success(ms(1), ms(1), None);
        }
        assert_eq!(stats.snapshot().error_rate, 0.0);
        assert_eq!(stats.snapshot().requests, WINDOW);
    }

    #[test]
    fn consecutive_failures_open_the_breaker_and_a_probe_closes_it() {
        let stats = EndpointStats::new(BreakerConfig {
            failures: 3,
            cooldown_ms: 0,
        });
        stats.record_failure(FailureClass::Fault);
        stats.record_success(ms(1), ms(1), None);
        stats.record_failure(FailureClass::Fault);
        stats.record_failure(FailureClass::RateLimited);
        assert_eq!(stats.snapshot().breaker, BreakerState::Closed);
        stats.record_failure(FailureClass::Fault);
        assert_eq!(stats.snapshot().breaker, BreakerState::Open);
        // Cooldown 0: the next request is the probe.
        assert!(stats.admits());
        assert_eq!(stats.snapshot().breaker, BreakerState::HalfOpen);
        stats.record_success(ms(1), ms(1), None);
        assert_eq!(stats.snapshot().breaker, BreakerState::Closed);
        assert!(stats.admits());
    }

    #[test]
    fn an_open_breaker_refuses_until_its_cooldown_ends() {
        let stats = EndpointStats::new(BreakerConfig {
            failures: 1,
            cooldown_ms: 60_000,
        });
        assert!(stats.admits());
        stats.record_failure(FailureClass::Fault);
        assert!(!stats.admits());
        assert_eq!(stats.snapshot().breaker, BreakerState::Open);
    }

    #[test]
    fn a_failed_probe_reopens_the_breaker() {
        let stats = EndpointStats::new(BreakerConfig {
            failures: 1,
            cooldown_ms: 0,
        });
        stats.record_failure(FailureClass::Fault);
        assert!(stats.admits());
        stats.record_failure(FailureClass::Fault);
        assert_eq!(stats.snapshot().breaker, BreakerState::Open);
    }

    #[test]
    fn zero_failures_disables_the_breaker() {
        let stats = EndpointStats::new(BreakerConfig {
            failures: 0,
            cooldown_ms: 60_000,
        });
        for _ in 0..10 {
            stats.record_failure(FailureClass::Fault);
        }
        assert!(stats.admits());
    }
}
