//! Calling a routing policy plugin to order candidates, with the configured order as the
//! fallback when the policy is missing or fails.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::Candidate;
use switchyard_domain::plugin_types::{PolicyCandidate, PolicyRequest};
use switchyard_plugin_runtime::PluginRegistry;

/// A policy's order of one group of candidates.
#[derive(Debug)]
pub struct Decision {
    /// Distinct indexes into the candidates, best first; some may be left out.
    pub order: Vec<usize>,
    /// Why the configured order was used instead of the policy's, if it was.
    pub error: Option<String>,
    /// The candidates as offered to the policy, live statistics included; empty when there was
    /// nothing to order.
    pub offered: Vec<PolicyCandidate>,
}

/// The order `policy` picks for `candidates`. One candidate has nothing to order, so the policy
/// is not called for it.
pub async fn order(
    plugins: &PluginRegistry,
    policy: &str,
    request: &PolicyRequest,
    candidates: &[Candidate],
) -> Decision {
    let configured = |error: Option<String>, offered: Vec<PolicyCandidate>| Decision {
        order: (0..candidates.len()).collect(),
        error,
        offered,
    };
    if candidates.len() <= 1 {
        return configured(None, Vec::new());
    }
    let offered: Vec<PolicyCandidate> = candidates
        .iter()
        .map(|candidate| PolicyCandidate {
            provider: candidate.endpoint.provider.name.clone(),
            model: candidate.model.id.clone(),
            prompt_price: decimal_to_f64(candidate.endpoint.prices.prompt),
            completion_price: decimal_to_f64(candidate.endpoint.prices.completion),
            weight: candidate.endpoint.weight,
            stats: candidate.endpoint.stats.snapshot().for_policy(),
        })
        .collect();
    let Some(plugin) = plugins.router(policy) else {
        tracing::error!(%policy, "routing policy not loaded; using the configured order");
        return configured(Some(format!("policy {policy} is not loaded")), offered);
    };
    let result = plugin.order(request, &offered).await;
    plugins.record_outcome(plugin.name(), plugin.state(), result.is_ok());
    match result {
        Ok(order) => Decision {
            order,
            error: None,
            offered,
        },
        Err(fault) => {
            tracing::error!(%policy, error = %fault, "routing policy failed; using the configured order");
            configured(Some(fault.to_string()), offered)
        }
    }
}

/// A price as a float, for ranking only (money is settled in decimals): converted from the
/// decimal's mantissa and scale, with no string made and parsed again per candidate.
fn decimal_to_f64(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(f64::INFINITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_convert_as_their_text_reads() {
        for text in ["0", "0.000002", "15", "0.0000375", "1234567.891", "-1"] {
            let price: Decimal = text.parse().expect("a decimal");
            let expected: f64 = text.parse().expect("a float");
            assert!((decimal_to_f64(price) - expected).abs() <= expected.abs() * 1e-15);
        }
    }
}
