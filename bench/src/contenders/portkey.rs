//! The Portkey AI gateway, pinned to 1.15.2 from npm, installed under `bench/.peers/portkey`,
//! run with Node in headless mode and pointed at the mock with its custom-host header.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use super::{Contender, chat_target};
use crate::process::{self, Process};

/// The pinned release.
pub const VERSION: &str = "1.15.2";

/// Installs the gateway into `peers/portkey` unless it is there already.
pub fn install(peers: &Path) -> anyhow::Result<()> {
    let dir = peers.join("portkey");
    if entry(peers).exists() {
        return Ok(());
    }
    eprintln!(
        "installing @portkey-ai/gateway@{VERSION} into {}",
        dir.display()
    );
    std::fs::create_dir_all(&dir).context("cannot create the Portkey folder")?;
    let manifest = dir.join("package.json");
    if !manifest.exists() {
        std::fs::write(
            &manifest,
            "{\"name\": \"bench-peers\", \"private\": true}\n",
        )
        .context("cannot write package.json")?;
    }
    let output = std::process::Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            &format!("@portkey-ai/gateway@{VERSION}"),
        ])
        .current_dir(&dir)
        .output()
        .context("cannot run npm")?;
    if !output.status.success() {
        bail!(
            "npm install @portkey-ai/gateway@{VERSION} failed: {}",
            super::litellm::tail(&String::from_utf8_lossy(&output.stderr))
        );
    }
    Ok(())
}

fn entry(peers: &Path) -> std::path::PathBuf {
    peers.join("portkey/node_modules/@portkey-ai/gateway/build/start-server.js")
}

/// The Node version that runs Portkey.
pub fn node_version() -> String {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Starts Portkey against the mock at `mock`.
pub async fn start(peers: &Path, mock: SocketAddr, work: &Path) -> anyhow::Result<Contender> {
    install(peers)?;
    let port = process::free_port()?;
    let mut command = std::process::Command::new("node");
    command
        .arg(entry(peers))
        .arg(format!("--port={port}"))
        .arg("--headless")
        .env("NODE_ENV", "production");
    let log = work.join("portkey.log");
    let mut process = Process::spawn("portkey", command, &log, false)?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    process::wait_http_ok(&mut process, addr, "/", Duration::from_secs(60))
        .await
        .with_context(|| format!("see {}", log.display()))?;
    let mut target = chat_target("portkey", addr);
    target.headers = vec![
        ("x-portkey-provider".into(), "openai".into()),
        ("x-portkey-custom-host".into(), format!("http://{mock}/v1")),
        ("authorization".into(), "Bearer sk-bench".into()),
    ];
    Ok(Contender { target, process })
}
