//! The runtime catalog: models, their endpoints and the providers behind them, resolved from the
//! configuration against the loaded plugins and the environment.
//!
//! Also here: the credentials the host applies for a provider ([`credentials`]: Google tokens,
//! pools, each prepared once as header values), the `switchyard catalog` commands ([`import`],
//! [`commands`], [`aliases`], [`listing`]) and the sharing of endpoint statistics between
//! gateways through Redis ([`stats_sync`]).
//!
//! Layer 5 of the host (see `.ci/layers`): it may depend on the domain, telemetry, health and
//! plugin runtime crates. Credentials (tokens, pools) live here, prepared once; plugins never
//! see them.

pub mod aliases;
pub mod commands;
pub mod credentials;
pub mod import;
pub mod listing;
pub mod parsed_url;
pub mod stats_sync;

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::Url;

use crate::credentials::GoogleTokenSource;
use crate::credentials::pool::CredentialPool;
use crate::credentials::prepared::PreparedCredential;
use crate::parsed_url::ParsedUrlCache;
use switchyard_domain::config::{
    Config, ConfigError, DataCollection, DataPolicy, ModelConfig, ProviderConfig, TimeoutsConfig,
};
use switchyard_domain::plugin_types::EndpointSettings;
use switchyard_domain::pricing::Prices;
use switchyard_domain::sigv4::AwsCredentials;
use switchyard_health::stats::EndpointStats;
use switchyard_plugin_runtime::egress::Egress;
use switchyard_plugin_runtime::{PluginRegistry, ProviderPlugin};
use switchyard_telemetry::metrics::labels::{CatalogLabels, EndpointLabels};

/// A configured upstream provider.
pub struct Provider {
    /// Name from the configuration.
    pub name: String,
    /// Base URL of its API (from the configuration or its `base_url_env` variable).
    pub base_url: String,
    /// Name of its adapter plugin; the version is looked up per request (plugins hot-swap).
    pub plugin: String,
    /// The credential, when it needs one. Never passed to the plugin.
    pub credential: Option<String>,
    /// Where its requests may go and where its credential travels (the operator's decision).
    pub egress: Egress,
    /// Upstream timeouts.
    pub timeouts: TimeoutsConfig,
    /// Whether the provider may store or train on prompts.
    pub data_collection: DataCollection,
    /// The provider retains nothing.
    pub zdr: bool,
    /// Its published data policy, when known.
    pub data_policy: Option<DataPolicy>,
    /// AWS credentials for requests the host signs (SigV4). Never passed to the plugin.
    pub aws_credentials: Option<AwsCredentials>,
    /// The credential as header values, built once here rather than per request.
    pub prepared_credential: PreparedCredential,
    /// The source of the Google access tokens the host mints for it. Never passed to the plugin.
    pub google_credentials: Option<Arc<GoogleTokenSource>>,
    /// Its pool of credentials, when it lists several. Never passed to the plugin.
    pub credential_pool: Option<CredentialPool>,
    /// The Responses API built-in tools the operator opted it into.
    pub builtin_tools: Vec<switchyard_sdk::responses::BuiltinTool>,
    /// The last URL its adapter built, parsed.
    pub parsed_url: ParsedUrlCache,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("plugin", &self.plugin)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .field("egress", &self.egress)
            .field("aws_credentials", &self.aws_credentials)
            .field("google_credentials", &self.google_credentials)
            .field("credential_pool", &self.credential_pool)
            .finish()
    }
}

impl Provider {
    /// True when `url`, built by `plugin`, may be sent to (see [`egress`]).
    pub fn allows(&self, url: &Url, plugin: &ProviderPlugin) -> bool {
        self.egress.allows(url, &plugin.descriptor().allowed_hosts)
    }
}

/// One provider endpoint serving a model.
#[derive(Debug)]
pub struct Endpoint {
    /// The provider.
    pub provider: Arc<Provider>,
    /// What the adapter gets to build requests.
    pub settings: EndpointSettings,
    /// Prices.
    pub prices: Prices,
    /// Longest completion the endpoint produces, in tokens.
    pub max_output_tokens: Option<u64>,
    /// Weight precision, e.g. `fp8`, when known.
    pub quantization: Option<String>,
    /// The operator's relative share of traffic, for weight-based policies.
    pub weight: f64,
    /// Live statistics.
    pub stats: EndpointStats,
    /// Its metric labels (model and provider), built once here.
    pub labels: EndpointLabels,
}

/// A model clients can ask for.
#[derive(Debug)]
pub struct Model {
    /// The model as the catalog and configuration define it, disabled endpoints included.
    pub definition: ModelConfig,
    /// Canonical id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Context window.
    pub context_length: Option<u64>,
    /// Name of its routing policy plugin; looked up per request (plugins hot-swap).
    pub policy: String,
    /// Enabled endpoints (their provider has its credential).
    pub endpoints: Vec<Arc<Endpoint>>,
    /// Why configured endpoints are disabled, for error messages.
    pub disabled: Vec<String>,
}

/// Every configured model by id.
#[derive(Debug, Default)]
pub struct Catalog {
    models: BTreeMap<String, Arc<Model>>,
    aliases: aliases::Aliases,
    labels: Arc<CatalogLabels>,
}

impl Catalog {
    /// Resolves the configuration against the loaded plugins and the environment.
    pub fn build(config: &Config, plugins: &PluginRegistry) -> Result<Catalog, ConfigError> {
        let sort = &config.routing.sort;
        for policy in [&sort.price, &sort.throughput, &sort.latency] {
            plugins.router(policy).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "routing.sort: no routing policy plugin named {policy:?} is loaded"
                ))
            })?;
        }
        let mut providers = BTreeMap::new();
        let mut disabled_providers = BTreeMap::new();
        for (name, provider) in &config.providers {
            match resolve_provider(name, provider, plugins)? {
                Ok(provider) => {
                    providers.insert(name.clone(), Arc::new(provider));
                }
                Err(reason) => {
                    // Most built-in providers are off for want of a key: not worth a warning.
                    tracing::debug!(provider = %name, %reason, "provider disabled");
                    disabled_providers.insert(name.clone(), reason);
                }
            }
        }
        let mut models = BTreeMap::new();
        for model in &config.models {
            let resolved = resolve_model(model, config, plugins, &providers, &disabled_providers)?;
            models.insert(model.id.clone(), Arc::new(resolved));
        }
        let aliases = aliases::Aliases::build(&config.aliases, &models);
        let labels = CatalogLabels::new(models.values().map(|model| {
            let endpoints = model.endpoints.iter();
            (
                model.id.as_str(),
                endpoints.map(|e| e.labels.clone()).collect(),
            )
        }));
        let catalog = Catalog {
            models,
            aliases,
            labels: Arc::new(labels),
        };
        let enabled: Vec<&str> = providers.keys().map(String::as_str).collect();
        tracing::info!(
            models = catalog.models.len(),
            usable = catalog.usable_models().count(),
            providers = %enabled.join(","),
            disabled_providers = disabled_providers.len(),
            "catalog resolved"
        );
        Ok(catalog)
    }

    /// The model with this id.
    pub fn model(&self, id: &str) -> Option<&Arc<Model>> {
        self.models.get(id)
    }

    /// Every endpoint's metric labels, built with the catalog.
    pub fn labels(&self) -> &Arc<CatalogLabels> {
        &self.labels
    }

    /// The model with this id or alias (see [`aliases`]).
    pub fn resolve(&self, id: &str) -> Option<&Arc<Model>> {
        self.models.get(id).or_else(|| {
            let canonical = self.aliases.resolve(id)?;
            self.models.get(canonical)
        })
    }

    /// Every model, usable or not, by id.
    pub fn models(&self) -> impl Iterator<Item = &Arc<Model>> {
        self.models.values()
    }

    /// The enabled provider of this name (one serving a model).
    pub fn provider(&self, name: &str) -> Option<&Arc<Provider>> {
        self.models
            .values()
            .flat_map(|model| &model.endpoints)
            .map(|endpoint| &endpoint.provider)
            .find(|provider| provider.name == name)
    }

    /// Models with at least one enabled endpoint.
    pub fn usable_models(&self) -> impl Iterator<Item = &Arc<Model>> {
        self.models
            .values()
            .filter(|model| !model.endpoints.is_empty())
    }
}

/// The provider, or why it is disabled; a configuration error if its plugin does not exist.
fn resolve_provider(
    name: &str,
    config: &ProviderConfig,
    plugins: &PluginRegistry,
) -> Result<Result<Provider, String>, ConfigError> {
    let adapter = plugins.provider(&config.plugin).ok_or_else(|| {
        ConfigError::Invalid(format!(
            "provider {name}: no provider adapter plugin named {:?} is loaded",
            config.plugin
        ))
    })?;
    let passes_builtin = (adapter.descriptor().supported_parameters.iter())
        .any(|parameter| parameter == switchyard_sdk::responses::BUILTIN_TOOLS);
    if !config.builtin_tools.is_empty() && !passes_builtin {
        return Err(ConfigError::Invalid(format!(
            "provider {name}: builtin_tools needs an adapter that speaks the Responses API \
             upstream (openai-responses); {:?} does not pass built-in tools",
            config.plugin
        )));
    }
    if !config.enabled {
        return Ok(Err("disabled in the configuration".to_owned()));
    }
    let from_env = (config.base_url_env.as_ref())
        .and_then(|variable| std::env::var(variable).ok())
        .filter(|value| !value.is_empty());
    let Some(base_url) = from_env.or_else(|| config.base_url.clone()) else {
        let variable = config.base_url_env.as_deref().unwrap_or_default();
        return Ok(Err(format!(
            "no base URL: environment variable {variable} is not set"
        )));
    };
    let Ok(url) = Url::parse(&base_url) else {
        tracing::warn!(provider = %name, %base_url, "provider disabled: its base URL is not a URL");
        return Ok(Err(format!("base URL {base_url:?} is not a URL")));
    };
    let credential_pool = CredentialPool::new(&config.credentials, config.credential_breaker)
        .map_err(|error| ConfigError::Invalid(format!("provider {name}: credentials: {error}")))?;
    let credential = match &config.api_key_env {
        // A pool replaces the single key.
        _ if !config.credentials.is_empty() => {
            if credential_pool.is_none() {
                return Ok(Err("no variable of its credential pool is set".to_owned()));
            }
            None
        }
        None => None,
        Some(variable) => match std::env::var(variable) {
            Ok(value) if !value.is_empty() => Some(value),
            _ => return Ok(Err(format!("environment variable {variable} is not set"))),
        },
    };
    let google_credentials = match &config.google_credentials {
        None => None,
        Some(_) if config.api_key_env.is_some() => {
            return Err(ConfigError::Invalid(format!(
                "provider {name}: google_credentials and api_key_env are exclusive"
            )));
        }
        Some(google) => Some(Arc::new(GoogleTokenSource::new(google).map_err(
            |error| ConfigError::Invalid(format!("provider {name}: google_credentials: {error}")),
        )?)),
    };
    let aws_credentials = match resolve_aws_credentials(config) {
        Ok(credentials) => credentials,
        Err(reason) => return Ok(Err(reason)),
    };
    Ok(Ok(Provider {
        name: name.to_owned(),
        base_url: base_url.clone(),
        plugin: config.plugin.clone(),
        prepared_credential: PreparedCredential::of(credential.as_deref()),
        credential,
        egress: Egress::new(
            &url,
            config.allowed_hosts.as_deref(),
            config.credential.as_ref(),
        ),
        timeouts: config.timeouts,
        data_collection: config
            .data_collection
            .unwrap_or_else(|| DataPolicy::data_collection(config.data_policy.as_ref())),
        data_policy: config.data_policy.clone(),
        zdr: config.zdr,
        aws_credentials,
        google_credentials,
        credential_pool,
        builtin_tools: config.builtin_tools.clone(),
        parsed_url: ParsedUrlCache::default(),
    }))
}

/// The provider's AWS credentials from the environment, when it has an `aws_credentials` table;
/// the reason it is disabled when a required variable is unset.
fn resolve_aws_credentials(config: &ProviderConfig) -> Result<Option<AwsCredentials>, String> {
    let Some(names) = &config.aws_credentials else {
        return Ok(None);
    };
    let read = |variable: &str| {
        std::env::var(variable)
            .ok()
            .filter(|value| !value.is_empty())
    };
    let required = |variable: &str| {
        read(variable).ok_or_else(|| format!("environment variable {variable} is not set"))
    };
    Ok(Some(AwsCredentials {
        access_key_id: required(&names.access_key_id_env)?,
        secret_access_key: required(&names.secret_access_key_env)?,
        session_token: names.session_token_env.as_deref().and_then(read),
    }))
}

fn resolve_model(
    model: &ModelConfig,
    config: &Config,
    plugins: &PluginRegistry,
    providers: &BTreeMap<String, Arc<Provider>>,
    disabled_providers: &BTreeMap<String, String>,
) -> Result<Model, ConfigError> {
    let policy_name = model
        .policy
        .as_deref()
        .unwrap_or(&config.routing.default_policy);
    plugins.router(policy_name).ok_or_else(|| {
        ConfigError::Invalid(format!(
            "model {}: no routing policy plugin named {policy_name:?} is loaded",
            model.id
        ))
    })?;
    let mut endpoints = Vec::new();
    let mut disabled = Vec::new();
    for endpoint in &model.endpoints {
        match providers.get(&endpoint.provider) {
            Some(provider) => {
                let provider_config = config.providers.get(&endpoint.provider);
                endpoints.push(Arc::new(Endpoint {
                    provider: provider.clone(),
                    settings: EndpointSettings {
                        base_url: provider.base_url.clone(),
                        upstream_model: endpoint.upstream_model.clone(),
                        options: provider_config
                            .map(|p| {
                                p.options
                                    .iter()
                                    .map(|(k, v)| (k.clone(), v.clone()))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    },
                    prices: Prices::from_config(endpoint),
                    max_output_tokens: endpoint.max_output_tokens,
                    quantization: endpoint.quantization.clone(),
                    weight: endpoint.weight,
                    stats: EndpointStats::new(config.routing.circuit_breaker),
                    labels: EndpointLabels::new(&model.id, &provider.name),
                }));
            }
            None => {
                let reason = disabled_providers
                    .get(&endpoint.provider)
                    .cloned()
                    .unwrap_or_default();
                disabled.push(format!("{}: {reason}", endpoint.provider));
            }
        }
    }
    Ok(Model {
        definition: model.clone(),
        id: model.id.clone(),
        name: model.name.clone().unwrap_or_else(|| model.id.clone()),
        context_length: model.context_length,
        policy: policy_name.to_owned(),
        endpoints,
        disabled,
    })
}
