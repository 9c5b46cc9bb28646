//! The `throughput` routing policy: highest median output throughput (tokens/s) first; endpoints without measurements after the measured ones; what `sort: "throughput"` and `:nitro` select. Endpoints with a recent outage go last, and equal
//! endpoints are ordered at random from the host's seed (see
//! [`switchyard_sdk::router::rank_by`]). Every candidate is kept: the ones after the first are
//! fallbacks.

use switchyard_sdk::router::{Candidate, Descriptor, Ranked, Ranking, RequestSummary};

/// The `throughput` policy.
pub struct Throughput;

impl Ranking for Throughput {
    fn describe() -> Descriptor {
        Descriptor {
            name: "throughput".to_owned(),
            version: "0.1.0".to_owned(),
        }
    }

    fn score(_: &RequestSummary, candidate: &Candidate) -> Option<f64> {
        candidate
            .stats
            .throughput_p50
            .map(|tokens_per_second| -tokens_per_second)
    }
}

switchyard_sdk::export_router!(Ranked<Throughput>);

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
        Ranked::<Throughput>::order(request, candidates).expect("order")
    }

    #[test]
    fn fastest_first_unmeasured_last() {
        let candidates = vec![
            candidate(1.0, None, Some(40.0), 0),
            candidate(1.0, None, None, 0),
            candidate(9.0, None, Some(400.0), 0),
        ];
        assert_eq!(order(candidates), [2, 0, 1]);
    }
}
