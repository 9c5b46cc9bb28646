//! Switchyard: an OpenAI-compatible LLM router whose provider adapters and routing policies are
//! sandboxed WebAssembly components.
//!
//! The request path: [`api`] validates, [`gateway`] plans endpoints with the model's routing
//! policy and tries them with the provider adapters from [`plugins`], failing over on retryable
//! [`failure::Failure`]s; [`pricing`] prices the usage. A request that cannot be served ends in
//! an [`error::DomainError`], which [`api`] renders.
#![deny(missing_docs)]

pub mod accounting;
pub mod admin_cli;
pub mod api;
pub mod breaker;
pub mod cache;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod credentials;
pub mod dashboard;
pub mod demo;
pub mod error;
pub mod failure;
pub mod gateway;
pub mod metrics;
pub mod plugins;
pub mod pricing;
pub mod routing;
pub mod server;
pub mod sigv4;
pub mod stats;
pub mod stats_sync;
pub mod traces;
pub mod transform_refusal;
pub mod transforms;
