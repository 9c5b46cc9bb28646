//! The measurements, one module per report section, and the plan that sizes them.

pub mod cache;
pub mod cpu;
pub mod keys_on;
pub mod latency;
pub mod memory;
pub mod plugin_costs;
pub mod profile;
pub mod refusal;
pub mod streaming;
pub mod throughput;

use std::time::Duration;

/// How much of each measurement to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Requests per contender at concurrency 1 (section 1), after `warmup`.
    pub serial_requests: usize,
    /// Warm-up requests per contender.
    pub warmup: usize,
    /// Connections for the load runs (section 2).
    pub connections: usize,
    /// Interleaved rounds of each load run.
    pub rounds: usize,
    /// Length of one round.
    pub round: Duration,
    /// Steps of the rate search.
    pub search_steps: usize,
    /// Length of one search step.
    pub search_step: Duration,
    /// Fixed open-loop rates.
    pub fixed_rates: Vec<f64>,
    /// Streams per contender at concurrency 1 (section 3).
    pub serial_streams: usize,
    /// Streams started at once.
    pub concurrent_streams: usize,
    /// Soak length (section 4).
    pub soak: Duration,
    /// Non-streamed / streamed rates during the soak.
    pub soak_rates: (f64, f64),
    /// Iterations of each plugin operation (section 6).
    pub plugin_iterations: usize,
    /// Compilations of a component.
    pub compiles: usize,
    /// Length of the CPU profile under load (section 7).
    pub profile: Duration,
    /// Counted rounds of the CPU-per-request runs (per body size, each contender in turn).
    pub cpu_rounds: usize,
    /// Length of one such round.
    pub cpu_round: Duration,
    /// Uncounted warm-up of each contender at each body size.
    pub cpu_warmup: Duration,
}

impl Plan {
    /// Seconds long, for CI: proves every step works, numbers are rough.
    pub fn quick() -> Plan {
        Plan {
            serial_requests: 300,
            warmup: 50,
            connections: 32,
            rounds: 2,
            round: Duration::from_millis(500),
            search_steps: 3,
            search_step: Duration::from_millis(500),
            fixed_rates: vec![1_000.0, 5_000.0],
            serial_streams: 100,
            concurrent_streams: 200,
            soak: Duration::from_secs(5),
            soak_rates: (500.0, 50.0),
            plugin_iterations: 200,
            compiles: 2,
            profile: Duration::from_secs(2),
            cpu_rounds: 1,
            cpu_round: Duration::from_millis(500),
            cpu_warmup: Duration::from_millis(200),
        }
    }

    /// The full run.
    pub fn full() -> Plan {
        Plan {
            serial_requests: 2_000,
            warmup: 300,
            connections: 32,
            rounds: 5,
            round: Duration::from_secs(2),
            search_steps: 6,
            search_step: Duration::from_secs(2),
            fixed_rates: vec![1_000.0, 5_000.0],
            serial_streams: 1_000,
            concurrent_streams: 1_000,
            soak: Duration::from_secs(300),
            soak_rates: (1_000.0, 100.0),
            plugin_iterations: 2_000,
            compiles: 5,
            profile: Duration::from_secs(8),
            cpu_rounds: 3,
            cpu_round: Duration::from_secs(2),
            cpu_warmup: Duration::from_millis(500),
        }
    }
}
