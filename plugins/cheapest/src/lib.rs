//! The `cheapest` routing policy: cheapest first by the request's expected cost (prompt estimate ×
//! prompt price + max tokens × completion price); what `sort: "price"` and `:floor` select.
//! Endpoints with a recent outage go last, and equal endpoints are ordered at random from the
//! host's seed (see [`switchyard_sdk::router::rank_by`]). Every candidate is kept: the ones after
//! the first are fallbacks.

use switchyard_sdk::router::{Candidate, Ranking, RequestSummary};

/// The `cheapest` policy.
pub struct Cheapest;

impl Ranking for Cheapest {
    const NAME: &'static str = "cheapest";
    const VERSION: &'static str = "0.1.0";

    fn score(request: &RequestSummary, candidate: &Candidate) -> Option<f64> {
        switchyard_sdk::router::expected_cost(request, candidate)
    }
}

switchyard_sdk::export_router!(switchyard_sdk::router::Ranked<Cheapest>);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::router::testing::{order_of, unmeasured};
    use switchyard_sdk::router::{EndpointStats, Ranked};

    fn order(prices: &[f64], stats: impl Fn(usize) -> EndpointStats) -> Vec<u32> {
        order_of::<Ranked<Cheapest>>(prices, stats)
    }

    #[test]
    fn cheapest_first_unknown_price_last() {
        let order = order(&[3.0, f64::NAN, 1.0, 2.0], |_| unmeasured());
        assert_eq!(order, [2, 3, 0, 1]);
    }
}
