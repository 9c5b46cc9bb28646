//! What shadow evaluation accumulates for one (shadow policy, model), and the report built from
//! it: how often the shadow policy's first choice differs from the live one, and both first
//! choices' expected cost and median latency under the live statistics.

use rust_decimal::Decimal;
use serde::Serialize;

use switchyard_domain::pricing::MONEY_DECIMALS;

/// A first choice's figures under the statistics the live policy was given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Choice {
    /// The request's expected upstream cost on the chosen endpoint, USD.
    pub cost_usd: Decimal,
    /// The chosen endpoint's median time to first token, ms; `None` when it is unmeasured.
    pub p50_latency_ms: Option<f64>,
}

/// How one shadow evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Outcome {
    /// Both orders are known: each side's first choice (`None` when its order is empty), and
    /// whether they differ.
    Compared {
        /// The live policy's first choice.
        live: Option<Choice>,
        /// The shadow policy's first choice.
        shadow: Option<Choice>,
        /// Whether the two first choices are different endpoints.
        disagreed: bool,
    },
    /// The shadow policy is not loaded, faulted or was at its instance limit.
    Fault,
}

/// Sums over one side's first choices.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Projection {
    /// Evaluations in which this side had a first choice.
    chosen: u64,
    /// Σ expected cost of those choices, USD.
    cost_usd: Decimal,
    /// Choices with a measured median latency.
    measured: u64,
    /// Σ their median time to first token, ms.
    latency_ms: f64,
}

impl Projection {
    fn add(&mut self, choice: Option<Choice>) {
        let Some(choice) = choice else {
            return;
        };
        self.chosen += 1;
        self.cost_usd = self.cost_usd.saturating_add(choice.cost_usd);
        if let Some(ms) = choice.p50_latency_ms {
            self.measured += 1;
            self.latency_ms += ms;
        }
    }

    fn report(&self) -> SideReport {
        let mean_cost = (self.chosen > 0)
            .then(|| self.cost_usd.checked_div(Decimal::from(self.chosen)))
            .flatten();
        SideReport {
            chosen: self.chosen,
            total_expected_cost_usd: self.cost_usd.normalize(),
            mean_expected_cost_usd: mean_cost.map(|mean| mean.round_dp(MONEY_DECIMALS).normalize()),
            unmeasured: self.chosen - self.measured,
            mean_p50_latency_ms: (self.measured > 0)
                .then(|| self.latency_ms / self.measured as f64),
        }
    }
}

/// The evaluations of one shadow policy on one model's requests.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Tally {
    evaluated: u64,
    disagreed: u64,
    faults: u64,
    live: Projection,
    shadow: Projection,
}

impl Tally {
    /// Adds one evaluation.
    pub(super) fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Compared {
                live,
                shadow,
                disagreed,
            } => {
                self.evaluated += 1;
                self.disagreed += u64::from(disagreed);
                self.live.add(live);
                self.shadow.add(shadow);
            }
            Outcome::Fault => self.faults += 1,
        }
    }

    /// Whether anything was recorded.
    pub(super) fn is_empty(&self) -> bool {
        self.evaluated == 0 && self.faults == 0
    }

    /// The figures of `policy` on `model`, with the `skipped` jobs of the model.
    pub(super) fn report(&self, policy: &str, model: &str, skipped: u64) -> ShadowReport {
        ShadowReport {
            policy: policy.to_owned(),
            model: model.to_owned(),
            evaluated: self.evaluated,
            disagreed: self.disagreed,
            disagreement_rate: (self.evaluated > 0)
                .then(|| self.disagreed as f64 / self.evaluated as f64),
            faults: self.faults,
            skipped,
            live: self.live.report(),
            shadow: self.shadow.report(),
        }
    }
}

/// One shadow policy's figures on one model's requests (`GET /admin/routing/shadow`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowReport {
    /// The shadow policy.
    pub policy: String,
    /// The model (canonical id).
    pub model: String,
    /// Requests whose live and shadow orders were compared.
    pub evaluated: u64,
    /// Those where the shadow policy's first choice differs from the live one.
    pub disagreed: u64,
    /// `disagreed / evaluated`; `None` before the first evaluation.
    pub disagreement_rate: Option<f64>,
    /// Evaluations that failed: the shadow policy not loaded, faulted or at its instance limit.
    pub faults: u64,
    /// Requests not evaluated because the shadow queue was full.
    pub skipped: u64,
    /// The live policy's first choices.
    pub live: SideReport,
    /// The shadow policy's first choices.
    pub shadow: SideReport,
}

/// One side's first choices, projected under the live statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideReport {
    /// Evaluations in which this side chose an endpoint (a policy may leave every one out).
    pub chosen: u64,
    /// Mean expected upstream cost of a request on the chosen endpoint, USD.
    pub mean_expected_cost_usd: Option<Decimal>,
    /// Σ of those expected costs, USD.
    pub total_expected_cost_usd: Decimal,
    /// Mean median time to first token of the chosen endpoints that have one, ms.
    pub mean_p50_latency_ms: Option<f64>,
    /// Choices of endpoints without latency figures yet (left out of the mean).
    pub unmeasured: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(cost: &str, ms: Option<f64>) -> Option<Choice> {
        Some(Choice {
            cost_usd: cost.parse().expect("decimal"),
            p50_latency_ms: ms,
        })
    }

    #[test]
    fn means_count_only_chosen_and_measured_endpoints() {
        let mut tally = Tally::default();
        tally.record(Outcome::Compared {
            live: choice("0.001", Some(100.0)),
            shadow: choice("0.004", None),
            disagreed: true,
        });
        tally.record(Outcome::Compared {
            live: choice("0.002", Some(300.0)),
            shadow: choice("0.002", Some(300.0)),
            disagreed: false,
        });
        tally.record(Outcome::Compared {
            live: choice("0.003", None),
            shadow: None,
            disagreed: true,
        });
        tally.record(Outcome::Fault);
        let report = tally.report("latency", "a/b", 2);
        assert_eq!((report.evaluated, report.disagreed), (3, 2));
        assert_eq!((report.faults, report.skipped), (1, 2));
        assert_eq!(report.disagreement_rate, Some(2.0 / 3.0));
        assert_eq!(report.live.chosen, 3);
        assert_eq!(report.live.total_expected_cost_usd.to_string(), "0.006");
        assert_eq!(
            report.live.mean_expected_cost_usd.map(|c| c.to_string()),
            Some("0.002".to_owned())
        );
        assert_eq!(report.live.mean_p50_latency_ms, Some(200.0));
        assert_eq!(report.live.unmeasured, 1);
        assert_eq!(report.shadow.chosen, 2);
        assert_eq!(
            report.shadow.mean_expected_cost_usd.map(|c| c.to_string()),
            Some("0.003".to_owned())
        );
        assert_eq!(report.shadow.mean_p50_latency_ms, Some(300.0));
        assert_eq!(report.shadow.unmeasured, 1);
    }

    #[test]
    fn an_empty_tally_has_no_means() {
        let tally = Tally::default();
        assert!(tally.is_empty());
        let report = tally.report("latency", "a/b", 0);
        assert_eq!(report.disagreement_rate, None);
        assert_eq!(report.live.mean_expected_cost_usd, None);
        assert_eq!(report.shadow.mean_p50_latency_ms, None);
        let mut faulted = Tally::default();
        faulted.record(Outcome::Fault);
        assert!(!faulted.is_empty());
    }
}
