//! The mock upstream and the bare proxy, run as child processes of this binary (`mock` and
//! `proxy` subcommands) so each has its own runtime, like the gateway.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::{Contender, chat_target};
use crate::process::Process;

/// Starts the mock upstream; its target is the direct path.
pub async fn start_mock(logs: &Path) -> anyhow::Result<Contender> {
    let mut command = std::process::Command::new(self_exe()?);
    command.args(["mock", "--listen", "127.0.0.1:0"]);
    let mut process = Process::spawn("mock", command, &logs.join("mock.log"), true)?;
    let addr = process
        .address_after("mock listening on", Duration::from_secs(10))
        .await?;
    Ok(Contender {
        target: chat_target("direct", addr),
        process,
    })
}

/// Starts the bare proxy in front of `upstream`.
pub async fn start_proxy(upstream: SocketAddr, logs: &Path) -> anyhow::Result<Contender> {
    let mut command = std::process::Command::new(self_exe()?);
    command.args([
        "proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &upstream.to_string(),
    ]);
    let mut process = Process::spawn("proxy", command, &logs.join("proxy.log"), true)?;
    let addr = process
        .address_after("proxy listening on", Duration::from_secs(10))
        .await?;
    Ok(Contender {
        target: chat_target("bare proxy", addr),
        process,
    })
}

fn self_exe() -> anyhow::Result<std::path::PathBuf> {
    std::env::current_exe().context("cannot find this program's path")
}
