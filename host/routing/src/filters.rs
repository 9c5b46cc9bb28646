//! Hard filters: the endpoints a request may not use, each with the reason, decided by the host
//! before any policy runs.

use std::fmt;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::preferences::{MaxPrice, ProviderPreferences, Variant};
use switchyard_catalog::Endpoint;
use switchyard_domain::config::DataCollection;

/// Request parameters that routing can require an adapter to support (OpenRouter's
/// `supported_parameters` vocabulary). Other keys (`model`, `messages`, `stream`, `user`...)
/// every adapter handles or ignores.
const ROUTABLE_PARAMETERS: &[&str] = &[
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "top_a",
    "repetition_penalty",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "response_format",
    "structured_outputs",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "reasoning_effort",
    "include_reasoning",
    "n",
    "web_search_options",
    "verbosity",
];

/// The routable parameters a request sets (non-null), sorted. A `json_schema` response format
/// also needs `structured_outputs`.
pub fn sent_parameters(request: &Map<String, Value>) -> Vec<String> {
    let mut sent: Vec<String> = ROUTABLE_PARAMETERS
        .iter()
        .filter(|name| request.get(**name).is_some_and(|value| !value.is_null()))
        .map(|name| (*name).to_owned())
        .collect();
    let json_schema = request
        .get("response_format")
        .and_then(|format| format.get("type"))
        .is_some_and(|kind| kind == "json_schema");
    if json_schema && !sent.iter().any(|name| name == "structured_outputs") {
        sent.push("structured_outputs".to_owned());
    }
    sent.sort();
    sent
}

/// Why an endpoint was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// Not in `provider.only`.
    NotInOnly,
    /// In `provider.ignore`.
    Ignored,
    /// Not in `provider.order` while `allow_fallbacks` is false.
    NotInOrder,
    /// The provider may collect data and the request asked `data_collection: deny`.
    DataCollection,
    /// The provider is not zero-data-retention and the request asked `zdr`.
    NotZdr,
    /// The quantization is not in `provider.quantizations`.
    Quantization(String),
    /// A price is above `provider.max_price`.
    MaxPrice(&'static str),
    /// Not free, for a `:free` request.
    NotFree,
    /// The adapter does not support these parameters and the request requires them.
    UnsupportedParameters(Vec<String>),
    /// The adapter plugin is not loaded.
    AdapterMissing,
    /// The endpoint's circuit breaker is open.
    CircuitOpen,
    /// The adapter lacks a capability the request needs ([`super::capabilities`]).
    MissingCapability(switchyard_domain::capability::Capability),
    /// The request asks for web search and the endpoint has no search price in the catalog.
    SearchPriceUnknown,
    /// The model's context window cannot hold the estimated prompt plus the requested output
    /// ([`super::context`]).
    ContextLength {
        /// The tokens needed: estimated prompt plus requested output.
        needed: u64,
        /// The model's context window.
        context: u64,
    },
}

impl Exclusion {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Exclusion::NotInOnly => "not_in_only",
            Exclusion::Ignored => "ignored",
            Exclusion::NotInOrder => "not_in_order",
            Exclusion::DataCollection => "data_collection",
            Exclusion::NotZdr => "zdr",
            Exclusion::Quantization(_) => "quantization",
            Exclusion::MaxPrice(_) => "max_price",
            Exclusion::NotFree => "not_free",
            Exclusion::UnsupportedParameters(_) => "require_parameters",
            Exclusion::AdapterMissing => "adapter_missing",
            Exclusion::CircuitOpen => "circuit_open",
            Exclusion::MissingCapability(_) => "missing_capability",
            Exclusion::ContextLength { .. } => "context_length",
            Exclusion::SearchPriceUnknown => "web_search_price_unknown",
        }
    }
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::NotInOnly => f.write_str("not listed in provider.only"),
            Exclusion::Ignored => f.write_str("listed in provider.ignore"),
            Exclusion::NotInOrder => {
                f.write_str("not listed in provider.order and allow_fallbacks is false")
            }
            Exclusion::DataCollection => {
                f.write_str("the provider may store or train on prompts (data_collection: deny)")
            }
            Exclusion::NotZdr => f.write_str("the provider does not offer zero data retention"),
            Exclusion::Quantization(found) => {
                write!(f, "quantization {found} is not in provider.quantizations")
            }
            Exclusion::MaxPrice(which) => write!(f, "{which} price is above provider.max_price"),
            Exclusion::NotFree => f.write_str("not free (:free)"),
            Exclusion::UnsupportedParameters(missing) => write!(
                f,
                "the adapter does not support {} (require_parameters)",
                missing.join(", ")
            ),
            Exclusion::AdapterMissing => f.write_str("its adapter plugin is not loaded"),
            Exclusion::CircuitOpen => {
                f.write_str("circuit breaker open after consecutive failures")
            }
            Exclusion::MissingCapability(capability) => {
                write!(f, "the adapter does not support {capability}")
            }
            Exclusion::SearchPriceUnknown => f.write_str(
                "web search was asked for and the catalog has no web_search_price for it",
            ),
            Exclusion::ContextLength { needed, context } => write!(
                f,
                "its context of {context} tokens cannot hold about {needed} (estimated prompt \
                 plus requested output)"
            ),
        }
    }
}

/// What the filters look at besides the endpoint.
#[derive(Debug)]
pub struct FilterInput<'a> {
    /// The request's preferences.
    pub preferences: &'a ProviderPreferences,
    /// The variant of the model id, if any.
    pub variant: Option<Variant>,
    /// Routable parameters the request sets.
    pub sent_parameters: &'a [String],
}

/// Why `endpoint` may not serve the request, or `None` when it may. `adapter_parameters` are
/// the parameters its adapter declares (`None`: the adapter is not loaded). The circuit breaker
/// is checked last because admitting a probe claims it.
pub fn exclusion(
    endpoint: &Endpoint,
    input: &FilterInput<'_>,
    adapter_parameters: Option<&[String]>,
) -> Option<Exclusion> {
    let preferences = input.preferences;
    let provider = &endpoint.provider;
    let named = |list: &Option<Vec<String>>| {
        list.as_ref().map(|names| {
            names
                .iter()
                .any(|name| name.eq_ignore_ascii_case(&provider.name))
        })
    };
    if named(&preferences.only) == Some(false) {
        return Some(Exclusion::NotInOnly);
    }
    if named(&preferences.ignore) == Some(true) {
        return Some(Exclusion::Ignored);
    }
    if !preferences.allows_fallbacks() && named(&preferences.order) == Some(false) {
        return Some(Exclusion::NotInOrder);
    }
    if preferences.data_collection == Some(DataCollection::Deny)
        && provider.data_collection != DataCollection::Deny
    {
        return Some(Exclusion::DataCollection);
    }
    if preferences.zdr == Some(true) && !provider.zdr {
        return Some(Exclusion::NotZdr);
    }
    if let Some(allowed) = &preferences.quantizations {
        let found = endpoint.quantization.as_deref().unwrap_or("unknown");
        if !allowed.iter().any(|q| q.eq_ignore_ascii_case(found)) {
            return Some(Exclusion::Quantization(found.to_owned()));
        }
    }
    if let Some(which) = (preferences.max_price.as_ref()).and_then(|max| price_above(endpoint, max))
    {
        return Some(Exclusion::MaxPrice(which));
    }
    if input.variant == Some(Variant::Free)
        && !(endpoint.prices.prompt.is_zero()
            && endpoint.prices.completion.is_zero()
            && endpoint.prices.request.is_zero())
    {
        return Some(Exclusion::NotFree);
    }
    if preferences.require_parameters == Some(true) {
        let Some(supported) = adapter_parameters else {
            return Some(Exclusion::AdapterMissing);
        };
        let missing: Vec<String> = (input.sent_parameters.iter())
            .filter(|sent| !supported.contains(*sent))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Some(Exclusion::UnsupportedParameters(missing));
        }
    }
    if !endpoint.stats.admits() {
        return Some(Exclusion::CircuitOpen);
    }
    None
}

/// Which price of `endpoint` (`prompt`, `completion`, `request`, `image`) is above `max`, if any.
pub fn price_above(endpoint: &Endpoint, max: &MaxPrice) -> Option<&'static str> {
    let prices = &endpoint.prices;
    let over = |limit: Option<Decimal>, price: Decimal| limit.is_some_and(|limit| price > limit);
    [
        ("prompt", max.prompt, prices.prompt),
        ("completion", max.completion, prices.completion),
        ("request", max.request, prices.request),
        ("image", max.image, prices.image),
    ]
    .into_iter()
    .find(|(_, limit, price)| over(*limit, *price))
    .map(|(which, _, _)| which)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use serde_json::json;
    use switchyard_catalog::Provider;
    use switchyard_domain::config::{BreakerConfig, TimeoutsConfig};
    use switchyard_domain::failure::FailureClass;
    use switchyard_domain::plugin_types::EndpointSettings;
    use switchyard_domain::pricing::Prices;
    use switchyard_health::stats::EndpointStats;

    /// An endpoint of provider `name` priced `price` per million prompt and completion tokens.
    fn endpoint(
        name: &str,
        price: i64,
        collects: bool,
        zdr: bool,
        quantization: Option<&str>,
    ) -> Endpoint {
        let price = Decimal::from(price);
        Endpoint {
            provider: Arc::new(Provider {
                name: name.to_owned(),
                plugin: "openai".to_owned(),
                credential: None,
                prepared_credential: Default::default(),
                aws_credentials: None,
                google_credentials: None,
                credential_pool: None,
                builtin_tools: Vec::new(),
                parsed_url: Default::default(),
                base_url: String::new(),
                egress: Default::default(),
                timeouts: TimeoutsConfig::default(),
                data_collection: if collects {
                    DataCollection::Allow
                } else {
                    DataCollection::Deny
                },
                zdr,
                data_policy: None,
            }),
            settings: EndpointSettings {
                base_url: String::new(),
                upstream_model: "up".to_owned(),
                options: Vec::new(),
            },
            prices: Prices {
                prompt: price,
                completion: price,
                cache_read: price,
                cache_write: price,
                reasoning: price,
                request: Decimal::ZERO,
                image: Decimal::ZERO,
                web_search: None,
                builtin_tools: Default::default(),
            },
            max_output_tokens: None,
            quantization: quantization.map(str::to_owned),
            weight: 1.0,
            stats: EndpointStats::new(BreakerConfig {
                failures: 1,
                cooldown_ms: 60_000,
            }),
            labels: switchyard_telemetry::metrics::labels::EndpointLabels::new("m", name),
        }
    }

    #[test]
    fn each_filter_excludes_with_its_reason() {
        let free = endpoint("free", 0, true, false, None);
        let open = endpoint("open", 1, false, true, Some("fp8"));
        let private = endpoint("private", 5, false, true, Some("fp16"));
        let tripped = endpoint("tripped", 1, false, true, None);
        tripped.stats.record_failure(FailureClass::Fault);
        let sent = ["seed".to_owned(), "tools".to_owned()];
        let both = ["tools".to_owned(), "seed".to_owned()];
        let tools_only = ["tools".to_owned()];
        let deny = json!({ "data_collection": "deny" });
        let require = json!({ "require_parameters": true });
        // (preferences, variant, endpoint, the adapter's parameters, expected exclusion)
        type Case<'a> = (
            Value,
            Option<Variant>,
            &'a Endpoint,
            Option<&'a [String]>,
            Option<&'a str>,
        );
        let cases: [Case<'_>; 20] = [
            (json!({}), None, &open, None, None),
            (json!({ "only": ["OPEN"] }), None, &open, None, None),
            (
                json!({ "only": ["x"] }),
                None,
                &open,
                None,
                Some("not_in_only"),
            ),
            (
                json!({ "ignore": ["open"] }),
                None,
                &open,
                None,
                Some("ignored"),
            ),
            (
                json!({ "order": ["x"], "allow_fallbacks": false }),
                None,
                &open,
                None,
                Some("not_in_order"),
            ),
            (json!({ "order": ["x"] }), None, &open, None, None),
            (deny.clone(), None, &free, None, Some("data_collection")),
            (deny, None, &open, None, None),
            (json!({ "zdr": true }), None, &free, None, Some("zdr")),
            (
                json!({ "quantizations": ["fp8"] }),
                None,
                &private,
                None,
                Some("quantization"),
            ),
            (json!({ "quantizations": ["FP8"] }), None, &open, None, None),
            (
                json!({ "quantizations": ["unknown"] }),
                None,
                &free,
                None,
                None,
            ),
            (
                json!({ "max_price": { "prompt": 4 } }),
                None,
                &private,
                None,
                Some("max_price"),
            ),
            (
                json!({ "max_price": { "completion": 5 } }),
                None,
                &private,
                None,
                None,
            ),
            (
                json!({}),
                Some(Variant::Free),
                &open,
                None,
                Some("not_free"),
            ),
            (json!({}), Some(Variant::Free), &free, None, None),
            (
                require.clone(),
                None,
                &open,
                Some(&tools_only),
                Some("require_parameters"),
            ),
            (require.clone(), None, &open, Some(&both), None),
            (require, None, &open, None, Some("adapter_missing")),
            (json!({}), None, &tripped, None, Some("circuit_open")),
        ];
        for (preferences, variant, endpoint, parameters, expected) in cases {
            let preferences = ProviderPreferences::from_request(Some(&preferences)).expect("valid");
            let input = FilterInput {
                preferences: &preferences,
                variant,
                sent_parameters: &sent,
            };
            let got = exclusion(endpoint, &input, parameters);
            assert_eq!(
                got.as_ref().map(Exclusion::code),
                expected,
                "{preferences:?} {variant:?}"
            );
        }
    }

    #[test]
    fn sent_parameters_are_the_routable_non_null_keys() {
        let request = json!({
            "model": "a/b", "messages": [], "temperature": 0.2, "top_k": null, "user": "u",
            "tools": [], "response_format": {"type": "json_schema", "json_schema": {}},
        });
        let object = request.as_object().expect("object");
        assert_eq!(
            sent_parameters(object),
            [
                "response_format",
                "structured_outputs",
                "temperature",
                "tools"
            ]
        );
    }
}
