//! Section 4: the gateway's resident memory: a peak sampler for the load sections, and a soak at a
//! fixed mixed rate that samples RSS over time to show growth.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::contenders::models;
use crate::load::{self, Payload, Target};
use crate::process::rss_bytes;
use crate::results::Soak;

/// Bytes to MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Samples a process's RSS every 50 ms and keeps the peak until stopped.
pub struct PeakSampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl PeakSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> PeakSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (task_peak, task_stop) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !task_stop.load(Ordering::Relaxed) {
                if let Ok(rss) = rss_bytes(pid) {
                    task_peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        PeakSampler { peak, stop }
    }

    /// Stops sampling; the peak in MiB.
    pub fn finish(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        mib(self.peak.load(Ordering::Relaxed))
    }
}

/// Runs non-streamed and streamed requests at `rates` against the gateway for `duration`,
/// sampling its RSS about 60 times.
pub async fn soak(
    gateway: &Target,
    pid: u32,
    duration: Duration,
    rates: (f64, f64),
    connections: usize,
) -> anyhow::Result<Soak> {
    let plain = Payload::chat(models::PLAIN, false);
    let stream = Payload::chat(models::PLAIN, true);
    let sampling = Arc::new(AtomicBool::new(true));
    let period = (duration / 60).max(Duration::from_millis(100));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                if let Ok(rss) = rss_bytes(pid) {
                    samples.push((started.elapsed().as_secs_f64(), mib(rss)));
                }
                tokio::time::sleep(period).await;
            }
            samples
        })
    };
    let (plain_outcome, stream_outcome) = tokio::join!(
        load::open_loop(gateway, &plain, rates.0, connections, duration),
        load::open_loop(gateway, &stream, rates.1, connections / 4 + 1, duration),
    );
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.await.unwrap_or_default();
    let (plain_outcome, stream_outcome) = (plain_outcome?, stream_outcome?);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_bytes(pid).map(mib).unwrap_or_default();

    let window = |from: f64, to: f64| {
        let end = duration.as_secs_f64();
        let picked: Vec<f64> = samples
            .iter()
            .filter(|(t, _)| *t >= from * end && *t <= to * end)
            .map(|(_, m)| *m)
            .collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let early = window(0.1, 0.3);
    let late = window(0.8, 1.0);
    Ok(Soak {
        duration_s: duration.as_secs_f64(),
        rate: rates.0,
        stream_rate: rates.1,
        ok: plain_outcome.ok + stream_outcome.ok,
        errors: plain_outcome.errors + stream_outcome.errors,
        samples,
        early_mib: early,
        late_mib: late,
        growth_mib: late - early,
        after_mib: after,
    })
}
