//! The `switchyard catalog import` and `switchyard models` commands.

use std::path::Path;

use anyhow::Context;

use super::Catalog;
use super::import::{ImportRules, import, today};
use super::listing::{ModelFilter, table};
use switchyard_domain::config::Config;
use switchyard_domain::config::builtin_catalog::{ALIASES, CatalogSource};
use switchyard_plugin_runtime::{PluginEngine, PluginRegistry};

/// What `switchyard catalog import` reads and records.
#[derive(Debug, Clone)]
pub struct ImportRequest<'a> {
    /// LiteLLM's `model_prices_and_context_window.json`.
    pub price_map: &'a Path,
    /// Import rules and aliases; default: the built-in `host/domain/catalog/aliases.toml`.
    pub rules: Option<&'a Path>,
    /// The source's version, e.g. `litellm 1.110.2`.
    pub version: &'a str,
    /// The import date (`YYYY-MM-DD`); default: today (UTC).
    pub date: Option<&'a str>,
}

/// Imports a price map; returns the models file (pretty JSON) and warnings for the terminal.
pub fn import_price_map(request: &ImportRequest<'_>) -> anyhow::Result<(String, Vec<String>)> {
    let price_map = std::fs::read_to_string(request.price_map)
        .with_context(|| format!("reading {}", request.price_map.display()))?;
    let rules = match request.rules {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => ALIASES.to_owned(),
    };
    let rules = ImportRules::parse(&rules)?;
    let source = CatalogSource {
        name: "LiteLLM model_prices_and_context_window.json".to_owned(),
        url: "https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json"
            .to_owned(),
        license: "MIT".to_owned(),
        version: request.version.to_owned(),
        imported: request.date.map_or_else(today, str::to_owned),
    };
    let imported = import(&price_map, &rules, source)?;
    let mut warnings: Vec<String> = (imported.unmatched_aliases.iter())
        .map(|alias| format!("alias {alias} matched no entry"))
        .collect();
    let endpoints: usize = imported.file.models.iter().map(|m| m.endpoints.len()).sum();
    warnings.push(format!(
        "imported {} models, {endpoints} endpoints",
        imported.file.models.len()
    ));
    let mut json = serde_json::to_string_pretty(&imported.file)?;
    json.push('\n');
    Ok((json, warnings))
}

/// The models `config` serves (or knows, with `filter.all`), as a terminal table.
pub async fn list_models(config: &Config, filter: &ModelFilter) -> anyhow::Result<String> {
    let engine = PluginEngine::new(&config.plugins)?;
    let registry = PluginRegistry::load(&engine, config.plugins.dir.as_deref()).await?;
    let catalog = Catalog::build(config, &registry)?;
    Ok(table(filter.select(&catalog)))
}
