//! Model listings: OpenRouter's model object (`GET /api/v1/models`), the filters it takes, and
//! the terminal table of `switchyard models`.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Catalog, Model};
use switchyard_domain::config::EndpointConfig;
use switchyard_domain::pricing::Prices;

/// Which models to list (the query of `GET /api/v1/models`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFilter {
    /// Comma-separated parameters a model must all support, e.g. `tools,response_format`.
    #[serde(default)]
    pub supported_parameters: Option<String>,
    /// Comma-separated output modalities; a model producing any of them is listed. `all` (the
    /// default) lists every modality.
    #[serde(default)]
    pub output_modalities: Option<String>,
    /// List every known model, not only those with an enabled endpoint.
    #[serde(default)]
    pub all: bool,
}

impl ModelFilter {
    /// Whether `model` passes the filter.
    pub fn accepts(&self, model: &Model) -> bool {
        let definition = &model.definition;
        let usable = self.all || !model.endpoints.is_empty();
        let parameters = items(self.supported_parameters.as_deref())
            .all(|wanted| definition.supported_parameters.iter().any(|p| p == wanted));
        let modalities = match self.output_modalities.as_deref() {
            None | Some("all") => true,
            Some(list) => items(Some(list))
                .any(|wanted| definition.output_modalities.iter().any(|m| m == wanted)),
        };
        usable && parameters && modalities
    }

    /// The catalog's models that pass the filter, by id.
    pub fn select<'a>(&'a self, catalog: &'a Catalog) -> impl Iterator<Item = &'a Model> + 'a {
        catalog
            .models()
            .map(|model| model.as_ref())
            .filter(|model| self.accepts(model))
    }
}

fn items(list: Option<&str>) -> impl Iterator<Item = &str> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// The endpoint whose prices a listing shows: the cheapest (prompt + completion) enabled one, or
/// the cheapest of all when none is enabled.
pub fn listed_endpoint(model: &Model) -> Option<&EndpointConfig> {
    let endpoints = &model.definition.endpoints;
    let enabled = |endpoint: &&EndpointConfig| {
        (model.endpoints.iter()).any(|e| {
            e.provider.name == endpoint.provider
                && e.settings.upstream_model == endpoint.upstream_model
        })
    };
    let price = |endpoint: &&EndpointConfig| endpoint.prompt_price + endpoint.completion_price;
    (endpoints.iter().filter(enabled).min_by_key(price))
        .or_else(|| endpoints.iter().min_by_key(price))
}

/// OpenRouter's pricing object: USD per token (per request, per image) as decimal strings.
pub fn pricing_json(endpoint: &EndpointConfig) -> Value {
    switchyard_domain::pricing::pricing_json(&Prices::from_config(endpoint))
}

/// One model in OpenRouter's shape (`GET /api/v1/models`), plus `providers`: the enabled ones.
pub fn openrouter_json(model: &Model) -> Value {
    let definition = &model.definition;
    let listed = listed_endpoint(model);
    let modality = format!(
        "{}->{}",
        definition.input_modalities.join("+"),
        definition.output_modalities.join("+")
    );
    json!({
        "id": model.id,
        "canonical_slug": model.id,
        "name": model.name,
        "created": 0,
        "description": definition.description.clone().unwrap_or_default(),
        "context_length": model.context_length,
        "architecture": {
            "modality": modality,
            "input_modalities": definition.input_modalities,
            "output_modalities": definition.output_modalities,
            "tokenizer": "Other",
            "instruct_type": null,
        },
        "pricing": listed.map(pricing_json),
        "top_provider": {
            "context_length": model.context_length,
            "max_completion_tokens": listed.and_then(|endpoint| endpoint.max_output_tokens),
            "is_moderated": false,
        },
        "per_request_limits": null,
        "supported_parameters": definition.supported_parameters,
        "providers": providers(model),
    })
}

/// Names of the providers with an enabled endpoint for `model`.
pub fn providers(model: &Model) -> Vec<&str> {
    (model.endpoints.iter())
        .map(|endpoint| endpoint.provider.name.as_str())
        .collect()
}

/// The models as a terminal table: id, context, prices in USD per million tokens, providers.
pub fn table<'a>(models: impl Iterator<Item = &'a Model>) -> String {
    let mut rows = vec![[
        "id".to_owned(),
        "context".to_owned(),
        "prompt $/M".to_owned(),
        "completion $/M".to_owned(),
        "providers".to_owned(),
    ]];
    for model in models {
        let listed = listed_endpoint(model);
        let price = |pick: fn(&EndpointConfig) -> Decimal| {
            listed
                .map(|e| pick(e).normalize().to_string())
                .unwrap_or_default()
        };
        let providers = providers(model);
        rows.push([
            model.id.clone(),
            model
                .context_length
                .map(|c| c.to_string())
                .unwrap_or_default(),
            price(|e| e.prompt_price),
            price(|e| e.completion_price),
            if providers.is_empty() {
                "(none enabled)".to_owned()
            } else {
                providers.join(",")
            },
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in &rows {
        let cells: Vec<String> = (row.iter().zip(&widths))
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}
