//! Section 2: closed-loop throughput at N connections, the highest open-loop rate whose p99 stays
//! within 10 ms, and latency at fixed rates. Every step runs each contender in turn, round after
//! round, so drift hits all alike.

use std::time::Duration;

use crate::contenders::models;
use crate::load::{self, Outcome, Payload, Target};
use crate::results::{Dist, MaxRate, RateRow, Throughput};
use crate::scenarios::Plan;

/// The latency bound of the rate search, µs.
pub const P99_BOUND_US: u64 = 10_000;

/// Runs the section. Contenders that fail a step are reported with the error.
pub async fn run(targets: &[Target], plan: &Plan) -> anyhow::Result<Throughput> {
    let payload = Payload::chat(models::PLAIN, false);
    let mut section = Throughput {
        connections: plan.connections,
        ..Throughput::default()
    };

    let mut closed: Vec<Option<Outcome>> = vec![None; targets.len()];
    for _ in 0..plan.rounds {
        for (k, target) in targets.iter().enumerate() {
            let outcome = load::closed_loop(target, &payload, plan.connections, plan.round).await?;
            merge(&mut closed[k], outcome);
        }
    }
    for (target, outcome) in targets.iter().zip(&closed) {
        if let Some(outcome) = outcome {
            section.closed.push(row(&target.name, None, outcome));
        }
    }

    // Binary search on the offered rate between 0 and 1.2× the closed-loop rate.
    let mut bounds: Vec<(f64, f64)> = closed
        .iter()
        .map(|o| (0.0, o.as_ref().map_or(1_000.0, |o| o.rps() * 1.2).max(50.0)))
        .collect();
    let mut best: Vec<Option<(f64, u64)>> = vec![None; targets.len()];
    for step in 0..plan.search_steps {
        for (k, target) in targets.iter().enumerate() {
            let (low, high) = bounds[k];
            // First probe the closed-loop rate itself, then bisect.
            let rate = if step == 0 {
                high / 1.2
            } else {
                (low + high) / 2.0
            };
            let outcome = open(target, &payload, rate, plan, plan.search_step).await;
            let ok = outcome.as_ref().is_ok_and(|o| meets(o, rate));
            if let Ok(outcome) = &outcome {
                section.curve.push(row(&target.name, Some(rate), outcome));
            }
            if ok {
                bounds[k].0 = rate;
                let p99 = outcome.map(|o| o.p(0.99)).unwrap_or_default();
                if best[k].is_none_or(|(r, _)| rate > r) {
                    best[k] = Some((rate, p99));
                }
            } else {
                bounds[k].1 = rate;
            }
        }
    }
    for (target, best) in targets.iter().zip(&best) {
        let (rate, p99) = best.unwrap_or((0.0, 0));
        section.max_rate.push(MaxRate {
            name: target.name.clone(),
            rate,
            p99,
        });
    }

    for &rate in &plan.fixed_rates {
        let mut merged: Vec<Option<Outcome>> = vec![None; targets.len()];
        let per_round = plan.round.mul_f64(0.5).max(Duration::from_millis(500));
        for _ in 0..plan.rounds.div_ceil(2) {
            for (k, target) in targets.iter().enumerate() {
                if let Ok(outcome) = open(target, &payload, rate, plan, per_round).await {
                    merge(&mut merged[k], outcome);
                }
            }
        }
        for (target, outcome) in targets.iter().zip(&merged) {
            if let Some(outcome) = outcome {
                let row = row(&target.name, Some(rate), outcome);
                section.curve.push(row.clone());
                section.fixed.push(row);
            }
        }
    }
    section.curve.sort_by(|a, b| {
        a.name.cmp(&b.name).then(
            a.offered
                .unwrap_or(0.0)
                .total_cmp(&b.offered.unwrap_or(0.0)),
        )
    });
    Ok(section)
}

async fn open(
    target: &Target,
    payload: &Payload,
    rate: f64,
    plan: &Plan,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    load::open_loop(target, payload, rate, plan.connections, duration).await
}

/// p99 within the bound, ≥ 95 % of the offered rate served, under 1 % errors.
fn meets(outcome: &Outcome, rate: f64) -> bool {
    outcome.ok > 0
        && outcome.p(0.99) <= P99_BOUND_US
        && outcome.rps() >= rate * 0.95
        && (outcome.errors as f64) < outcome.ok as f64 * 0.01
}

fn merge(into: &mut Option<Outcome>, outcome: Outcome) {
    match into {
        Some(total) => total.merge(&outcome),
        None => *into = Some(outcome),
    }
}

fn row(name: &str, offered: Option<f64>, outcome: &Outcome) -> RateRow {
    RateRow {
        name: name.to_owned(),
        offered,
        achieved: outcome.rps(),
        dist: Dist::of(&outcome.latency),
        errors: outcome.errors,
        first_error: outcome.first_error.clone(),
    }
}
