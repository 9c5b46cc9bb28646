//! Section 1: one request at a time, round-robin over the contenders so drift hits all alike;
//! added latency is each percentile minus the direct path's.

use std::sync::Arc;

use crate::contenders::models;
use crate::load::{self, Conn, Payload, Target};
use crate::results::{Dist, LatencyRow};

/// Runs `warmup` then `requests` non-streamed requests per contender. `targets[0]` is direct.
pub async fn run(
    targets: &[Target],
    warmup: usize,
    requests: usize,
) -> anyhow::Result<Vec<LatencyRow>> {
    let payload = Payload::chat(models::PLAIN, false);
    let mut conns = Vec::new();
    for target in targets {
        conns.push(Conn::connect(Arc::new(target.clone())).await?);
    }
    let mut histograms: Vec<_> = targets.iter().map(|_| load::histogram()).collect();
    let mut errors = vec![0u64; targets.len()];
    for i in 0..warmup + requests {
        for (k, conn) in conns.iter_mut().enumerate() {
            match conn.send(&payload).await {
                Ok(sample) if i >= warmup => load::record(&mut histograms[k], sample.total),
                Ok(_) => {}
                Err(_) => {
                    errors[k] += 1;
                    if let Ok(fresh) = Conn::connect(Arc::new(targets[k].clone())).await {
                        *conn = fresh;
                    }
                }
            }
        }
    }
    let direct = Dist::of(&histograms[0]);
    Ok(targets
        .iter()
        .zip(&histograms)
        .zip(&errors)
        .enumerate()
        .map(|(k, ((target, histogram), &errors))| {
            let dist = Dist::of(histogram);
            LatencyRow {
                name: target.name.clone(),
                dist,
                added: (k > 0).then(|| {
                    [
                        dist.p50 as i64 - direct.p50 as i64,
                        dist.p90 as i64 - direct.p90 as i64,
                        dist.p99 as i64 - direct.p99 as i64,
                    ]
                }),
                errors,
            }
        })
        .collect())
}
