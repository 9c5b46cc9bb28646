//! A window's figures in a form that adds up across gateways: what each gateway publishes to
//! the others, and how the figures of several gateways combine into one endpoint's.
//!
//! Counts and in-flight requests add up and the most recent failure wins. Percentiles do not
//! add up exactly without every sample, so the combined percentile is the mean of each
//! gateway's, weighted by its sample count: exact when the gateways see the same distribution,
//! an approximation otherwise.

use serde::{Deserialize, Serialize};

use super::Percentiles;

/// One endpoint's figures over one or several gateways' windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowSummary {
    /// Requests in the windows.
    pub requests: u64,
    /// Of which failed (rate limits included).
    pub failures: u64,
    /// Of which were rate-limited.
    pub rate_limited: u64,
    /// Requests in flight now.
    pub in_flight: u32,
    /// When the last failure happened, Unix time in ms.
    pub last_failure_unix_ms: Option<u64>,
    /// Time to first byte, ms.
    pub first_byte_ms: Option<Sampled>,
    /// Total request time, ms.
    pub total_ms: Option<Sampled>,
    /// Output tokens per second.
    pub throughput: Option<Sampled>,
}

/// Percentiles with the number of samples they were taken from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sampled {
    /// The percentiles.
    pub percentiles: Percentiles,
    /// How many samples (at least one).
    pub samples: u64,
}

impl WindowSummary {
    /// Whether there is anything to tell: requests seen or in flight.
    pub fn is_empty(&self) -> bool {
        self.requests == 0 && self.in_flight == 0
    }

    /// The figures of both windows together.
    pub fn merge(&self, other: &WindowSummary) -> WindowSummary {
        WindowSummary {
            requests: self.requests.saturating_add(other.requests),
            failures: self.failures.saturating_add(other.failures),
            rate_limited: self.rate_limited.saturating_add(other.rate_limited),
            in_flight: self.in_flight.saturating_add(other.in_flight),
            last_failure_unix_ms: self.last_failure_unix_ms.max(other.last_failure_unix_ms),
            first_byte_ms: Sampled::merge(self.first_byte_ms, other.first_byte_ms),
            total_ms: Sampled::merge(self.total_ms, other.total_ms),
            throughput: Sampled::merge(self.throughput, other.throughput),
        }
    }

    /// `count` as a share of the requests, 0..1; 0 without requests.
    pub fn share(&self, count: u64) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            count as f64 / self.requests as f64
        }
    }
}

impl Sampled {
    /// The weighted mean of two series' percentiles, or whichever exists.
    fn merge(a: Option<Sampled>, b: Option<Sampled>) -> Option<Sampled> {
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (a, b),
            (one, None) | (None, one) => return one,
        };
        let samples = a.samples.saturating_add(b.samples);
        if samples == 0 {
            return Some(a);
        }
        let (wa, wb) = (a.samples as f64, b.samples as f64);
        let mean = |x: f64, y: f64| (x * wa + y * wb) / (wa + wb);
        let (pa, pb) = (a.percentiles, b.percentiles);
        Some(Sampled {
            percentiles: Percentiles {
                p50: mean(pa.p50, pb.p50),
                p75: mean(pa.p75, pb.p75),
                p90: mean(pa.p90, pb.p90),
                p99: mean(pa.p99, pb.p99),
            },
            samples,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampled(p50: f64, p99: f64, samples: u64) -> Option<Sampled> {
        Some(Sampled {
            percentiles: Percentiles {
                p50,
                p75: p50,
                p90: p99,
                p99,
            },
            samples,
        })
    }

    #[test]
    fn counts_add_up_and_the_latest_failure_wins() {
        let a = WindowSummary {
            requests: 10,
            failures: 2,
            rate_limited: 1,
            in_flight: 3,
            last_failure_unix_ms: Some(1_000),
            ..WindowSummary::default()
        };
        let b = WindowSummary {
            requests: 30,
            failures: 6,
            rate_limited: 0,
            in_flight: 1,
            last_failure_unix_ms: Some(5_000),
            ..WindowSummary::default()
        };
        let merged = a.merge(&b);
        assert_eq!(
            (merged.requests, merged.failures, merged.rate_limited),
            (40, 8, 1)
        );
        assert_eq!(merged.in_flight, 4);
        assert_eq!(merged.last_failure_unix_ms, Some(5_000));
        assert_eq!(merged.share(merged.failures), 0.2);
        assert_eq!(merged.share(merged.rate_limited), 0.025);
        assert_eq!(b.merge(&a), merged);
    }

    #[test]
    fn a_window_without_failures_keeps_the_others_last_failure() {
        let failed = WindowSummary {
            requests: 1,
            failures: 1,
            last_failure_unix_ms: Some(7),
            ..WindowSummary::default()
        };
        let clean = WindowSummary {
            requests: 1,
            ..WindowSummary::default()
        };
        assert_eq!(clean.merge(&failed).last_failure_unix_ms, Some(7));
        assert_eq!(clean.merge(&clean).last_failure_unix_ms, None);
    }

    #[test]
    fn percentiles_are_weighted_by_sample_count() {
        let a = WindowSummary {
            first_byte_ms: sampled(100.0, 200.0, 1),
            total_ms: sampled(10.0, 10.0, 5),
            ..WindowSummary::default()
        };
        let b = WindowSummary {
            first_byte_ms: sampled(300.0, 600.0, 3),
            throughput: sampled(50.0, 80.0, 2),
            ..WindowSummary::default()
        };
        let merged = a.merge(&b);
        let first_byte = merged.first_byte_ms.expect("both have first-byte figures");
        assert_eq!(first_byte.samples, 4);
        assert_eq!(first_byte.percentiles.p50, 250.0);
        assert_eq!(first_byte.percentiles.p99, 500.0);
        // A series only one side has is taken as it is.
        assert_eq!(merged.total_ms, a.total_ms);
        assert_eq!(merged.throughput, b.throughput);
    }

    #[test]
    fn merging_is_associative_so_peers_can_be_summed_first() {
        let a = WindowSummary {
            requests: 2,
            first_byte_ms: sampled(10.0, 20.0, 2),
            ..WindowSummary::default()
        };
        let b = WindowSummary {
            requests: 6,
            first_byte_ms: sampled(40.0, 80.0, 6),
            ..WindowSummary::default()
        };
        let c = WindowSummary {
            requests: 8,
            first_byte_ms: sampled(100.0, 100.0, 8),
            ..WindowSummary::default()
        };
        let left = a.merge(&b).merge(&c).first_byte_ms.expect("figures");
        let right = a.merge(&b.merge(&c)).first_byte_ms.expect("figures");
        let expected = (10.0 * 2.0 + 40.0 * 6.0 + 100.0 * 8.0) / 16.0;
        for p50 in [left.percentiles.p50, right.percentiles.p50] {
            assert!((p50 - expected).abs() < 1e-9, "{p50} != {expected}");
        }
        assert_eq!((left.samples, right.samples), (16, 16));
    }

    #[test]
    fn an_empty_summary_is_the_identity() {
        let a = WindowSummary {
            requests: 3,
            failures: 1,
            in_flight: 2,
            last_failure_unix_ms: Some(9),
            first_byte_ms: sampled(1.0, 2.0, 2),
            ..WindowSummary::default()
        };
        assert!(WindowSummary::default().is_empty());
        assert!(!a.is_empty());
        assert_eq!(a.merge(&WindowSummary::default()), a);
    }
}
