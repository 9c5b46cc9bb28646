//! The `switchyard plugin` subcommands: scaffold a plugin crate, check a component the way the
//! gateway loads it, list the plugins a configuration loads, and roll back a running gateway's
//! plugin through its admin API.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use switchyard_sdk::conformance::checks::Report;

use switchyard_domain::config::Config;
use switchyard_domain::plugin_types::EndpointSettings;
use switchyard_plugin_runtime::builtin::BUILTIN_PLUGINS;
use switchyard_plugin_runtime::conformance;
use switchyard_plugin_runtime::loaded::Plugin;
use switchyard_plugin_runtime::registry::load_component;
use switchyard_plugin_runtime::{PluginEngine, PluginRegistry};

/// The kind of plugin to scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PluginKind {
    /// A provider adapter (`provider` world).
    Provider,
    /// A routing policy (`router` world).
    Router,
    /// A transform (`transform` world, contract 0.5.0 on).
    Transform,
}

/// The wire format of a scaffolded adapter's upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum WireFormat {
    /// OpenAI Chat Completions (streams; OpenAI-shaped errors): recordings as `.json` bodies
    /// and `.chunks.txt` streams.
    #[default]
    Openai,
    /// The provider's own JSON, without streaming: recordings as `.http.json` exchanges
    /// (status, headers, body) with `.expect.json` expectations.
    Custom,
}

/// A recording of the custom wire format's template: (path in the new crate, text).
macro_rules! custom_fixture {
    ($file:literal) => {
        (
            concat!("tests/fixtures/", $file),
            include_str!(concat!(
                "../../sdk/templates/provider-custom/tests/fixtures/",
                $file
            )),
        )
    };
}

/// Template files: (path in the new crate, text).
fn templates(kind: PluginKind, wire: WireFormat) -> &'static [(&'static str, &'static str)] {
    match (kind, wire) {
        (PluginKind::Provider, WireFormat::Custom) => &[
            (
                "Cargo.toml",
                include_str!("../../sdk/templates/provider/Cargo.toml.tmpl"),
            ),
            (
                "README.md",
                include_str!("../../sdk/templates/provider/README.md.tmpl"),
            ),
            (
                "src/lib.rs",
                include_str!("../../sdk/templates/provider-custom/src/lib.rs.tmpl"),
            ),
            custom_fixture!("example-text.http.json"),
            custom_fixture!("example-text.expect.json"),
            custom_fixture!("example-text-streamed.http.json"),
            custom_fixture!("example-text-streamed.expect.json"),
            custom_fixture!("example-quota.http.json"),
            custom_fixture!("example-quota.expect.json"),
            custom_fixture!("example-overloaded.http.json"),
            custom_fixture!("example-overloaded.expect.json"),
        ],
        (PluginKind::Provider, WireFormat::Openai) => &[
            (
                "Cargo.toml",
                include_str!("../../sdk/templates/provider/Cargo.toml.tmpl"),
            ),
            (
                "README.md",
                include_str!("../../sdk/templates/provider/README.md.tmpl"),
            ),
            (
                "src/lib.rs",
                include_str!("../../sdk/templates/provider/src/lib.rs.tmpl"),
            ),
            (
                "tests/fixtures/example-text.json",
                include_str!("../../sdk/templates/provider/tests/fixtures/example-text.json"),
            ),
            (
                "tests/fixtures/example-text.chunks.txt",
                include_str!("../../sdk/templates/provider/tests/fixtures/example-text.chunks.txt"),
            ),
            (
                "tests/fixtures/example-rate-limited.json",
                include_str!(
                    "../../sdk/templates/provider/tests/fixtures/example-rate-limited.json"
                ),
            ),
        ],
        (PluginKind::Transform, _) => &[
            (
                "Cargo.toml",
                include_str!("../../sdk/templates/transform/Cargo.toml.tmpl"),
            ),
            (
                "src/lib.rs",
                include_str!("../../sdk/templates/transform/src/lib.rs.tmpl"),
            ),
        ],
        (PluginKind::Router, _) => &[
            (
                "Cargo.toml",
                include_str!("../../sdk/templates/router/Cargo.toml.tmpl"),
            ),
            (
                "src/lib.rs",
                include_str!("../../sdk/templates/router/src/lib.rs.tmpl"),
            ),
        ],
    }
}

/// Writes a new plugin crate `name` of `kind` into `dir/name`, for an upstream speaking `wire`
/// (adapters only), depending on the SDK at `sdk_path` (default: the SDK this binary was built
/// from).
pub fn new_plugin(
    name: &str,
    kind: PluginKind,
    wire: WireFormat,
    dir: &Path,
    sdk_path: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid {
        bail!(
            "plugin name {name:?}: use lowercase letters, digits and dashes, starting with a letter"
        );
    }
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let sdk = match sdk_path {
        Some(path) => path.to_owned(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk"),
    };
    let sdk = sdk.canonicalize().unwrap_or(sdk);
    let sdk_dependency = format!("path = {:?}", sdk.display().to_string());
    let crate_name = name.replace('-', "_");
    for &(path, template) in templates(kind, wire) {
        let text = template
            .replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
            .replace("{{sdk_dependency}}", &sdk_dependency);
        let target = root.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(root)
}

/// Compiles, type-checks and self-tests a component as the gateway would, and describes it.
pub async fn check_plugin(file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let config = Config::parse("")?;
    let engine = PluginEngine::new(&config.plugins)?;
    let plugin = load_component(engine, bytes, file.display().to_string())
        .await
        .map_err(|reason| anyhow::anyhow!("{} cannot be loaded: {reason}", file.display()))?;
    Ok(describe(&plugin))
}

/// Replays the recorded answers of `fixtures` through the adapter in `file` (the conformance
/// kit) with endpoint `options`, or runs a transform's cases (`*.case.json`); returns the
/// report, whose table says what failed.
pub async fn test_plugin(
    file: &Path,
    fixtures: &[PathBuf],
    options: Vec<(String, String)>,
) -> anyhow::Result<Report> {
    let bytes = read_component(file)?;
    let config = Config::parse("")?;
    let engine = PluginEngine::new(&config.plugins)?;
    let plugin = load_component(engine, bytes, file.display().to_string())
        .await
        .map_err(|reason| anyhow::anyhow!("{} cannot be loaded: {reason}", file.display()))?;
    let adapter = match plugin {
        Plugin::Provider(adapter) => adapter,
        Plugin::Router(_) => bail!(
            "{} is a routing policy; the conformance kit tests provider adapters",
            file.display()
        ),
        Plugin::Transform(transform) => {
            return Ok(conformance::cases::run(&transform, fixtures).await?);
        }
    };
    let endpoint = EndpointSettings {
        options,
        ..conformance::default_endpoint()
    };
    Ok(conformance::run(&adapter, fixtures, &endpoint).await?)
}

/// The bytes of a component file, or of a first-party plugin named `builtin:<name>` (e.g.
/// `builtin:openai`, embedded in this binary).
fn read_component(file: &Path) -> anyhow::Result<Vec<u8>> {
    let builtin = file.to_str().and_then(|text| text.strip_prefix("builtin:"));
    match builtin {
        Some(name) => BUILTIN_PLUGINS
            .iter()
            .find(|(package, _)| package.strip_prefix("switchyard-plugin-") == Some(name))
            .map(|(_, bytes)| bytes.to_vec())
            .with_context(|| format!("no built-in plugin named {name}")),
        None => std::fs::read(file).with_context(|| format!("reading {}", file.display())),
    }
}

/// The plugins `config` loads (built-in ones and its plugins folder), one per line.
pub async fn list_plugins(config: &Config) -> anyhow::Result<String> {
    let engine = PluginEngine::new(&config.plugins)?;
    let registry = PluginRegistry::load(&engine, config.plugins.dir.as_deref()).await?;
    let mut lines = vec![format!(
        "{:<20} {:<9} {:<9} {:<14} origin",
        "name", "kind", "version", "digest"
    )];
    for plugin in registry.plugins() {
        let state = plugin.state();
        lines.push(format!(
            "{:<20} {:<9} {:<9} {:<14} {}",
            plugin.name(),
            plugin.kind(),
            plugin.version(),
            state.digest.get(..12).unwrap_or(&state.digest),
            state.origin
        ));
    }
    Ok(lines.join("\n"))
}

/// Asks the gateway at `gateway` (e.g. `http://127.0.0.1:8080`) to roll plugin `name` back to
/// its previous version, authenticating with `token`; returns the gateway's answer.
pub async fn rollback_plugin(gateway: &str, name: &str, token: &str) -> anyhow::Result<String> {
    let url = format!(
        "{}/admin/plugins/{name}/rollback",
        gateway.trim_end_matches('/')
    );
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let body = response.text().await.context("reading the answer")?;
    if !status.is_success() {
        bail!("rollback refused ({status}): {body}");
    }
    Ok(body)
}

fn describe(plugin: &Plugin) -> String {
    let state = plugin.state();
    let mut text = format!(
        "ok: {} {} {}\ncontract: {}\ndigest: {}\n",
        plugin.kind(),
        plugin.name(),
        plugin.version(),
        plugin.contract(),
        state.digest
    );
    if let Plugin::Provider(provider) = plugin {
        let descriptor = provider.descriptor();
        text.push_str(&format!(
            "allowed hosts: {}\nstreaming: {}\ntools: {}\nsupported parameters: {}\n",
            descriptor.allowed_hosts.join(", "),
            descriptor.streaming,
            descriptor.tools,
            descriptor.supported_parameters.join(", ")
        ));
        if let Some(declared) = descriptor.declared {
            text.push_str(&format!(
                "vision: {}
documents: {}
json schema: {}
reasoning: {}
passes the conversation through: {}
",
                declared.vision,
                declared.documents,
                declared.json_schema,
                declared.reasoning,
                declared.passes_conversation
            ));
        }
    }
    text
}
