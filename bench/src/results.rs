//! The results of one run, as written to `latest.json` and rendered by [`crate::report`] and
//! [`crate::chart`]. Times are microseconds, rates requests per second, memory MiB.

use hdrhistogram::Histogram;
use serde::Serialize;

/// A latency distribution, µs.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Dist {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest sample.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Dist {
    /// Summarises a µs histogram.
    pub fn of(histogram: &Histogram<u64>) -> Dist {
        if histogram.is_empty() {
            return Dist::default();
        }
        Dist {
            count: histogram.len(),
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            max: histogram.max(),
            mean: histogram.mean(),
        }
    }
}

/// Everything one run measured.
#[derive(Debug, Default, Serialize)]
pub struct Results {
    /// How, where and when.
    pub meta: Meta,
    /// Section 1: added latency at concurrency 1.
    pub latency: Vec<LatencyRow>,
    /// Section 2: throughput and latency under load.
    pub throughput: Throughput,
    /// Section 2: CPU per request of every contender at each body size (closed loop).
    pub cpu: Vec<CpuRow>,
    /// Section 3: streaming.
    pub streaming: Streaming,
    /// Section 4: gateway memory.
    pub memory: Memory,
    /// Keys on: what accounting costs.
    pub keys_on: Vec<crate::scenarios::keys_on::KeysOnRow>,
    /// The response cache: a hit's CPU per request.
    pub cache: Option<crate::scenarios::cache::CacheSection>,
    /// Section 6: plugin costs.
    pub plugins: Plugins,
    /// Section 7: the gateway's CPU profile under load (absent when `perf` could not run).
    pub profile: Option<Profile>,
    /// Issue 24's targets: ratios to nginx in the same run.
    pub floor_targets: Vec<TargetRow>,
    /// The earlier issues' targets against this run.
    pub targets: Vec<TargetRow>,
    /// Steps that failed, with the reason; the rest of the run went on.
    pub failures: Vec<String>,
}

/// How, where and when.
#[derive(Debug, Default, Serialize)]
pub struct Meta {
    /// `quick` or `full`.
    pub mode: String,
    /// The command line.
    pub command: String,
    /// Seconds since the Unix epoch at the start.
    pub started_unix: u64,
    /// Wall time of the run, seconds.
    pub duration_s: f64,
    /// CPU model.
    pub cpu: String,
    /// Logical CPUs.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// Total memory, MiB.
    pub memory_mib: u64,
    /// Gateway spawn to listening (plugins compiled), ms.
    pub gateway_startup_ms: f64,
    /// Peer status.
    pub peers: Vec<PeerStatus>,
}

/// Whether a peer ran.
#[derive(Debug, Default, Serialize)]
pub struct PeerStatus {
    /// Name.
    pub name: String,
    /// Pinned version and runtime.
    pub version: String,
    /// `ok`, `skipped` or `failed: reason`.
    pub status: String,
}

/// Section 1 row.
#[derive(Debug, Default, Serialize)]
pub struct LatencyRow {
    /// Contender.
    pub name: String,
    /// Request latency, non-streamed, one at a time.
    pub dist: Dist,
    /// Percentile differences against the direct path (p50, p90, p99), µs; none for direct.
    pub added: Option<[i64; 3]>,
    /// Failed requests.
    pub errors: u64,
}

/// Section 2.
#[derive(Debug, Default, Serialize)]
pub struct Throughput {
    /// Connections in the closed-loop and rate runs.
    pub connections: usize,
    /// Closed loop at `connections`.
    pub closed: Vec<RateRow>,
    /// Highest open-loop rate with p99 ≤ 10 ms, per contender.
    pub max_rate: Vec<MaxRate>,
    /// Open-loop runs at fixed rates (1k, 5k RPS).
    pub fixed: Vec<RateRow>,
    /// Every open-loop point, for the chart.
    pub curve: Vec<RateRow>,
}

/// One load run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct RateRow {
    /// Contender.
    pub name: String,
    /// Offered rate (open loop), or none (closed loop).
    pub offered: Option<f64>,
    /// Successful requests per second.
    pub achieved: f64,
    /// Latency.
    pub dist: Dist,
    /// Failed requests.
    pub errors: u64,
    /// The first error.
    pub first_error: Option<String>,
}

/// CPU per request of one contender at one body size, closed loop.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CpuRow {
    /// Contender.
    pub name: String,
    /// Body size label (`~100 B`, `~10 KB`, `~100 KB`).
    pub body: String,
    /// The body's exact length, bytes.
    pub body_bytes: usize,
    /// Requests served over the counted rounds.
    pub requests: u64,
    /// Successful requests per second.
    pub rps: f64,
    /// CPU time of the contender's processes per request, µs.
    pub cpu_us: Option<f64>,
    /// Context switches of the contender's threads per request.
    pub switches: Option<f64>,
    /// Failed requests.
    pub errors: u64,
    /// The first error.
    pub first_error: Option<String>,
}

/// The rate search result.
#[derive(Debug, Default, Serialize)]
pub struct MaxRate {
    /// Contender.
    pub name: String,
    /// Highest offered rate that met p99 ≤ 10 ms with no shortfall, RPS.
    pub rate: f64,
    /// p99 at that rate, µs.
    pub p99: u64,
}

/// Section 3.
#[derive(Debug, Default, Serialize)]
pub struct Streaming {
    /// Content chunks per stream at concurrency 1.
    pub chunks: usize,
    /// Concurrency 1, interleaved.
    pub serial: Vec<StreamRow>,
    /// Streams started at once.
    pub concurrent_streams: usize,
    /// The concurrent test.
    pub concurrent: Vec<ConcurrentRow>,
}

/// Streams one at a time.
#[derive(Debug, Default, Serialize)]
pub struct StreamRow {
    /// Contender.
    pub name: String,
    /// Time to first byte (first chunk).
    pub ttft: Dist,
    /// Whole stream.
    pub total: Dist,
    /// Median TTFT minus the direct path's, µs.
    pub added_ttft_p50: Option<i64>,
    /// 99th-percentile TTFT minus the direct path's, µs.
    pub added_ttft_p99: Option<i64>,
    /// (median first-to-last time − direct's) / chunks, µs.
    pub per_chunk_us: Option<f64>,
    /// Failed streams.
    pub errors: u64,
    /// The first error.
    pub first_error: Option<String>,
}

/// Many streams at once.
#[derive(Debug, Default, Serialize)]
pub struct ConcurrentRow {
    /// Contender.
    pub name: String,
    /// Complete streams.
    pub ok: u64,
    /// Failed streams.
    pub errors: u64,
    /// Time to first byte.
    pub ttft: Dist,
    /// Whole stream.
    pub total: Dist,
    /// The first error.
    pub first_error: Option<String>,
}

/// Section 4 (the gateway process).
#[derive(Debug, Default, Serialize)]
pub struct Memory {
    /// Right after start, every first-party plugin loaded, no request yet.
    pub idle_mib: f64,
    /// Peak during the 32-connection runs.
    pub load_peak_mib: f64,
    /// Peak during the concurrent streams.
    pub streams_peak_mib: f64,
    /// The soak.
    pub soak: Soak,
}

/// A long run at a fixed rate, sampling RSS.
#[derive(Debug, Default, Serialize)]
pub struct Soak {
    /// Seconds.
    pub duration_s: f64,
    /// Non-streamed RPS offered.
    pub rate: f64,
    /// Streamed RPS offered.
    pub stream_rate: f64,
    /// Requests completed / failed.
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
    /// (seconds, MiB) samples.
    pub samples: Vec<(f64, f64)>,
    /// Mean RSS over 10–30 % of the soak.
    pub early_mib: f64,
    /// Mean RSS over the last 20 %.
    pub late_mib: f64,
    /// `late − early`.
    pub growth_mib: f64,
    /// RSS after the soak, idle for a second.
    pub after_mib: f64,
}

/// Section 6.
#[derive(Debug, Default, Serialize)]
pub struct Plugins {
    /// Per-operation costs.
    pub costs: Vec<CostRow>,
    /// Whether the gateway caches compiled components.
    pub cache: String,
}

/// One plugin operation.
#[derive(Debug, Default, Serialize)]
pub struct CostRow {
    /// What was timed.
    pub name: String,
    /// Timing, µs.
    pub dist: Dist,
}

/// A target from the issue.
#[derive(Debug, Default, Serialize)]
pub struct TargetRow {
    /// What.
    pub name: String,
    /// The goal, in words.
    pub goal: String,
    /// The measurement, in words.
    pub measured: String,
    /// measured / goal, oriented so ≤ 1 meets it for bounds and ≥ 1 for minimums.
    pub ratio: Option<f64>,
    /// Met, missed, or unknown (none).
    pub met: Option<bool>,
}

/// Where the gateway's CPU went under the closed-loop load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Profile {
    /// Connections of the load.
    pub connections: usize,
    /// Length of the recording, seconds.
    pub duration_s: f64,
    /// Requests per second served while recording.
    pub rps: f64,
    /// Share of the gateway's samples in the kernel, %.
    pub kernel_share: f64,
    /// Share of each binary (`[kernel.kallsyms]`, `switchyard`, `[JIT] tid …`, libc), %.
    pub by_binary: Vec<Share>,
    /// The symbols with the most samples (self time), %.
    pub top_symbols: Vec<Share>,
    /// How it was recorded.
    pub command: String,
}

/// One line of a profile.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Share {
    /// Binary or symbol.
    pub name: String,
    /// Share of all samples, %.
    pub percent: f64,
}
