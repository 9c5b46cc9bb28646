//! Switchyard's domain: the types every layer shares and none owns.
//!
//! - [`config`]: the typed configuration (every section, unknown keys rejected) and the built-in
//!   catalog it is merged over;
//! - [`money`] and [`pricing`]: decimal amounts, prices and what a usage costs (never floats);
//! - [`plugin_types`] and [`plugin_fault`]: the host's side of the WIT contract's types, and a
//!   plugin that trapped or broke the contract;
//! - [`failure`], [`error`], [`transform_refusal`], [`policy_refusal`], [`store_error`]: why an
//!   attempt failed and why a request could not be served, in the request path's own terms;
//! - [`routing_trace`] and [`capability`]: what routing tried, for the client and the logs;
//! - [`sigv4`]: AWS Signature Version 4, which the host signs Bedrock requests with.
//!
//! Layer 1 of the host (see `.ci/layers`): it depends on no other host crate, only on the
//! contract's SDK types (`switchyard-sdk`) and libraries.

pub mod capability;
pub mod config;
pub mod error;
pub mod failure;
pub mod money;
pub mod plugin_fault;
pub mod plugin_types;
pub mod policy_refusal;
pub mod pricing;
pub mod routing_trace;
pub mod sigv4;
pub mod store_error;
pub mod transform_refusal;
