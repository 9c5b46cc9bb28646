//! CPU per request: each contender under the same closed-loop load (N connections, interleaved
//! rounds), with the CPU time its own processes spent over the run (see [`crate::usage`]; for
//! nginx, its workers) divided by the requests it served, at three body sizes, and for a stream
//! of 100 chunks (CPU per stream: the per-chunk path by CPU rather than by time). Also context
//! switches per request. The direct row is the mock's own cost.

use std::time::Duration;

use crate::contenders::models;
use crate::history::BodySize;
use crate::load::{self, Outcome, Payload, Target};
use crate::results::CpuRow;
use crate::scenarios::Plan;
use crate::usage::{self, Usage};

/// A contender and the processes whose CPU counts for it.
#[derive(Debug, Clone)]
pub struct Metered {
    /// Where the load goes.
    pub target: Target,
    /// The processes doing its work.
    pub pids: Vec<u32>,
}

/// The label of the streamed load's rows.
pub const STREAM: &str = "~100 B, stream of 100 chunks";

/// The loads measured: each body size non-streamed, then the small body streamed (the mock's
/// burst of [`crate::scenarios::streaming::CHUNKS`] chunks).
fn loads() -> Vec<(String, Payload)> {
    let mut loads: Vec<(String, Payload)> = BodySize::ALL
        .into_iter()
        .map(|size| {
            (
                size.label().to_owned(),
                Payload::sized(models::PLAIN, size, false),
            )
        })
        .collect();
    loads.push((
        STREAM.to_owned(),
        Payload::sized(models::BURST, BodySize::Small, true),
    ));
    loads
}

/// Measures every contender under every load; a contender that fails a round keeps the error
/// in its row, the others go on.
pub async fn run(contenders: &[Metered], plan: &Plan) -> Vec<CpuRow> {
    let mut rows = Vec::new();
    for (label, payload) in loads() {
        let loaded: Vec<(&Metered, &Payload)> = (contenders.iter())
            .map(|contender| (contender, &payload))
            .collect();
        rows.extend(measure(&label, &loaded, plan).await);
    }
    rows
}

/// The rows labelled `label` of each contender under its own payload, measured in the same
/// interleaved rounds after an uncounted warm-up.
pub async fn measure(label: &str, contenders: &[(&Metered, &Payload)], plan: &Plan) -> Vec<CpuRow> {
    for (contender, payload) in contenders {
        // Pools, caches and per-account instances fill before anything is counted.
        let _ = load::closed_loop(
            &contender.target,
            payload,
            plan.connections,
            plan.cpu_warmup,
        )
        .await;
    }
    let mut served: Vec<Outcome> = contenders.iter().map(|_| Outcome::empty()).collect();
    let mut used = vec![Usage::default(); contenders.len()];
    let mut failures: Vec<Option<String>> = vec![None; contenders.len()];
    for _ in 0..plan.cpu_rounds {
        for (k, (contender, payload)) in contenders.iter().enumerate() {
            match round(contender, payload, plan.connections, plan.cpu_round).await {
                Ok((outcome, usage)) => {
                    served[k].merge(&outcome);
                    used[k].add(usage);
                }
                Err(error) => {
                    failures[k].get_or_insert_with(|| format!("{error:#}"));
                }
            }
        }
    }
    let rows = contenders
        .iter()
        .enumerate()
        .map(|(k, (contender, payload))| {
            let outcome = &served[k];
            let per_request = used[k].per_request(outcome.ok);
            CpuRow {
                name: contender.target.name.clone(),
                body: label.to_owned(),
                body_bytes: payload.body_bytes(),
                requests: outcome.ok,
                rps: outcome.rps(),
                cpu_us: per_request.map(|(cpu, _)| cpu),
                switches: per_request.map(|(_, switches)| switches),
                errors: outcome.errors,
                first_error: failures[k].take().or_else(|| outcome.first_error.clone()),
            }
        });
    rows.collect()
}

/// One closed-loop run, with the CPU its processes used meanwhile.
pub async fn round(
    contender: &Metered,
    payload: &Payload,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<(Outcome, Usage)> {
    let before = usage::read(&contender.pids)?;
    let outcome = load::closed_loop(&contender.target, payload, connections, duration).await?;
    let after = usage::read(&contender.pids)?;
    Ok((outcome, before.until(after)))
}
