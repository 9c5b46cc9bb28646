//! The WebAssembly plugin runtime: one engine, one typed `Pre` per plugin, warm instances reused
//! within a tenant (or a fresh one per request), and the boundary where generated binding types
//! become host types.
//!
//! Layer 4 of the host (see `.ci/layers`): it may depend on the domain, telemetry and health
//! crates. It never sees a secret: credentials stay in the catalog and the gateway.

mod boundary;
pub mod builtin;
pub(crate) mod call;
pub mod conformance;
pub mod egress;
pub mod engine;
pub mod gate;
pub mod loaded;
pub mod output;
mod passed_conversation;
pub mod provider;
pub mod registry;
pub mod router;
mod sandbox;
pub mod stamp;
pub mod transform;
mod trap;
mod v0_1_0;
mod v0_2_0;
mod v0_3_0;
mod v0_4_0;
mod v0_5_0;
pub mod version;
mod wall_clock;
pub mod warm;
pub mod watcher;

pub use engine::PluginEngine;
pub use provider::{ProviderInstance, ProviderPlugin};
pub use registry::PluginRegistry;
pub use router::RouterPlugin;
pub use transform::TransformPlugin;
pub use warm::TenantScope;
