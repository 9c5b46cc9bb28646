//! Switchyard itself: the release binary, built if missing, serving the bench models through
//! the `openai` adapter plugin, each model with two endpoints on the mock so the `price` routing
//! policy runs on every request.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::{Contender, chat_target, models};
use crate::process::Process;

/// The gateway, and how long it took to start listening.
pub struct Gateway {
    /// The running gateway.
    pub contender: Contender,
    /// Spawn to the `listening` line (plugins compiled and loaded).
    pub startup: Duration,
}

/// The gateway configuration for a mock at `mock`.
pub fn config(mock: SocketAddr) -> String {
    let mut toml = String::from("[server]\nlisten = \"127.0.0.1:0\"\n\n");
    for provider in ["mock_a", "mock_b"] {
        let _ = writeln!(
            toml,
            "[providers.{provider}]\nplugin = \"openai\"\nbase_url = \"http://{mock}/v1\"\n"
        );
    }
    for model in models::ALL {
        let _ = writeln!(
            toml,
            "[[models]]\nid = \"{model}\"\nendpoints = [\n  \
             {{ provider = \"mock_a\", upstream_model = \"{model}\", prompt_price = \"0.1\", completion_price = \"0.4\" }},\n  \
             {{ provider = \"mock_b\", upstream_model = \"{model}\", prompt_price = \"0.2\", completion_price = \"0.8\" }},\n]\n"
        );
    }
    toml
}

/// The gateway binary next to this one, of the same profile (release for measurements; a debug
/// harness, as CI's quick run uses, measures a debug gateway). Under `cargo run` it is (re)built
/// first, so the harness never measures a stale gateway; otherwise it is built only when missing.
pub fn binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let dir = exe.parent().context("this program has no folder")?;
    let binary = dir.join("switchyard");
    let cargo = std::env::var("CARGO").ok();
    if binary.exists() && cargo.is_none() {
        return Ok(binary);
    }
    let mut build = vec!["build", "-p", "switchyard"];
    if !cfg!(debug_assertions) {
        build.push("--release");
    }
    let command = format!("cargo {}", build.join(" "));
    eprintln!(
        "building {} ({command}; several minutes the first time)",
        binary.display()
    );
    let status = std::process::Command::new(cargo.unwrap_or_else(|| "cargo".into()))
        .args(&build)
        .status()
        .context("cannot run cargo to build the gateway")?;
    if !status.success() || !binary.exists() {
        bail!(
            "could not build {}; run `{command}` with the same CARGO_TARGET_DIR",
            binary.display()
        );
    }
    Ok(binary)
}

/// Starts the gateway against the mock at `mock`; its files go to `work`.
pub async fn start(mock: SocketAddr, work: &Path) -> anyhow::Result<Gateway> {
    start_as("switchyard", mock, work, "", &[]).await
}

/// Starts a gateway named `name` (its files are `<work>/<name>.*`) against the mock at `mock`,
/// with `extra` TOML sections and `env` in its environment.
pub async fn start_as(
    name: &str,
    mock: SocketAddr,
    work: &Path,
    extra: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<Gateway> {
    start_binary(&binary()?, name, mock, work, extra, env).await
}

/// [`start_as`] with the gateway binary at `binary` (the `cpu` command compares builds).
pub async fn start_binary(
    binary: &Path,
    name: &str,
    mock: SocketAddr,
    work: &Path,
    extra: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<Gateway> {
    let config_path = work.join(format!("{name}.toml"));
    std::fs::write(&config_path, config(mock) + extra)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let mut command = std::process::Command::new(binary);
    command
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
    let started = Instant::now();
    let log = work.join(format!("{name}.log"));
    let mut process = Process::spawn(name, command, &log, true)?;
    let addr = process
        .address_after("switchyard listening on", Duration::from_secs(120))
        .await
        .with_context(|| format!("see {}", log.display()))?;
    Ok(Gateway {
        contender: Contender {
            target: chat_target(name, addr),
            process,
        },
        startup: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_parses() {
        let text = super::config("127.0.0.1:9".parse().unwrap());
        switchyard_domain::config::Config::parse(&text).unwrap();
    }
}
