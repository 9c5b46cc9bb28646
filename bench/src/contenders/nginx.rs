//! nginx (Debian's package) as a bare reverse-proxy hop in front of the mock: the floor that
//! issue 24's targets are ratios to. Its configuration is `bench/nginx.conf` with the addresses
//! filled in; its work is done by its worker processes, the children of its master.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use super::{Contender, chat_target};
use crate::process::{self, Process};
use crate::usage;

/// The configuration template (`{{UPSTREAM}}`, `{{LISTEN}}`).
const TEMPLATE: &str = include_str!("../../nginx.conf");

/// Worker processes the template asks for.
const WORKERS: usize = 2;

/// The running nginx and its workers.
pub struct Nginx {
    /// The master process, as a contender (the target is nginx's listener).
    pub contender: Contender,
    /// The worker processes' pids (they do the work: CPU is counted over them).
    pub workers: Vec<u32>,
}

/// The configuration for a mock at `upstream`, listening on `listen`.
pub fn render(upstream: SocketAddr, listen: SocketAddr) -> String {
    TEMPLATE
        .replace("{{UPSTREAM}}", &upstream.to_string())
        .replace("{{LISTEN}}", &listen.to_string())
}

/// The nginx binary: on the `PATH`, or Debian's `/usr/sbin/nginx` (not on a user's `PATH`).
pub fn binary() -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|path| path.is_file()))
        .context("nginx is not installed (Debian: apt-get install nginx)")
}

/// nginx's version line (`nginx/1.22.1`), or why there is none.
pub fn version() -> String {
    binary()
        .ok()
        .and_then(|nginx| std::process::Command::new(nginx).arg("-v").output().ok())
        .map(|output| {
            String::from_utf8_lossy(&output.stderr)
                .trim()
                .trim_start_matches("nginx version: ")
                .to_owned()
        })
        .unwrap_or_else(|| "not installed".to_owned())
}

/// Writes the configuration into `<work>/nginx/` (its prefix) and returns the file's path.
fn write_config(upstream: SocketAddr, listen: SocketAddr, work: &Path) -> anyhow::Result<PathBuf> {
    let prefix = work.join("nginx");
    std::fs::create_dir_all(&prefix)
        .with_context(|| format!("cannot create {}", prefix.display()))?;
    let path = prefix.join("nginx.conf");
    std::fs::write(&path, render(upstream, listen))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `nginx -e stderr -p <prefix> -c <config>`: the error log on stderr from the start (not the
/// compiled-in /var/log path), every relative path under the prefix.
fn command(nginx: &Path, config: &Path) -> anyhow::Result<std::process::Command> {
    let prefix = config.parent().context("the config has no folder")?;
    let mut command = std::process::Command::new(nginx);
    command
        .args(["-e", "stderr", "-p"])
        .arg(prefix)
        .arg("-c")
        .arg(config);
    Ok(command)
}

/// Starts nginx in front of the mock at `upstream`; its files go to `<work>/nginx/`.
pub async fn start(upstream: SocketAddr, work: &Path) -> anyhow::Result<Nginx> {
    let nginx = binary()?;
    let listen: SocketAddr = ([127, 0, 0, 1], process::free_port()?).into();
    let config = write_config(upstream, listen, work)?;
    let log = work.join("nginx.log");
    let mut process = Process::spawn("nginx", command(&nginx, &config)?, &log, false)?;
    process::wait_http_ok(
        &mut process,
        listen,
        "/nginx-ready",
        Duration::from_secs(20),
    )
    .await
    .with_context(|| format!("see {}", log.display()))?;
    // The workers answer as soon as one is up; wait for all of them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let workers = loop {
        let workers = usage::children(process.pid());
        if workers.len() >= WORKERS {
            break workers;
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "nginx started {} of its {WORKERS} workers (see {})",
                workers.len(),
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Ok(Nginx {
        contender: Contender {
            target: chat_target("nginx", listen),
            process,
        },
        workers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> String {
        render(
            "127.0.0.1:4100".parse().unwrap(),
            "127.0.0.1:4200".parse().unwrap(),
        )
    }

    #[test]
    fn render_fills_the_addresses_and_keeps_the_floor_settings() {
        let text = rendered();
        assert!(!text.contains("{{"), "a placeholder is left: {text}");
        assert!(text.contains(
            "upstream mock { server 127.0.0.1:4100; keepalive 64; keepalive_requests 1000000; }"
        ));
        assert!(text.contains("listen 127.0.0.1:4200;"));
        for setting in [
            "worker_processes 2;",
            "access_log off;",
            "keepalive_requests 1000000;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "proxy_buffering off;",
            "client_body_buffer_size 1m;",
        ] {
            assert!(text.contains(setting), "missing {setting}");
        }
        assert_eq!(
            text.matches("worker_processes").count(),
            1,
            "one worker setting"
        );
        assert!(text.contains(&format!("worker_processes {WORKERS};")));
    }

    /// nginx itself accepts the rendered file (`nginx -t`); nginx is installed by `.ci/run`.
    #[test]
    fn nginx_accepts_the_rendered_config() {
        let nginx = binary().expect("nginx is needed for this test: apt-get install nginx");
        let work = std::env::temp_dir().join(format!("bench-nginx-test-{}", std::process::id()));
        let config = write_config(
            "127.0.0.1:4100".parse().unwrap(),
            "127.0.0.1:4200".parse().unwrap(),
            &work,
        )
        .unwrap();
        let output = command(&nginx, &config)
            .unwrap()
            .arg("-t")
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&work);
        assert!(
            output.status.success(),
            "nginx -t refused the config: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
