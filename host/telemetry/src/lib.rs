//! Switchyard's telemetry: the OpenTelemetry metric instruments and their label sets, bound once
//! at load ([`metrics`]), and the trace pipeline with its OTLP exporter ([`traces`]).
//!
//! It records figures; it does not know the request path. The gateway's observers turn a served
//! request into these records.
//!
//! Layer 2 of the host (see `.ci/layers`): it may depend on `switchyard-domain` only.

pub mod metrics;
pub mod traces;
