//! The `least-busy` routing policy: fewest requests in flight first, spreading load across equally
//! idle endpoints at random. Endpoints with a recent outage go last, and equal endpoints are
//! ordered at random from the host's seed (see [`switchyard_sdk::router::rank_by`]). Every
//! candidate is kept: the ones after the first are fallbacks.

use switchyard_sdk::router::{Candidate, Ranking, RequestSummary};

/// The `least-busy` policy.
pub struct LeastBusy;

impl Ranking for LeastBusy {
    const NAME: &'static str = "least-busy";
    const VERSION: &'static str = "0.1.0";

    fn score(_: &RequestSummary, candidate: &Candidate) -> Option<f64> {
        Some(f64::from(candidate.stats.in_flight))
    }
}

switchyard_sdk::export_router!(switchyard_sdk::router::Ranked<LeastBusy>);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::router::testing::{order_of, unmeasured};
    use switchyard_sdk::router::{EndpointStats, Ranked};

    fn order(prices: &[f64], stats: impl Fn(usize) -> EndpointStats) -> Vec<u32> {
        order_of::<Ranked<LeastBusy>>(prices, stats)
    }

    #[test]
    fn idlest_first() {
        let in_flight = [5, 0, 2];
        let order = order(&[1.0, 1.0, 1.0], |i| EndpointStats {
            in_flight: in_flight[i],
            ..unmeasured()
        });
        assert_eq!(order, [1, 2, 0]);
    }
}
