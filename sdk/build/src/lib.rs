//! Builds Switchyard plugin crates for `wasm32-wasip2` from a build script.
//!
//! A build script calls [`build_plugins`] with the packages to build; it runs a nested
//! `cargo build --target wasm32-wasip2 --profile plugin` with its own target directory (so it
//! never waits on the outer build's lock), tells cargo to rerun when any source the components
//! were built from changes (from cargo's `.d` dependency files), and returns the component paths.
//!
//! Plugins of different worlds must be built by separate calls: cargo unifies the features of
//! the packages of one build, and a component must carry the type information of one world only.

#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target plugins are built for.
pub const TARGET: &str = "wasm32-wasip2";
/// The cargo profile plugins are built with (defined in the workspace manifest).
pub const PROFILE: &str = "plugin";

/// One built plugin component.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The cargo package name, e.g. `switchyard-plugin-openai`.
    pub package: String,
    /// Absolute path of the `.wasm` component.
    pub path: PathBuf,
}

/// Why plugins could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// A required build-script environment variable is missing.
    MissingEnv(&'static str),
    /// Cargo could not be started.
    Spawn(std::io::Error),
    /// Cargo failed; its output went to the build script's stderr.
    Failed(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::MissingEnv(name) => write!(f, "environment variable {name} is not set"),
            BuildError::Spawn(error) => write!(f, "cannot run cargo: {error}"),
            BuildError::Failed(packages) => write!(
                f,
                "building plugins {packages} for {TARGET} failed (is the target installed? \
                 `rustup target add {TARGET}`)"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds `packages` (cargo package names of the workspace) for `wasm32-wasip2` and returns
/// their components in the same order. Call it from a build script only.
pub fn build_plugins(packages: &[&str]) -> Result<Vec<Artifact>, BuildError> {
    let cargo = std::env::var_os("CARGO").ok_or(BuildError::MissingEnv("CARGO"))?;
    let out_dir =
        PathBuf::from(std::env::var_os("OUT_DIR").ok_or(BuildError::MissingEnv("OUT_DIR"))?);
    let target_dir = plugin_target_dir(&out_dir);

    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--target")
        .arg(TARGET)
        .arg("--profile")
        .arg(PROFILE)
        .arg("--target-dir")
        .arg(&target_dir);
    for package in packages {
        command.arg("-p").arg(package);
    }
    // Flags meant for the host build must not leak into the guest build.
    for variable in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        command.env_remove(variable);
    }
    let status = command.status().map_err(BuildError::Spawn)?;
    if !status.success() {
        return Err(BuildError::Failed(packages.join(", ")));
    }

    let artifact_dir = target_dir.join(TARGET).join(PROFILE);
    let artifacts = packages
        .iter()
        .map(|package| {
            let stem = package.replace('-', "_");
            rerun_if_sources_change(&artifact_dir.join(format!("{stem}.d")));
            Artifact {
                package: (*package).to_owned(),
                path: artifact_dir.join(format!("{stem}.wasm")),
            }
        })
        .collect();
    Ok(artifacts)
}

/// A target directory shared by every build script of the workspace: `<target>/plugins`, found
/// from `OUT_DIR` (`<target>/<profile>/build/<pkg>-<hash>/out`).
fn plugin_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .nth(4)
        .map(|target| target.join("plugins"))
        .unwrap_or_else(|| out_dir.join("plugins"))
}

/// Emits `cargo:rerun-if-changed` for every file listed in a cargo `.d` dependency file.
fn rerun_if_sources_change(dep_file: &Path) {
    let Ok(contents) = std::fs::read_to_string(dep_file) else {
        return;
    };
    let Some((_, deps)) = contents.split_once(": ") else {
        return;
    };
    // Paths are separated by spaces; a space inside a path is escaped as `\ `.
    let mut current = String::new();
    let mut chars = deps.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' | '\n' => {
                if !current.is_empty() {
                    println!("cargo:rerun-if-changed={current}");
                    current.clear();
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        println!("cargo:rerun-if-changed={current}");
    }
}

/// Writes Rust source declaring `pub const <const_name>: &[(&str, &[u8])]`: each artifact's
/// package name and its bytes, embedded with `include_bytes!`.
pub fn embed_source(const_name: &str, artifacts: &[Artifact]) -> String {
    let entries: String = artifacts
        .iter()
        .map(|artifact| {
            format!(
                "    ({:?}, include_bytes!({:?})),\n",
                artifact.package, artifact.path
            )
        })
        .collect();
    format!(
        "/// Plugin components embedded at build time: (package, component bytes).\n\
         pub const {const_name}: &[(&str, &[u8])] = &[\n{entries}];\n"
    )
}

/// Writes Rust source declaring one `pub const <NAME>: &str` per artifact holding its path.
pub fn path_source(artifacts: &[Artifact], prefix: &str) -> String {
    artifacts
        .iter()
        .map(|artifact| {
            format!(
                "/// Path of the `{}` component.\npub const {}: &str = {:?};\n",
                artifact.package,
                const_name(&artifact.package, prefix),
                artifact.path
            )
        })
        .collect()
}

fn const_name(package: &str, prefix: &str) -> String {
    package
        .strip_prefix(prefix)
        .unwrap_or(package)
        .replace('-', "_")
        .to_ascii_uppercase()
}
