//! Switchyard: an OpenAI-compatible LLM router whose provider adapters and routing policies are
//! sandboxed WebAssembly components.
//!
//! This crate is the `switchyard` binary's own code, on top of every other host crate (see
//! ARCHITECTURE.md and `.ci/layers`): the command line ([`cli`], [`admin_cli`]) and demo mode
//! ([`demo`]). The server itself is `switchyard_api::server`; the request path is
//! `switchyard_gateway`.
#![deny(missing_docs)]

pub mod admin_cli;
pub mod cli;
pub mod demo;
