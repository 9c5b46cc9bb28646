//! Prices and the cost of a call, in decimal USD (never floating point for money). Every
//! computation is checked: a usage too large to price gives [`Cost::OUT_OF_RANGE`], never a
//! wrapped or panicking sum.
//!
//! [`worst_case`] bounds what a request can cost (the hold taken before it runs); [`estimate`]
//! prices a call whose provider reported no usage.

pub mod anthropic_inputs;
pub mod estimate;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use switchyard_sdk::openai::{ChatRequest, Content};
use switchyard_sdk::responses::{BuiltinCalls, BuiltinTool};

use crate::config::EndpointConfig;
use crate::plugin_types::Usage;

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
    /// USD per web search (not per million); `None`: the endpoint serves no search.
    pub web_search: Option<Decimal>,
    /// USD per call of each Responses API built-in tool (not per million).
    pub builtin_tools: BuiltinPrices,
}

/// USD per call of each Responses API built-in tool; `None`: the tool is not served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuiltinPrices([Option<Decimal>; BuiltinTool::ALL.len()]);

impl BuiltinPrices {
    /// The prices an endpoint's configuration sets.
    pub fn of(prices: &std::collections::BTreeMap<BuiltinTool, Decimal>) -> BuiltinPrices {
        let mut out = BuiltinPrices::default();
        for (tool, price) in prices {
            out.0[tool.index()] = Some(*price);
        }
        out
    }

    /// The price of one call of `tool`, when it is served.
    pub fn of_tool(&self, tool: BuiltinTool) -> Option<Decimal> {
        self.0[tool.index()]
    }

    /// What `calls` cost; `None` when that does not fit a decimal. An unpriced tool's calls
    /// (which routing never lets happen) cost nothing.
    pub fn cost(&self, calls: &BuiltinCalls) -> Option<Decimal> {
        calls.iter().try_fold(Decimal::ZERO, |sum, (tool, calls)| {
            let price = self.of_tool(tool).unwrap_or_default();
            sum.checked_add(Decimal::from(calls).checked_mul(price)?)
        })
    }
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
            web_search: endpoint.web_search_price,
            builtin_tools: BuiltinPrices::of(&endpoint.builtin_tool_prices),
        }
    }
}

/// The cost of one call, rounded to [`MONEY_DECIMALS`] places (half away from zero): exactly
/// what is reported to the client and written to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// What the upstream charges for the usage.
    pub upstream: Decimal,
    /// What the client pays: upstream cost plus the platform fee.
    pub total: Decimal,
}

impl Cost {
    /// The cost of a usage too large to price (no amount of money can be that large): the
    /// ledger charges such a call its hold.
    pub const OUT_OF_RANGE: Cost = Cost {
        upstream: Decimal::MAX,
        total: Decimal::MAX,
    };
}

/// Decimal places of every amount of money (nano-USD).
pub const MONEY_DECIMALS: u32 = 9;

/// Cost of `usage` at `prices` for a request with `images` input images, plus `fee_percent`.
/// Reasoning tokens (part of the completion tokens) are priced at the reasoning price.
pub fn cost(usage: &Usage, prices: &Prices, images: u64, fee_percent: Decimal) -> Cost {
    let cached = usage.cached_tokens.min(usage.prompt_tokens);
    let cache_write = usage
        .cache_write_tokens
        .min(usage.prompt_tokens.saturating_sub(cached));
    let uncached = usage
        .prompt_tokens
        .saturating_sub(cached)
        .saturating_sub(cache_write);
    let reasoning = usage.reasoning_tokens.min(usage.completion_tokens);
    let per_token = sum_of_products(&[
        (uncached, prices.prompt),
        (cached, prices.cache_read),
        (cache_write, prices.cache_write),
        (
            usage.completion_tokens.saturating_sub(reasoning),
            prices.completion,
        ),
        (reasoning, prices.reasoning),
    ]);
    let upstream = per_token
        .map(|sum| sum / PER_MILLION)
        .and_then(|sum| sum.checked_add(prices.request))
        .and_then(|sum| sum.checked_add(Decimal::from(images).checked_mul(prices.image)?))
        .and_then(|sum| {
            let searches = Decimal::from(usage.web_search_requests);
            sum.checked_add(searches.checked_mul(prices.web_search.unwrap_or_default())?)
        })
        .and_then(|sum| sum.checked_add(prices.builtin_tools.cost(&usage.builtin_tool_calls)?));
    upstream
        .and_then(|upstream| {
            with_fee(
                upstream,
                fee_percent,
                RoundingStrategy::MidpointAwayFromZero,
            )
        })
        .unwrap_or(Cost::OUT_OF_RANGE)
}

/// `share` of an `upstream` cost, with `fee_percent` on top: what a response cache hit is
/// charged.
pub fn share_of(upstream: Decimal, share: Decimal, fee_percent: Decimal) -> Cost {
    upstream
        .checked_mul(share)
        .and_then(|upstream| {
            with_fee(
                upstream,
                fee_percent,
                RoundingStrategy::MidpointAwayFromZero,
            )
        })
        .unwrap_or(Cost::OUT_OF_RANGE)
}

/// The most `searches` web searches can cost at `prices`, fee included and rounded up; `None`
/// when that does not fit a decimal.
pub fn worst_case_searches(
    searches: u64,
    prices: &Prices,
    fee_percent: Decimal,
) -> Option<Decimal> {
    let price = prices.web_search.unwrap_or_default();
    let upstream = Decimal::from(searches).checked_mul(price)?;
    Some(with_fee(upstream, fee_percent, RoundingStrategy::AwayFromZero)?.total)
}

/// The most `calls` built-in tool calls at `price` each can cost, fee included and rounded up;
/// `None` when that does not fit a decimal.
pub fn worst_case_builtin_calls(
    calls: u64,
    price: Decimal,
    fee_percent: Decimal,
) -> Option<Decimal> {
    let upstream = Decimal::from(calls).checked_mul(price)?;
    Some(with_fee(upstream, fee_percent, RoundingStrategy::AwayFromZero)?.total)
}

/// Σ count × price, `None` when it does not fit a decimal.
fn sum_of_products(terms: &[(u64, Decimal)]) -> Option<Decimal> {
    terms.iter().try_fold(Decimal::ZERO, |sum, (count, price)| {
        sum.checked_add(Decimal::from(*count).checked_mul(*price)?)
    })
}

/// The most a request can cost at `prices`: `prompt_tokens` at the dearest input price and
/// `completion_tokens` at the dearest output price, rounded up, so that no actual [`cost`] of a
/// call within those token counts exceeds it. `None` when it does not fit a decimal.
pub fn worst_case_cost(
    prompt_tokens: u64,
    completion_tokens: u64,
    images: u64,
    prices: &Prices,
    fee_percent: Decimal,
) -> Option<Decimal> {
    let input = prices.prompt.max(prices.cache_read).max(prices.cache_write);
    let output = prices.completion.max(prices.reasoning);
    let upstream = (sum_of_products(&[(prompt_tokens, input), (completion_tokens, output)])?
        / PER_MILLION)
        .checked_add(prices.request)?
        .checked_add(Decimal::from(images).checked_mul(prices.image)?)?;
    Some(with_fee(upstream, fee_percent, RoundingStrategy::AwayFromZero)?.total)
}

fn with_fee(upstream: Decimal, fee_percent: Decimal, rounding: RoundingStrategy) -> Option<Cost> {
    let round = |value: Decimal| {
        value
            .round_dp_with_strategy(MONEY_DECIMALS, rounding)
            .normalize()
    };
    let fee = upstream.checked_mul(fee_percent)? / PERCENT;
    Some(Cost {
        upstream: round(upstream),
        total: round(upstream.checked_add(fee)?),
    })
}

/// Input images of a request: its `image_url` content parts.
pub fn image_count(request: &ChatRequest) -> u64 {
    request
        .messages
        .iter()
        .filter_map(|message| match &message.content {
            Some(Content::Parts(parts)) => Some(parts),
            _ => None,
        })
        .flatten()
        .filter(|part| part.image_url.is_some())
        .count() as u64
}

/// The OpenAI `usage` object with OpenRouter's `cost` and `cost_details`.
pub fn usage_json(usage: &Usage, cost: &Cost) -> Value {
    let mut json = json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens.saturating_add(usage.completion_tokens),
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "completion_tokens_details": { "reasoning_tokens": usage.reasoning_tokens },
        "cost": decimal_number(cost.total),
        "cost_details": { "upstream_inference_cost": decimal_number(cost.upstream) },
    });
    if let (Some(object), true) = (json.as_object_mut(), usage.web_search_requests > 0) {
        object.insert(
            "server_tool_use".to_owned(),
            json!({ "web_search_requests": usage.web_search_requests }),
        );
    }
    if !usage.builtin_tool_calls.is_empty() {
        json["server_tool_use"]["builtin_tool_calls"] = usage.builtin_tool_calls.to_json();
    }
    json
}

/// OpenRouter's `pricing` object: USD per token (prompt, completion, cache, reasoning) or per
/// unit (request, image), as decimal strings.
pub fn pricing_json(prices: &Prices) -> Value {
    let per_token = |price: Decimal| (price / PER_MILLION).normalize().to_string();
    let mut json = json!({
        "prompt": per_token(prices.prompt),
        "completion": per_token(prices.completion),
        "request": prices.request.normalize().to_string(),
        "image": prices.image.normalize().to_string(),
        "input_cache_read": per_token(prices.cache_read),
        "input_cache_write": per_token(prices.cache_write),
        "internal_reasoning": per_token(prices.reasoning),
    });
    if let (Some(object), Some(price)) = (json.as_object_mut(), prices.web_search) {
        object.insert(
            "web_search".to_owned(),
            json!(price.normalize().to_string()),
        );
    }
    json
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

    fn prices(prompt: &str, completion: &str) -> Prices {
        Prices {
            prompt: d(prompt),
            completion: d(completion),
            cache_read: d(prompt),
            cache_write: d(prompt),
            reasoning: d(completion),
            request: Decimal::ZERO,
            image: Decimal::ZERO,
            web_search: None,
            builtin_tools: BuiltinPrices::default(),
        }
    }

    #[test]
    fn cost_prices_each_token_class_and_adds_the_fee() {
        let prices = Prices {
            cache_read: d("0.3"),
            cache_write: d("3.75"),
            reasoning: d("1"),
            ..prices("3", "15")
        };
        let usage = Usage {
            prompt_tokens: 1_000,
            completion_tokens: 500,
            cached_tokens: 200,
            cache_write_tokens: 100,
            reasoning_tokens: 50,
            web_search_requests: 0,
            builtin_tool_calls: BuiltinCalls::default(),
        };
        let cost = cost(&usage, &prices, 0, d("5"));
        // 700×3 + 200×0.3 + 100×3.75 + 450×15 + 50×1 = 2100 + 60 + 375 + 6750 + 50 = 9335 per million
        assert_eq!(cost.upstream, d("0.009335"));
        // 0.009335 × 1.05
        assert_eq!(cost.total, d("0.00980175"));
    }

    #[test]
    fn reasoning_tokens_default_to_the_completion_price() {
        let usage = Usage {
            prompt_tokens: 10,
            completion_tokens: 100,
            reasoning_tokens: 60,
            ..Usage::default()
        };
        // 10×2 + 100×8 = 820 per million
        assert_eq!(
            cost(&usage, &prices("2", "8"), 0, Decimal::ZERO).total,
            d("0.00082")
        );
    }

    #[test]
    fn per_request_and_per_image_prices_are_added_before_the_fee() {
        let prices = Prices {
            request: d("0.001"),
            image: d("0.0025"),
            ..prices("1", "2")
        };
        let usage = Usage {
            prompt_tokens: 1_000,
            completion_tokens: 1_000,
            ..Usage::default()
        };
        // 1000×1 + 1000×2 = 3000 per million = 0.003; + 0.001 + 2×0.0025 = 0.009; × 1.1 = 0.0099
        let cost = cost(&usage, &prices, 2, d("10"));
        assert_eq!(cost.upstream, d("0.009"));
        assert_eq!(cost.total, d("0.0099"));
    }

    #[test]
    fn the_fee_is_rounded_to_the_nano_dollar_half_away_from_zero() {
        let usage = Usage {
            prompt_tokens: 1,
            completion_tokens: 1,
            ..Usage::default()
        };
        // 1×0.1 + 1×0.023 = 0.123 per million = 0.000000123; × 1.05 = 0.00000012915 → 0.000000129
        let cost1 = cost(&usage, &prices("0.1", "0.023"), 0, d("5"));
        assert_eq!(cost1.upstream, d("0.000000123"));
        assert_eq!(cost1.total, d("0.000000129"));
        // 0.00000001 × 1.05 = 0.0000000105 → 0.000000011 (the midpoint rounds up)
        let usage = Usage {
            prompt_tokens: 1,
            ..Usage::default()
        };
        let cost2 = cost(&usage, &prices("0.01", "0"), 0, d("5"));
        assert_eq!(cost2.total, d("0.000000011"));
    }

    #[test]
    fn searches_are_priced_per_search_and_held_at_the_most() {
        let searching = Prices {
            web_search: Some(d("0.01")),
            ..prices("0", "0")
        };
        let usage = Usage {
            web_search_requests: 3,
            builtin_tool_calls: BuiltinCalls::default(),
            ..Usage::default()
        };
        let cost = cost(&usage, &searching, 0, d("5"));
        assert_eq!((cost.upstream, cost.total), (d("0.03"), d("0.0315")));
        assert_eq!(
            worst_case_searches(5, &searching, d("5")),
            Some(d("0.0525"))
        );
        // No search price: the endpoint serves no search, nothing to hold.
        assert_eq!(
            worst_case_searches(5, &prices("1", "1"), d("5")),
            Some(Decimal::ZERO)
        );
    }

    #[test]
    fn inconsistent_cache_counts_never_underflow() {
        let usage = Usage {
            prompt_tokens: 10,
            cached_tokens: 50,
            cache_write_tokens: 50,
            completion_tokens: 1,
            reasoning_tokens: 5,
            web_search_requests: 0,
            builtin_tool_calls: BuiltinCalls::default(),
        };
        assert_eq!(
            cost(&usage, &prices("1", "1"), 0, Decimal::ZERO).upstream,
            d("0.000011")
        );
    }

    #[test]
    fn the_worst_case_bounds_every_cost_within_its_token_counts() {
        let prices = Prices {
            cache_write: d("3.75"),
            reasoning: d("20"),
            request: d("0.0004"),
            ..prices("3", "15")
        };
        // 100×3.75 + 50×20 = 1375 per million = 0.001375; + 0.0004 = 0.001775; × 1.05
        let worst = worst_case_cost(100, 50, 0, &prices, d("5")).expect("in range");
        assert_eq!(worst, d("0.00186375"));
        let usage = Usage {
            prompt_tokens: 100,
            completion_tokens: 50,
            cache_write_tokens: 100,
            reasoning_tokens: 50,
            ..Usage::default()
        };
        assert_eq!(cost(&usage, &prices, 0, d("5")).total, worst);
    }

    #[test]
    fn image_parts_are_counted() {
        let request: ChatRequest = serde_json::from_value(json!({
            "model": "m",
            "messages": [
                { "role": "user", "content": "no image" },
                { "role": "user", "content": [
                    { "type": "text", "text": "two images" },
                    { "type": "image_url", "image_url": { "url": "https://example.com/a.png" } },
                    { "type": "image_url", "image_url": { "url": "data:image/png;base64,AAAA" } },
                ] },
            ],
        }))
        .expect("request");
        assert_eq!(image_count(&request), 2);
    }

    #[test]
    fn usage_json_carries_cost_as_a_number() {
        let usage = Usage {
            prompt_tokens: 16,
            completion_tokens: 363,
            ..Usage::default()
        };
        let json = usage_json(&usage, &cost(&usage, &prices("0.1", "0.4"), 0, d("5")));
        assert_eq!(json["total_tokens"], 379);
        assert_eq!(json["cost"].to_string(), "0.00015414");
    }

    #[test]
    fn built_in_tool_calls_are_charged_at_their_price_and_held_at_the_most_calls() {
        let mut configured = std::collections::BTreeMap::new();
        configured.insert(BuiltinTool::CodeInterpreter, d("0.03"));
        configured.insert(BuiltinTool::FileSearch, d("0.0025"));
        let prices = Prices {
            builtin_tools: BuiltinPrices::of(&configured),
            ..prices("0", "0")
        };
        let mut calls = BuiltinCalls::default();
        calls.add(BuiltinTool::CodeInterpreter, 2);
        calls.add(BuiltinTool::FileSearch, 1);
        let usage = Usage {
            builtin_tool_calls: calls,
            ..Usage::default()
        };
        let charged = cost(&usage, &prices, 0, d("10"));
        assert_eq!(charged.upstream, d("0.0625"));
        assert_eq!(charged.total, d("0.06875"));
        assert_eq!(
            usage_json(&usage, &charged)["server_tool_use"]["builtin_tool_calls"],
            json!({"file_search": 1, "code_interpreter": 2})
        );
        assert_eq!(prices.builtin_tools.of_tool(BuiltinTool::Mcp), None);
        // 5 calls at $0.03 plus 10%.
        assert_eq!(
            worst_case_builtin_calls(5, d("0.03"), d("10")),
            Some(d("0.165"))
        );
    }
}
