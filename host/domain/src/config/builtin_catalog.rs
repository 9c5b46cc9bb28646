//! The built-in catalog shipped in the binary (`host/domain/catalog/`): providers, models and the alias
//! table, and how a configuration is merged over them.
//!
//! Merge rules: a `[providers.<name>]` in the configuration replaces the built-in provider of that
//! name; a `[[models]]` entry replaces the built-in model with the same id or adds a model;
//! `[catalog.providers.<name>]` changes only the keys it gives; `catalog.builtin = false` keeps
//! only what the configuration defines.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::config::{
    Config, ConfigError, DataPolicy, ModelConfig, ProviderConfig, ProviderOverride,
};

/// The built-in providers (TOML).
pub const PROVIDERS: &str = include_str!("../../catalog/providers.toml");

/// The built-in providers' published data policies, with their sources.
pub const DATA_POLICIES: &str = include_str!("../../catalog/data_policies.toml");
/// The built-in models (JSON), the output of `switchyard catalog import`.
pub const MODELS: &str = include_str!("../../catalog/models.json");
/// The alias table and import rules (TOML) used by the importer.
pub const ALIASES: &str = include_str!("../../catalog/aliases.toml");

/// Where a catalog's models and prices come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSource {
    /// What was imported, e.g. `LiteLLM model_prices_and_context_window.json`.
    pub name: String,
    /// Where it is published.
    pub url: String,
    /// Its licence.
    pub license: String,
    /// Its version, e.g. `litellm 1.110.2`.
    pub version: String,
    /// The import date, `YYYY-MM-DD`.
    pub imported: String,
}

/// A models file: its source and the models.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsFile {
    /// Where the models and prices come from.
    pub source: CatalogSource,
    /// The models, sorted by id.
    pub models: Vec<ModelConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersFile {
    providers: BTreeMap<String, ProviderConfig>,
}

/// The built-in providers by name.
pub fn providers() -> Result<BTreeMap<String, ProviderConfig>, ConfigError> {
    let mut file: ProvidersFile = toml::from_str(PROVIDERS)
        .map_err(|error| ConfigError::Invalid(format!("built-in providers: {error}")))?;
    let policies: BTreeMap<String, DataPolicy> = toml::from_str(DATA_POLICIES)
        .map_err(|error| ConfigError::Invalid(format!("built-in data policies: {error}")))?;
    for (name, policy) in policies {
        let provider = file.providers.get_mut(&name).ok_or_else(|| {
            ConfigError::Invalid(format!("built-in data policies: no provider {name}"))
        })?;
        provider.data_policy.get_or_insert(policy);
    }
    Ok(file.providers)
}

/// The built-in models and their source.
pub fn models() -> Result<ModelsFile, ConfigError> {
    serde_json::from_str(MODELS)
        .map_err(|error| ConfigError::Invalid(format!("built-in models: {error}")))
}

/// Merges `config` over the built-in catalog (unless `catalog.builtin` is off), then applies the
/// `[catalog.providers]` overrides.
pub fn merge(config: &mut Config) -> Result<(), ConfigError> {
    if config.catalog.builtin {
        let mut providers = providers()?;
        providers.append(&mut config.providers);
        config.providers = providers;
        let own: HashSet<&str> = config.models.iter().map(|m| m.id.as_str()).collect();
        let mut models: Vec<ModelConfig> = models()?
            .models
            .into_iter()
            .filter(|model| !own.contains(model.id.as_str()))
            .collect();
        models.append(&mut config.models);
        config.models = models;
    }
    for (name, change) in &config.catalog.providers {
        let provider = config.providers.get_mut(name).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "catalog.providers.{name}: no provider of that name"
            ))
        })?;
        apply(change, provider);
    }
    Ok(())
}

fn apply(change: &ProviderOverride, provider: &mut ProviderConfig) {
    if let Some(enabled) = change.enabled {
        provider.enabled = enabled;
    }
    if let Some(base_url) = &change.base_url {
        provider.base_url = Some(base_url.clone());
        // An explicit URL wins over the environment.
        provider.base_url_env = None;
    }
    if let Some(variable) = &change.api_key_env {
        provider.api_key_env = Some(variable.clone());
    }
    if let Some(hosts) = &change.allowed_hosts {
        provider.allowed_hosts = Some(hosts.clone());
    }
    for (key, value) in &change.options {
        provider.options.insert(key.clone(), value.clone());
    }
    if let Some(timeouts) = change.timeouts {
        provider.timeouts = timeouts;
    }
    if let Some(data_collection) = change.data_collection {
        provider.data_collection = Some(data_collection);
    }
    if let Some(policy) = &change.data_policy {
        provider.data_policy = Some(policy.clone());
    }
    if let Some(zdr) = change.zdr {
        provider.zdr = zdr;
    }
    if let Some(credentials) = &change.credentials {
        provider.credentials = credentials.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text).expect("config")
    }

    #[test]
    fn the_builtin_catalog_is_merged_under_an_empty_config() {
        let config = parse("");
        assert!(config.providers.contains_key("groq"));
        assert!(config.models.len() > 300, "{}", config.models.len());
    }

    #[test]
    fn builtin_providers_carry_their_published_data_policy_with_its_source() {
        let config = parse("[catalog.providers.anthropic]\ndata_collection = \"allow\"\n");
        let policy = |name: &str| config.providers[name].data_policy.clone();
        let openai = policy("openai").expect("openai's policy");
        assert!(!openai.training && openai.zdr_available);
        assert!(openai.source.is_some_and(|s| s.starts_with("https://")));
        assert_eq!(
            DataPolicy::data_collection(policy("openai").as_ref()),
            crate::config::DataCollection::Deny
        );
        assert!(policy("deepseek").is_some_and(|p| p.training));
        assert!(policy("openrouter").is_none(), "no policy on record");
        // The operator's word wins; "ZDR can be arranged" makes nothing ZDR.
        let anthropic = &config.providers["anthropic"];
        assert_eq!(
            anthropic.data_collection,
            Some(crate::config::DataCollection::Allow)
        );
        assert!(!anthropic.zdr);
    }

    #[test]
    fn a_configured_provider_replaces_the_builtin_one() {
        let config =
            parse("[providers.groq]\nplugin = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n");
        let groq = &config.providers["groq"];
        assert_eq!(groq.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert_eq!(groq.api_key_env, None);
    }

    #[test]
    fn an_override_changes_only_its_keys() {
        let config = parse(
            "[catalog.providers.groq]\nbase_url = \"http://127.0.0.1:9/v1\"\noptions = { include_usage = \"false\" }\n\n[catalog.providers.openai]\nenabled = false\n",
        );
        let groq = &config.providers["groq"];
        assert_eq!(groq.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
        assert_eq!(groq.api_key_env.as_deref(), Some("GROQ_API_KEY"));
        assert_eq!(groq.options["include_usage"], "false");
        assert!(!config.providers["openai"].enabled);
        assert!(config.providers["anthropic"].enabled);
    }

    #[test]
    fn an_override_may_give_a_builtin_provider_a_credential_pool() {
        let config = parse(
            "[[catalog.providers.openai.credentials]]\nname = \"a\"\napi_key_env = \"KEY_A\"\nweight = 2.0\n",
        );
        let pool = &config.providers["openai"].credentials;
        assert_eq!(
            (pool.len(), pool[0].name.as_str(), pool[0].weight),
            (1, "a", 2.0)
        );
    }

    #[test]
    fn an_override_of_an_unknown_provider_is_refused() {
        let error = Config::parse("[catalog.providers.nope]\nenabled = false\n").expect_err("nope");
        assert!(error.to_string().contains("nope"), "{error}");
    }

    #[test]
    fn a_configured_model_replaces_the_builtin_one_and_new_ones_are_added() {
        let config = parse(
            r#"
            [[models]]
            id = "openai/gpt-4o-mini"
            endpoints = [{ provider = "groq", upstream_model = "x", prompt_price = "9", completion_price = "9" }]
            [[models]]
            id = "acme/new"
            endpoints = [{ provider = "openai", upstream_model = "new", prompt_price = "1", completion_price = "2" }]
            "#,
        );
        let mini: Vec<_> = config
            .models
            .iter()
            .filter(|m| m.id == "openai/gpt-4o-mini")
            .collect();
        assert_eq!(mini.len(), 1);
        assert_eq!(mini[0].endpoints[0].provider, "groq");
        assert!(config.models.iter().any(|m| m.id == "acme/new"));
    }

    #[test]
    fn builtin_off_keeps_only_the_configuration() {
        let config = parse("[catalog]\nbuiltin = false\n");
        assert!(config.providers.is_empty());
        assert!(config.models.is_empty());
    }
}
