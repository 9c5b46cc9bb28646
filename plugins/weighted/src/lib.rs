//! The `weighted` routing policy: splits traffic by the operator's endpoint weights (`weight` in
//! the configuration, default 1). The first endpoint is drawn at random with probability
//! proportional to its weight, the next from the rest, and so on, from the host's seed.
//! Endpoints with a recent outage come after the healthy ones (drawn the same way), and
//! endpoints of weight 0 only ever serve as fallbacks.

use switchyard_sdk::router::{
    Candidate, Descriptor, RequestSummary, Router, SeededRng, recently_failed, sample_weighted,
};

/// The `weighted` policy.
pub struct Weighted;

impl Router for Weighted {
    fn describe() -> Descriptor {
        Descriptor {
            name: "weighted".to_owned(),
            version: "0.1.0".to_owned(),
        }
    }

    fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String> {
        let mut rng = SeededRng::new(request.seed);
        let (failed, healthy): (Vec<_>, Vec<_>) =
            (candidates.iter().enumerate()).partition(|(_, candidate)| recently_failed(candidate));
        let weights = |group: Vec<(usize, &Candidate)>| {
            (group.into_iter())
                .map(|(index, candidate)| (index, candidate.weight))
                .collect()
        };
        let mut order = sample_weighted(weights(healthy), &mut rng);
        order.extend(sample_weighted(weights(failed), &mut rng));
        order
            .into_iter()
            .map(|index| {
                u32::try_from(index).map_err(|_| format!("candidate index {index} exceeds u32"))
            })
            .collect()
    }
}

switchyard_sdk::export_router!(Weighted);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_sdk::router::testing::{candidate, summary, unmeasured};
    use switchyard_sdk::router::{EndpointStats, RECENT_FAILURE_MS};

    fn weighted(weight: f64, failed_ms_ago: Option<u64>) -> Candidate {
        let stats = EndpointStats {
            ms_since_last_failure: failed_ms_ago,
            ..unmeasured()
        };
        Candidate {
            weight,
            ..candidate("p", 1.0, stats)
        }
    }

    #[test]
    fn traffic_follows_the_weights() {
        let mut first = [0u32; 3];
        for seed in 0..3000 {
            let candidates = vec![
                weighted(1.0, None),
                weighted(2.0, None),
                weighted(0.0, None),
            ];
            let order = Weighted::order(summary(seed), candidates).expect("order");
            assert_eq!(order.len(), 3);
            assert_eq!(order[2], 2, "weight 0 is only a fallback");
            first[order[0] as usize] += 1;
        }
        // Expected 1000 and 2000.
        assert!((850..1150).contains(&first[0]), "{first:?}");
        assert!((1850..2150).contains(&first[1]), "{first:?}");
    }

    #[test]
    fn recent_failures_go_last_and_the_seed_fixes_the_order() {
        let candidates = || {
            vec![
                weighted(100.0, Some(RECENT_FAILURE_MS - 1)),
                weighted(1.0, None),
                weighted(1.0, None),
            ]
        };
        for seed in 0..50 {
            let order = Weighted::order(summary(seed), candidates()).expect("order");
            assert_eq!(order[2], 0);
            assert_eq!(
                order,
                Weighted::order(summary(seed), candidates()).expect("order")
            );
        }
    }
}
