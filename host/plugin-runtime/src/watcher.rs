//! Watches the plugins folder: a `.wasm` file added or changed is installed (replacing the
//! version of the same name, kept for rollback), a removed file's plugin is removed — or, for a
//! file that replaced a built-in plugin, the built-in version is restored.
//!
//! The folder is scanned every `plugins.watch_interval_ms`: simple, portable, and immune to the
//! partial-write races of event-based watchers (a file is installed once its content is stable
//! across two scans and compiles; a file that fails to load is retried when it changes again).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::builtin::BUILTIN_PLUGINS;
use super::registry::{PluginRegistry, hex_digest};

/// What the watcher knows of one file.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    modified: Option<SystemTime>,
    len: u64,
    /// Digest of the content last installed (or that failed to load), once acted on.
    digest: Option<String>,
    /// The plugin name it installed.
    plugin: Option<String>,
}

/// Starts watching `dir` in a background task. The files present now are taken as loaded.
pub fn spawn(registry: Arc<PluginRegistry>, dir: PathBuf, interval: Duration) {
    let mut seen = scan(&dir);
    for (path, entry) in seen.iter_mut() {
        if let Ok(bytes) = std::fs::read(path) {
            let digest = hex_digest(&bytes);
            entry.plugin = registry
                .plugins()
                .into_iter()
                .find(|plugin| plugin.state().digest == digest)
                .map(|plugin| plugin.name().to_owned());
            entry.digest = Some(digest);
        }
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            seen = rescan(&registry, &dir, seen).await;
        }
    });
}

/// The `.wasm` files of `dir` with their size and modification time.
fn scan(dir: &Path) -> BTreeMap<PathBuf, Seen> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .filter_map(|path| {
            let metadata = std::fs::metadata(&path).ok()?;
            Some((
                path,
                Seen {
                    modified: metadata.modified().ok(),
                    len: metadata.len(),
                    digest: None,
                    plugin: None,
                },
            ))
        })
        .collect()
}

/// Acts on what changed since `previous`; returns the new state.
async fn rescan(
    registry: &PluginRegistry,
    dir: &Path,
    previous: BTreeMap<PathBuf, Seen>,
) -> BTreeMap<PathBuf, Seen> {
    let mut current = scan(dir);
    for (path, entry) in current.iter_mut() {
        match previous.get(path) {
            Some(before) if before.modified == entry.modified && before.len == entry.len => {
                // Unchanged since the last scan: carry over what we know, act if not yet acted on.
                entry.digest = before.digest.clone();
                entry.plugin = before.plugin.clone();
                if entry.digest.is_none() {
                    install(registry, path, entry).await;
                }
            }
            Some(before) => {
                // Still being written, or changed: wait for a stable scan, keep the plugin name.
                entry.plugin = before.plugin.clone();
            }
            None => {} // new: wait for one stable scan
        }
    }
    for (path, before) in &previous {
        if !current.contains_key(path)
            && let Some(name) = &before.plugin
        {
            uninstall(registry, path, name).await;
        }
    }
    current
}

async fn install(registry: &PluginRegistry, path: &Path, entry: &mut Seen) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let digest = hex_digest(&bytes);
    entry.digest = Some(digest.clone());
    let already = entry
        .plugin
        .as_ref()
        .and_then(|name| registry.digest_of(name))
        .as_deref()
        == Some(digest.as_str());
    if already {
        return;
    }
    match registry
        .install(bytes, path.display().to_string(), None)
        .await
    {
        Ok(info) => entry.plugin = Some(info.name),
        Err(error) => tracing::error!(file = %path.display(), %error, "plugin file not installed"),
    }
}

async fn uninstall(registry: &PluginRegistry, path: &Path, name: &str) {
    let origin = path.display().to_string();
    let installed_from_file = registry
        .list()
        .into_iter()
        .any(|info| info.name == name && info.current.origin == origin);
    if !installed_from_file {
        return; // replaced since by another file or the admin API
    }
    let builtin = BUILTIN_PLUGINS
        .iter()
        .find(|(package, _)| package_plugin_name(package) == name);
    let result = match builtin {
        Some((package, bytes)) => registry
            .install(bytes.to_vec(), format!("built-in {package}"), None)
            .await
            .map(|_| ()),
        None => registry.remove(name).map(|_| ()),
    };
    if let Err(error) = result {
        tracing::error!(file = %path.display(), plugin = %name, %error, "plugin file removed but the plugin could not be");
    }
}

/// The plugin name of a first-party package: `switchyard-plugin-<name>`.
fn package_plugin_name(package: &str) -> &str {
    package
        .strip_prefix("switchyard-plugin-")
        .unwrap_or(package)
}
