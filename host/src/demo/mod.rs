//! Demo mode (`switchyard serve --demo`): a built-in upstream that answers like an
//! OpenAI-compatible provider (whole and streamed answers, tool calls, usage, an occasional
//! overload) on a loopback port of the gateway's own process, and demo providers and models
//! ([`CATALOG`]) pointing at it. Requests to the demo models take the normal path: adapter
//! plugin, routing policy, failover, pricing and accounting.

mod reply;
mod upstream;

use std::collections::BTreeMap;

use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use switchyard_domain::config::{Config, ConfigError, ModelConfig, ProviderConfig};

pub use upstream::SWIFT_FAILURE_EVERY;

/// The demo providers and models (TOML; `{base_url}` stands for the demo upstream's address).
pub const CATALOG: &str = include_str!("catalog.toml");

/// Why the demo upstream could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// No loopback port could be bound.
    #[error("cannot bind the demo upstream on 127.0.0.1: {0}")]
    Bind(#[from] std::io::Error),
    /// The demo catalog does not parse (a bug in [`CATALOG`]).
    #[error(transparent)]
    Catalog(#[from] ConfigError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCatalog {
    providers: BTreeMap<String, ProviderConfig>,
    models: Vec<ModelConfig>,
}

/// The running demo upstream; it stops when dropped.
#[derive(Debug)]
pub struct DemoUpstream {
    base_url: String,
    task: JoinHandle<()>,
}

impl DemoUpstream {
    /// Serves the demo upstream on an ephemeral loopback port, in a task of the current runtime.
    pub async fn start() -> Result<DemoUpstream, DemoError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, upstream::router()).await {
                tracing::error!(%error, "the demo upstream stopped");
            }
        });
        tracing::info!(%base_url, "demo mode: the demo upstream serves the demo/* models");
        Ok(DemoUpstream { base_url, task })
    }

    /// The upstream's address, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Adds the demo providers and models to `config`, replacing any of the same name or id.
    pub fn add_to(&self, config: &mut Config) -> Result<(), DemoError> {
        let text = CATALOG.replace("{base_url}", &self.base_url);
        let demo: DemoCatalog = toml::from_str(&text).map_err(ConfigError::Parse)?;
        config.providers.extend(demo.providers);
        config
            .models
            .retain(|model| !demo.models.iter().any(|demo| demo.id == model.id));
        config.models.extend(demo.models);
        Ok(())
    }
}

impl Drop for DemoUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
