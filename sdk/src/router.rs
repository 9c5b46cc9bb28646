//! Routing policies: the [`Router`] trait and the [`export_router!`](crate::export_router) macro.
//!
//! ```ignore
//! use switchyard_sdk::router::*;
//!
//! struct Cheapest;
//!
//! impl Router for Cheapest {
//!     fn describe() -> Descriptor { Descriptor { name: "cheapest".into(), version: "0.1.0".into() } }
//!     fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String> {
//!         /* ... */
//!     }
//! }
//!
//! switchyard_sdk::export_router!(Cheapest);
//! ```

use std::marker::PhantomData;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        // The SDK's own copy of the contract (`sdk/wit`, copied from the repository's `wit/`).
        path: "wit",
        world: "router",
        pub_export_macro: true,
        export_macro_name: "__export_router_world",
        default_bindings_module: "::switchyard_sdk::router::bindings",
        runtime_path: "::switchyard_sdk::__private::wit_bindgen::rt",
    });
}

use bindings::exports::switchyard::plugin::policy as wit;

pub use wit::{Candidate, Descriptor, EndpointStats, RequestSummary};

/// A routing policy. Implement it on a unit struct and export it with
/// [`export_router!`](crate::export_router).
pub trait Router: 'static {
    /// Name and version.
    fn describe() -> Descriptor;

    /// Candidate indexes, best first. Indexes left out are not tried. Called for requests with
    /// at least two candidates, and once with none as a self-test when the plugin loads.
    fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String>;
}

/// Glue between a [`Router`] and the generated bindings. Used by the export macro.
#[doc(hidden)]
pub struct Export<R>(PhantomData<R>);

impl<R: Router> wit::Guest for Export<R> {
    fn describe() -> Descriptor {
        R::describe()
    }

    fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String> {
        R::order(request, candidates)
    }
}

/// Exports a [`Router`] implementation as the plugin's `policy` interface.
#[macro_export]
macro_rules! export_router {
    ($router:ty) => {
        // Only a wasm32 build exports the component's functions: their names (`pkg:ns/iface#f`)
        // are not valid symbols for native linkers, and native builds exist for unit tests.
        #[cfg(target_arch = "wasm32")]
        type __SwitchyardRouterExport = $crate::router::Export<$router>;
        #[cfg(target_arch = "wasm32")]
        $crate::router::bindings::__export_router_world!(
            __SwitchyardRouterExport with_types_in $crate::router::bindings
        );
        $crate::__stamp_contract!();
    };
}

/// A small deterministic pseudo-random generator (SplitMix64) for policies that draw weighted
/// choices from the host's seed: the same seed always gives the same sequence.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// The next value, uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// An endpoint that failed less than this many milliseconds ago is treated as having a recent
/// outage and is only kept as a last-resort fallback.
pub const RECENT_FAILURE_MS: u64 = 30_000;

pub use crate::ranking::DEFAULT_COMPLETION_TOKENS;

/// The expected cost of the request on `candidate`, in USD per million tokens times tokens (the
/// unit does not matter: only ratios between candidates are used).
///
/// It is `estimated_prompt_tokens × prompt_price + completion_tokens × completion_price` where
/// `completion_tokens` is the request's `max_tokens`, or [`DEFAULT_COMPLETION_TOKENS`] when it
/// sets none. When both token counts are 0 it falls back to `prompt_price + completion_price`.
///
/// Returns `None` when a price is NaN, negative or infinite, or when the cost overflows.
pub fn expected_cost(request: &RequestSummary, candidate: &Candidate) -> Option<f64> {
    let prompt_price = valid_price(candidate.prompt_price)?;
    let completion_price = valid_price(candidate.completion_price)?;
    let prompt_tokens = request.estimated_prompt_tokens;
    let completion_tokens = request.max_tokens.unwrap_or(DEFAULT_COMPLETION_TOKENS);
    let cost = if prompt_tokens == 0 && completion_tokens == 0 {
        prompt_price + completion_price
    } else {
        prompt_tokens as f64 * prompt_price + completion_tokens as f64 * completion_price
    };
    cost.is_finite().then_some(cost)
}

/// A price usable for ranking: finite and not negative (`-0.0` counts as 0).
fn valid_price(price: f64) -> Option<f64> {
    (price.is_finite() && price >= 0.0).then_some(price.max(0.0))
}

/// True when `candidate` failed less than [`RECENT_FAILURE_MS`] ago.
pub fn recently_failed(candidate: &Candidate) -> bool {
    candidate
        .stats
        .ms_since_last_failure
        .is_some_and(|ms| ms < RECENT_FAILURE_MS)
}

/// Weighted random sampling without replacement: each pick takes entry `(index, weight)` with
/// probability `weight / remaining total`, drawing from `rng`. Entries with a weight that is 0,
/// negative or not finite are never drawn: they follow the drawn ones in their given order, as
/// does everything left when the remaining weights sum to 0.
pub fn sample_weighted(entries: Vec<(usize, f64)>, rng: &mut SeededRng) -> Vec<usize> {
    let (mut drawable, mut rest): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|&(_, weight)| weight.is_finite() && weight > 0.0);
    let mut result = Vec::with_capacity(drawable.len() + rest.len());
    while !drawable.is_empty() {
        let total: f64 = drawable.iter().map(|&(_, weight)| weight).sum();
        if !(total > 0.0 && total.is_finite()) {
            break;
        }
        let target = rng.next_f64() * total;
        let mut accumulated = 0.0;
        let pick = drawable
            .iter()
            .position(|&(_, weight)| {
                accumulated += weight;
                target < accumulated
            })
            // Rounding can leave `target` just above the sum: take the last one.
            .unwrap_or(drawable.len() - 1);
        result.push(drawable.remove(pick).0);
    }
    result.extend(
        drawable
            .into_iter()
            .chain(rest.drain(..))
            .map(|(index, _)| index),
    );
    result
}

/// Helpers for testing a policy natively (`cargo test`), without the gateway.
pub mod testing {
    use super::{Candidate, EndpointStats, RequestSummary, Router};

    /// Statistics of an endpoint never measured: no latency or throughput, no errors, idle.
    pub fn unmeasured() -> EndpointStats {
        EndpointStats {
            latency_p50_ms: None,
            throughput_p50: None,
            error_rate: 0.0,
            rate_limited_rate: 0.0,
            in_flight: 0,
            ms_since_last_failure: None,
        }
    }

    /// A candidate on `provider` for model `m`, priced `price` per million prompt and completion
    /// tokens.
    pub fn candidate(provider: &str, price: f64, stats: EndpointStats) -> Candidate {
        Candidate {
            provider: provider.to_owned(),
            model: "m".to_owned(),
            prompt_price: price,
            completion_price: price,
            weight: 1.0,
            stats,
        }
    }

    /// The order policy `R` gives candidates priced `prices` (see [`candidate`]) with the
    /// statistics `stats(index)`, for [`summary`]`(42)`.
    pub fn order_of<R: Router>(prices: &[f64], stats: impl Fn(usize) -> EndpointStats) -> Vec<u32> {
        let candidates = (prices.iter().enumerate())
            .map(|(index, price)| candidate("p", *price, stats(index)))
            .collect();
        match R::order(summary(42), candidates) {
            Ok(order) => order,
            Err(error) => panic!("the policy failed: {error}"),
        }
    }

    /// A request for model `m` of about 100 prompt tokens and at most 100 completion tokens.
    pub fn summary(seed: u64) -> RequestSummary {
        RequestSummary {
            model: "m".to_owned(),
            estimated_prompt_tokens: 100,
            max_tokens: Some(100),
            seed,
        }
    }
}

/// A policy that ranks candidates by a score, lower first. Wrap it in [`Ranked`] to get a
/// [`Router`]:
///
/// ```ignore
/// struct Latency;
/// impl Ranking for Latency {
///     const NAME: &'static str = "latency";
///     const VERSION: &'static str = "0.1.0";
///     fn score(_: &RequestSummary, candidate: &Candidate) -> Option<f64> {
///         candidate.stats.latency_p50_ms
///     }
/// }
/// switchyard_sdk::export_router!(switchyard_sdk::router::Ranked<Latency>);
/// ```
pub trait Ranking: 'static {
    /// The policy's name, e.g. `latency`.
    const NAME: &'static str;
    /// The policy's version (semver).
    const VERSION: &'static str;

    /// The candidate's score for this request, lower is better; `None` when unknown.
    fn score(request: &RequestSummary, candidate: &Candidate) -> Option<f64>;
}

/// The [`Router`] of a [`Ranking`]: see [`rank_by`] for the order it returns.
pub struct Ranked<R>(PhantomData<R>);

impl<R: Ranking> Router for Ranked<R> {
    fn describe() -> Descriptor {
        Descriptor {
            name: R::NAME.to_owned(),
            version: R::VERSION.to_owned(),
        }
    }

    fn order(request: RequestSummary, candidates: Vec<Candidate>) -> Result<Vec<u32>, String> {
        let order = rank_by(request.seed, &candidates, |candidate| {
            R::score(&request, candidate)
        });
        order
            .into_iter()
            .map(|index| {
                u32::try_from(index).map_err(|_| format!("candidate index {index} exceeds u32"))
            })
            .collect()
    }
}

/// Every candidate index once, best first: candidates without a recent outage (see
/// [`recently_failed`]) before those with one; within each, known scores ascending before
/// unknown ones (NaN counts as unknown). Equal scores are ordered at random from `seed`, so load
/// spreads across equals and the same seed always gives the same order.
pub fn rank_by(
    seed: u64,
    candidates: &[Candidate],
    score: impl Fn(&Candidate) -> Option<f64>,
) -> Vec<usize> {
    let mut rng = SeededRng::new(seed);
    let mut keyed: Vec<(bool, Option<f64>, f64, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(index, candidate)| {
            let score = score(candidate).filter(|score| !score.is_nan());
            (recently_failed(candidate), score, rng.next_f64(), index)
        })
        .collect();
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| match (a.1, b.1) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.2.total_cmp(&b.2))
    });
    keyed.into_iter().map(|(_, _, _, index)| index).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(score: f64, failed_ms_ago: Option<u64>) -> Candidate {
        let stats = EndpointStats {
            latency_p50_ms: (!score.is_nan()).then_some(score),
            ms_since_last_failure: failed_ms_ago,
            ..testing::unmeasured()
        };
        testing::candidate("p", score, stats)
    }

    fn latency(candidate: &Candidate) -> Option<f64> {
        candidate.stats.latency_p50_ms
    }

    #[test]
    fn lower_scores_first_unknown_then_recent_failures_last() {
        let candidates = vec![
            candidate(30.0, None),
            candidate(f64::NAN, None),
            candidate(10.0, Some(RECENT_FAILURE_MS - 1)),
            candidate(20.0, None),
            candidate(5.0, Some(RECENT_FAILURE_MS)),
        ];
        assert_eq!(rank_by(7, &candidates, latency), [4, 3, 0, 1, 2]);
    }

    #[test]
    fn ties_follow_the_seed() {
        let candidates: Vec<Candidate> = (0..8).map(|_| candidate(1.0, None)).collect();
        let first = rank_by(1, &candidates, latency);
        assert_eq!(first, rank_by(1, &candidates, latency));
        let orders: std::collections::HashSet<Vec<usize>> = (0..20)
            .map(|seed| rank_by(seed, &candidates, latency))
            .collect();
        assert!(orders.len() > 1, "ties never reordered: {orders:?}");
    }

    #[test]
    fn weighted_sampling_follows_the_weights_and_puts_weightless_entries_last() {
        let mut first = [0usize; 3];
        let mut rng = SeededRng::new(3);
        for _ in 0..4000 {
            let order =
                sample_weighted(vec![(0, 1.0), (1, 3.0), (2, 0.0), (3, f64::NAN)], &mut rng);
            assert_eq!(order[2..], [2, 3]);
            first[order[0]] += 1;
        }
        // Expected 1000 and 3000.
        assert!((850..1150).contains(&first[0]), "{first:?}");
        assert!((2850..3150).contains(&first[1]), "{first:?}");
        assert_eq!(first[2], 0);
    }

    #[test]
    fn expected_cost_uses_max_tokens_and_refuses_invalid_prices() {
        let request = RequestSummary {
            max_tokens: Some(10),
            ..testing::summary(0)
        };
        let mut priced = candidate(2.0, None);
        priced.completion_price = 3.0;
        assert_eq!(expected_cost(&request, &priced), Some(230.0));
        priced.prompt_price = -1.0;
        assert_eq!(expected_cost(&request, &priced), None);
    }
}
