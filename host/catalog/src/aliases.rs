//! Runtime model aliases: the ids clients really send (vendor ids such as
//! `claude-sonnet-4-5-20250929`, `claude-3-5-haiku-latest` or `claude-opus-4-1`, provider model
//! ids, OpenRouter ids) resolved to a canonical catalog id, on every API.
//!
//! An id resolves, in order, through: the configuration's `[aliases]`; the built-in alias table
//! (`host/domain/catalog/aliases.toml`, `<provider>/<provider model id>` keys, with or without the
//! provider); every endpoint's upstream model id (with or without its provider); and each
//! model's id without its author. The last three are also tried with the id normalised the way
//! vendors spell versions: a `-latest` or `-YYYYMMDD` date suffix dropped and `4-5` read as `4.5`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::Model;
use super::import::ImportRules;
use switchyard_domain::config::builtin_catalog::ALIASES;

/// Alias → canonical model id, keys lowercase.
#[derive(Debug, Default)]
pub struct Aliases {
    /// From the configuration: exact (lowercased) matches only.
    configured: HashMap<String, String>,
    /// Derived from the catalog: matched exactly or normalised.
    derived: HashMap<String, String>,
}

impl Aliases {
    /// The aliases of `models`, with the configuration's `configured` ones on top.
    pub fn build(
        configured: &BTreeMap<String, String>,
        models: &BTreeMap<String, Arc<Model>>,
    ) -> Aliases {
        let mut derived = HashMap::new();
        let mut add = |alias: &str, id: &str| {
            derived
                .entry(alias.to_ascii_lowercase())
                .or_insert_with(|| id.to_owned());
        };
        // The built-in table first: it was checked by hand.
        if let Ok(rules) = ImportRules::parse(ALIASES) {
            for (alias, id) in rules
                .aliases
                .iter()
                .filter(|(_, id)| models.contains_key(*id))
            {
                add(alias, id);
                if let Some((_, bare)) = alias.split_once('/') {
                    add(bare, id);
                }
            }
        }
        for model in models.values() {
            for endpoint in &model.definition.endpoints {
                add(&endpoint.upstream_model, &model.id);
                add(
                    &format!("{}/{}", endpoint.provider, endpoint.upstream_model),
                    &model.id,
                );
            }
            if let Some((_, slug)) = model.id.split_once('/') {
                add(slug, &model.id);
            }
        }
        Aliases {
            configured: configured
                .iter()
                .map(|(alias, id)| (alias.to_ascii_lowercase(), id.clone()))
                .collect(),
            derived,
        }
    }

    /// The canonical id `id` stands for, if it is an alias.
    pub fn resolve(&self, id: &str) -> Option<&str> {
        let lower = id.to_ascii_lowercase();
        self.configured
            .get(&lower)
            .or_else(|| self.derived.get(&lower))
            .or_else(|| self.derived.get(&normalise(&lower)))
            .map(String::as_str)
    }
}

/// A vendor id in catalog spelling: without a `-latest` or 8-digit date suffix, and with
/// version numbers split by dashes joined by a dot (`claude-3-5-haiku` → `claude-3.5-haiku`).
pub fn normalise(id: &str) -> String {
    let mut id = id.strip_suffix("-latest").unwrap_or(id);
    if let Some((head, date)) = id.rsplit_once('-')
        && date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
    {
        id = head;
    }
    let is_version =
        |token: &str| (1..=2).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_digit());
    let mut out = String::with_capacity(id.len());
    let mut previous_was_version = false;
    for (index, token) in id.split('-').enumerate() {
        let version = is_version(token);
        if index > 0 {
            out.push(if version && previous_was_version {
                '.'
            } else {
                '-'
            });
        }
        out.push_str(token);
        // A dotted pair is complete: `4.5-1` stays a dash.
        previous_was_version = version && !(previous_was_version && index > 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_spellings_normalise_to_catalog_ids() {
        assert_eq!(normalise("claude-sonnet-4-5-20250929"), "claude-sonnet-4.5");
        assert_eq!(normalise("claude-3-5-haiku-latest"), "claude-3.5-haiku");
        assert_eq!(normalise("claude-opus-4-1"), "claude-opus-4.1");
        assert_eq!(normalise("claude-opus-4"), "claude-opus-4");
        assert_eq!(normalise("gpt-4o-mini"), "gpt-4o-mini");
        assert_eq!(normalise("llama-3-1-8b"), "llama-3.1-8b");
    }
}
