//! Section 3: streams one at a time (round-robin, 100 chunks sent at once by the mock) for the
//! added time to first token and the per-chunk cost, then many streams started at once.

use std::sync::Arc;
use std::time::Duration;

use crate::contenders::models;
use crate::load::{self, Conn, Payload, Target};
use crate::results::{ConcurrentRow, Dist, StreamRow};

/// Chunks per stream of the serial test (the `BURST` model).
pub const CHUNKS: usize = 100;

/// Streams `requests` times per contender, round-robin. `targets[0]` is direct.
pub async fn serial(
    targets: &[Target],
    warmup: usize,
    requests: usize,
) -> anyhow::Result<Vec<StreamRow>> {
    let payload = Payload::chat(models::BURST, true);
    let mut conns = Vec::new();
    for target in targets {
        conns.push(Conn::connect(Arc::new(target.clone())).await?);
    }
    let n = targets.len();
    let mut ttft: Vec<_> = (0..n).map(|_| load::histogram()).collect();
    let mut total: Vec<_> = (0..n).map(|_| load::histogram()).collect();
    let mut body: Vec<_> = (0..n).map(|_| load::histogram()).collect();
    let mut errors = vec![0u64; n];
    let mut first_error: Vec<Option<String>> = vec![None; n];
    // A contender whose first streams all fail is not asked again: it would only slow the run.
    let mut given_up = vec![false; n];
    for i in 0..warmup + requests {
        for (k, conn) in conns.iter_mut().enumerate() {
            if given_up[k] {
                continue;
            }
            match conn.send(&payload).await {
                Ok(sample) if i >= warmup => {
                    load::record(&mut ttft[k], sample.first_byte);
                    load::record(&mut total[k], sample.total);
                    load::record(&mut body[k], sample.total.saturating_sub(sample.first_byte));
                }
                Ok(_) => {}
                Err(error) => {
                    errors[k] += 1;
                    first_error[k].get_or_insert_with(|| format!("{error:#}"));
                    if errors[k] >= 20 && ttft[k].is_empty() {
                        given_up[k] = true;
                    }
                    if let Ok(fresh) = Conn::connect(Arc::new(targets[k].clone())).await {
                        *conn = fresh;
                    }
                }
            }
        }
    }
    let direct_ttft = Dist::of(&ttft[0]);
    let direct_body = Dist::of(&body[0]);
    Ok((0..n)
        .map(|k| {
            let row_ttft = Dist::of(&ttft[k]);
            let row_body = Dist::of(&body[k]);
            let measured = k > 0 && row_ttft.count > 0;
            StreamRow {
                name: targets[k].name.clone(),
                ttft: row_ttft,
                total: Dist::of(&total[k]),
                added_ttft_p50: measured.then(|| row_ttft.p50 as i64 - direct_ttft.p50 as i64),
                added_ttft_p99: measured.then(|| row_ttft.p99 as i64 - direct_ttft.p99 as i64),
                per_chunk_us: measured
                    .then(|| (row_body.p50 as f64 - direct_body.p50 as f64) / CHUNKS as f64),
                errors: errors[k],
                first_error: first_error[k].clone(),
            }
        })
        .collect())
}

/// Starts `streams` slow streams (20 chunks, 50 ms apart) at once on each contender in turn.
pub async fn concurrent(targets: &[Target], streams: usize) -> Vec<ConcurrentRow> {
    let payload = Payload::chat(models::SLOW, true);
    let mut rows = Vec::new();
    for target in targets {
        let run = load::concurrent(target, &payload, streams);
        let row = match tokio::time::timeout(Duration::from_secs(180), run).await {
            Ok(Ok(outcome)) => ConcurrentRow {
                name: target.name.clone(),
                ok: outcome.ok,
                errors: outcome.errors,
                ttft: Dist::of(&outcome.first_byte),
                total: Dist::of(&outcome.latency),
                first_error: outcome.first_error,
            },
            Ok(Err(error)) => ConcurrentRow {
                name: target.name.clone(),
                errors: streams as u64,
                first_error: Some(format!("{error:#}")),
                ..ConcurrentRow::default()
            },
            Err(_) => ConcurrentRow {
                name: target.name.clone(),
                errors: streams as u64,
                first_error: Some("did not finish within 180 s".to_owned()),
                ..ConcurrentRow::default()
            },
        };
        rows.push(row);
        // Let closed connections and finished instances settle before the next contender.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    rows
}
