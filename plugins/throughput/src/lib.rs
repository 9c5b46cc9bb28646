//! The `throughput` routing policy: highest median output throughput (tokens/s) first; endpoints
//! without measurements after the measured ones; what `sort: "throughput"` and `:nitro` select.
//! Endpoints with a recent outage go last, and equal endpoints are ordered at random from the
//! host's seed (see [`switchyard_sdk::router::rank_by`]). Every candidate is kept: the ones after
//! the first are fallbacks.

use switchyard_sdk::router::{Candidate, Ranking, RequestSummary};

/// The `throughput` policy.
pub struct Throughput;

impl Ranking for Throughput {
    const NAME: &'static str = "throughput";
    const VERSION: &'static str = "0.1.0";

    fn score(_: &RequestSummary, candidate: &Candidate) -> Option<f64> {
        candidate
            .stats
            .throughput_p50
            .map(|tokens_per_second| -tokens_per_second)
    }
}

switchyard_sdk::export_router!(switchyard_sdk::router::Ranked<Throughput>);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::router::testing::{order_of, unmeasured};
    use switchyard_sdk::router::{EndpointStats, Ranked};

    fn order(prices: &[f64], stats: impl Fn(usize) -> EndpointStats) -> Vec<u32> {
        order_of::<Ranked<Throughput>>(prices, stats)
    }

    #[test]
    fn fastest_first_unmeasured_last() {
        let throughputs = [Some(40.0), None, Some(400.0)];
        let order = order(&[1.0, 1.0, 9.0], |i| EndpointStats {
            throughput_p50: throughputs[i],
            ..unmeasured()
        });
        assert_eq!(order, [2, 0, 1]);
    }
}
