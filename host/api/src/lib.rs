//! The HTTP API: route table, shared state and the handlers of each endpoint.
//!
//! [`table`] is the route table, with the role each route needs ([`roles`]); the ingresses are
//! [`chat`], [`completions`], [`responses`], [`anthropic`] and [`embeddings`]; admin routes are
//! the `admin*` modules; [`dashboard`] serves the web UI. [`server`] starts the listener and its
//! defences against slow and hostile clients ([`ingress`]), with `/metrics`
//! ([`metrics_http`]) and trace propagation ([`traces_http`]) around the router.
//!
//! Layer 9 of the host (see `.ci/layers`): it may depend on every crate up to the gateway. Only
//! the `switchyard` binary sits above it.

/// Counts allocations in this crate's unit tests (see `switchyard_telemetry::metrics::allocations`).
#[cfg(test)]
#[global_allocator]
static COUNTING: switchyard_telemetry::metrics::allocations::Counting =
    switchyard_telemetry::metrics::allocations::Counting;

pub mod admin;
pub mod admin_body;
pub mod admin_byok;
pub mod admin_cache;
pub mod admin_keys;
pub mod admin_lookup;
pub mod admin_teams;
pub mod admin_tokens;
pub mod anthropic;
pub mod audit;
pub mod bearer;
pub mod chat;
pub mod completions;
mod counted_json;
pub mod dashboard;
pub mod embeddings;
pub mod end_user;
pub mod endpoints;
pub mod error;
pub mod health;
pub mod ingress;
pub mod keepalive;
pub mod metrics_http;
pub mod models;
pub mod plugins;
pub mod presets;
pub mod providers;
pub mod provisioning;
pub mod request_limits;
pub mod reserved;
pub mod responses;
pub mod roles;
pub mod route;
pub mod server;
pub mod sso;
pub mod table;
pub mod traces_http;
pub mod unserved;
pub mod usage;

use std::sync::Arc;

use switchyard_accounting::Accounting;
use switchyard_gateway::Gateway;
use switchyard_plugin_runtime::PluginRegistry;

/// State shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The request path.
    pub gateway: Arc<Gateway>,
    /// Loaded plugins.
    pub plugins: Arc<PluginRegistry>,
    /// Bearer token of the admin API; `None` disables it.
    pub admin_token: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// How often a stream waiting for its first chunk gets a keep-alive comment.
    pub stream_keepalive: Option<std::time::Duration>,
    /// Keys, credits and usage; `None` when accounting is disabled.
    pub accounting: Option<Arc<Accounting>>,
    /// The operator's presets.
    pub presets: Arc<presets::Presets>,
    /// Days the audit log keeps an entry (0: for good).
    pub audit_retention_days: u32,
    /// Single sign-on, when configured.
    pub sso: Option<Arc<sso::Sso>>,
}
