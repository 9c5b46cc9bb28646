//! The `least-busy` routing policy: fewest requests in flight first, spreading load across equally idle endpoints at random. Endpoints with a recent outage go last, and equal
//! endpoints are ordered at random from the host's seed (see
//! [`switchyard_sdk::router::rank_by`]). Every candidate is kept: the ones after the first are
//! fallbacks.

use switchyard_sdk::router::{Candidate, Descriptor, Ranked, Ranking, RequestSummary};

/// The `least-busy` policy.
pub struct LeastBusy;

impl Ranking for LeastBusy {
    fn describe() -> Descriptor {
        Descriptor {
            name: "least-busy".to_owned(),
            version: "0.1.0".to_owned(),
        }
    }

    fn score(_: &RequestSummary, candidate: &Candidate) -> Option<f64> {
        Some(f64::from(candidate.stats.in_flight))
    }
}

switchyard_sdk::export_router!(Ranked<LeastBusy>);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::router::{EndpointStats, Router};

    fn candidate(
        price: f64,
        latency_ms: Option<f64>,
        throughput: Option<f64>,
        in_flight: u32,
    ) -> Candidate {
        Candidate {
            provider: "p".to_owned(),
            model: "m".to_owned(),
            prompt_price: price,
            completion_price: price,
            stats: EndpointStats {
                latency_p50_ms: latency_ms,
                throughput_p50: throughput,
                error_rate: 0.0,
                in_flight,
                ms_since_last_failure: None,
            },
        }
    }

    fn order(candidates: Vec<Candidate>) -> Vec<u32> {
        let request = RequestSummary {
            model: "m".to_owned(),
            estimated_prompt_tokens: 100,
            max_tokens: Some(100),
            seed: 42,
        };
        Ranked::<LeastBusy>::order(request, candidates).expect("order")
    }

    #[test]
    fn idlest_first() {
        let candidates = vec![
            candidate(1.0, None, None, 5),
            candidate(1.0, None, None, 0),
            candidate(1.0, None, None, 2),
        ];
        assert_eq!(order(candidates), [1, 2, 0]);
    }
}
