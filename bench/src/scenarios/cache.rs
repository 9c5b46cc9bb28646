//! The response cache: what a hit costs. A gateway with `[cache] enabled = true` answers the
//! same deterministic (`temperature: 0`) request again and again: once from the upstream, then
//! from its in-process cache, touching no plugin and no upstream. Measured like the CPU section
//! (closed loop at N connections, CPU of the contender's processes per request, interleaved
//! rounds): the all-hit load against nginx's bare hop in the same run (issue 29's goal: at most
//! 1.5× nginx's CPU per request), and a 90 %-hit load (every tenth request carries
//! `Cache-Control: no-cache`, so it goes upstream and refreshes the entry) beside the uncached
//! gateway under the same request.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::contenders::gateway::{self, Gateway};
use crate::contenders::models;
use crate::load::{self, Outcome, Payload, Refresh};
use crate::scenarios::Plan;
use crate::scenarios::cpu::{Metered, round};
use crate::usage::Usage;

/// The goal: a hit's CPU per request over nginx's.
const GOAL: f64 = 1.5;

/// One measured load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheRow {
    /// The contender and load.
    pub name: String,
    /// Requests served.
    pub requests: u64,
    /// Throughput, RPS.
    pub rps: f64,
    /// CPU per request, µs.
    pub cpu_us: Option<f64>,
    /// Failed requests.
    pub errors: u64,
}

/// The section's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheSection {
    /// nginx, the all-hit load, the 90 %-hit load and the uncached gateway, in that order
    /// (nginx absent when it did not start).
    pub rows: Vec<CacheRow>,
    /// All-hit CPU per request over nginx's.
    pub hit_vs_nginx: Option<f64>,
    /// 90 %-hit CPU per request over the uncached gateway's.
    pub mixed_vs_uncached: Option<f64>,
}

/// The request every load sends: deterministic, so the cache keeps its answer.
fn payload() -> Payload {
    Payload::chat_deterministic(models::PLAIN)
}

/// Measures the loads; the cached gateway is started here, `nginx` and `uncached` (the
/// gateway without a cache) are the run's own.
pub async fn run(
    mock: SocketAddr,
    nginx: Option<&Metered>,
    uncached: &Metered,
    plan: &Plan,
    work: &Path,
) -> anyhow::Result<CacheSection> {
    let cached: Gateway = gateway::start_as(
        "switchyard-cache",
        mock,
        work,
        "\n[cache]\nenabled = true\n",
        &[],
    )
    .await?;
    let pids = vec![cached.contender.process.pid()];
    let mut hits = cached.contender.target.clone();
    hits.name = "switchyard, every request a cache hit".to_owned();
    let mut mixed = cached.contender.target.clone();
    mixed.name = "switchyard, 90 % cache hits".to_owned();
    mixed.refresh = Some(Arc::new(Refresh::every(10)));
    let mut plain = uncached.clone();
    plain.target.name = "switchyard, uncached".to_owned();
    let mut contenders: Vec<Metered> = nginx.into_iter().cloned().collect();
    contenders.push(Metered {
        target: hits,
        pids: pids.clone(),
    });
    contenders.push(Metered {
        target: mixed,
        pids,
    });
    contenders.push(plain);

    let payload = payload();
    for contender in &contenders {
        let _ = load::closed_loop(
            &contender.target,
            &payload,
            plan.connections,
            plan.cpu_warmup,
        )
        .await;
    }
    let mut served: Vec<Outcome> = contenders.iter().map(|_| Outcome::empty()).collect();
    let mut used = vec![Usage::default(); contenders.len()];
    for _ in 0..plan.cpu_rounds {
        for (k, contender) in contenders.iter().enumerate() {
            let (outcome, usage) =
                round(contender, &payload, plan.connections, plan.cpu_round).await?;
            served[k].merge(&outcome);
            used[k].add(usage);
        }
    }
    let rows: Vec<CacheRow> = contenders
        .iter()
        .zip(served.iter().zip(used))
        .map(|(contender, (outcome, usage))| CacheRow {
            name: contender.target.name.clone(),
            requests: outcome.ok,
            rps: outcome.rps(),
            cpu_us: usage.per_request(outcome.ok).map(|(cpu, _)| cpu),
            errors: outcome.errors,
        })
        .collect();
    let cpu = |name_part: &str| {
        rows.iter()
            .find(|row| row.name.contains(name_part))
            .and_then(|row| row.cpu_us)
    };
    let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b.filter(|b| *b > 0.0)?);
    Ok(CacheSection {
        hit_vs_nginx: ratio(cpu("every request"), nginx.and(cpu("nginx"))),
        mixed_vs_uncached: ratio(cpu("90 %"), cpu("uncached")),
        rows,
    })
}

/// The report's section.
pub fn markdown(section: &CacheSection, connections: usize) -> String {
    let mut md = format!(
        "\n## Response cache\n\n\
         The same `temperature: 0` request at c={connections}, closed loop; CPU of each \
         contender's own processes per request. Goal: a hit ≤ {GOAL}× nginx's CPU per request.\n\n\
         | contender | requests | RPS | CPU µs/request | errors |\n|---|---|---|---|---|\n"
    );
    for row in &section.rows {
        let cpu = row.cpu_us.map_or("-".to_owned(), |cpu| format!("{cpu:.1}"));
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {cpu} | {} |",
            row.name, row.requests, row.rps, row.errors
        );
    }
    let ratio = |value: Option<f64>| value.map_or("-".to_owned(), |value| format!("{value:.2}×"));
    let met = match section.hit_vs_nginx {
        Some(value) if value <= GOAL => "met",
        Some(_) => "missed",
        None => "not measured",
    };
    let _ = writeln!(
        md,
        "\nHit ÷ nginx: {} ({met}). 90 % hits ÷ uncached: {}.",
        ratio(section.hit_vs_nginx),
        ratio(section.mixed_vs_uncached)
    );
    md
}
