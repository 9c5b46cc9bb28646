//! LiteLLM's proxy, pinned to 1.81.16 (the newest whose `proxy` extra resolves here; 1.82.7 and
//! 1.82.8 were malicious releases and must never be installed), in a venv under `bench/.peers`,
//! with two workers, pointed at the mock. The workers run under gunicorn: uvicorn's own
//! multi-worker mode kills a worker that takes over 5 s to import, which LiteLLM does on a busy
//! 2-core machine.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use super::{Contender, chat_target, models};
use crate::process::{self, Process};

/// The pinned release.
pub const VERSION: &str = "1.81.16";

/// Installs LiteLLM into `peers/litellm` unless it is there already.
pub fn install(peers: &Path) -> anyhow::Result<()> {
    let venv = peers.join("litellm");
    if venv.join("bin/litellm").exists() {
        return Ok(());
    }
    eprintln!(
        "installing litellm[proxy]=={VERSION} into {}",
        venv.display()
    );
    let status = std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("cannot run python3 -m venv")?;
    if !status.success() {
        bail!("python3 -m venv failed ({status})");
    }
    let output = std::process::Command::new(venv.join("bin/pip"))
        .args(["install", "-q", &format!("litellm[proxy]=={VERSION}")])
        .output()
        .context("cannot run pip")?;
    if !output.status.success() {
        bail!(
            "pip install litellm[proxy]=={VERSION} failed: {}",
            tail(&String::from_utf8_lossy(&output.stderr))
        );
    }
    Ok(())
}

/// Starts LiteLLM with two workers against the mock at `mock`.
pub async fn start(peers: &Path, mock: SocketAddr, work: &Path) -> anyhow::Result<Contender> {
    install(peers)?;
    let config_path = work.join("litellm.yaml");
    let mut yaml = String::from("model_list:\n");
    for model in models::ALL {
        let _ = write!(
            yaml,
            "  - model_name: {model}\n    litellm_params:\n      model: openai/{model}\n      \
             api_base: http://{mock}/v1\n      api_key: sk-bench\n"
        );
    }
    yaml.push_str("litellm_settings:\n  set_verbose: false\n  telemetry: false\n");
    std::fs::write(&config_path, yaml).context("cannot write the LiteLLM config")?;
    let port = process::free_port()?;
    let mut command = std::process::Command::new(peers.join("litellm/bin/litellm"));
    command
        .arg("--config")
        .arg(&config_path)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--num_workers",
            "2",
            "--run_gunicorn",
        ])
        .env("LITELLM_LOG", "ERROR")
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_TELEMETRY", "False")
        .env("DISABLE_SCHEMA_UPDATE", "True");
    let log = work.join("litellm.log");
    let mut process = Process::spawn("litellm", command, &log, false)?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    process::wait_http_ok(
        &mut process,
        addr,
        "/health/liveliness",
        Duration::from_secs(180),
    )
    .await
    .with_context(|| format!("see {}", log.display()))?;
    Ok(Contender {
        target: chat_target("litellm", addr),
        process,
    })
}

/// The last lines of a long message.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}
