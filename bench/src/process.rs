//! Child processes: each contender runs in its own process group, announces its address on a
//! stdout line, and is killed with its whole group (LiteLLM's workers included) when dropped.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running child process and its process group.
pub struct Process {
    /// Name for messages.
    pub name: String,
    child: Child,
    pid: u32,
}

impl Process {
    /// Spawns `command` in a new process group, stderr written to `log`; stdout is piped for
    /// [`Self::address_after`] when `announces` is set, else written to `log` as well.
    pub fn spawn(
        name: &str,
        mut command: std::process::Command,
        log: &Path,
        announces: bool,
    ) -> anyhow::Result<Process> {
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let stdout = if announces {
            Stdio::piped()
        } else {
            Stdio::from(log_file.try_clone().context("cannot share the log file")?)
        };
        command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log_file)
            .process_group(0);
        let mut command = Command::from(command);
        command.kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let pid = child.id().context("the child has no pid")?;
        Ok(Process {
            name: name.to_owned(),
            child,
            pid,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits up to `timeout` for a stdout line containing `marker`, and returns the address that
    /// follows it (`http://` removed). Later stdout is drained so the child never blocks on it.
    pub async fn address_after(
        &mut self,
        marker: &str,
        timeout: Duration,
    ) -> anyhow::Result<SocketAddr> {
        let stdout = self.child.stdout.take().context("stdout already taken")?;
        let mut lines = BufReader::new(stdout).lines();
        let name = self.name.clone();
        let found = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split(marker).nth(1) {
                    let address = rest.trim().trim_start_matches("http://");
                    return address
                        .parse::<SocketAddr>()
                        .with_context(|| format!("{name} printed an unreadable address: {line}"));
                }
            }
            bail!("{name} exited before printing its address")
        })
        .await
        .with_context(|| format!("{} did not print its address within {timeout:?}", self.name))??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(found)
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: kill(2) with a negative pid signals the process group we created; it has no
        // memory-safety preconditions.
        unsafe {
            libc::kill(-(self.pid as i32), libc::SIGKILL);
        }
    }
}

/// Resident set size of `pid` in bytes, from `/proc/PID/status` (`VmRSS`).
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .context("empty VmRSS line")?
        .parse()
        .context("unreadable VmRSS")?;
    Ok(kib * 1024)
}

/// A free TCP port on 127.0.0.1 (for peers that cannot bind port 0 and report it).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a port")?;
    Ok(listener.local_addr()?.port())
}

/// Polls `GET path` on `addr` until it answers 200 or `timeout` passes, watching `process`.
pub async fn wait_http_ok(
    process: &mut Process,
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if process.exited() {
            bail!("{} exited during start-up", process.name);
        }
        if let Ok(200) = get_status(addr, path).await {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "{} did not answer GET {path} within {timeout:?}",
                process.name
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn get_status(addr: SocketAddr, path: &str) -> anyhow::Result<u16> {
    use http_body_util::{BodyExt, Empty};
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<bytes::Bytes>::new())?;
    let response =
        tokio::time::timeout(Duration::from_secs(5), sender.send_request(request)).await??;
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    Ok(status)
}
