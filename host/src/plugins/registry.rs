//! The set of loaded plugins: the embedded first-party ones plus every `.wasm` file in the
//! configured plugins folder. Components compile in parallel off the async runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::builtin::BUILTIN_PLUGINS;
use super::engine::PluginEngine;
use super::provider::ProviderPlugin;
use super::router::RouterPlugin;

/// Why the plugins could not be loaded.
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
}

/// A loaded plugin of either kind.
enum Loaded {
    Provider(ProviderPlugin),
    Router(RouterPlugin),
}

/// Every loaded plugin, by name.
#[derive(Debug, Default)]
pub struct PluginRegistry {
    providers: BTreeMap<String, Arc<ProviderPlugin>>,
    routers: BTreeMap<String, Arc<RouterPlugin>>,
}

impl PluginRegistry {
    /// Loads the embedded plugins and those in `dir`. A plugin from the folder replaces a
    /// built-in one of the same name.
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
                    let loaded = load_component(engine, bytes).await;
                    (origin, builtin, loaded)
                })
            })
            .collect();

        let mut registry = PluginRegistry::default();
        let mut origins: BTreeMap<String, (String, bool)> = BTreeMap::new();
        for task in tasks {
            let (origin, builtin, loaded) = task.await.map_err(|e| RegistryError::Load {
                origin: "a plugin".to_owned(),
                reason: format!("loader task failed: {e}"),
            })?;
            let loaded = loaded.map_err(|reason| RegistryError::Load {
                origin: origin.clone(),
                reason,
            })?;
            let name = match &loaded {
                Loaded::Provider(plugin) => plugin.name().to_owned(),
                Loaded::Router(plugin) => plugin.name().to_owned(),
            };
            if let Some((first, first_builtin)) = origins.get(&name) {
                if !builtin && !first_builtin {
                    return Err(RegistryError::DuplicateName {
                        name,
                        first: first.clone(),
                        second: origin,
                    });
                }
                if builtin {
                    continue; // the folder's version wins
                }
                tracing::info!(plugin = %name, %origin, "plugin from the folder replaces the built-in one");
            }
            origins.insert(name.clone(), (origin.clone(), builtin));
            match loaded {
                Loaded::Provider(plugin) => {
                    tracing::info!(plugin = %name, version = %plugin.descriptor().version, %origin, "provider adapter loaded");
                    registry.routers.remove(&name);
                    registry.providers.insert(name, Arc::new(plugin));
                }
                Loaded::Router(plugin) => {
                    tracing::info!(plugin = %name, version = %plugin.version(), %origin, "routing policy loaded");
                    registry.providers.remove(&name);
                    registry.routers.insert(name, Arc::new(plugin));
                }
            }
        }
        Ok(registry)
    }

    /// The provider adapter called `name`.
    pub fn provider(&self, name: &str) -> Option<&Arc<ProviderPlugin>> {
        self.providers.get(name)
    }

    /// The routing policy called `name`.
    pub fn router(&self, name: &str) -> Option<&Arc<RouterPlugin>> {
        self.routers.get(name)
    }

    /// Every provider adapter, by name.
    pub fn providers(&self) -> impl Iterator<Item = &Arc<ProviderPlugin>> {
        self.providers.values()
    }

    /// Every routing policy, by name.
    pub fn routers(&self) -> impl Iterator<Item = &Arc<RouterPlugin>> {
        self.routers.values()
    }
}

/// Reads every `*.wasm` file of `dir`, sorted by file name.
fn read_plugin_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
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
async fn load_component(engine: PluginEngine, bytes: Vec<u8>) -> Result<Loaded, String> {
    let digest = hex_digest(&bytes);
    let compiler = engine.clone();
    let component = tokio::task::spawn_blocking(move || compiler.compile(&bytes))
        .await
        .map_err(|e| format!("compiler task failed: {e}"))?
        .map_err(|e| e.to_string())?;
    match ProviderPlugin::load(&engine, &component, digest.clone()).await {
        Ok(plugin) => Ok(Loaded::Provider(plugin)),
        Err(as_provider) => match RouterPlugin::load(&engine, &component, digest).await {
            Ok(plugin) => Ok(Loaded::Router(plugin)),
            Err(as_router) => Err(format!(
                "as a provider adapter: {as_provider}; as a routing policy: {as_router}"
            )),
        },
    }
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
