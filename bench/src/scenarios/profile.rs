//! Section 7: where the gateway's CPU goes under the closed-loop load. `perf record -g` samples
//! the gateway process while N connections send non-streamed requests; the report gives the
//! share of each binary (the kernel, the gateway, JIT-compiled plugin code, libc) and the top
//! symbols. Needs `perf` (Debian: `linux-perf`) and the right to profile the process
//! (`kernel.perf_event_paranoid` ≤ 1, or root); without them the section says why.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::contenders::models;
use crate::load::{self, Payload, Target};
use crate::results::{Profile, Share};

/// Sampling frequency, Hz.
const FREQUENCY: &str = "999";
/// Symbols listed.
const TOP_SYMBOLS: usize = 25;

/// Profiles the process `pid` serving `target` under `connections` connections for `duration`,
/// loaded with the small chat body.
pub async fn run(
    target: &Target,
    pid: u32,
    connections: usize,
    duration: Duration,
    work: &Path,
) -> anyhow::Result<Profile> {
    let payload = Payload::chat(models::PLAIN, false);
    run_with(target, &payload, pid, connections, duration, work).await
}

/// [`run`] with the load sending `payload`.
pub async fn run_with(
    target: &Target,
    payload: &Payload,
    pid: u32,
    connections: usize,
    duration: Duration,
    work: &Path,
) -> anyhow::Result<Profile> {
    let data = work.join("gateway.perf");
    let seconds = duration.as_secs().max(1).to_string();
    let recorder = tokio::process::Command::new("perf")
        .args([
            "record",
            "-F",
            FREQUENCY,
            "-g",
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(&data)
        .args(["--", "sleep", &seconds])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot run perf (Debian package linux-perf)")?;
    // Load for a little longer than the recording, so every sample is under load.
    let load = load::closed_loop(
        target,
        payload,
        connections,
        duration + Duration::from_millis(500),
    );
    let (recorded, outcome) = tokio::join!(recorder.wait_with_output(), load);
    let recorded = recorded.context("perf record")?;
    if !recorded.status.success() {
        bail!(
            "perf record failed: {}",
            String::from_utf8_lossy(&recorded.stderr).trim()
        );
    }
    let outcome = outcome?;
    let by_binary = report(&data, "dso")?;
    let symbols = report(&data, "sym")?;
    let kernel_share = by_binary
        .iter()
        .filter(|share| share.name.starts_with("[kernel"))
        .map(|share| share.percent)
        .sum();
    Ok(Profile {
        connections,
        duration_s: duration.as_secs_f64(),
        rps: outcome.rps(),
        kernel_share,
        by_binary,
        top_symbols: symbols.into_iter().take(TOP_SYMBOLS).collect(),
        command: format!(
            "perf record -F {FREQUENCY} -g -p <gateway pid> -- sleep {seconds}; perf report --no-children --sort dso|sym -g none"
        ),
    })
}

/// `perf report` of `data` sorted by `key` (`dso` or `sym`), as shares of all samples.
fn report(data: &Path, key: &str) -> anyhow::Result<Vec<Share>> {
    let output = std::process::Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "-g",
            "none",
            "--sort",
            key,
            "-i",
        ])
        .arg(data)
        .output()
        .context("cannot run perf report")?;
    if !output.status.success() {
        bail!(
            "perf report failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_report(&String::from_utf8_lossy(&output.stdout)))
}

/// The `  12.34%  name` lines of a `perf report --stdio` listing, largest first.
fn parse_report(text: &str) -> Vec<Share> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let (percent, name) = line.split_once('%')?;
            let percent = percent.trim().parse::<f64>().ok()?;
            Some(Share {
                name: name.trim().to_owned(),
                percent,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_become_shares() {
        let text = "# Samples: 8K of event 'cpu-clock'\n#\n    46.10%  [kernel.kallsyms]\n    11.00%  [JIT] tid 42\n     0.50%  [.] memcpy\n\n";
        let shares = parse_report(text);
        assert_eq!(shares.len(), 3);
        assert_eq!(shares[0].name, "[kernel.kallsyms]");
        assert!((shares[0].percent - 46.1).abs() < 1e-9);
        assert_eq!(shares[2].name, "[.] memcpy");
    }
}
