//! Attribute sets bound at load: each catalog endpoint's and each plugin version's labels are
//! built once, when the catalog or the version loads, from `Arc<str>` values. Recording a
//! measurement then clones a few `Arc`s and formats nothing.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::KeyValue;

/// The labels of one catalog endpoint: its model and its provider.
#[derive(Debug, Clone)]
pub struct EndpointLabels {
    /// The provider's name, for lookups.
    provider_name: Arc<str>,
    /// `gen_ai.request.model`: the model's catalog id.
    pub request_model: KeyValue,
    /// `gen_ai.response.model`: the same id, as the model that served.
    pub response_model: KeyValue,
    /// `gen_ai.provider.name`.
    pub provider: KeyValue,
}

impl EndpointLabels {
    /// The labels of `provider`'s endpoint for the model `model` (its catalog id).
    pub fn new(model: &str, provider: &str) -> EndpointLabels {
        let model: Arc<str> = Arc::from(model);
        let provider_name: Arc<str> = Arc::from(provider);
        EndpointLabels {
            request_model: KeyValue::new("gen_ai.request.model", model.clone()),
            response_model: KeyValue::new("gen_ai.response.model", model),
            provider: KeyValue::new("gen_ai.provider.name", provider_name.clone()),
            provider_name,
        }
    }
}

/// Every endpoint's labels by model id and provider name, built with the catalog (and so
/// again on each reload): what a served generation, known by its model and provider names,
/// is recorded with.
#[derive(Debug, Default)]
pub struct CatalogLabels {
    models: HashMap<String, ModelLabels>,
}

/// One model's labels: as the model a client asked for, and per endpoint.
#[derive(Debug)]
struct ModelLabels {
    request_model: KeyValue,
    endpoints: Vec<EndpointLabels>,
}

impl CatalogLabels {
    /// The table of `models`: each model's id and its endpoints' labels.
    pub fn new<'a>(
        models: impl IntoIterator<Item = (&'a str, Vec<EndpointLabels>)>,
    ) -> CatalogLabels {
        let models = (models.into_iter())
            .map(|(id, endpoints)| {
                let request_model = KeyValue::new("gen_ai.request.model", Arc::<str>::from(id));
                let labels = ModelLabels {
                    request_model,
                    endpoints,
                };
                (id.to_owned(), labels)
            })
            .collect();
        CatalogLabels { models }
    }

    /// `gen_ai.request.model` for the model with catalog id `id`, if the catalog has it.
    pub fn request_model(&self, id: &str) -> Option<KeyValue> {
        Some(self.models.get(id)?.request_model.clone())
    }

    /// The labels of `provider`'s endpoint for model `model`, if the catalog has it.
    pub fn endpoint(&self, model: &str, provider: &str) -> Option<&EndpointLabels> {
        (self.models.get(model)?.endpoints.iter())
            .find(|endpoint| &*endpoint.provider_name == provider)
    }
}

/// The labels of one plugin version: its name and version.
#[derive(Debug, Clone)]
pub struct PluginLabels {
    name: Arc<str>,
    version: Arc<str>,
    /// `switchyard.plugin.name`.
    pub name_label: KeyValue,
    /// `switchyard.plugin.version`.
    pub version_label: KeyValue,
}

impl PluginLabels {
    /// The labels of version `version` of plugin `name`.
    pub fn new(name: &str, version: &str) -> PluginLabels {
        let name: Arc<str> = Arc::from(name);
        let version: Arc<str> = Arc::from(version);
        PluginLabels {
            name_label: KeyValue::new("switchyard.plugin.name", name.clone()),
            version_label: KeyValue::new("switchyard.plugin.version", version.clone()),
            name,
            version,
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's version.
    pub fn version(&self) -> &str {
        &self.version
    }
}
