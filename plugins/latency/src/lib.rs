//! The `latency` routing policy: lowest median time to first token first; endpoints without
//! measurements after the measured ones; what `sort: "latency"` selects. Endpoints with a recent
//! outage go last, and equal endpoints are ordered at random from the host's seed (see
//! [`switchyard_sdk::router::rank_by`]). Every candidate is kept: the ones after the first are
//! fallbacks.

use switchyard_sdk::router::{Candidate, Ranking, RequestSummary};

/// The `latency` policy.
pub struct Latency;

impl Ranking for Latency {
    const NAME: &'static str = "latency";
    const VERSION: &'static str = "0.1.0";

    fn score(_: &RequestSummary, candidate: &Candidate) -> Option<f64> {
        candidate.stats.latency_p50_ms
    }
}

switchyard_sdk::export_router!(switchyard_sdk::router::Ranked<Latency>);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::router::testing::{order_of, unmeasured};
    use switchyard_sdk::router::{EndpointStats, Ranked};

    fn order(prices: &[f64], stats: impl Fn(usize) -> EndpointStats) -> Vec<u32> {
        order_of::<Ranked<Latency>>(prices, stats)
    }

    #[test]
    fn quickest_first_unmeasured_last() {
        let latencies = [Some(900.0), None, Some(100.0)];
        let order = order(&[1.0, 1.0, 9.0], |i| EndpointStats {
            latency_p50_ms: latencies[i],
            ..unmeasured()
        });
        assert_eq!(order, [2, 0, 1]);
    }
}
