//! Endpoint health: the circuit [`breaker`] and the rolling [`stats`] of each endpoint (latency,
//! throughput, error and rate-limit shares, in-flight requests), which routing filters and
//! policies read.
//!
//! Layer 3 of the host (see `.ci/layers`): it may depend on `switchyard-domain` and
//! `switchyard-telemetry`.

pub mod breaker;
pub mod stats;
