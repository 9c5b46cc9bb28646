//! Writes `latest.json` (the [`Results`] as they are) and `latest.md` (a table per section, the
//! targets with ratios, the machine and the command).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use crate::results::{CpuRow, Dist, Profile, RateRow, Results, TargetRow};

/// Writes `latest.json` and `latest.md` into `out`.
pub fn write(results: &Results, out: &Path) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(results).context("cannot serialise the results")?;
    std::fs::write(out.join("latest.json"), json).context("cannot write latest.json")?;
    std::fs::write(out.join("latest.md"), markdown(results)).context("cannot write latest.md")?;
    Ok(())
}

fn ms(micros: u64) -> String {
    format!("{:.3}", micros as f64 / 1e3)
}

fn signed_us(micros: Option<i64>) -> String {
    micros.map_or_else(|| "–".to_owned(), |v| format!("{v:+}"))
}

fn dist_cells(dist: &Dist) -> String {
    format!("{} | {} | {}", ms(dist.p50), ms(dist.p90), ms(dist.p99))
}

/// Both target tables: issue 24's ratios to nginx, then the earlier targets.
pub fn targets_table(results: &Results) -> String {
    format!(
        "### Against nginx in the same run (issue 24)\n\n{}\n### Earlier targets (issues 12 and 7)\n\n{}",
        table(&results.floor_targets),
        table(&results.targets)
    )
}

/// Target rows as a Markdown table.
fn table(rows: &[TargetRow]) -> String {
    let mut md =
        String::from("| target | goal | measured | ratio to goal | met |\n|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            row.name,
            row.goal,
            row.measured,
            row.ratio
                .map_or_else(|| "–".to_owned(), |r| format!("{r:.2}")),
            match row.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            }
        );
    }
    md
}

fn rate_table(md: &mut String, rows: &[RateRow]) {
    md.push_str("| contender | offered RPS | achieved RPS | p50 ms | p90 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {} | {}{} |",
            row.name,
            row.offered
                .map_or_else(|| "closed loop".to_owned(), |r| format!("{r:.0}")),
            row.achieved,
            dist_cells(&row.dist),
            row.errors,
            row.first_error
                .as_deref()
                .map_or_else(String::new, |e| format!(" ({})", short(e))),
        );
    }
}

fn short(text: &str) -> String {
    let one_line = text.replace(['\n', '|'], " ");
    if one_line.chars().count() > 160 {
        format!("{}…", one_line.chars().take(160).collect::<String>())
    } else {
        one_line
    }
}

/// The whole report.
pub fn markdown(results: &Results) -> String {
    let meta = &results.meta;
    let mut md = String::new();
    let _ = writeln!(md, "# Switchyard benchmark ({} run)\n", meta.mode);
    if cfg!(debug_assertions) {
        md.push_str(
            "**Debug build**: this run proves the harness works; its timings say nothing about \
             the release gateway.\n\n",
        );
    }
    let _ = writeln!(
        md,
        "Machine: {} · {} logical cores · Linux {} · {} MiB RAM. Run took {:.0} s. Command: `{}`.\n",
        meta.cpu, meta.cores, meta.kernel, meta.memory_mib, meta.duration_s, meta.command
    );
    md.push_str(
        "Everything (load generator, mock upstream, contenders) shares these cores, so absolute numbers \
         drift between runs and machines; the ratios are what to compare. Each step runs the contenders \
         in turn, round after round, so drift hits all alike. Latency in ms unless noted; \
         `direct` is the load generator talking to the mock upstream itself.\n\n",
    );
    let _ = writeln!(
        md,
        "Gateway start-up (spawn to listening, every first-party plugin loaded): {:.0} ms.\n",
        meta.gateway_startup_ms
    );
    md.push_str("| peer | version | status |\n|---|---|---|\n");
    for peer in &meta.peers {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            peer.name,
            peer.version,
            short(&peer.status)
        );
    }

    md.push_str("\n## Targets\n\n");
    md.push_str(&targets_table(results));

    md.push_str("\n## 1. Added latency at concurrency 1 (non-streamed)\n\n");
    md.push_str("| contender | p50 ms | p90 ms | p99 ms | added p50 µs | added p90 µs | added p99 µs | errors |\n|---|---|---|---|---|---|---|---|\n");
    for row in &results.latency {
        let added = row.added;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            row.name,
            dist_cells(&row.dist),
            signed_us(added.map(|a| a[0])),
            signed_us(added.map(|a| a[1])),
            signed_us(added.map(|a| a[2])),
            row.errors
        );
    }
    if let Some(first) = results.latency.first() {
        let _ = writeln!(
            md,
            "\n{} requests per contender after warm-up.",
            first.dist.count
        );
    }

    let t = &results.throughput;
    let _ = writeln!(
        md,
        "\n## 2. Throughput and latency under load ({} connections)\n",
        t.connections
    );
    md.push_str("### Closed loop (each connection sends as fast as answers come)\n\n");
    rate_table(&mut md, &t.closed);
    md.push_str("\n### Highest open-loop rate with p99 ≤ 10 ms\n\n| contender | RPS | p99 ms at that rate |\n|---|---|---|\n");
    for row in &t.max_rate {
        let _ = writeln!(md, "| {} | {:.0} | {} |", row.name, row.rate, ms(row.p99));
    }
    md.push_str("\n### Fixed rates (open loop; latency counted from the scheduled start when the server is behind)\n\n");
    rate_table(&mut md, &t.fixed);
    md.push_str("\n![latency vs load](latest.png)\n");
    cpu_table(&mut md, &results.cpu, t.connections);

    let s = &results.streaming;
    let _ = writeln!(
        md,
        "\n## 3. Streaming\n\n### One stream at a time ({} content chunks sent at once by the mock)\n",
        s.chunks
    );
    md.push_str("| contender | TTFT p50 ms | TTFT p99 ms | stream p50 ms | added TTFT p50 µs | added TTFT p99 µs | per-chunk µs | errors |\n|---|---|---|---|---|---|---|---|\n");
    for row in &s.serial {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {}{} |",
            row.name,
            ms(row.ttft.p50),
            ms(row.ttft.p99),
            ms(row.total.p50),
            signed_us(row.added_ttft_p50),
            signed_us(row.added_ttft_p99),
            row.per_chunk_us
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.1}")),
            row.errors,
            row.first_error
                .as_deref()
                .map_or_else(String::new, |e| format!(" ({})", short(e))),
        );
    }
    let _ = writeln!(
        md,
        "\nPer-chunk = (median first-to-last-byte time − direct's) / {} chunks.\n\n### {} streams at once (20 chunks 50 ms apart)\n",
        s.chunks, s.concurrent_streams
    );
    md.push_str("| contender | complete | failed | TTFT p50 ms | TTFT p99 ms | stream p99 ms | first error |\n|---|---|---|---|---|---|---|\n");
    for row in &s.concurrent {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            row.ok,
            row.errors,
            ms(row.ttft.p50),
            ms(row.ttft.p99),
            ms(row.total.p99),
            row.first_error
                .as_deref()
                .map_or_else(|| "–".to_owned(), short),
        );
    }

    let m = &results.memory;
    md.push_str("\n## 4. Gateway memory (VmRSS)\n\n| when | MiB |\n|---|---|\n");
    let _ = writeln!(
        md,
        "| idle, every first-party plugin loaded | {:.1} |",
        m.idle_mib
    );
    let _ = writeln!(
        md,
        "| peak under load ({} connections) | {:.1} |",
        t.connections, m.load_peak_mib
    );
    let _ = writeln!(
        md,
        "| peak with {} streams at once | {:.1} |",
        s.concurrent_streams, m.streams_peak_mib
    );
    let _ = writeln!(md, "| soak, 10–30 % of the way | {:.1} |", m.soak.early_mib);
    let _ = writeln!(md, "| soak, last 20 % | {:.1} |", m.soak.late_mib);
    let _ = writeln!(md, "| after the soak, idle 1 s | {:.1} |", m.soak.after_mib);
    let _ = writeln!(
        md,
        "\nSoak: {:.0} s at {:.0} non-streamed + {:.0} streamed RPS; {} requests served, {} failed; growth {:+.1} MiB.",
        m.soak.duration_s,
        m.soak.rate,
        m.soak.stream_rate,
        m.soak.ok,
        m.soak.errors,
        m.soak.growth_mib
    );

    md.push_str("\n## 5. Peers\n\nLiteLLM and Portkey run in the tables above, on the same mock and load generator; their status is at the top.\n");

    md.push_str("\n## 6. Plugin costs (in process, µs)\n\n| operation | p50 µs | p90 µs | p99 µs | samples |\n|---|---|---|---|---|\n");
    for row in &results.plugins.costs {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            row.name, row.dist.p50, row.dist.p90, row.dist.p99, row.dist.count
        );
    }
    let _ = writeln!(md, "\nCompile cache: {}.", results.plugins.cache);

    md.push_str(&crate::scenarios::keys_on::markdown(
        &results.keys_on,
        results.throughput.connections,
    ));
    if let Some(cache) = &results.cache {
        md.push_str(&crate::scenarios::cache::markdown(
            cache,
            results.throughput.connections,
        ));
    }
    if let Some(profile) = &results.profile {
        md.push_str(&profile_section(profile));
    }

    if !results.failures.is_empty() {
        md.push_str("\n## What failed\n\n");
        for failure in &results.failures {
            let _ = writeln!(md, "- {}", short(failure));
        }
    }
    md
}

/// CPU per request by body size, with each row's ratio to nginx's at the same size.
/// Section 2b's table: CPU per request of each contender at each body size.
pub fn cpu_table(md: &mut String, rows: &[CpuRow], connections: usize) {
    let _ = writeln!(
        md,
        "\n### CPU per request ({connections} connections, closed loop, by body size)\n\n\
         CPU time of each contender's own processes (`utime + stime` of `/proc/<pid>/stat`, all \
         threads; nginx: its workers; direct: the mock) over the counted rounds ÷ requests served. \
         Context switches: `/proc/<pid>/task/*/status`. The keyed rows are one gateway with \
         accounting on (SQLite): one key, then 32 keys of 32 accounts taken in turn. The stream rows \
         count CPU per stream of 100 chunks (the per-chunk path by CPU: nginx passes the mock's \
         burst on in a few large writes, so its time per chunk can come out below direct's). The \
         rows labelled 40000 `models` time the refusal of a chat and an embeddings request listing \
         40,000 models: CPU per refused request, against nginx forwarding the same body.\n\n\
         | body | contender | requests | RPS | CPU µs/request | ÷ nginx | context switches/request | errors |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for row in rows {
        let floor = rows
            .iter()
            .find(|other| other.name == "nginx" && other.body == row.body)
            .and_then(|other| other.cpu_us);
        let ratio = match (row.cpu_us, floor) {
            (Some(ours), Some(floor)) if floor > 0.0 => format!("{:.2}×", ours / floor),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} ({} B) | {} | {} | {:.0} | {} | {ratio} | {} | {}{} |",
            row.body,
            row.body_bytes,
            row.name,
            row.requests,
            row.rps,
            row.cpu_us
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.1}")),
            row.switches
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}")),
            row.errors,
            row.first_error
                .as_deref()
                .map_or_else(String::new, |e| format!(" ({})", short(e))),
        );
    }
}

/// Section 7: the gateway's CPU profile.
pub fn profile_section(profile: &Profile) -> String {
    let mut md = format!(
        "\n## 7. Where the gateway's CPU goes ({} connections, {:.0} s, {:.0} RPS while recording)\n\nKernel share of gateway CPU: **{:.1} %**. Recorded with `{}`.\n\n| binary | % |\n|---|---|\n",
        profile.connections, profile.duration_s, profile.rps, profile.kernel_share, profile.command
    );
    for share in profile.by_binary.iter().take(8) {
        let _ = writeln!(md, "| {} | {:.1} |", share.name, share.percent);
    }
    md.push_str("\n| symbol (self time) | % |\n|---|---|\n");
    for share in &profile.top_symbols {
        let _ = writeln!(md, "| `{}` | {:.1} |", share.name, share.percent);
    }
    md
}
