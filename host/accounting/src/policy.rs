//! What each level of an organisation — the account, a team, a key — lets its requests use:
//! allowed models (ids and `*` globs such as `anthropic/*`), allowed and denied providers, a
//! price ceiling and a data policy (zero data retention, no data collection). A request passes only what every level allows: the narrowest wins, and a
//! refusal names the level and the rule.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use switchyard_catalog::{Catalog, Endpoint};
use switchyard_domain::config::DataCollection;
use switchyard_domain::policy_refusal::{Level, PolicyRefusal, RULES};
use switchyard_routing::Candidate;
use switchyard_routing::filters::price_above;
use switchyard_routing::preferences::MaxPrice;

/// The rules one level sets; an absent rule allows everything.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Only these model ids or globs.
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// Only these providers.
    #[serde(default)]
    pub allowed_providers: Option<Vec<String>>,
    /// Never these providers.
    #[serde(default)]
    pub denied_providers: Option<Vec<String>>,
    /// Highest acceptable prices (as the request's `provider.max_price`).
    #[serde(default)]
    pub max_price: Option<MaxPrice>,
    /// What the providers may do with prompts.
    #[serde(default)]
    pub data_policy: Option<DataRules>,
}

/// A level's data policy, applied as a routing filter: only providers that keep to it serve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataRules {
    /// Only zero-data-retention providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zdr: Option<bool>,
    /// `deny`: only providers that neither store nor train on prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_collection: Option<DataCollection>,
}

impl Policy {
    /// Whether it sets no rule at all.
    pub fn is_empty(&self) -> bool {
        self == &Policy::default()
    }

    /// The stored JSON text; `None` when it sets no rule.
    pub fn stored(&self) -> Option<String> {
        (!self.is_empty()).then(|| Value::Object(self.to_json()).to_string())
    }

    /// Its rules as JSON fields (absent rules as `null`).
    pub fn to_json(&self) -> Map<String, Value> {
        let max_price = self.max_price.as_ref().map(|max| {
            let price = |value: Option<rust_decimal::Decimal>| value.map(|p| p.to_string());
            json!({
                "prompt": price(max.prompt),
                "completion": price(max.completion),
                "request": price(max.request),
                "image": price(max.image),
            })
        });
        let mut fields = Map::new();
        fields.insert("allowed_models".into(), json!(self.allowed_models));
        fields.insert("allowed_providers".into(), json!(self.allowed_providers));
        fields.insert("denied_providers".into(), json!(self.denied_providers));
        fields.insert("max_price".into(), json!(max_price));
        fields.insert("data_policy".into(), json!(self.data_policy));
        fields
    }

    /// Checks the rules against `catalog`: every allowed model id or glob names at least one
    /// model (a typo would otherwise refuse every request), and a glob has `*` only.
    pub fn validate(&self, catalog: &Catalog) -> Result<(), String> {
        for pattern in self.allowed_models.iter().flatten() {
            check_model_pattern("allowed_models", pattern, catalog)?;
        }
        let names = [&self.allowed_providers, &self.denied_providers];
        if names
            .iter()
            .any(|list| list.iter().flatten().any(String::is_empty))
        {
            return Err("a provider name cannot be empty".to_owned());
        }
        Ok(())
    }

    /// Why this policy refuses `endpoint` of model `model`, if it does: the rule and what it
    /// refused.
    pub fn refusal(&self, model: &str, endpoint: &Endpoint) -> Option<(&'static str, String)> {
        if let Some(allowed) = &self.allowed_models
            && !allowed.iter().any(|pattern| glob_matches(pattern, model))
        {
            return Some((RULES[0], format!("model {model} is not allowed")));
        }
        let provider = &endpoint.provider.name;
        let named = |list: &Vec<String>| list.iter().any(|n| n.eq_ignore_ascii_case(provider));
        if self
            .allowed_providers
            .as_ref()
            .is_some_and(|list| !named(list))
        {
            return Some((RULES[1], format!("provider {provider} is not allowed")));
        }
        if self.denied_providers.as_ref().is_some_and(named) {
            return Some((RULES[2], format!("provider {provider} is denied")));
        }
        if let Some(which) = (self.max_price.as_ref()).and_then(|max| price_above(endpoint, max)) {
            return Some((
                RULES[3],
                format!("the {which} price of {model} at {provider} is above the ceiling"),
            ));
        }
        if let Some(data) = &self.data_policy {
            if data.zdr == Some(true) && !endpoint.provider.zdr {
                return Some((
                    RULES[4],
                    format!("provider {provider} does not offer zero data retention"),
                ));
            }
            if data.data_collection == Some(DataCollection::Deny)
                && endpoint.provider.data_collection != DataCollection::Deny
            {
                return Some((
                    RULES[4],
                    format!("provider {provider} may store or train on prompts"),
                ));
            }
        }
        None
    }
}

/// Checks that `pattern` (of field `field`) is a model id or a `*` glob naming at least one
/// model of `catalog`: a typo would otherwise refuse (or leave unbounded) every request.
pub fn check_model_pattern(field: &str, pattern: &str, catalog: &Catalog) -> Result<(), String> {
    if pattern.is_empty() || pattern.contains(['?', '[', ']', ',']) {
        return Err(format!(
            "{field}: {pattern:?} is not a model id or a `*` glob"
        ));
    }
    if !catalog
        .models()
        .any(|model| glob_matches(pattern, &model.id))
    {
        return Err(format!(
            "{field}: no model of the catalog matches {pattern:?}"
        ));
    }
    Ok(())
}

/// Leaves out the `candidates` one of `levels` (a key's organisation, from the key out: each
/// level, its id and its policy) refuses; refused when none is left, naming the widest level
/// that refused one (the rule that stopped what the narrower levels allowed).
pub fn admit_candidates(
    mut levels: Vec<(Level, &str, &Policy)>,
    candidates: &mut Vec<Candidate>,
) -> Result<(), PolicyRefusal> {
    levels.retain(|(_, _, policy)| !policy.is_empty());
    if levels.is_empty() {
        return Ok(());
    }
    let mut first = None;
    candidates.retain(|candidate| {
        let refusal = levels.iter().find_map(|(level, id, policy)| {
            let (rule, detail) = policy.refusal(&candidate.model.id, &candidate.endpoint)?;
            Some(PolicyRefusal {
                level: *level,
                id: (*id).to_owned(),
                rule,
                detail,
            })
        });
        match refusal {
            Some(refusal) => {
                // The refusal of the widest level is named: what the narrower ones allowed.
                if first
                    .as_ref()
                    .is_none_or(|shown: &PolicyRefusal| width(refusal.level) > width(shown.level))
                {
                    first = Some(refusal);
                }
                false
            }
            None => true,
        }
    });
    match first {
        Some(refusal) if candidates.is_empty() => Err(refusal),
        _ => Ok(()),
    }
}

/// How wide a level is: the key is the narrowest.
fn width(level: Level) -> u8 {
    match level {
        Level::EndUser | Level::Key => 0,
        Level::Team => 1,
        Level::Account => 2,
    }
}

/// Whether `text` matches `pattern`, whose `*` stands for any run of characters.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_with_stars_only() {
        assert!(glob_matches("anthropic/*", "anthropic/claude-sonnet-4"));
        assert!(!glob_matches("anthropic/*", "openai/gpt-5"));
        assert!(glob_matches("openai/gpt-5", "openai/gpt-5"));
        assert!(!glob_matches("openai/gpt-5", "openai/gpt-5-mini"));
        assert!(glob_matches("openai/gpt-5*", "openai/gpt-5-mini"));
        assert!(glob_matches("*mini", "openai/gpt-5-mini"));
        assert!(glob_matches("*/gpt-*-mini", "openai/gpt-5-mini"));
        assert!(!glob_matches("*/gpt-*-nano", "openai/gpt-5-mini"));
        assert!(glob_matches("*", "anything"));
        assert!(!glob_matches("a*a", "a"));
    }

    #[test]
    fn a_policy_round_trips_through_its_stored_text() {
        let policy: Policy = serde_json::from_value(json!({
            "allowed_models": ["anthropic/*"],
            "denied_providers": ["groq"],
            "max_price": { "prompt": 3 },
            "data_policy": { "zdr": true, "data_collection": "deny" },
        }))
        .unwrap();
        let stored = policy.stored().unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&stored).unwrap(), policy);
        assert_eq!(Policy::default().stored(), None);
    }
}
