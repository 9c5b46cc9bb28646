//! Prices and the cost of a call, in decimal USD (never floating point for money).

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::config::EndpointConfig;
use crate::plugins::types::Usage;

const PER_MILLION: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);
const PERCENT: Decimal = Decimal::from_parts(100, 0, 0, false, 0);

/// Prices of one endpoint in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    /// Uncached prompt tokens.
    pub prompt: Decimal,
    /// Completion tokens (reasoning included).
    pub completion: Decimal,
    /// Cached prompt tokens read.
    pub cache_read: Decimal,
    /// Prompt tokens written to the cache.
    pub cache_write: Decimal,
    /// Reasoning tokens (part of the completion tokens).
    pub reasoning: Decimal,
    /// USD per request (not per million).
    pub request: Decimal,
    /// USD per input image (not per million).
    pub image: Decimal,
}

impl Prices {
    /// The prices of an endpoint; cache prices default to the prompt price.
    pub fn from_config(endpoint: &EndpointConfig) -> Prices {
        Prices {
            prompt: endpoint.prompt_price,
            completion: endpoint.completion_price,
            cache_read: endpoint.cache_read_price.unwrap_or(endpoint.prompt_price),
            cache_write: endpoint.cache_write_price.unwrap_or(endpoint.prompt_price),
            reasoning: endpoint
                .reasoning_price
                .unwrap_or(endpoint.completion_price),
            request: endpoint.request_price,
            image: endpoint.image_price,
        }
    }
}

/// The cost of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// What the upstream charges for the usage.
    pub upstream: Decimal,
    /// What the client pays: upstream cost plus the platform fee.
    pub total: Decimal,
}

/// Cost of `usage` at `prices`, plus `fee_percent`.
pub fn cost(usage: &Usage, prices: &Prices, fee_percent: Decimal) -> Cost {
    let cached = usage.cached_tokens.min(usage.prompt_tokens);
    let cache_write = usage.cache_write_tokens.min(usage.prompt_tokens - cached);
    let uncached = usage.prompt_tokens - cached - cache_write;
    let tokens = |count: u64| Decimal::from(count);
    let upstream = (tokens(uncached) * prices.prompt
        + tokens(cached) * prices.cache_read
        + tokens(cache_write) * prices.cache_write
        + tokens(usage.completion_tokens) * prices.completion)
        / PER_MILLION;
    let total = upstream + upstream * fee_percent / PERCENT;
    Cost {
        upstream: upstream.normalize(),
        total: total.normalize(),
    }
}

/// The OpenAI `usage` object with OpenRouter's `cost` and `cost_details`.
pub fn usage_json(usage: &Usage, cost: &Cost) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "completion_tokens_details": { "reasoning_tokens": usage.reasoning_tokens },
        "cost": decimal_number(cost.total),
        "cost_details": { "upstream_inference_cost": decimal_number(cost.upstream) },
    })
}

/// OpenRouter's `pricing` object: USD per token (prompt, completion, cache, reasoning) or per
/// unit (request, image), as decimal strings.
pub fn pricing_json(prices: &Prices) -> Value {
    let per_token = |price: Decimal| (price / PER_MILLION).normalize().to_string();
    json!({
        "prompt": per_token(prices.prompt),
        "completion": per_token(prices.completion),
        "request": prices.request.normalize().to_string(),
        "image": prices.image.normalize().to_string(),
        "input_cache_read": per_token(prices.cache_read),
        "input_cache_write": per_token(prices.cache_write),
        "internal_reasoning": per_token(prices.reasoning),
    })
}

/// A decimal as a JSON number (JSON has no decimal type; the value is exact to 12 places).
fn decimal_number(value: Decimal) -> Value {
    value
        .round_dp(12)
        .to_string()
        .parse::<serde_json::Number>()
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).expect("decimal")
    }

    #[test]
    fn cost_prices_each_token_class_and_adds_the_fee() {
        let prices = Prices {
            prompt: d("3"),
            completion: d("15"),
            cache_read: d("0.3"),
            cache_write: d("3.75"),
            reasoning: d("1"),
            request: Decimal::ZERO,
            image: Decimal::ZERO,
        };
        let usage = Usage {
            prompt_tokens: 1_000,
            completion_tokens: 500,
            cached_tokens: 200,
            cache_write_tokens: 100,
            reasoning_tokens: 50,
        };
        let cost = cost(&usage, &prices, d("5"));
        // 700×3 + 200×0.3 + 100×3.75 + 500×15 = 2100 + 60 + 375 + 7500 = 10035 per million
        assert_eq!(cost.upstream, d("0.010035"));
        assert_eq!(cost.total, d("0.01053675"));
    }

    #[test]
    fn inconsistent_cache_counts_never_underflow() {
        let prices = Prices {
            prompt: d("1"),
            completion: d("1"),
            cache_read: d("1"),
            cache_write: d("1"),
            reasoning: d("1"),
            request: Decimal::ZERO,
            image: Decimal::ZERO,
        };
        let usage = Usage {
            prompt_tokens: 10,
            cached_tokens: 50,
            cache_write_tokens: 50,
            ..Usage::default()
        };
        assert_eq!(cost(&usage, &prices, Decimal::ZERO).upstream, d("0.00001"));
    }

    #[test]
    fn usage_json_carries_cost_as_a_number() {
        let usage = Usage {
            prompt_tokens: 16,
            completion_tokens: 363,
            ..Usage::default()
        };
        let prices = Prices {
            prompt: d("0.1"),
            completion: d("0.4"),
            cache_read: d("0.1"),
            cache_write: d("0.1"),
            reasoning: d("1"),
            request: Decimal::ZERO,
            image: Decimal::ZERO,
        };
        let json = usage_json(&usage, &cost(&usage, &prices, d("5")));
        assert_eq!(json["total_tokens"], 379);
        assert_eq!(json["cost"].to_string(), "0.00015414");
    }
}
