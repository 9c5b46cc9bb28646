//! The performance targets (issue 12: the request path; the peer ratios of issue 7), checked
//! against one run's results. The keys-on targets of issue 13 are in its own section.

use crate::results::{Results, TargetRow};

const GATEWAY: &str = "switchyard";

/// One row per target; unknown when the run lacks the measurement (e.g. peers skipped).
pub fn evaluate(results: &Results) -> Vec<TargetRow> {
    let mut rows = Vec::new();
    let latency = results.latency.iter().find(|r| r.name == GATEWAY);
    let added = latency.and_then(|r| r.added);
    rows.push(at_most(
        "added latency p50, c=1",
        50.0,
        added.map(|a| a[0] as f64),
        "µs",
    ));
    rows.push(at_most(
        "added latency p99, c=1",
        300.0,
        added.map(|a| a[2] as f64),
        "µs",
    ));

    let closed = |name: &str| results.throughput.closed.iter().find(|r| r.name == name);
    let gateway = closed(GATEWAY);
    let ratio = |peer: &str| match (gateway, closed(peer)) {
        (Some(g), Some(p)) if p.achieved > 0.0 => Some(g.achieved / p.achieved),
        _ => None,
    };
    let c = results.throughput.connections;
    rows.push(at_least(
        &format!("throughput at {c} connections vs LiteLLM"),
        30.0,
        ratio("litellm"),
        "×",
    ));
    rows.push(at_least(
        &format!("throughput at {c} connections vs Portkey"),
        10.0,
        ratio("portkey"),
        "×",
    ));
    rows.push(at_least(
        &format!("throughput at {c} connections vs bare proxy"),
        0.5,
        ratio("bare proxy"),
        "×",
    ));
    let p99_ratio = match (gateway, closed("bare proxy")) {
        (Some(g), Some(p)) if p.dist.p99 > 0 => Some(g.dist.p99 as f64 / p.dist.p99 as f64),
        _ => None,
    };
    rows.push(at_most(
        &format!("gateway p99 at {c} connections vs bare proxy's p99"),
        2.0,
        p99_ratio,
        "×",
    ));
    let max_rate = |name: &str| {
        results
            .throughput
            .max_rate
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.rate)
    };
    let rate_ratio = match (max_rate(GATEWAY), max_rate("bare proxy")) {
        (Some(g), Some(p)) if p > 0.0 => Some(g / p),
        _ => None,
    };
    rows.push(at_least(
        "highest rate with p99 ≤ 10 ms vs bare proxy",
        0.5,
        rate_ratio,
        "×",
    ));

    let stream = results.streaming.serial.iter().find(|r| r.name == GATEWAY);
    rows.push(at_most(
        "streaming added TTFT (p50)",
        500.0,
        stream.and_then(|s| s.added_ttft_p50).map(|v| v as f64),
        "µs",
    ));
    rows.push(at_most(
        "streaming per-chunk overhead",
        5.0,
        stream.and_then(|s| s.per_chunk_us),
        "µs",
    ));
    rows.push(at_most(
        "idle RSS, all first-party plugins",
        40.0,
        (results.memory.idle_mib > 0.0).then_some(results.memory.idle_mib),
        "MiB",
    ));
    let soak = &results.memory.soak;
    let allowed = (soak.early_mib * 0.02).max(1.0);
    rows.push(TargetRow {
        name: format!("RSS growth over the {:.0} s soak", soak.duration_s),
        goal: format!("none (≤ {allowed:.1} MiB: 2 % or 1 MiB of noise)"),
        measured: format!(
            "{:+.1} MiB ({:.1} → {:.1})",
            soak.growth_mib, soak.early_mib, soak.late_mib
        ),
        ratio: None,
        met: (soak.early_mib > 0.0).then_some(soak.growth_mib <= allowed),
    });
    rows
}

fn at_most(name: &str, goal: f64, measured: Option<f64>, unit: &str) -> TargetRow {
    TargetRow {
        name: name.to_owned(),
        goal: format!("≤ {goal} {unit}"),
        measured: measured.map_or_else(|| "not measured".to_owned(), |m| format!("{m:.1} {unit}")),
        ratio: measured.map(|m| m / goal),
        met: measured.map(|m| m <= goal),
    }
}

fn at_least(name: &str, goal: f64, measured: Option<f64>, unit: &str) -> TargetRow {
    TargetRow {
        name: name.to_owned(),
        goal: format!("≥ {goal}{unit}"),
        measured: measured.map_or_else(|| "not measured".to_owned(), |m| format!("{m:.2}{unit}")),
        ratio: measured.map(|m| m / goal),
        met: measured.map(|m| m >= goal),
    }
}
