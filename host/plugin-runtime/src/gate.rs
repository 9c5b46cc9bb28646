//! Replay gates: a provider may name a folder of recorded upstream answers
//! (`[providers.x] replay_gate = "fixtures/x"`). A new version of its adapter, installed through
//! the admin API or the plugins folder, must pass the conformance kit on those recordings, for
//! the provider's own endpoint settings, before it takes any traffic, canary included: every
//! recording is replayed (the usage it reports must cover what the recording bills), and the
//! client request it answers is built ([`conformance::build_requests`]). The endpoint is one of
//! the provider's real ones, so an adapter cannot tell the gate from traffic.
//! A transform may name a folder of conformance cases the same way (`[transforms.gates]`).

use std::path::PathBuf;

use crate::TransformPlugin;
use crate::conformance;
use crate::loaded::Plugin;
use switchyard_domain::config::Config;
use switchyard_domain::plugin_types::EndpointSettings;

/// One provider's gate.
#[derive(Debug, Clone)]
pub struct ReplayGate {
    /// The provider that set it.
    pub provider: String,
    /// The adapter plugin it guards.
    pub plugin: String,
    /// The folder of recordings.
    pub fixtures: PathBuf,
    /// The endpoint the recordings are replayed for: the provider's base URL and options.
    pub endpoint: EndpointSettings,
    /// The model id a client asks for in the requests the adapter builds: the first model the
    /// provider serves.
    pub model: String,
}

/// A gate's verdict against an adapter version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFailure {
    /// The provider whose gate refused.
    pub provider: String,
    /// Its fixtures folder.
    pub fixtures: PathBuf,
    /// The failing cases, `fixture: check: why`.
    pub failures: Vec<String>,
}

/// The gates of every provider of `config` that sets `replay_gate`.
pub fn from_config(config: &Config) -> Vec<ReplayGate> {
    config
        .providers
        .iter()
        .filter_map(|(name, provider)| {
            let fixtures = provider.replay_gate.clone()?;
            // The recordings are replayed for one of the provider's real endpoints, so that an
            // adapter cannot tell the gate from traffic: its base URL as the catalog resolves it
            // (`base_url_env` first), the upstream model and the catalog id of its first model.
            let base_url = (provider.base_url_env.as_ref())
                .and_then(|variable| std::env::var(variable).ok())
                .filter(|value| !value.is_empty())
                .or_else(|| provider.base_url.clone())
                .unwrap_or_else(|| conformance::default_endpoint().base_url);
            let served = config.models.iter().find_map(|model| {
                let endpoint = model.endpoints.iter().find(|e| e.provider == *name)?;
                Some((model.id.clone(), endpoint.upstream_model.clone()))
            });
            let (model, upstream_model) = served.unwrap_or_else(|| {
                let upstream = conformance::default_endpoint().upstream_model;
                (upstream.clone(), upstream)
            });
            Some(ReplayGate {
                provider: name.clone(),
                plugin: provider.plugin.clone(),
                fixtures,
                endpoint: EndpointSettings {
                    base_url,
                    upstream_model,
                    options: provider
                        .options
                        .iter()
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect(),
                },
                model,
            })
        })
        .chain(
            config
                .transforms
                .gates
                .iter()
                .map(|(name, fixtures)| ReplayGate {
                    provider: "transforms.gates".to_owned(),
                    plugin: name.clone(),
                    fixtures: fixtures.clone(),
                    endpoint: conformance::default_endpoint(),
                    // Transform cases carry their own requests.
                    model: String::new(),
                }),
        )
        .collect()
}

/// Runs every gate guarding `plugin` (a provider adapter, or a transform); the first refusal, if
/// any.
pub async fn check(gates: &[ReplayGate], plugin: &Plugin) -> Result<(), GateFailure> {
    let adapter = match plugin {
        Plugin::Provider(adapter) => adapter,
        Plugin::Transform(transform) => return check_transform(gates, transform).await,
        Plugin::Router(_) => return Ok(()),
    };
    for gate in gates.iter().filter(|gate| gate.plugin == adapter.name()) {
        let refuse = |failures| GateFailure {
            provider: gate.provider.clone(),
            fixtures: gate.fixtures.clone(),
            failures,
        };
        let folders = std::slice::from_ref(&gate.fixtures);
        let mut report = conformance::run(adapter, folders, &gate.endpoint)
            .await
            .map_err(|error| refuse(vec![error.to_string()]))?;
        let built = conformance::build_requests(adapter, folders, &gate.endpoint, &gate.model)
            .await
            .map_err(|error| refuse(vec![error.to_string()]))?;
        report.fixtures.extend(built.fixtures);
        if !report.passed() {
            let mut failures = report.failures();
            if failures.is_empty() {
                failures.push("the folder holds no recording".to_owned());
            }
            return Err(refuse(failures));
        }
    }
    Ok(())
}

/// Runs the `[transforms.gates]` case folder guarding `transform`, if any.
async fn check_transform(
    gates: &[ReplayGate],
    transform: &TransformPlugin,
) -> Result<(), GateFailure> {
    for gate in gates.iter().filter(|gate| gate.plugin == transform.name()) {
        let refuse = |failures| GateFailure {
            provider: gate.provider.clone(),
            fixtures: gate.fixtures.clone(),
            failures,
        };
        let report = conformance::cases::run(transform, std::slice::from_ref(&gate.fixtures))
            .await
            .map_err(|error| refuse(vec![error.to_string()]))?;
        if !report.passed() {
            let mut failures = report.failures();
            if failures.is_empty() {
                failures.push("the folder holds no case".to_owned());
            }
            return Err(refuse(failures));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_replays_for_the_endpoint_traffic_sees() {
        // `base_url_env` wins over `base_url`, as in the catalog; PATH is set in any test run.
        let config = Config::parse(
            "[providers.oa]\nplugin = \"openai\"\nbase_url = \"https://api.example.com/v1\"\n\
             base_url_env = \"PATH\"\nreplay_gate = \"fixtures/oa\"\noptions = { path = \"chat\" }\n\n\
             [[models]]\nid = \"acme/chat\"\nendpoints = [{ provider = \"oa\", upstream_model = \"chat-1\" }]\n",
        )
        .unwrap();
        let gates = from_config(&config);
        let gate = &gates[0];
        assert_eq!(gate.endpoint.base_url, std::env::var("PATH").unwrap());
        assert_eq!(gate.endpoint.upstream_model, "chat-1");
        assert_eq!(gate.model, "acme/chat");
        assert_eq!(
            gate.endpoint.options,
            vec![("path".to_owned(), "chat".to_owned())]
        );
    }
}
