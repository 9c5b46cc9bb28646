//! The shadow worker: one task that evaluates queued jobs one at a time, so shadow policies use
//! at most one plugin instance and one core's share at a time, each call under the sandbox's
//! fuel, memory and wall-clock limits.

use std::sync::Arc;

use rust_decimal::Decimal;
use switchyard_sdk::ranking::DEFAULT_COMPLETION_TOKENS;
use tokio::sync::mpsc;

use super::Job;
use super::tally::{Choice, Outcome};
use switchyard_domain::plugin_types::Usage;
use switchyard_domain::pricing::{self, Prices};
use switchyard_plugin_runtime::PluginRegistry;

/// Evaluates every job until the queue closes.
pub(super) async fn run(mut queue: mpsc::Receiver<Job>, plugins: Arc<PluginRegistry>) {
    while let Some(job) = queue.recv().await {
        for entry in &job.target.entries {
            let outcome = evaluate(&plugins, &entry.policy, &job).await;
            entry.record(outcome);
        }
    }
}

/// Has `policy` order the job's candidates and compares its first choice with the live one.
async fn evaluate(plugins: &PluginRegistry, policy: &str, job: &Job) -> Outcome {
    let model = &job.request.model;
    let Some(plugin) = plugins.router(policy) else {
        tracing::debug!(%policy, %model, "shadow policy not loaded");
        return Outcome::Fault;
    };
    match plugin.shadow_order(&job.request, &job.offered).await {
        Ok(order) => {
            let first = order.first().copied();
            Outcome::Compared {
                live: job.choice(job.live_first),
                shadow: job.choice(first),
                disagreed: first != job.live_first,
            }
        }
        Err(fault) => {
            tracing::debug!(%policy, %model, error = %fault, "shadow policy failed");
            Outcome::Fault
        }
    }
}

impl Job {
    /// The figures of candidate `index` under the statistics the live policy was given.
    fn choice(&self, index: Option<usize>) -> Option<Choice> {
        let index = index?;
        let candidate = self.candidates.get(index)?;
        let offered = self.offered.get(index)?;
        Some(Choice {
            cost_usd: expected_cost(
                self.request.estimated_prompt_tokens,
                self.request.max_tokens,
                &candidate.endpoint.prices,
            ),
            p50_latency_ms: offered.stats.latency_p50_ms,
        })
    }
}

/// The upstream cost of a request with `prompt_tokens` and `max_tokens` (or
/// [`DEFAULT_COMPLETION_TOKENS`], as the price policies assume) at `prices`, without the
/// platform fee.
fn expected_cost(prompt_tokens: u64, max_tokens: Option<u64>, prices: &Prices) -> Decimal {
    let usage = Usage {
        prompt_tokens,
        completion_tokens: max_tokens.unwrap_or(DEFAULT_COMPLETION_TOKENS),
        ..Usage::default()
    };
    pricing::cost(&usage, prices, 0, Decimal::ZERO).upstream
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_cost_prices_the_prompt_estimate_and_the_output_limit() {
        let prices = Prices {
            prompt: Decimal::from(2),
            completion: Decimal::from(10),
            cache_read: Decimal::ONE,
            cache_write: Decimal::ONE,
            reasoning: Decimal::from(10),
            request: Decimal::ZERO,
            image: Decimal::ZERO,
            web_search: None,
            builtin_tools: Default::default(),
        };
        // 1000 × $2/M + 100 × $10/M
        assert_eq!(expected_cost(1000, Some(100), &prices).to_string(), "0.003");
        // 1000 × $2/M + 512 × $10/M
        assert_eq!(expected_cost(1000, None, &prices).to_string(), "0.00712");
    }
}
