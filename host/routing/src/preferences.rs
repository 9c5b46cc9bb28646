//! What a request asks of routing: OpenRouter's `provider` object and the model variants
//! (`:nitro`, `:floor`, `:free`), parsed and checked before anything is routed.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use switchyard_domain::config::DataCollection;

/// OpenRouter's `provider` request object. Unknown keys are refused, so a typo is an error
/// rather than a silently ignored preference.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderPreferences {
    /// Providers to try first, in this order.
    #[serde(default)]
    pub order: Option<Vec<String>>,
    /// When false, only the providers in `order` (or, without `order`, only the first choice)
    /// are tried. Default true.
    #[serde(default)]
    pub allow_fallbacks: Option<bool>,
    /// Only endpoints whose adapter supports every parameter the request sets.
    #[serde(default)]
    pub require_parameters: Option<bool>,
    /// `deny`: only providers that neither store nor train on prompts.
    #[serde(default)]
    pub data_collection: Option<DataCollection>,
    /// Only zero-data-retention providers.
    #[serde(default)]
    pub zdr: Option<bool>,
    /// Only these providers.
    #[serde(default)]
    pub only: Option<Vec<String>>,
    /// Never these providers.
    #[serde(default)]
    pub ignore: Option<Vec<String>>,
    /// Only endpoints serving one of these quantizations (`unknown` matches endpoints that do
    /// not declare one).
    #[serde(default)]
    pub quantizations: Option<Vec<String>>,
    /// Sort instead of load-balancing.
    #[serde(default)]
    pub sort: Option<Sort>,
    /// Highest acceptable prices.
    #[serde(default)]
    pub max_price: Option<MaxPrice>,
    /// Endpoints slower than this (tokens/s) go after the others. Parsed apart: a bare number
    /// is accepted too.
    #[serde(skip)]
    pub preferred_min_throughput: Option<Threshold>,
    /// Endpoints with a later first token than this (seconds) go after the others. Parsed
    /// apart: a bare number is accepted too.
    #[serde(skip)]
    pub preferred_max_latency: Option<Threshold>,
}

/// What to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// Cheapest first.
    Price,
    /// Highest throughput first.
    Throughput,
    /// Lowest latency first.
    Latency,
}

/// Whether a sort ranks endpoints within each requested model, or across all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Partition {
    /// Each model's endpoints in turn, models in the requested order (the default).
    #[default]
    Model,
    /// All endpoints of all requested models ranked together.
    None,
}

/// `sort`: a string, or an object with `by` and `partition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The ranking.
    pub by: SortBy,
    /// Its scope.
    pub partition: Partition,
}

impl<'de> Deserialize<'de> for Sort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Object {
            by: SortBy,
            #[serde(default)]
            partition: Option<Partition>,
        }
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "\"price\", \"throughput\", \"latency\" or {by, partition}"
        )]
        enum Form {
            By(SortBy),
            Object(Object),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::By(by) => Sort {
                by,
                partition: Partition::Model,
            },
            Form::Object(object) => Sort {
                by: object.by,
                partition: object.partition.unwrap_or_default(),
            },
        })
    }
}

/// `max_price`: USD per million tokens for prompt and completion, USD per request and per image.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPrice {
    /// Per million prompt tokens.
    #[serde(default, deserialize_with = "decimal")]
    pub prompt: Option<Decimal>,
    /// Per million completion tokens.
    #[serde(default, deserialize_with = "decimal")]
    pub completion: Option<Decimal>,
    /// Per request.
    #[serde(default, deserialize_with = "decimal")]
    pub request: Option<Decimal>,
    /// Per image.
    #[serde(default, deserialize_with = "decimal")]
    pub image: Option<Decimal>,
}

/// A JSON number or numeric string, exactly as written, as a decimal.
fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    let text = match &value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "a price must be a number, not {other}"
            )));
        }
    };
    let price = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| serde::de::Error::custom(format!("{text} is not a price")))?;
    if price.is_sign_negative() {
        return Err(serde::de::Error::custom("a price cannot be negative"));
    }
    Ok(Some(price))
}

/// A performance threshold: a number (checked against the median) or percentile cut-offs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Cut-off for the median.
    #[serde(default)]
    pub p50: Option<f64>,
    /// Cut-off for the 75th percentile.
    #[serde(default)]
    pub p75: Option<f64>,
    /// Cut-off for the 90th percentile.
    #[serde(default)]
    pub p90: Option<f64>,
    /// Cut-off for the 99th percentile.
    #[serde(default)]
    pub p99: Option<f64>,
}

impl Threshold {
    fn parse(value: &Value, field: &str) -> Result<Threshold, String> {
        let threshold = match value {
            Value::Number(number) => Threshold {
                p50: number.as_f64(),
                ..Threshold::default()
            },
            _ => Threshold::deserialize(value).map_err(|e| format!("`provider.{field}`: {e}"))?,
        };
        let cuts = [threshold.p50, threshold.p75, threshold.p90, threshold.p99];
        if cuts
            .iter()
            .flatten()
            .any(|cut| !cut.is_finite() || *cut < 0.0)
        {
            return Err(format!(
                "`provider.{field}` must be a non-negative number or {{p50, p75, p90, p99}}"
            ));
        }
        Ok(threshold)
    }
}

/// A model variant: the `:suffix` of a model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `:nitro`: highest throughput first.
    Nitro,
    /// `:floor`: cheapest first.
    Floor,
    /// `:free`: only free endpoints.
    Free,
}

impl Variant {
    /// Splits a known variant suffix off a model id: `("a/b", Some(Nitro))` for `a/b:nitro`.
    pub fn split(id: &str) -> (&str, Option<Variant>) {
        let Some((base, suffix)) = id.rsplit_once(':') else {
            return (id, None);
        };
        let variant = match suffix {
            "nitro" => Variant::Nitro,
            "floor" => Variant::Floor,
            "free" => Variant::Free,
            _ => return (id, None),
        };
        (base, Some(variant))
    }

    /// The sort this variant implies.
    pub fn sort(self) -> Option<SortBy> {
        match self {
            Variant::Nitro => Some(SortBy::Throughput),
            Variant::Floor => Some(SortBy::Price),
            Variant::Free => None,
        }
    }
}

/// OpenRouter's `provider` field restricting routing to models whose output may train other
/// models: `false` asks for nothing, `true` is refused by name (the catalog has no such data).
const DISTILLABLE: &str = "enforce_distillable_text";

/// Most names `provider.order`, `only`, `ignore` and `quantizations` may each hold: more than
/// any catalog has providers, few enough that matching them costs nothing.
pub const MAX_NAMES: usize = 128;

impl ProviderPreferences {
    /// The `provider` field of a request (absent or `null`: no preferences). The message of an
    /// error names the offending field.
    pub fn from_request(value: Option<&Value>) -> Result<ProviderPreferences, String> {
        let Some(value) = value.filter(|value| !value.is_null()) else {
            return Ok(ProviderPreferences::default());
        };
        let Value::Object(object) = value else {
            return Err("`provider` must be an object".to_owned());
        };
        // Thresholds accept a bare number; parse them apart from the derived fields.
        let mut rest = object.clone();
        if let Some(distillable) = rest.remove(DISTILLABLE).filter(|value| !value.is_null()) {
            match distillable {
                Value::Bool(false) => {}
                Value::Bool(true) => {
                    return Err(format!(
                        "`provider.{DISTILLABLE}` is not supported: Switchyard's catalog does \
                         not record which models allow their output to train other models, so \
                         it cannot restrict routing to them; remove it"
                    ));
                }
                _ => return Err(format!("`provider.{DISTILLABLE}` must be a boolean")),
            }
        }
        let throughput = rest.remove("preferred_min_throughput");
        let latency = rest.remove("preferred_max_latency");
        let mut preferences = ProviderPreferences::deserialize(Value::Object(rest))
            .map_err(|e| format!("`provider`: {e}"))?;
        let lists = [
            ("order", &preferences.order),
            ("only", &preferences.only),
            ("ignore", &preferences.ignore),
            ("quantizations", &preferences.quantizations),
        ];
        for (field, list) in lists {
            if let Some(names) = list.as_ref().filter(|names| names.len() > MAX_NAMES) {
                return Err(format!(
                    "`provider.{field}` holds {} names; at most {MAX_NAMES} are accepted",
                    names.len()
                ));
            }
        }
        preferences.preferred_min_throughput = throughput
            .filter(|v| !v.is_null())
            .map(|v| Threshold::parse(&v, "preferred_min_throughput"))
            .transpose()?;
        preferences.preferred_max_latency = latency
            .filter(|v| !v.is_null())
            .map(|v| Threshold::parse(&v, "preferred_max_latency"))
            .transpose()?;
        Ok(preferences)
    }

    /// Whether fallbacks beyond the first choice (or beyond `order`) are allowed.
    pub fn allows_fallbacks(&self) -> bool {
        self.allow_fallbacks.unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<ProviderPreferences, String> {
        ProviderPreferences::from_request(Some(&value))
    }

    #[test]
    fn every_documented_field_parses() {
        let preferences = parse(json!({
            "order": ["groq", "together"], "allow_fallbacks": false, "require_parameters": true,
            "data_collection": "deny", "zdr": true, "only": ["groq"], "ignore": ["azure"],
            "quantizations": ["fp8"], "sort": {"by": "latency", "partition": "none"},
            "max_price": {"prompt": 1, "completion": "2.5", "request": 0.001, "image": 0},
            "preferred_min_throughput": 50, "preferred_max_latency": {"p90": 3},
        }))
        .expect("valid");
        assert_eq!(
            preferences.order.as_deref(),
            Some(&["groq".to_owned(), "together".to_owned()][..])
        );
        assert!(!preferences.allows_fallbacks());
        assert_eq!(preferences.data_collection, Some(DataCollection::Deny));
        assert_eq!(
            preferences.sort,
            Some(Sort {
                by: SortBy::Latency,
                partition: Partition::None
            })
        );
        let max_price = preferences.max_price.expect("max_price");
        assert_eq!(max_price.completion, Some(Decimal::new(25, 1)));
        assert_eq!(max_price.request, Some(Decimal::new(1, 3)));
        assert_eq!(
            preferences.preferred_min_throughput.and_then(|t| t.p50),
            Some(50.0)
        );
        assert_eq!(
            preferences.preferred_max_latency.and_then(|t| t.p90),
            Some(3.0)
        );
    }

    #[test]
    fn a_sort_string_partitions_by_model() {
        let preferences = parse(json!({ "sort": "throughput" })).expect("valid");
        assert_eq!(
            preferences.sort,
            Some(Sort {
                by: SortBy::Throughput,
                partition: Partition::Model
            })
        );
    }

    #[test]
    fn nulls_mean_unset() {
        assert_eq!(
            ProviderPreferences::from_request(None),
            Ok(ProviderPreferences::default())
        );
        let preferences =
            parse(json!({ "order": null, "preferred_max_latency": null })).expect("valid");
        assert_eq!(preferences, ProviderPreferences::default());
    }

    #[test]
    fn malformed_preferences_name_the_field() {
        let error = |value| parse(value).expect_err("malformed");
        assert!(error(json!("groq")).contains("must be an object"));
        assert!(error(json!({ "ordr": ["groq"] })).contains("ordr"));
        assert!(error(json!({ "sort": "cheapest" })).contains("price"));
        assert!(error(json!({ "order": "groq" })).contains("`provider`"));
        assert!(error(json!({ "data_collection": "maybe" })).contains("maybe"));
        assert!(error(json!({ "max_price": { "prompt": -1 } })).contains("negative"));
        assert!(error(json!({ "max_price": { "prompt": true } })).contains("number"));
        assert!(
            error(json!({ "preferred_min_throughput": -5 })).contains("preferred_min_throughput")
        );
        assert!(error(json!({ "preferred_max_latency": { "p42": 1 } })).contains("p42"));
        assert!(
            error(json!({ DISTILLABLE: true })).contains("`provider.enforce_distillable_text`")
        );
        assert!(error(json!({ DISTILLABLE: "yes" })).contains("boolean"));
        assert!(parse(json!({ DISTILLABLE: false })).is_ok());
    }

    #[test]
    fn name_lists_are_capped() {
        let names = |n: usize| vec!["p"; n];
        for field in ["order", "only", "ignore", "quantizations"] {
            assert!(parse(json!({ field: names(MAX_NAMES) })).is_ok(), "{field}");
            let message = parse(json!({ field: names(MAX_NAMES + 1) })).expect_err("too many");
            assert!(message.contains(field), "{message}");
        }
    }

    #[test]
    fn variants_split_off_known_suffixes_only() {
        assert_eq!(Variant::split("a/b:nitro"), ("a/b", Some(Variant::Nitro)));
        assert_eq!(Variant::split("a/b:floor"), ("a/b", Some(Variant::Floor)));
        assert_eq!(Variant::split("a/b:free"), ("a/b", Some(Variant::Free)));
        assert_eq!(Variant::split("a/b:beta"), ("a/b:beta", None));
        assert_eq!(Variant::split("a/b"), ("a/b", None));
    }
}
