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
    /// The target is missing and `rustup target add` failed (its output went to stderr).
    AddTarget(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::MissingEnv(name) => write!(f, "environment variable {name} is not set"),
            BuildError::Spawn(error) => write!(f, "cannot run cargo: {error}"),
            BuildError::AddTarget(toolchain) => write!(
                f,
                "the {TARGET} target is missing from toolchain {toolchain} and `rustup target add \
                 {TARGET} --toolchain {toolchain}` failed"
            ),
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
    ensure_target()?;

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

/// Installs the [`TARGET`] standard library with rustup when the compiler building this lacks it
/// (`rust-toolchain.toml` adds targets only when rustup installs the toolchain, so a toolchain
/// installed before has none). Without rustup, or when the target cannot be found out, nothing
/// is done: the nested build then fails with its own message.
pub fn ensure_target() -> Result<(), BuildError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Some(sysroot) = sysroot(Command::new(rustc)) else {
        return Ok(());
    };
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    ensure_target_in(&sysroot, toolchain.as_deref(), Command::new("rustup"))
}

/// [`ensure_target`] for the toolchain at `sysroot` (named `toolchain` by rustup, else by the
/// sysroot's folder), with `rustup` the command that runs rustup.
pub fn ensure_target_in(
    sysroot: &Path,
    toolchain: Option<&str>,
    mut rustup: Command,
) -> Result<(), BuildError> {
    if target_installed(sysroot) {
        return Ok(());
    }
    let folder = sysroot.file_name().and_then(|name| name.to_str());
    let Some(toolchain) = toolchain.or(folder) else {
        return Ok(());
    };
    println!(
        "cargo:warning=installing the {TARGET} target: rustup target add {TARGET} --toolchain {toolchain}"
    );
    let status = rustup
        .args(["target", "add", TARGET, "--toolchain", toolchain])
        .status();
    match status {
        // No rustup: a toolchain from elsewhere, whose owner installs targets.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Ok(status) if status.success() => Ok(()),
        _ => Err(BuildError::AddTarget(toolchain.to_owned())),
    }
}

/// Whether the toolchain at `sysroot` has the standard library of [`TARGET`].
pub fn target_installed(sysroot: &Path) -> bool {
    sysroot
        .join("lib")
        .join("rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir()
}

/// The sysroot `rustc --print sysroot` names.
fn sysroot(mut rustc: Command) -> Option<PathBuf> {
    let output = rustc.args(["--print", "sysroot"]).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(PathBuf::from(text.trim()))
}

/// A target directory shared by every build script of the workspace:
/// `<target>/plugins/<checkout>`, found from `OUT_DIR` (`<target>/<profile>/build/<pkg>-<hash>/out`).
/// `<checkout>` names the checkout (a hash of the folder holding the calling package): cargo
/// names a workspace package's outputs by its path relative to the workspace, so two checkouts
/// sharing one target directory (git worktrees) would otherwise take each other's libraries.
fn plugin_target_dir(out_dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    manifest.as_deref().and_then(Path::parent).hash(&mut hasher);
    let checkout = format!("{:016x}", hasher.finish());
    out_dir
        .ancestors()
        .nth(4)
        .map(|target| target.join("plugins"))
        .unwrap_or_else(|| out_dir.join("plugins"))
        .join(checkout)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for rustup: logs its arguments, and installs the target as rustup would (the
    /// target's `lib` folder in the sysroot).
    fn fake_rustup(dir: &Path, sysroot: &Path) -> Command {
        let script = dir.join("rustup");
        let log = dir.join("rustup.log");
        let lib = sysroot.join("lib/rustlib").join(TARGET).join("lib");
        let text = format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nmkdir -p '{}'\n",
            log.display(),
            lib.display()
        );
        std::fs::write(&script, text).expect("script");
        let mut command = Command::new("sh");
        command.arg(script);
        command
    }

    #[test]
    fn a_missing_target_is_added_once_with_rustup() {
        let dir = std::env::temp_dir().join(format!("sy-build-{}", std::process::id()));
        let sysroot = dir
            .join("toolchains")
            .join("1.95.0-x86_64-unknown-linux-gnu");
        std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/lib"))
            .expect("sysroot");
        assert!(!target_installed(&sysroot));
        ensure_target_in(&sysroot, None, fake_rustup(&dir, &sysroot)).expect("added");
        assert!(target_installed(&sysroot));
        ensure_target_in(&sysroot, Some("1.95.0"), fake_rustup(&dir, &sysroot)).expect("present");
        let log = std::fs::read_to_string(dir.join("rustup.log")).expect("rustup ran");
        assert_eq!(
            log,
            format!("target add {TARGET} --toolchain 1.95.0-x86_64-unknown-linux-gnu\n"),
            "run once, for the sysroot's toolchain"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failing_rustup_is_an_error_and_no_rustup_is_not() {
        let sysroot = std::env::temp_dir().join(format!("sy-build-none-{}", std::process::id()));
        let failing = Command::new("false");
        assert!(matches!(
            ensure_target_in(&sysroot, Some("nightly"), failing),
            Err(BuildError::AddTarget(toolchain)) if toolchain == "nightly"
        ));
        let absent = Command::new("/nonexistent/rustup");
        assert!(ensure_target_in(&sysroot, Some("nightly"), absent).is_ok());
    }

    #[test]
    fn the_compiler_building_this_has_the_target() {
        // This workspace's toolchain file names the target, and the build of the host needed it.
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let sysroot = sysroot(Command::new(rustc)).expect("a sysroot");
        assert!(target_installed(&sysroot), "{}", sysroot.display());
    }
}
