//! The set of loaded plugins, swappable at runtime without dropping a request.
//!
//! The set lives in an [`ArcSwap`]: a request takes the `Arc` of the plugin version it uses and
//! holds it until its response or stream ends (that is the drain), while an install compiles off
//! the request path, type-checks, self-tests and then swaps the set atomically. Each name keeps
//! its previous version for rollback, and may have a canary version taking a share of traffic,
//! rolled back automatically when its error rate exceeds the stable version's by the configured
//! margin.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::builtin::BUILTIN_PLUGINS;
use super::engine::PluginEngine;
use super::gate::{self, GateFailure, ReplayGate};
use super::loaded::Plugin;
use super::provider::ProviderPlugin;
use super::router::RouterPlugin;
use super::transform::TransformPlugin;
use super::version::VersionState;
use crate::egress::check_declared_hosts;

/// How many registry events are kept for the admin API.
const EVENT_HISTORY: usize = 100;

/// Why a plugin could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The plugins folder could not be read.
    #[error("cannot read plugins folder {path}: {source}")]
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A plugin failed to compile, type-check or self-test.
    #[error("plugin {origin} cannot be loaded: {reason}")]
    Load {
        /// Where the plugin came from.
        origin: String,
        /// What failed.
        reason: String,
    },
    /// Two plugins from the folder share a name.
    #[error("plugins {first} and {second} are both named {name}")]
    DuplicateName {
        /// The shared name.
        name: String,
        /// The first plugin's origin.
        first: String,
        /// The second plugin's origin.
        second: String,
    },
    /// The change names a plugin that is not loaded.
    #[error("no plugin named {0} is loaded")]
    NotFound(String),
    /// The change is not possible in the plugin's current state.
    #[error("{0}")]
    Conflict(String),
    /// A new adapter version failed a provider's replay gate.
    #[error(
        "plugin {plugin} failed the replay gate of provider {} ({}): {} failing checks, first: {}",
        .refusal.provider,
        .refusal.fixtures.display(),
        .refusal.failures.len(),
        .refusal.failures.first().map(String::as_str).unwrap_or("none")
    )]
    ReplayGate {
        /// The plugin name and version, e.g. `openai 9.9.9`.
        plugin: String,
        /// The gate's verdict.
        refusal: GateFailure,
    },
    /// A plugin claims a built-in plugin's name without the operator allowing it.
    #[error(
        "plugin {origin} claims the name of the built-in plugin {name}; replacing it needs \
         `plugins.overrides.{name}.replace_builtin = true`"
    )]
    BuiltinName {
        /// The claimed name.
        name: String,
        /// Where the plugin came from.
        origin: String,
    },
}

impl Slot {
    /// The versions taking traffic: the stable one and the canary.
    fn serving(&self) -> impl Iterator<Item = &Plugin> {
        std::iter::once(&self.stable).chain(self.canary.as_ref().map(|(canary, _)| canary))
    }

    /// Every version kept: the serving ones and the previous one.
    fn versions(&self) -> impl Iterator<Item = &Plugin> {
        self.serving().chain(self.previous.as_ref())
    }
}

/// Everything known under one name.
#[derive(Debug, Clone)]
struct Slot {
    stable: Plugin,
    previous: Option<Plugin>,
    canary: Option<(Plugin, f64)>,
}

/// A snapshot of the loaded plugins.
#[derive(Debug, Clone, Default)]
struct PluginSet {
    slots: BTreeMap<String, Slot>,
}

/// Something that happened to a plugin, for the admin API and the logs.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryEvent {
    /// Unix seconds.
    pub at: u64,
    /// Plugin name.
    pub plugin: String,
    /// `installed`, `replaced`, `canary`, `promoted`, `rolled_back`, `canary_rolled_back`,
    /// `removed`.
    pub action: &'static str,
    /// Details: versions, digests, error rates.
    pub detail: String,
}

/// One version as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// Declared version.
    pub version: String,
    /// Contract version it was built against.
    pub contract: &'static str,
    /// SHA-256 of the component.
    pub digest: String,
    /// Where it came from.
    pub origin: String,
    /// Instances alive now.
    pub in_flight: usize,
    /// Circuit breaker state.
    pub health: &'static str,
    /// Requests in the outcome window.
    pub recent_requests: usize,
    /// Error share over the window.
    pub error_rate: f64,
}

impl VersionInfo {
    fn of(plugin: &Plugin) -> Self {
        let state = plugin.state();
        let (recent_requests, error_rate) = state.error_rate();
        VersionInfo {
            version: plugin.version().to_owned(),
            contract: plugin.contract(),
            digest: state.digest.clone(),
            origin: state.origin.clone(),
            in_flight: state.in_flight(),
            health: state.health(),
            recent_requests,
            error_rate,
        }
    }
}

/// One plugin name as the admin API lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    /// Plugin name.
    pub name: String,
    /// `provider` or `router`.
    pub kind: &'static str,
    /// The version serving traffic.
    pub current: VersionInfo,
    /// The version a rollback returns to.
    pub previous: Option<VersionInfo>,
    /// The canary version and its traffic share.
    pub canary: Option<(VersionInfo, f64)>,
}

/// Every loaded plugin, by name.
pub struct PluginRegistry {
    engine: PluginEngine,
    set: ArcSwap<PluginSet>,
    /// Serialises changes so two installs cannot lose each other's swap.
    changes: Mutex<()>,
    events: Mutex<VecDeque<RegistryEvent>>,
    replay_gates: Mutex<Arc<Vec<ReplayGate>>>,
    /// The built-in plugins' digests by name: another component claiming one of these names
    /// needs the operator's leave.
    builtin_digests: BTreeMap<String, String>,
}

impl std::fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRegistry")
            .field("plugins", &self.set.load().slots.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl PluginRegistry {
    /// Loads the embedded plugins and those in `dir`. A plugin from the folder replaces a
    /// built-in one of the same name; a broken plugin stops the start.
    pub async fn load(
        engine: &PluginEngine,
        dir: Option<&Path>,
    ) -> Result<PluginRegistry, RegistryError> {
        let mut sources: Vec<(String, Vec<u8>, bool)> = BUILTIN_PLUGINS
            .iter()
            .map(|(package, bytes)| (format!("built-in {package}"), bytes.to_vec(), true))
            .collect();
        if let Some(dir) = dir {
            sources.extend(
                read_plugin_dir(dir)?
                    .into_iter()
                    .map(|(origin, bytes)| (origin, bytes, false)),
            );
        }
        let tasks: Vec<_> = sources
            .into_iter()
            .map(|(origin, bytes, builtin)| {
                let engine = engine.clone();
                tokio::spawn(async move {
                    let loaded = load_component(engine, bytes, origin.clone()).await;
                    (origin, builtin, loaded)
                })
            })
            .collect();

        let mut set = PluginSet::default();
        let mut from_folder: BTreeMap<String, String> = BTreeMap::new();
        let mut builtin_digests = BTreeMap::new();
        for task in tasks {
            let (origin, builtin, loaded) = task.await.map_err(|e| RegistryError::Load {
                origin: "a plugin".to_owned(),
                reason: format!("loader task failed: {e}"),
            })?;
            let plugin = loaded.map_err(|reason| RegistryError::Load {
                origin: origin.clone(),
                reason,
            })?;
            let name = plugin.name().to_owned();
            if builtin {
                builtin_digests.insert(name.clone(), plugin.state().digest.clone());
            }
            if builtin && from_folder.contains_key(&name) {
                continue; // the folder's version wins
            }
            if !builtin {
                check_builtin_name(engine, &builtin_digests, &plugin)?;
                if let Some(first) = from_folder.insert(name.clone(), origin.clone()) {
                    return Err(RegistryError::DuplicateName {
                        name,
                        first,
                        second: origin,
                    });
                }
                if set.slots.contains_key(&name) {
                    tracing::warn!(plugin = %name, %origin, "plugin from the folder replaces the built-in one");
                }
            }
            tracing::info!(plugin = %name, kind = plugin.kind(), version = plugin.version(), %origin, "plugin loaded");
            set.slots.insert(
                name,
                Slot {
                    stable: plugin,
                    previous: None,
                    canary: None,
                },
            );
        }
        Ok(PluginRegistry {
            engine: engine.clone(),
            set: ArcSwap::from_pointee(set),
            changes: Mutex::new(()),
            events: Mutex::new(VecDeque::new()),
            replay_gates: Mutex::new(Arc::new(Vec::new())),
            builtin_digests,
        })
    }

    /// The provider adapter called `name` for one request: its canary for the canary's share of
    /// requests, its stable version otherwise.
    pub fn provider(&self, name: &str) -> Option<Arc<ProviderPlugin>> {
        match self.pick(name)? {
            Plugin::Provider(plugin) => Some(plugin),
            _ => None,
        }
    }

    /// The stable version of the provider adapter called `name`, never its canary.
    pub fn stable_provider(&self, name: &str) -> Option<Arc<ProviderPlugin>> {
        match &self.set.load().slots.get(name)?.stable {
            Plugin::Provider(plugin) => Some(plugin.clone()),
            _ => None,
        }
    }

    /// The routing policy called `name` for one request (canary-aware, like [`Self::provider`]).
    pub fn router(&self, name: &str) -> Option<Arc<RouterPlugin>> {
        match self.pick(name)? {
            Plugin::Router(plugin) => Some(plugin),
            _ => None,
        }
    }

    /// The transform called `name` for one request (canary-aware, like [`Self::provider`]).
    pub fn transform(&self, name: &str) -> Option<Arc<TransformPlugin>> {
        match self.pick(name)? {
            Plugin::Transform(plugin) => Some(plugin),
            _ => None,
        }
    }

    fn pick(&self, name: &str) -> Option<Plugin> {
        let set = self.set.load();
        let slot = set.slots.get(name)?;
        match &slot.canary {
            Some((canary, share)) if rand::random::<f64>() < *share => Some(canary.clone()),
            _ => Some(slot.stable.clone()),
        }
    }

    /// The stable version of every plugin.
    pub fn plugins(&self) -> Vec<Plugin> {
        self.set
            .load()
            .slots
            .values()
            .map(|slot| slot.stable.clone())
            .collect()
    }

    /// Every version taking traffic: each plugin's stable version (share `None`), and its canary
    /// with the canary's traffic share.
    pub fn serving_versions(&self) -> Vec<(Plugin, Option<f64>)> {
        let set = self.set.load();
        let mut versions = Vec::with_capacity(set.slots.len());
        for slot in set.slots.values() {
            versions.push((slot.stable.clone(), None));
            if let Some((canary, share)) = &slot.canary {
                versions.push((canary.clone(), Some(*share)));
            }
        }
        versions
    }

    /// Every plugin name with its versions.
    pub fn list(&self) -> Vec<PluginInfo> {
        self.set
            .load()
            .slots
            .iter()
            .map(|(name, slot)| PluginInfo {
                name: name.clone(),
                kind: slot.stable.kind(),
                current: VersionInfo::of(&slot.stable),
                previous: slot.previous.as_ref().map(VersionInfo::of),
                canary: slot
                    .canary
                    .as_ref()
                    .map(|(plugin, share)| (VersionInfo::of(plugin), *share)),
            })
            .collect()
    }

    /// Recent registry events, oldest first.
    pub fn events(&self) -> Vec<RegistryEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// The digest of the stable version of `name`.
    pub fn digest_of(&self, name: &str) -> Option<String> {
        self.set
            .load()
            .slots
            .get(name)
            .map(|slot| slot.stable.state().digest.clone())
    }

    /// Compiles, type-checks and self-tests `bytes` off the request path, then installs it under
    /// the name it declares: as the new stable version (the old one kept for rollback), or as a
    /// canary taking `canary_share` (0..1) of the traffic.
    pub async fn install(
        &self,
        bytes: Vec<u8>,
        origin: String,
        canary_share: Option<f64>,
    ) -> Result<PluginInfo, RegistryError> {
        let plugin = load_component(self.engine.clone(), bytes, origin.clone())
            .await
            .map_err(|reason| RegistryError::Load { origin, reason })?;
        check_builtin_name(&self.engine, &self.builtin_digests, &plugin)?;
        let name = plugin.name().to_owned();
        let gates = self
            .replay_gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Err(refusal) = gate::check(&gates, &plugin).await {
            let plugin = format!("{name} {}", plugin.version());
            tracing::warn!(%plugin, provider = %refusal.provider, failures = ?refusal.failures, "replay gate refused a new adapter version");
            self.record_event(
                &name,
                "refused",
                format!("{plugin}: replay gate of provider {}", refusal.provider),
            );
            return Err(RegistryError::ReplayGate { plugin, refusal });
        }
        let replaces_builtin = (self.builtin_digests.get(&name))
            .is_some_and(|digest| *digest != plugin.state().digest);
        self.change(&name, |set| {
            let mut detail = format!(
                "{} {} ({})",
                plugin.version(),
                short(&plugin.state().digest),
                plugin.state().origin
            );
            if replaces_builtin {
                tracing::warn!(plugin = %name, %detail, "a plugin takes the name of a built-in one, as configured");
                detail.push_str(", under a built-in plugin's name");
            }
            match set.slots.get_mut(&name) {
                None => {
                    if canary_share.is_some() {
                        return Err(RegistryError::Conflict(format!(
                            "plugin {name} is new: a canary needs a stable version to compare with"
                        )));
                    }
                    set.slots.insert(
                        name.clone(),
                        Slot {
                            stable: plugin,
                            previous: None,
                            canary: None,
                        },
                    );
                    Ok(("installed", detail))
                }
                Some(slot) => {
                    if slot.stable.kind() != plugin.kind() {
                        return Err(RegistryError::Conflict(format!(
                            "plugin {name} is a {}; a {} cannot replace it",
                            slot.stable.kind(),
                            plugin.kind()
                        )));
                    }
                    if slot.stable.state().digest == plugin.state().digest {
                        return Err(RegistryError::Conflict(format!(
                            "plugin {name} {detail} is already installed"
                        )));
                    }
                    match canary_share {
                        Some(share) => {
                            slot.canary = Some((plugin, share.clamp(0.0, 1.0)));
                            Ok((
                                "canary",
                                format!("{detail} takes {:.0}% of traffic", share * 100.0),
                            ))
                        }
                        None => {
                            let old = std::mem::replace(&mut slot.stable, plugin);
                            slot.previous = Some(old);
                            slot.canary = None;
                            Ok(("replaced", detail))
                        }
                    }
                }
            }
        })?;
        self.info(&name)
    }

    /// Removes `name`.
    pub fn remove(&self, name: &str) -> Result<PluginInfo, RegistryError> {
        let info = self.info(name)?;
        self.change(name, |set| {
            set.slots.remove(name);
            Ok(("removed", String::new()))
        })?;
        Ok(info)
    }

    /// Rolls `name` back one step: drops its canary when it has one (the stable version keeps
    /// serving), otherwise makes the previous version current again.
    pub fn rollback(&self, name: &str) -> Result<PluginInfo, RegistryError> {
        self.change(name, |set| {
            let slot = set
                .slots
                .get_mut(name)
                .ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
            if let Some((canary, _)) = slot.canary.take() {
                let detail = format!(
                    "canary {} {} dropped",
                    canary.version(),
                    short(&canary.state().digest)
                );
                return Ok(("canary_rolled_back", detail));
            }
            let previous = slot.previous.take().ok_or_else(|| {
                RegistryError::Conflict(format!("plugin {name} has no previous version"))
            })?;
            let detail = format!(
                "back to {} {}",
                previous.version(),
                short(&previous.state().digest)
            );
            slot.previous = Some(std::mem::replace(&mut slot.stable, previous));
            Ok(("rolled_back", detail))
        })?;
        self.info(name)
    }

    /// Makes the canary of `name` its stable version.
    pub fn promote(&self, name: &str) -> Result<PluginInfo, RegistryError> {
        self.change(name, |set| {
            let slot = set
                .slots
                .get_mut(name)
                .ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
            let (canary, _) = slot
                .canary
                .take()
                .ok_or_else(|| RegistryError::Conflict(format!("plugin {name} has no canary")))?;
            let detail = format!("{} {}", canary.version(), short(&canary.state().digest));
            slot.previous = Some(std::mem::replace(&mut slot.stable, canary));
            Ok(("promoted", detail))
        })?;
        self.info(name)
    }

    /// Records the outcome of a request served by `version` of `name`; rolls a canary back when
    /// it does worse than its stable version by more than the configured margin.
    pub fn record_outcome(&self, name: &str, version: &VersionState, ok: bool) {
        version.record_outcome(ok);
        let set = self.set.load();
        let Some(slot) = set.slots.get(name) else {
            return;
        };
        let Some((canary, _)) = &slot.canary else {
            return;
        };
        if !canary.is(version) {
            return;
        }
        let config = &self.engine.config().canary;
        let (requests, canary_rate) = canary.state().error_rate();
        let (_, stable_rate) = slot.stable.state().error_rate();
        if requests < config.min_requests as usize || canary_rate <= stable_rate + config.margin {
            return;
        }
        let digest = canary.state().digest.clone();
        let result = self.change(name, |set| {
            let slot = set.slots.get_mut(name).ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
            match &slot.canary {
                Some((current, _)) if current.state().digest == digest => {
                    slot.canary = None;
                    Ok((
                        "canary_rolled_back",
                        format!(
                            "{}: error rate {:.0}% over {requests} requests vs {:.0}% for the stable version",
                            short(&digest),
                            canary_rate * 100.0,
                            stable_rate * 100.0
                        ),
                    ))
                }
                _ => Err(RegistryError::Conflict("canary already changed".to_owned())),
            }
        });
        if let Err(error) = result {
            // Another request rolled it back first.
            tracing::debug!(plugin = %name, %error, "canary rollback skipped");
        }
    }

    fn info(&self, name: &str) -> Result<PluginInfo, RegistryError> {
        self.list()
            .into_iter()
            .find(|info| info.name == name)
            .ok_or_else(|| RegistryError::NotFound(name.to_owned()))
    }

    /// Applies `edit` to a copy of the set and swaps it in; logs and records the event.
    fn change(
        &self,
        name: &str,
        edit: impl FnOnce(&mut PluginSet) -> Result<(&'static str, String), RegistryError>,
    ) -> Result<(), RegistryError> {
        let _serialised = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.set.load_full();
        let mut set = PluginSet::clone(&old);
        let (action, detail) = edit(&mut set)?;
        let set = Arc::new(set);
        self.set.store(set.clone());
        retire_warm(&old, &set);
        tracing::info!(plugin = %name, action, %detail, "plugin registry changed");
        self.record_event(name, action, detail);
        Ok(())
    }

    /// Runs the replay gates on every adapter loaded from the plugins folder at start (the
    /// built-in ones are part of the binary): the first refusal, if any.
    pub async fn check_loaded(&self) -> Result<(), RegistryError> {
        let gates = self
            .replay_gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let loaded = self.plugins().into_iter().filter(|plugin| {
            self.builtin_digests.get(plugin.name()) != Some(&plugin.state().digest)
        });
        for plugin in loaded {
            if let Err(refusal) = gate::check(&gates, &plugin).await {
                let plugin = format!("{} {}", plugin.name(), plugin.version());
                tracing::error!(%plugin, provider = %refusal.provider, failures = ?refusal.failures, "replay gate refused an adapter of the plugins folder");
                return Err(RegistryError::ReplayGate { plugin, refusal });
            }
        }
        Ok(())
    }

    /// Sets the replay gates new adapter versions must pass (from the providers' `replay_gate`).
    pub fn set_replay_gates(&self, gates: Vec<ReplayGate>) {
        *self.replay_gates.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(gates);
    }

    /// Appends an event to the history the admin API lists.
    fn record_event(&self, name: &str, action: &'static str, detail: String) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() == EVENT_HISTORY {
            events.pop_front();
        }
        events.push_back(RegistryEvent {
            at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            plugin: name.to_owned(),
            action,
            detail,
        });
    }
}

/// Closes the warm pools of the versions of `name` that `old` served and `new` does not
/// (replaced, rolled back, removed), so no request after the change gets one of their warm
/// instances; opens those of the serving versions (a rollback serves a previous version again,
/// from fresh instances).
fn retire_warm(old: &PluginSet, new: &PluginSet) {
    let serving = |plugin: &Plugin| {
        (new.slots.get(plugin.name()))
            .is_some_and(|slot| slot.serving().any(|version| version.is(plugin.state())))
    };
    for slot in old.slots.values() {
        for version in slot.versions() {
            if !serving(version) {
                version.set_serving(false);
            }
        }
    }
    for slot in new.slots.values() {
        for version in slot.serving() {
            version.set_serving(true);
        }
    }
}

/// Refuses `plugin` when it claims a built-in plugin's name, is not that built-in plugin, and
/// the operator did not set `plugins.overrides.<name>.replace_builtin`.
fn check_builtin_name(
    engine: &PluginEngine,
    builtin_digests: &BTreeMap<String, String>,
    plugin: &Plugin,
) -> Result<(), RegistryError> {
    let name = plugin.name();
    let claims_builtin =
        (builtin_digests.get(name)).is_some_and(|digest| *digest != plugin.state().digest);
    let allowed = (engine.config().overrides.get(name)).is_some_and(|o| o.replace_builtin);
    if claims_builtin && !allowed {
        tracing::error!(plugin = %name, origin = %plugin.state().origin, "refused: a plugin claims a built-in plugin's name");
        return Err(RegistryError::BuiltinName {
            name: name.to_owned(),
            origin: plugin.state().origin.clone(),
        });
    }
    Ok(())
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Reads every `*.wasm` file of `dir`, sorted by file name.
pub(crate) fn read_plugin_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
    let read_error = |source| RegistryError::ReadDir {
        path: dir.to_owned(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).map_err(read_error)?;
            Ok((path.display().to_string(), bytes))
        })
        .collect()
}

/// Compiles a component off the async runtime and loads it as whichever kind of plugin it is.
pub async fn load_component(
    engine: PluginEngine,
    bytes: Vec<u8>,
    origin: String,
) -> Result<Plugin, String> {
    let digest = hex_digest(&bytes);
    super::stamp::check(&bytes).map_err(|refused| refused.to_string())?;
    let compiler = engine.clone();
    let component = tokio::task::spawn_blocking(move || compiler.compile(&bytes))
        .await
        .map_err(|e| format!("compiler task failed: {e}"))?
        .map_err(|e| e.to_string())?;
    match ProviderPlugin::load(&engine, &component, digest.clone(), origin.clone()).await {
        Ok(plugin) => {
            check_declared_hosts(&plugin.descriptor().allowed_hosts)?;
            Ok(Plugin::Provider(Arc::new(plugin)))
        }
        Err(as_provider) => {
            match RouterPlugin::load(&engine, &component, digest.clone(), origin.clone()).await {
                Ok(plugin) => Ok(Plugin::Router(Arc::new(plugin))),
                Err(as_router) => {
                    match TransformPlugin::load(&engine, &component, digest, origin).await {
                        Ok(plugin) => Ok(Plugin::Transform(Arc::new(plugin))),
                        Err(as_transform) => Err(format!(
                            "as a provider adapter: {as_provider}; as a routing policy: \
                             {as_router}; as a transform: {as_transform}"
                        )),
                    }
                }
            }
        }
    }
}

/// SHA-256 of `bytes`, hex.
pub(crate) fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
