//! Live statistics per endpoint, kept by the host and handed to routing policies as snapshots.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::plugins::router::CandidateStats;

/// How many recent requests the rolling figures cover.
const WINDOW: usize = 64;

/// Rolling statistics of one endpoint.
#[derive(Debug, Default)]
pub struct EndpointStats {
    recent: Mutex<Recent>,
    in_flight: AtomicU32,
}

#[derive(Debug, Default)]
struct Recent {
    /// Outcome of the last requests, `true` for a failure.
    failures: VecDeque<bool>,
    /// Time to first byte of the last successful requests, in ms.
    latency_ms: VecDeque<f64>,
    /// Output tokens per second of the last successful requests.
    throughput: VecDeque<f64>,
    last_failure: Option<Instant>,
}

fn push_bounded<T>(queue: &mut VecDeque<T>, value: T) {
    if queue.len() == WINDOW {
        queue.pop_front();
    }
    queue.push_back(value);
}

fn median(values: &VecDeque<f64>) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(sorted[sorted.len() / 2])
}

impl EndpointStats {
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

    /// Records a success with its time to first byte and, when known, throughput.
    pub fn record_success(&self, first_byte: Duration, tokens_per_second: Option<f64>) {
        let mut recent = self.recent();
        push_bounded(&mut recent.failures, false);
        push_bounded(&mut recent.latency_ms, first_byte.as_secs_f64() * 1000.0);
        if let Some(tps) = tokens_per_second {
            push_bounded(&mut recent.throughput, tps);
        }
    }

    /// Records a failure.
    pub fn record_failure(&self) {
        let mut recent = self.recent();
        push_bounded(&mut recent.failures, true);
        recent.last_failure = Some(Instant::now());
    }

    /// A snapshot for routing policies.
    pub fn snapshot(&self) -> CandidateStats {
        let recent = self.recent();
        let failures = recent.failures.iter().filter(|failed| **failed).count();
        CandidateStats {
            latency_p50_ms: median(&recent.latency_ms),
            throughput_p50: median(&recent.throughput),
            error_rate: if recent.failures.is_empty() {
                0.0
            } else {
                failures as f64 / recent.failures.len() as f64
            },
            in_flight: self.in_flight.load(Ordering::Relaxed),
            ms_since_last_failure: recent
                .last_failure
                .map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX)),
        }
    }
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

    #[test]
    fn snapshot_reports_error_rate_medians_and_in_flight() {
        let stats = EndpointStats::default();
        stats.record_success(Duration::from_millis(10), Some(100.0));
        stats.record_success(Duration::from_millis(30), Some(50.0));
        stats.record_success(Duration::from_millis(20), None);
        stats.record_failure();
        let guard = stats.start();
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.error_rate, 0.25);
        assert_eq!(snapshot.latency_p50_ms, Some(20.0));
        assert_eq!(snapshot.throughput_p50, Some(100.0));
        assert_eq!(snapshot.in_flight, 1);
        assert!(snapshot.ms_since_last_failure.is_some());
        drop(guard);
        assert_eq!(stats.snapshot().in_flight, 0);
    }
}
